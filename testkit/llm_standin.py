"""A stand-in language model: a small local HTTP server speaking the OpenAI chat-completions
streaming format (``POST /v1/chat/completions``, server-sent events), for tests and benches.

It answers with a fixed text, word by word, after ``first_token_delay`` and at
``tokens_per_second``; ``mode`` makes it misbehave (``error``: HTTP 500, ``silent``: accepts
and never answers, ``stall``: streams the first sentence, then only keep-alive comments for as
long as the client stays, ``malformed``: a stream whose events are not the format, ``garbage``:
bytes that are not JSON, ``json``: a non-streamed answer). Every request body is kept, with
when its stream ended and whether the client hung up before the end (a cancelled request).
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

import attrs

from testkit.local_api import LocalApi

ANSWER = ("That sounds important to you. What would a good evening with your family look "
          "like? Tell me about the first small change you could make this week.")


@attrs.define
class Seen:
    body: dict[str, Any]
    received_at: float
    first_token_at: float | None = None
    ended_at: float | None = None
    hung_up: bool = False


class StandInModel(LocalApi):
    def __init__(self, *, answer: str = ANSWER, first_token_delay: float = 0.3,
                 tokens_per_second: float = 30.0, mode: str = "ok") -> None:
        self.answer = answer
        self.first_token_delay = first_token_delay
        self.tokens_per_second = tokens_per_second
        self.mode = mode
        self.requests: list[Seen] = []
        super().__init__(self._handler())

    def tokens(self) -> list[str]:
        words = self.answer.split(" ")
        return [w if i == 0 else " " + w for i, w in enumerate(words)]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                seen = Seen(json.loads(self.rfile.read(length)), time.monotonic())
                model.requests.append(seen)
                try:
                    self._answer(seen)
                except (BrokenPipeError, ConnectionResetError):
                    seen.hung_up = True
                    seen.ended_at = time.monotonic()

            def _send_head(self, status: int, kind: str, length: int | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                if length is None:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(length))
                self.send_header("Connection", "close")
                self.end_headers()

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _event(self, data: str) -> None:
                self._chunk(f"data: {data}\n\n".encode())

            def _answer(self, seen: Seen) -> None:
                mode = model.mode
                if mode == "error":
                    body = b'{"error": {"message": "model overloaded"}}'
                    self._send_head(500, "application/json", len(body))
                    self.wfile.write(body)
                    return
                if mode == "json":
                    body = json.dumps({"choices": [{"message": {"role": "assistant",
                                                                "content": model.answer}}]}
                                      ).encode()
                    time.sleep(model.first_token_delay)
                    self._send_head(200, "application/json", len(body))
                    self.wfile.write(body)
                    seen.ended_at = time.monotonic()
                    return
                self._send_head(200, "text/event-stream")
                if mode == "silent":
                    # Headers only, then nothing until the client gives up.
                    while not self.wfile.closed:
                        time.sleep(0.05)
                        self._chunk(b": still thinking\n")
                    return
                time.sleep(model.first_token_delay)
                if mode == "garbage":
                    self._event("{this is not json")
                    self._chunk(b"")
                    return
                if mode == "malformed":
                    self._event(json.dumps({"unexpected": "shape"}))
                    self._chunk(b"")
                    return
                for i, token in enumerate(model.tokens()):
                    if i:
                        time.sleep(1.0 / model.tokens_per_second)
                    self._event(json.dumps({"choices": [{"index": 0,
                                                         "delta": {"content": token}}]}))
                    if seen.first_token_at is None:
                        seen.first_token_at = time.monotonic()
                    if mode == "stall" and token.rstrip().endswith((".", "?", "!")):
                        while True:  # hung mid-answer; the comments keep the socket busy
                            time.sleep(0.05)
                            self._chunk(b": still thinking\n")
                self._event(json.dumps({"choices": [{"index": 0, "delta": {},
                                                     "finish_reason": "stop"}]}))
                self._event("[DONE]")
                self._chunk(b"")
                seen.ended_at = time.monotonic()

        return Handler
