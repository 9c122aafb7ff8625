"""Volume abuse: message floods, connection floods, slowloris, invalid and oversized frames,
a reader that stops reading, and the room cap. Bystanders are checked unharmed each time."""

from __future__ import annotations

import contextlib
import struct
from typing import Any

import orjson
import trio

from signaling_core import CoreConfig
from trio_server import SignalingServer
from trio_server.conformance.raw import (
    OP_BINARY,
    OP_PING,
    OP_TEXT,
    Closed,
    RawClient,
    encode_frame,
    open_tcp,
)

from .conftest import (
    ABUSED_ROOM,
    ATTACKER,
    WAIT,
    bystanders,
    join,
    running,
    secure_config,
    token_for,
)

# ---------------------------------------------------------------------------- helpers


async def _collect_until_closed(ws: RawClient, into: list[dict[str, Any]]) -> None:
    try:
        while True:
            into.append(await ws.recv_json())
    except Closed:
        return


async def _http_status(stream: trio.SocketStream) -> tuple[int, bytes]:
    """(status, the rest up to EOF) of the response on ``stream``."""
    data = b""
    with trio.fail_after(WAIT):
        while True:
            try:
                chunk = await stream.receive_some(65536)
            except trio.BrokenResourceError:
                chunk = b""
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data and b" 101 " in data.split(b"\r\n", 1)[0]:
                break
    head, _, body = data.partition(b"\r\n\r\n")
    return (int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else 0), body


async def _upgrade(port: int, source: str = ATTACKER) -> tuple[trio.SocketStream, int, bytes]:
    from trio_server.conformance.raw import upgrade_request

    with trio.fail_after(WAIT):
        stream = await open_tcp(port, source=source)
        await stream.send_all(upgrade_request(f"/ws-simple/{ABUSED_ROOM}",
                                              host=f"127.0.0.1:{port}"))
        status, body = await _http_status(stream)
    return stream, status, body


# ---------------------------------------------------------------------------- message floods


async def test_message_flood_is_rate_limited_then_closed_1008() -> None:
    async with running() as server, bystanders(server):
        assert server.port is not None
        mallory = await join(server.port, ABUSED_ROOM, "mallory", "client")
        seen: list[dict[str, Any]] = []
        burst = b"".join(encode_frame(OP_TEXT, orjson.dumps(
            {"type": "client_signal", "action": "flood", "n": n})) for n in range(5000))
        with trio.fail_after(WAIT * 2):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_collect_until_closed, mallory, seen)
                with contextlib.suppress(trio.BrokenResourceError, OSError):
                    await mallory.send_raw(burst)  # closed mid-flood: expected
        codes = [m.get("code") for m in seen if m["type"] == "error"]
        assert "rate-limited" in codes
        assert mallory.close_code == 1008
        assert server.stats.closes.get(1008) == 1
        await mallory.aclose()


async def test_ten_thousand_invalid_frames_are_refused_then_closed_1008() -> None:
    """With the default limits, a stream of invalid messages is answered, then cut off."""
    async with running() as server, bystanders(server) as crowd:
        assert server.port is not None
        mallory = await join(server.port, ABUSED_ROOM, "mallory", "client")
        seen: list[dict[str, Any]] = []
        payloads = [b"not json", b"[1,2]", b'{"type":5}', b'{"type":"nope"}',
                    b'{"type":"offer"}', b'{"type":"join","userId":"x","userRole":"coach"}']
        burst = b"".join(encode_frame(OP_TEXT, payloads[n % len(payloads)]) for n in range(10_000))
        with trio.fail_after(WAIT * 2):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_collect_until_closed, mallory, seen)
                with contextlib.suppress(trio.BrokenResourceError, OSError):
                    await mallory.send_raw(burst)
        codes = {m.get("code") for m in seen if m["type"] == "error"}
        assert {"invalid-json", "invalid-message", "unknown-type", "already-joined",
                "rate-limited"} <= codes
        assert mallory.close_code == 1008
        await mallory.aclose()
    # Invalid messages are relayed to no one: the room heard only mallory come and go.
    assert [m["type"] for m in crowd.heard_from("mallory")] == ["user-joined", "user-left"] * 2


