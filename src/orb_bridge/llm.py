"""A language model behind the OpenAI-compatible API, streamed, and tokens → sentences.

Any server that speaks ``POST /v1/chat/completions`` with ``"stream": true`` (ollama,
llama.cpp's server, vLLM, LM Studio, OpenAI itself) answers in server-sent events, one ``data:
{json}`` line per token group, ending with ``data: [DONE]``. :meth:`ChatClient.stream` yields
the text pieces as they arrive; :func:`sentences` groups them into sentences, which is the unit
speech is made of, so the first sentence can be spoken while the rest is still on its way (the
STT → LLM → TTS stages stream into each other).

Every failure is one exception, :class:`LlmError`, carrying its cause for the log: the server
is down or refuses, answers with an error status, is too slow (nothing within
``llm_first_token_timeout``, a stream that stalls — no new text for that long between two
pieces, keep-alive comments or not — or not done within ``llm_timeout``), or sends something
that is not the format. The stall bound is why a model that hangs mid-answer costs the orb a
few seconds of silence, not the whole ``llm_timeout`` with its status stuck at "speaking".
Cancelling the consumer closes the connection at once (barge-in). The timeouts bound only the
client's own network reads, so a consumer may do slow work (speech synthesis) between two
pieces without being mistaken for a slow server.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

import orjson

from .http_client import HttpError, request
from .speech_config import SpeechConfig
from .speech_text import first_clause_end

#: A sentence ends at . ! ? (or …) followed by a space or the end; a long clause without one
#: is cut at a comma/semicolon after this many characters, so speech never waits for long.
_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*\s")
#: A piece that ends a sentence right at its end ("...you." with the next word not yet here):
#: a letter then the punctuation, so "3." of "3.5" is not taken for an end. Speaking it at
#: once saves waiting one more token for the space.
_ENDS_SENTENCE = re.compile(r"[^\W\d_][.!?…]+[\"')\]]*$")
_LONG_CLAUSE = 140
_CLAUSE_END = re.compile(r"[,;:]\s")


class LlmError(Exception):
    """The language model gave no usable answer; the message says why (for the log)."""


def chat_url(base: str) -> str:
    """``http://h:p`` or ``.../v1`` → the chat-completions URL; a full URL is kept."""
    base = base.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if not base.endswith("/v1"):
        base += "/v1"
    return base + "/chat/completions"


class ChatClient:
    """One OpenAI-compatible chat model; every call opens its own short connection."""

    def __init__(self, config: SpeechConfig) -> None:
        if config.llm_url is None:
            raise ValueError("no llm_url configured")
        self.url = chat_url(config.llm_url)
        self.model = config.llm_model
        self._key = config.llm_api_key
        self._first_token_timeout = config.llm_first_token_timeout
        self._timeout = config.llm_timeout
        self._max_tokens = config.llm_max_tokens
        #: Seconds from the request to its first text piece, of the latest call (benchmarks).
        self.last_first_token: float | None = None

    async def stream(self, messages: Sequence[dict[str, str]], *,
                     max_tokens: int | None = None) -> AsyncIterator[str]:
        """The answer's text pieces as they arrive. Raises :class:`LlmError`."""
        body = orjson.dumps({
            "model": self.model, "messages": list(messages), "stream": True,
            "max_tokens": max_tokens or self._max_tokens, "temperature": 0.7,
        })
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        started = time.monotonic()
        deadline = started + self._timeout
        first_deadline = min(deadline, started + self._first_token_timeout)
        self.last_first_token = None
        last_piece = started

        def next_deadline() -> float:
            if self.last_first_token is None:
                return first_deadline
            return min(deadline, last_piece + self._first_token_timeout)

        try:
            async with request("POST", self.url, body=body, headers=headers,
                               timeout=max(0.0, first_deadline - started)) as response:
                if response.status != 200:
                    detail = (await response.read(4096, next_deadline)).decode(
                        "utf-8", "replace")
                    raise LlmError(f"HTTP {response.status} from {self.url}: "
                                   f"{' '.join(detail.split())[:200]}")
                kind = response.headers.get("content-type", "")
                if "text/event-stream" not in kind:
                    # A server that ignored "stream": one JSON answer.
                    text = _message_text(_json(await response.read(deadline=next_deadline)))
                    self.last_first_token = time.monotonic() - started
                    yield text
                    return
                async for piece in _events(response.chunks(next_deadline)):
                    last_piece = time.monotonic()
                    if self.last_first_token is None:
                        self.last_first_token = last_piece - started
                    yield piece
        except TimeoutError:
            if self.last_first_token is None:
                why = f"no first token within {self._first_token_timeout:g} s"
            elif time.monotonic() >= deadline:
                why = f"no whole answer within {self._timeout:g} s"
            else:
                why = f"the stream stalled: no text for {self._first_token_timeout:g} s"
            raise LlmError(f"{self.url} too slow: {why}") from None
        except HttpError as exc:
            raise LlmError(str(exc)) from None

    async def complete(self, messages: Sequence[dict[str, str]], *,
                       max_tokens: int | None = None) -> str:
        """The whole answer as one string (streamed underneath)."""
        return "".join([piece async for piece in self.stream(messages, max_tokens=max_tokens)])


