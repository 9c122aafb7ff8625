"""A minimal HTTP/1.1 client (h11 over a Trio stream) for the endpoint and abuse tests."""

from __future__ import annotations

import h11
import trio

from .serving import WAIT


async def request(port: int, target: str, *, method: str = "GET",
                  headers: dict[str, str] | None = None,
                  stream: trio.SocketStream | None = None,
                  conn: h11.Connection | None = None,
                  wait: float = WAIT) -> tuple[int, dict[str, str], bytes]:
    """One request, bounded by ``wait``; pass ``stream`` and ``conn`` to reuse a kept-alive
    connection (else one is opened for it and closed after)."""
    own = stream is None
    conn = conn or h11.Connection(h11.CLIENT)
    all_headers = [("Host", f"127.0.0.1:{port}"), *(headers or {}).items()]
    with trio.fail_after(wait):
        if stream is None:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
        try:
            await stream.send_all(conn.send(h11.Request(method=method, target=target,
                                                        headers=all_headers)) or b"")
            await stream.send_all(conn.send(h11.EndOfMessage()) or b"")
            status = 0
            response_headers: dict[str, str] = {}
            body = b""
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await stream.receive_some(65536))
                elif isinstance(event, h11.Response):
                    status = event.status_code
                    response_headers = {k.decode(): v.decode() for k, v in event.headers}
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                    return status, response_headers, body
        finally:
            if own:
                await stream.aclose()