async def test_ten_thousand_invalid_frames_each_get_their_error_without_a_rate_limit() -> None:
    # No reconnect grace: mallory's drop at the end is the departure the bystanders check.
    config = secure_config(core=CoreConfig(rate_limit_per_second=0, reconnect_grace=0))
    async with running(config) as server, bystanders(server) as crowd:
        assert server.port is not None
        mallory = await join(server.port, ABUSED_ROOM, "mallory", "client")
        cases = [(b"not json", "invalid-json"), (b"[1,2]", "invalid-message"),
                 (b'{"type":5}', "invalid-message"), (b'{"type":"nope"}', "unknown-type"),
                 (b'{"type":"offer"}', "invalid-message"),
                 (b'{"type":"offer","offer":{},"toId":"ghost"}', "unknown-target"),
                 (b'{"type":"ai_status","status":"ready"}', "forbidden")]
        total = 10_000
        burst = b"".join(encode_frame(OP_TEXT, cases[n % len(cases)][0]) for n in range(total))
        codes: list[str] = []
        with trio.fail_after(WAIT * 3):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(mallory.send_raw, burst)
                while len(codes) < total:
                    message = await mallory.recv_json()
                    if message["type"] == "error":
                        codes.append(message["code"])
            await mallory.send_json({"type": "ping"})
            assert await mallory.recv_until("pong") == {"type": "pong"}
        assert codes == [cases[n % len(cases)][1] for n in range(total)]
        await mallory.aclose()
    assert [m["type"] for m in crowd.heard_from("mallory")] == ["user-joined", "user-left"] * 2


async def test_protocol_violating_frames_close_with_their_codes() -> None:
    async with running() as server, bystanders(server):
        assert server.port is not None
        violations = [
            (encode_frame(OP_BINARY, b"\x00\x01"), 1003),
            (encode_frame(OP_TEXT, b'{"type":"ping","x":"\xff"}'), 1007),
            (encode_frame(OP_TEXT, b'{"type":"ping"}', mask=False), 1002),
            (bytes((0x80 | 0x40 | OP_TEXT, 0x80)) + b"mask", 1002),  # RSV1 without extension
            (encode_frame(OP_PING, b"p" * 200), 1002),  # control frame over 125 bytes
            (encode_frame(0x3, b"reserved opcode"), 1002),
            (bytes((0x81, 0x80 | 127)) + struct.pack("!Q", 2**40) + b"mask", 1009),
        ]
        for data, expected in violations:
            mallory = await join(server.port, ABUSED_ROOM, "mallory", "client")
            with trio.fail_after(WAIT):
                await mallory.send_raw(data)
                assert await mallory.close_code_after() == expected, data[:8]
            await mallory.aclose()


async def test_oversized_message_closes_1009() -> None:
    async with running() as server, bystanders(server) as crowd:
        assert server.port is not None
        mallory = await join(server.port, ABUSED_ROOM, "mallory", "client")
        limit = server.config.core.max_message_bytes
        with trio.fail_after(WAIT):
            # The server may close before it has read the whole megabyte.
            with contextlib.suppress(trio.BrokenResourceError, OSError):
                await mallory.send_json({"type": "client_signal", "action": "big",
                                         "pad": "x" * (limit * 16)})
            assert await mallory.close_code_after() == 1009
        await mallory.aclose()
    assert all(m.get("action") != "big" for member in crowd.members for m in member.others)


async def test_a_reader_that_stops_reading_is_closed_1013() -> None:
    # The close frame waits behind what the kernel already holds for mallory: give it time.
    config = secure_config(outbound_queue_limit=64 * 1024, close_timeout=WAIT)
    async with running(config) as server, \
            bystanders(server, broadcast=True, pad=4000, interval=0.01, min_during=50):
        assert server.port is not None
        with trio.fail_after(WAIT):
            mallory = await RawClient.open(server.port, f"/ws-simple/{ABUSED_ROOM}", rcvbuf=4096)
            await mallory.send_json({"type": "join", "userId": "mallory",
                                     "userRole": "client",
                                     "token": token_for(ABUSED_ROOM, "mallory", "client")})
        # From here on mallory reads nothing while the room broadcasts 4 kB messages.
        with trio.fail_after(WAIT * 3):
            while server.stats.slow_consumers == 0:
                await trio.sleep(0.05)
        assert server.stats.closes.get(1013) == 1
        # When mallory finally reads, the last thing it gets is the 1013 close.
        with trio.fail_after(WAIT):
            assert await mallory.close_code_after() == 1013
        await mallory.aclose()


# ---------------------------------------------------------------------------- connection floods


async def test_connection_flood_from_one_address_is_capped_with_503() -> None:
    cap = 12
    async with running(max_connections_per_address=cap) as server, bystanders(server):
        assert server.port is not None
        held = []
        statuses = []
        for _ in range(3 * cap):
            stream, status, body = await _upgrade(server.port)
            statuses.append(status)
            held.append(stream)
            if status == 503:
                assert body == b"too many connections from your address; close some and try " \
                               b"again\n"
        assert statuses == [101] * cap + [503] * (2 * cap)
        assert server.stats.connection_refusals == {"address-cap": 2 * cap}
        # Another address is not affected by the flood from this one.
        newcomer = await join(server.port, ABUSED_ROOM, "newcomer", "client",
                              source="127.0.0.4")
        await newcomer.aclose()
        for stream in held:
            await stream.aclose()
        # Once the flood's connections are gone, the address may connect again.
        with trio.fail_after(WAIT):
            while server.admission.count(ATTACKER) > 0:
                await trio.sleep(0.01)
        again = await join(server.port, ABUSED_ROOM, "mallory", "client")
        await again.aclose()


