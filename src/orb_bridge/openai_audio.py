"""Optional OpenAI-compatible audio endpoints: ``/v1/audio/transcriptions`` and ``/speech``.

For deployments whose speech-to-text or voice runs on a model server rather than in the orb
(``--orb-stt-url``, ``--orb-tts-url``). Each call is one bounded HTTP request; a failure raises
(speech-to-text: the transcript is lost and logged; speech: the orb falls back to espeak-ng).
"""

from __future__ import annotations

import io
import secrets
import wave

import orjson

from . import tts
from .http_client import HttpError, request
from .speech_config import SpeechConfig

_TIMEOUT = 15.0


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
    """``SpeechToText`` over ``POST /v1/audio/transcriptions`` (multipart, a WAV file)."""

    def __init__(self, config: SpeechConfig) -> None:
        assert config.stt_url is not None
        self.url = _endpoint(config.stt_url, "/audio/transcriptions")
        self._model = config.stt_model or "whisper-1"
        self._key = config.llm_api_key
        self._language = config.stt_language

    async def transcribe(self, pcm16k: bytes) -> str:
        boundary = secrets.token_hex(12)
        fields = {"model": self._model, "response_format": "json"}
        if self._language:
            fields["language"] = self._language
        body = bytearray()
        for name, value in fields.items():
            body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                     f"{value}\r\n").encode()
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                 f"filename=\"utterance.wav\"\r\nContent-Type: audio/wav\r\n\r\n").encode()
        body += wav_bytes(pcm16k, 16_000) + f"\r\n--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        async with request("POST", self.url, body=bytes(body), headers=headers,
                           timeout=_TIMEOUT) as response:
            data = await response.read(1 << 20)
        if response.status != 200:
            raise HttpError(f"HTTP {response.status} from {self.url}")
        answer = orjson.loads(data)
        text = answer.get("text") if isinstance(answer, dict) else None
        return text.strip() if isinstance(text, str) else ""


class RemoteSpeech:
    """``TextToSpeech`` over ``POST /v1/audio/speech`` asking for WAV."""

    def __init__(self, config: SpeechConfig) -> None:
        assert config.tts_url is not None
        self.url = _endpoint(config.tts_url, "/audio/speech")
        self._voice = config.tts_voice
        self._key = config.llm_api_key
        self._model = config.llm_model or "tts-1"

    async def synthesize(self, text: str) -> tuple[bytes, int]:
        body = orjson.dumps({"model": self._model, "input": text, "voice": self._voice,
                             "response_format": "wav"})
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        async with request("POST", self.url, body=body, headers=headers,
                           timeout=_TIMEOUT) as response:
            data = await response.read()
        if response.status != 200:
            raise HttpError(f"HTTP {response.status} from {self.url}")
        pcm, rate = tts.parse_wav(data)
        return pcm.astype("<i2").tobytes(), rate