def _json(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise LlmError(f"malformed answer (not JSON): {data[:120]!r}") from None


def _message_text(answer: Any) -> str:
    try:
        content = answer["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise LlmError(f"malformed answer (no choices[0].message.content): "
                       f"{str(answer)[:120]}") from None
    if not isinstance(content, str):
        raise LlmError("malformed answer: content is not text")
    return content


async def _events(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """Text pieces of a chat-completions event stream; ``[DONE]`` or the body's end stops."""
    buffer = b""
    saw_data = False
    async for chunk in chunks:
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            line = line.strip()
            if not line.startswith(b"data:"):
                continue  # comments, event names, blank separators
            payload = line[5:].strip()
            if payload == b"[DONE]":
                return
            saw_data = True
            event = _json(payload)
            if isinstance(event, dict) and "error" in event:
                raise LlmError(f"the model reported an error: {str(event['error'])[:200]}")
            try:
                delta = event["choices"][0].get("delta") or {}
            except (KeyError, IndexError, TypeError, AttributeError):
                raise LlmError(f"malformed stream event: {payload[:120]!r}") from None
            piece = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(piece, str) and piece:
                yield piece
        if len(buffer) > 1_000_000:
            raise LlmError("malformed stream: a line over 1 MB")
    if not saw_data:
        raise LlmError("the stream ended without any answer")


async def sentences(pieces: AsyncIterator[str], *,
                    first_clause: bool = False) -> AsyncGenerator[str, None]:
    """Group streamed text into sentences (the unit of speech), each yielded once complete.
    ``first_clause``: the answer's first piece may be its first clause, yielded as soon as
    its clause mark arrives (``speech_text.first_clause_end``), so the voice starts on it
    while the model writes the rest of the sentence."""
    buffer = ""
    clause = first_clause
    async for piece in pieces:
        buffer += piece
        while True:
            match = _SENTENCE_END.search(buffer)
            end = None if match is None else match.end()
            cut = first_clause_end(buffer) if clause else None
            if cut is not None and (match is None or cut <= match.start()):
                end = cut
            if end is None and len(buffer) > _LONG_CLAUSE:
                long = _CLAUSE_END.search(buffer, _LONG_CLAUSE // 2)
                end = None if long is None else long.end()
            if end is None and _ENDS_SENTENCE.search(buffer):
                sentence, buffer = buffer.strip(), ""
                if _speakable(sentence):
                    clause = False
                    yield sentence
                break
            if end is None:
                break
            sentence, buffer = buffer[:end].strip(), buffer[end:]
            if _speakable(sentence):
                clause = False
                yield sentence
    if _speakable(buffer):
        yield buffer.strip()


def _speakable(text: str) -> bool:
    return re.search(r"[^\W_]", text) is not None