async def test_the_overall_connection_cap_refuses_newcomers_not_the_connected() -> None:
    # Four bystanders are connected; room for four more connections in all.
    async with running(max_connections=8) as server, bystanders(server):
        assert server.port is not None
        held = []
        statuses = []
        for _ in range(6):
            stream, status, body = await _upgrade(server.port, source="127.0.0.5")
            statuses.append(status)
            held.append(stream)
            if status == 503:
                assert b"connection limit" in body
        assert statuses == [101] * 4 + [503] * 2
        assert server.stats.connection_refusals == {"server-full": 2}
        for stream in held:
            await stream.aclose()


async def test_slowloris_handshakes_are_cut_off_at_the_handshake_deadline() -> None:
    async with running(handshake_timeout=0.5) as server, bystanders(server):
        assert server.port is not None
        port = server.port

        async def drip(results: list[tuple[int, float]]) -> None:
            stream = await open_tcp(port)
            start = trio.current_time()
            await stream.send_all(b"GET /ws-simple/" + ABUSED_ROOM.encode() + b" HTTP/1.1\r\n")
            received = b""
            with trio.move_on_after(WAIT):
                for index in range(1000):
                    try:
                        await stream.send_all(b"X-Slow-%d: 1\r\n" % index)
                    except (trio.BrokenResourceError, OSError):
                        break
                    with trio.move_on_after(0.1):
                        try:
                            chunk = await stream.receive_some(65536)
                        except trio.BrokenResourceError:
                            chunk = b""
                        received += chunk
                        if not chunk:
                            break
            status = int(received.split(b" ", 2)[1]) if received.startswith(b"HTTP/") else 0
            results.append((status, trio.current_time() - start))
            await stream.aclose()

        async def silent(results: list[tuple[int, float]]) -> None:
            stream = await open_tcp(port)
            start = trio.current_time()
            with trio.fail_after(WAIT):
                assert await stream.receive_some(100) == b""
            results.append((0, trio.current_time() - start))
            await stream.aclose()

        results: list[tuple[int, float]] = []
        async with trio.open_nursery() as nursery:
            for _ in range(10):
                nursery.start_soon(drip, results)
            for _ in range(5):
                nursery.start_soon(silent, results)
        assert sorted(status for status, _ in results) == [0] * 5 + [408] * 10
        assert all(0.4 <= took < 4.0 for _, took in results), results


async def test_room_cap_refuses_a_new_room_with_server_full() -> None:
    config = secure_config(core=CoreConfig(max_rooms=3))
    async with running(config) as server, bystanders(server):  # the bystanders hold 2 rooms
        assert server.port is not None
        first = await join(server.port, "spam-1", "mallory", "coach")
        with trio.fail_after(WAIT):
            ws = await RawClient.open(server.port, "/ws-simple/spam-2")
            await ws.send_json({"type": "join", "userId": "mallory", "userRole": "coach",
                                "token": token_for("spam-2", "mallory", "coach")})
            reply = await ws.recv_json()
        assert reply["code"] == "room-full" and "server is full" in reply["message"]
        assert server.core.room_count == 3
        # The refused connection stays usable, and existing rooms still take joins.
        extra = await join(server.port, ABUSED_ROOM, "late-client", "observer")
        for socket_ in (first, ws, extra):
            await socket_.aclose()


async def test_caps_do_not_leak_when_connections_come_and_go() -> None:
    # Each round rejoins as the same user after a drop: no seat is held for it (grace 0).
    async with running(max_connections_per_address=4,
                       core=CoreConfig(reconnect_grace=0)) as server:
        assert server.port is not None
        for _ in range(30):
            ws = await join(server.port, ABUSED_ROOM, "mallory", "client")
            await ws.aclose()
        with trio.fail_after(WAIT):
            while server.admission.open:
                await trio.sleep(0.01)
        assert _snapshot_clean(server)


def _snapshot_clean(server: SignalingServer) -> bool:
    return server.core.room_count == 0 and server.core.connection_count == 0


async def test_an_oversized_request_head_gets_431() -> None:
    async with running() as server, bystanders(server):
        assert server.port is not None
        limit = server.config.max_request_head_bytes
        with trio.fail_after(WAIT):
            stream = await open_tcp(server.port)
            head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * (4 * limit) + b"\r\n\r\n"
            with contextlib.suppress(trio.BrokenResourceError, OSError):
                await stream.send_all(head)  # refused before the whole head is read
            status, body = await _http_status(stream)
            await stream.aclose()
        assert status == 431
        assert body.endswith(b"\n") and len(body) < 100
