"""A small HTTP/1.1 client on asyncio streams and h11, for the orb's model servers.

The orb talks to OpenAI-compatible servers (chat completions, audio) and needs exactly this:
one request per connection, a streamed body read as it arrives (server-sent events), every
step under the caller's timeout, and a connection that is really closed when the caller is
cancelled (barge-in must stop the model's work, not leave a socket draining in the
background). h11 is already the server's HTTP parser; no other HTTP library is pulled in.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping
from urllib.parse import urlsplit

import h11

_READ_SIZE = 65_536
#: The longest body read whole (errors, non-streamed answers, audio).
MAX_BODY = 16 * 1024 * 1024


class HttpError(Exception):
    """The request could not be made or its answer could not be read."""


class HttpResponse:
    """Status and headers of an answer whose body is still on the wire."""

    def __init__(self, conn: h11.Connection, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, status: int, headers: dict[str, str]) -> None:
        self._conn = conn
        self._reader = reader
        self._writer = writer
        self.status = status
        self.headers = headers

    async def chunks(self, deadline: Callable[[], float] | None = None
                     ) -> AsyncIterator[bytes]:
        """The body as it arrives; ends at its end.

        ``deadline()`` (``time.monotonic()`` seconds, asked before each read) bounds every
        read; past it :class:`TimeoutError`. The bound wraps only this generator's own reads,
        never the consumer's work between two chunks.
        """
        while True:
            event = self._conn.next_event()
            if event is h11.NEED_DATA:
                if deadline is None:
                    data = await self._reader.read(_READ_SIZE)
                else:
                    async with asyncio.timeout(max(0.0, deadline() - time.monotonic())):
                        data = await self._reader.read(_READ_SIZE)
                try:
                    self._conn.receive_data(data)
                except h11.RemoteProtocolError as exc:
                    raise HttpError(f"bad HTTP from the server: {exc}") from None
                continue
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                return

    async def read(self, limit: int = MAX_BODY,
                   deadline: Callable[[], float] | None = None) -> bytes:
        body = bytearray()
        async for chunk in self.chunks(deadline):
            body += chunk
            if len(body) > limit:
                raise HttpError(f"answer larger than {limit} bytes")
        return bytes(body)

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()


@contextlib.asynccontextmanager
async def request(method: str, url: str, *, body: bytes = b"",
                  headers: Mapping[str, str] | None = None,
                  timeout: float = 10.0) -> AsyncIterator[HttpResponse]:
    """Send one request and yield its answer (status and headers read, body not yet).

    ``timeout`` bounds connecting, sending and reading the answer's head
    (:class:`TimeoutError`); reading the body is bounded by :meth:`HttpResponse.chunks`.
    The connection is closed when the block ends, however it ends.
    """
    async with asyncio.timeout(timeout):
        opened = await _open(method, url, body, headers or {})
    _conn, _reader, writer, response = opened
    try:
        yield response
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await writer.wait_closed()


async def _open(method: str, url: str, body: bytes, headers: Mapping[str, str]
                ) -> tuple[h11.Connection, asyncio.StreamReader, asyncio.StreamWriter,
                           HttpResponse]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpError(f"not an http(s) URL: {url!r}")
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        reader, writer = await asyncio.open_connection(
            parts.hostname, port, ssl=ssl.create_default_context() if tls else None,
            limit=_READ_SIZE)
    except OSError as exc:
        raise HttpError(f"cannot connect to {parts.hostname}:{port}: {exc}") from None
    conn = h11.Connection(h11.CLIENT)
    try:
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        head = [("Host", host), ("Content-Length", str(len(body))), ("Connection", "close"),
                ("User-Agent", "tri-party-orb")]
        head += list(headers.items())
        writer.write(conn.send(h11.Request(method=method, target=target, headers=head)))
        if body:
            writer.write(conn.send(h11.Data(data=body)))
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(_READ_SIZE)
                try:
                    conn.receive_data(data)
                except h11.RemoteProtocolError as exc:
                    raise HttpError(f"bad HTTP from the server: {exc}") from None
                continue
            if isinstance(event, h11.Response):
                fields = {k.decode("latin-1").lower(): v.decode("latin-1")
                          for k, v in event.headers}
                response = HttpResponse(conn, reader, writer, event.status_code, fields)
                return conn, reader, writer, response
            if isinstance(event, h11.ConnectionClosed):
                raise HttpError("the server closed the connection without answering")
    except BaseException as exc:
        writer.close()
        if isinstance(exc, OSError | h11.LocalProtocolError):
            raise HttpError(f"HTTP request to {parts.hostname}:{port} failed: {exc}") from None
        raise
