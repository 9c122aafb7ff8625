"""Optional OpenAI-compatible audio endpoints: ``/v1/audio/transcriptions`` and ``/speech``.

For deployments whose speech-to-text or voice runs on a model server rather than in the orb
(``--orb-stt-url``, ``--orb-tts-url``). Each call is one bounded HTTP request; a failure raises
(speech-to-text: the transcript is lost and logged; speech: the voice chain of
:mod:`orb_bridge.voices` says the sentence with Piper or espeak-ng instead).
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
import wave
from typing import TYPE_CHECKING

import orjson

from . import tts
from .audio import HEARING_RATE, Audio
from .http_client import HttpError, request
from .speech_config import PACKAGED_MODEL, SpeechConfig

if TYPE_CHECKING:
    from .stt import SpeechToText

logger = logging.getLogger(__name__)


def _endpoint(base: str, path: str) -> str:
    base = base.rstrip("/")
    if base.endswith(path):
        return base
    if not base.endswith("/v1"):
        base += "/v1"
    return base + path


def wav_bytes(pcm: bytes, rate: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return out.getvalue()


class RemoteTranscriber:
    """``SpeechToText`` over ``POST /v1/audio/transcriptions`` (multipart: a WAV file, the
    model, ``response_format=json``). Bounded by ``stt_timeout``; a failure raises
    (:class:`HttpError`, ``TimeoutError`` or ``ValueError`` for an answer that is not the
    format): that utterance's words are lost and logged, the orb goes on."""

    def __init__(self, config: SpeechConfig, fallback: SpeechToText | None = None) -> None:
        """``fallback``: local speech-to-text that takes an utterance the server failed
        (the first such step down is logged as a warning, later ones at debug level)."""
        assert config.stt_url is not None
        self._fallback = fallback
        self._warned = False
        self.url = _endpoint(config.stt_url, "/audio/transcriptions")
        self._model = config.stt_model if config.stt_model not in (None, PACKAGED_MODEL) \
            else "whisper-1"
        self._key = config.llm_api_key
        self._language = config.stt_language
        self._timeout = config.stt_timeout

    async def transcribe(self, audio: Audio) -> str:
        try:
            return await self._remote(audio)
        except (HttpError, TimeoutError, ValueError) as exc:
            if self._fallback is None:
                raise
            log = logger.debug if self._warned else logger.warning
            self._warned = True
            log("remote speech-to-text failed (%s): local Whisper transcribes it", exc)
            return await self._fallback.transcribe(audio)

    async def _remote(self, audio: Audio) -> str:
        fields = {"model": self._model or "whisper-1", "response_format": "json"}
        if self._language:
            fields["language"] = self._language
        heard = audio.at(HEARING_RATE)
        files = {"file": ("utterance.wav", wav_bytes(heard.to_bytes(), heard.rate), "audio/wav")}
        deadline = time.monotonic() + self._timeout
        async with asyncio.timeout(self._timeout), \
                request("POST", self.url, files=files, data=fields, headers=_auth(self._key),
                        timeout=self._timeout) as response:
            data = await response.read(1 << 20, lambda: deadline)
        if response.status != 200:
            raise HttpError(f"HTTP {response.status} from {self.url}: {_detail(data)}")
        try:
            answer = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise ValueError(f"not JSON from {self.url}: {data[:80]!r}") from None
        text = answer.get("text") if isinstance(answer, dict) else None
        if not isinstance(text, str):
            raise ValueError(f"no text in the answer of {self.url}: {str(answer)[:80]}")
        return text.strip()


class RemoteSpeech:
    """``TextToSpeech`` over ``POST /v1/audio/speech`` with ``response_format=wav`` (16-bit
    PCM, any rate; ``speed`` is ``voice_rate``). Bounded by ``tts_timeout``; anything but a
    WAV with audio in it raises, and the voice chain says the sentence with the next voice."""

    def __init__(self, config: SpeechConfig) -> None:
        assert config.tts_url is not None
        self.url = _endpoint(config.tts_url, "/audio/speech")
        self._voice = config.tts_voice
        self._key = config.llm_api_key
        self._model = config.tts_model
        self._speed = config.voice_rate
        self._timeout = config.tts_timeout

    async def synthesize(self, text: str) -> Audio:
        body = orjson.dumps({"model": self._model, "input": text, "voice": self._voice,
                             "response_format": "wav", "speed": self._speed})
        headers = {"Content-Type": "application/json", **_auth(self._key)}
        deadline = time.monotonic() + self._timeout
        async with asyncio.timeout(self._timeout), \
                request("POST", self.url, body=body, headers=headers,
                        timeout=self._timeout) as response:
            data = await response.read(deadline=lambda: deadline)
        if response.status != 200:
            raise HttpError(f"HTTP {response.status} from {self.url}: {_detail(data)}")
        said = tts.parse_wav(data)
        if len(said) == 0:
            raise ValueError(f"no audio in the answer of {self.url}")
        return said


def _auth(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


def _detail(data: bytes) -> str:
    return " ".join(data[:300].decode("utf-8", "replace").split())[:200]
