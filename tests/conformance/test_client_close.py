"""The suite's own connections close cleanly whatever the server sends while they close.

A server's keepalive ping can cross the suite's close frame on the wire. trio-websocket's
reader then answers it with a pong after the close was sent, wsproto refuses
(``Event Pong cannot be sent in state LOCAL_CLOSING``), and the error escaped into the case's
nursery: CI once failed a passing case of the balancer's conformance run that way. The server
here makes the crossing certain: it sends a ping as soon as it reads the close frame, before
it answers it.
"""

from __future__ import annotations

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request

from trio_server.conformance.context import CaseContext
from trio_server.conformance.options import SuiteOptions

#: An unmasked ping frame with no payload (RFC 6455: FIN + opcode 0x9, length 0).
PING_FRAME = bytes([0x89, 0x00])


async def _pings_into_the_close(stream: trio.SocketStream) -> None:
    """Accept the upgrade, then answer the client's close with a ping before the close."""
    ws = WSConnection(ConnectionType.SERVER)
    with trio.move_on_after(5):
        while True:
            data = await stream.receive_some(65536)
            if not data:
                return
            ws.receive_data(data)
            for event in ws.events():
                if isinstance(event, Request):
                    await stream.send_all(ws.send(AcceptConnection()))
                elif isinstance(event, CloseConnection):
                    # A ping the server had queued before the close frame reached it (by
                    # hand: wsproto, rightly, sends nothing but the close after a close).
                    await stream.send_all(PING_FRAME)
                    await trio.sleep(0.05)
                    await stream.send_all(ws.send(event.response()))
                    await stream.aclose()
                    return


async def test_a_ping_crossing_the_close_does_not_fail_the_case() -> None:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    with trio.fail_after(10):
        async with trio.open_nursery() as server:
            server.start_soon(trio.serve_listeners, _pings_into_the_close, listeners)
            for _ in range(3):
                async with trio.open_nursery() as case_nursery:
                    context = CaseContext(SuiteOptions(url=f"ws://127.0.0.1:{port}"),
                                          case_nursery)
                    peer = await context.connect("room", "coach")
                    await peer.aclose()
                    assert peer.ws.closed is not None
                    await context.aclose()
            server.cancel_scope.cancel()
