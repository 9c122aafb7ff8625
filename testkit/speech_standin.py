"""A stand-in speech server: OpenAI's ``/v1/audio/speech`` and ``/v1/audio/transcriptions``
on a local port, for tests of the orb's remote voice and remote speech-to-text.

Speech answers a 16-bit mono WAV at 24 kHz (OpenAI's rate) whose length grows with the text;
transcription parses the multipart form, checks the WAV it carries and answers
``{"text": ...}``. ``mode`` makes it misbehave: ``error`` (HTTP 500 with a JSON error),
``slow`` (answers after ``delay`` seconds), ``garbage`` (bytes that are neither WAV nor JSON),
``empty`` (a WAV with no samples, or JSON without ``text``), ``hangup`` (closes the connection
without answering). Every request is kept: path, headers, JSON body or form fields, and the
uploaded file's rate and length.
"""

from __future__ import annotations

import io
import json
import time
import wave
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any

import attrs
import numpy as np

from testkit.local_api import LocalApi

SPEECH_RATE = 24_000


@attrs.define
class Request:
    path: str
    headers: dict[str, str]
    json: dict[str, Any] | None = None
    form: dict[str, str] = attrs.Factory(dict)
    upload_rate: int | None = None
    upload_seconds: float | None = None


def tone_wav(seconds: float, rate: int = SPEECH_RATE) -> bytes:
    """A speech-like tone (200 Hz, syllable envelope) as a 16-bit mono WAV."""
    t = np.arange(int(seconds * rate)) / rate
    pcm = (8000 * np.sin(2 * np.pi * 200 * t) * (np.sin(2 * np.pi * 4 * t) > -0.3))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype("<i2").tobytes())
    return out.getvalue()


class StandInSpeech(LocalApi):
    def __init__(self, *, mode: str = "ok", delay: float = 0.0,
                 transcript: str = "I want more time with my family.") -> None:
        self.mode = mode
        self.delay = delay
        self.transcript = transcript
        self.requests: list[Request] = []
        super().__init__(self._handler())

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                seen = Request(self.path, {k.lower(): v for k, v in self.headers.items()})
                standin.requests.append(seen)
                if self.path.endswith("/audio/speech"):
                    seen.json = json.loads(raw)
                elif self.path.endswith("/audio/transcriptions"):
                    self._read_form(raw, seen)
                else:
                    self._send(404, "application/json", b'{"error": "no such path"}')
                    return
                mode = standin.mode
                if mode == "hangup":
                    self.close_connection = True
                    self.connection.close()
                    return
                if mode == "slow":
                    time.sleep(standin.delay)
                if mode == "error":
                    self._send(500, "application/json",
                               b'{"error": {"message": "the model is on fire"}}')
                elif mode == "garbage":
                    self._send(200, "application/octet-stream", b"\x00\xffNOT AUDIO" * 50)
                elif seen.json is not None:
                    words = len(str(seen.json.get("input", "")).split())
                    wav = tone_wav(0.0 if mode == "empty" else 0.3 + 0.25 * words)
                    self._send(200, "audio/wav", wav)
                else:
                    answer = {} if mode == "empty" else {"text": standin.transcript}
                    self._send(200, "application/json", json.dumps(answer).encode())

            def _read_form(self, raw: bytes, seen: Request) -> None:
                head = f"Content-Type: {self.headers.get('Content-Type')}\r\n\r\n".encode()
                message = BytesParser(policy=HTTP).parsebytes(head + raw)
                for part in message.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    payload = part.get_payload(decode=True)
                    if name == "file" and isinstance(payload, bytes):
                        with wave.open(io.BytesIO(payload)) as w:
                            seen.upload_rate = w.getframerate()
                            seen.upload_seconds = w.getnframes() / w.getframerate()
                    elif isinstance(name, str) and isinstance(payload, bytes):
                        seen.form[name] = payload.decode()

            def _send(self, status: int, kind: str, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (a timeout test)

        return Handler
