"""The orb's HTTP client for its model servers, on httpx.

The orb talks to OpenAI-compatible servers (chat completions, speech, transcription) and needs
exactly this: a streamed body read as it arrives (server-sent events), every step under the
caller's bound, a connection that is really closed when the caller is cancelled (barge-in must
stop the model's work, not leave a socket draining in the background), TLS with the system's
trust store, and the environment's proxies (``HTTPS_PROXY``, ``NO_PROXY``) for a hosted model.
httpx does all of it; this module only fixes how the orb uses it:

* One short-lived ``AsyncClient`` per request: an orb makes a request per reply, so pooling
  saves nothing measurable next to a model's first token, and nothing outlives its caller.
* A server on a loopback address is never reached through a proxy (the environment's proxy
  cannot reach *our* loopback; tests and a local ollama must work whatever the shell exports).
* Failures become two exceptions the callers know: :class:`HttpError` (could not connect, bad
  HTTP, too large) and ``TimeoutError`` (a bound ran out).

It replaced a hand-written h11 client: the same interface, with TLS, proxies, chunked and
compressed bodies and HTTP edge cases handled by a maintained library.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import httpx

#: The longest body read whole (errors, non-streamed answers, audio).
MAX_BODY = 16 * 1024 * 1024
_USER_AGENT = "tri-party-orb"


class HttpError(Exception):
    """The request could not be made or its answer could not be read."""


class HttpResponse:
    """Status and headers of an answer whose body is still on the wire."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.headers = {k.lower(): v for k, v in response.headers.items()}

    async def chunks(self, deadline: Callable[[], float] | None = None
                     ) -> AsyncIterator[bytes]:
        """The body as it arrives; ends at its end.

        ``deadline()`` (``time.monotonic()`` seconds, asked before each read) bounds every
        read; past it :class:`TimeoutError`. The bound wraps only this generator's own reads,
        never the consumer's work between two chunks.
        """
        stream = self._response.aiter_bytes()
        try:
            while True:
                try:
                    if deadline is None:
                        chunk = await stream.__anext__()
                    else:
                        async with asyncio.timeout(max(0.0, deadline() - time.monotonic())):
                            chunk = await stream.__anext__()
                except StopAsyncIteration:
                    return
                except httpx.TimeoutException:
                    raise TimeoutError("the server stopped sending") from None
                except httpx.HTTPError as exc:
                    raise HttpError(f"bad HTTP from the server: {exc}") from None
                if chunk:
                    yield chunk
        finally:
            with contextlib.suppress(Exception):
                await stream.aclose()  # type: ignore[attr-defined]

    async def read(self, limit: int = MAX_BODY,
                   deadline: Callable[[], float] | None = None) -> bytes:
        body = bytearray()
        async for chunk in self.chunks(deadline):
            body += chunk
            if len(body) > limit:
                raise HttpError(f"answer larger than {limit} bytes")
        return bytes(body)


@contextlib.asynccontextmanager
async def request(method: str, url: str, *, body: bytes = b"",
                  headers: Mapping[str, str] | None = None,
                  files: Mapping[str, Any] | None = None,
                  data: Mapping[str, str] | None = None,
                  timeout: float = 10.0) -> AsyncIterator[HttpResponse]:
    """Send one request and yield its answer (status and headers read, body not yet).

    ``timeout`` bounds connecting, sending and reading the answer's head
    (:class:`TimeoutError`); reading the body is bounded by :meth:`HttpResponse.chunks`.
    ``files``/``data`` send a multipart form instead of ``body``. The connection is closed
    when the block ends, however it ends (cancellation included).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpError(f"not an http(s) URL: {url!r}")
    where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    head = {"User-Agent": _USER_AGENT, **(headers or {})}
    client = httpx.AsyncClient(
        trust_env=not _is_loopback(parts.hostname), verify=_tls_context(),
        # The caller's bounds are asyncio timeouts; httpx's own only keep a dead socket
        # from hanging longer than the head's bound.
        timeout=httpx.Timeout(timeout, read=None), follow_redirects=False)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(client)
        try:
            async with asyncio.timeout(timeout):
                if files is not None or data is not None:
                    built = client.build_request(method, url, headers=head, files=files,
                                                 data=data)
                else:
                    built = client.build_request(method, url, headers=head, content=body)
                response = await client.send(built, stream=True)
        except httpx.TimeoutException:
            raise TimeoutError(f"no answer from {where} within {timeout:g} s") from None
        except httpx.ConnectError as exc:
            raise HttpError(f"cannot connect to {where}: {exc}") from None
        except httpx.HTTPError as exc:
            raise HttpError(f"HTTP request to {where} failed: {exc!r}") from None
        stack.push_async_callback(response.aclose)
        yield HttpResponse(response)


def _is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """The system's trust store, built once (loading it costs milliseconds per request)."""
    return ssl.create_default_context()
