"""Every bad input gets the protocol's own answer (a close code or a 4xx), never a hang."""

from __future__ import annotations

import pytest
import trio

from trio_server import ServerConfig
from trio_server.conformance.raw import OP_BINARY, OP_CLOSE, OP_TEXT, RawClient

from .conftest import closed_code, join, recv, ws_client
from .serving import WAIT, running_server


async def _assert_server_still_serves(server: object) -> None:
    from trio_server import SignalingServer

    assert isinstance(server, SignalingServer)
    async with ws_client(server, "still-alive") as ws:
        await join(ws, "probe", "coach")


async def test_binary_frame_closes_1003() -> None:
    async with running_server() as server:
        async with ws_client(server, "bin") as peer, ws_client(server, "bin") as ws:
            await join(peer, "peer", "coach")
            await join(ws, "sender", "client")
            await recv(peer)
            await ws.send_message(b"\x00\x01binary")
            assert await closed_code(ws) == 1003
            assert (await recv(peer))["type"] == "user-left"
        await _assert_server_still_serves(server)


async def test_oversized_message_closes_1009() -> None:
    async with running_server() as server:
        async with ws_client(server, "big") as ws:
            await join(ws, "big", "coach")
            limit = server.config.core.max_message_bytes
            await ws.send_message('{"type":"ping","pad":"' + "x" * limit + '"}')
            assert await closed_code(ws) == 1009
        await _assert_server_still_serves(server)


async def test_oversized_refused_from_the_header_without_the_payload() -> None:
    """A header announcing a huge message is enough: the server never waits for its body."""
    async with running_server() as server:
        client = await RawClient.open(server.port, "/ws-simple/huge")
        header = bytes((0x81, 0x80 | 127)) + (2**40).to_bytes(8, "big") + b"mask"
        await client.stream.send_all(header)
        with trio.fail_after(WAIT):
            assert await client.recv_close() == 1009
        await client.aclose()


async def test_invalid_utf8_closes_1007() -> None:
    async with running_server() as server:
        client = await RawClient.open(server.port, "/ws-simple/utf")
        await client.send_frame(OP_TEXT, b'{"type":"ping","x":"\xff\xfe"}')
        with trio.fail_after(WAIT):
            assert await client.recv_close() == 1007
        await client.aclose()


async def test_unmasked_frame_closes_1002() -> None:
    async with running_server() as server:
        client = await RawClient.open(server.port, "/ws-simple/unmasked")
        await client.send_frame(OP_TEXT, b'{"type":"ping"}', mask=False)
        with trio.fail_after(WAIT):
            assert await client.recv_close() == 1002
        await client.aclose()


async def test_messages_before_a_violation_are_still_handled() -> None:
    async with running_server() as server:
        client = await RawClient.open(server.port, "/ws-simple/order")
        from trio_server.conformance.raw import encode_frame

        await client.stream.send_all(encode_frame(OP_TEXT, b'{"type":"ping"}')
                                     + encode_frame(OP_BINARY, b"x"))
        with trio.fail_after(WAIT):
            assert await client.recv_json() == {"type": "pong"}
            assert await client.recv_close() == 1003
        await client.aclose()


async def test_client_close_frame_is_echoed() -> None:
    async with running_server() as server:
        client = await RawClient.open(server.port, "/ws-simple/echo")
        await client.send_frame(OP_CLOSE, (4321).to_bytes(2, "big") + b"done")
        with trio.fail_after(WAIT):
            assert await client.recv_close() == 4321
            assert await client.stream.receive_some(10) == b""  # then the server closes TCP
        await client.aclose()


@pytest.mark.parametrize(("path", "status"), [
    ("/ws-simple/", 400),
    ("/ws-simple/bad%20room", 400),
    ("/ws-simple/bad/room", 400),
    ("/ws-simple/" + "r" * 129, 400),
    ("/elsewhere", 404),
    ("/", 404),
])
async def test_bad_upgrade_paths_get_4xx_with_a_reason(path: str, status: int) -> None:
    async with running_server() as server:
        client = await RawClient.connect(server.port)
        with trio.fail_after(WAIT):
            code, _ = await client.handshake(path)
            body = await client.read_to_eof()
        assert code == status
        assert 0 < len(body) < 200 and body.isascii()
        await client.aclose()


async def test_refusal_body_is_short_plain_text() -> None:
    async with running_server() as server:
        client = await RawClient.connect(server.port)
        with trio.fail_after(WAIT):
            status, _ = await client.handshake("/ws-simple/no!")
            text = (await client.read_to_eof()).decode()
        assert status == 400
        assert "invalid room id" in text and len(text) < 200
        await client.aclose()


async def test_wrong_websocket_version_gets_426() -> None:
    async with running_server() as server:
        client = await RawClient.connect(server.port)
        await client.stream.send_all(
            b"GET /ws-simple/v HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 8\r\n\r\n")
        with trio.fail_after(WAIT):
            status, _ = await client.read_http_response()
        assert status == 426
        await client.aclose()


async def test_garbage_request_gets_400() -> None:
    async with running_server() as server:
        client = await RawClient.connect(server.port)
        await client.stream.send_all(b"\x16\x03\x01 not http at all\r\n\r\n")
        with trio.fail_after(WAIT):
            status, _ = await client.read_http_response()
        assert status == 400
        await client.aclose()


async def test_slowloris_handshake_is_cut_off() -> None:
    config = ServerConfig(port=0, handshake_timeout=0.3)
    async with running_server(config) as server:
        client = await RawClient.connect(server.port)
        await client.stream.send_all(b"GET /ws-simple/slow HTTP/1.1\r\nHost: x\r\n")
        start = trio.current_time()
        with trio.fail_after(WAIT):
            status, _ = await client.read_http_response()
        assert status == 408
        assert 0.25 <= trio.current_time() - start < 3.0
        await client.aclose()


async def test_silent_connection_is_closed_at_the_handshake_deadline() -> None:
    config = ServerConfig(port=0, handshake_timeout=0.3)
    async with running_server(config) as server:
        client = await RawClient.connect(server.port)
        with trio.fail_after(WAIT):
            assert await client.stream.receive_some(100) == b""
        await client.aclose()


async def test_garbage_after_the_handshake_is_refused_and_the_server_lives_on() -> None:
    import random

    rng = random.Random(6455)
    async with running_server() as server:
        for _ in range(20):
            client = await RawClient.open(server.port, "/ws-simple/garbage")
            await client.stream.send_all(bytes(rng.randrange(256) for _ in range(300)))
            with trio.fail_after(WAIT):
                try:
                    code = await client.recv_close()
                except EOFError:
                    code = None  # the garbage may have been a close frame, then EOF
            assert code in (None, 1002, 1003, 1007, 1009)
            await client.aclose()
        await _assert_server_still_serves(server)
