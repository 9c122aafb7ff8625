"""A minimal HTTP/1.1 client (h11 over a Trio stream) for the endpoint tests."""

from __future__ import annotations

import h11
import trio

from .conftest import WAIT


async def request(port: int, target: str, *, method: str = "GET",
                  headers: dict[str, str] | None = None,
                  stream: trio.SocketStream | None = None,
                  conn: h11.Connection | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request; pass ``stream`` and ``conn`` to reuse a kept-alive connection."""
    own = stream is None
    if stream is None:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
    conn = conn or h11.Connection(h11.CLIENT)
    all_headers = [("Host", f"127.0.0.1:{port}"), *(headers or {}).items()]
    with trio.fail_after(WAIT):
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
                break
    if own:
        await stream.aclose()
    return status, response_headers, body
