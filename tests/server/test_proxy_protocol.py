"""The real client address from trusted proxies only (PROXY protocol v1/v2), the node id,
and the drain a SIGTERM starts with (``/healthz`` 503 before the 1012)."""

from __future__ import annotations

import ipaddress
import json
import struct

import pytest
import trio

from trio_server import ServerConfig
from trio_server.proxy_protocol import (
    V2_SIGNATURE,
    ProxiedAddress,
    ProxyHeaderError,
    header_length,
    is_trusted,
    parse,
    parse_networks,
)

from .conftest import closed_code, join, ws_client
from .httpclient import request
from .serving import WAIT, running_server

UPGRADE = (b"GET /ws-simple/proxied HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")


def v1(client: str, port: int = 40000) -> bytes:
    family = "TCP6" if ":" in client else "TCP4"
    dest = "::1" if family == "TCP6" else "127.0.0.1"
    return f"PROXY {family} {client} {dest} {port} 3000\r\n".encode()


def v2(client: str, port: int = 40000, *, local: bool = False) -> bytes:
    if local:
        return V2_SIGNATURE + bytes([0x20, 0x00]) + struct.pack("!H", 0)
    ip = ipaddress.ip_address(client)
    dest = ipaddress.ip_address("127.0.0.1" if ip.version == 4 else "::1")
    body = ip.packed + dest.packed + struct.pack("!HH", port, 3000)
    family = 0x11 if ip.version == 4 else 0x21
    return V2_SIGNATURE + bytes([0x21, family]) + struct.pack("!H", len(body)) + body


# ---------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(("header", "expected"), [
    (v1("203.0.113.7", 5555), ProxiedAddress("203.0.113.7", 5555)),
    (v1("2001:db8::1", 6), ProxiedAddress("2001:db8::1", 6)),
    (b"PROXY UNKNOWN\r\n", ProxiedAddress(None)),
    (v2("198.51.100.2", 7), ProxiedAddress("198.51.100.2", 7)),
    (v2("2001:db8::2", 8), ProxiedAddress("2001:db8::2", 8)),
    (v2("", local=True), ProxiedAddress(None)),
])
def test_headers_parse_to_the_client_they_name(header: bytes,
                                               expected: ProxiedAddress) -> None:
    assert header_length(header + b"GET / HTTP/1.1\r\n") == len(header)
    assert parse(header) == expected


def test_partial_and_foreign_starts() -> None:
    assert header_length(b"GET / HTTP/1.1\r\n") == 0  # no header: nothing consumed
    assert header_length(b"\x16\x03\x01") == 0  # a TLS ClientHello
    assert header_length(b"PROX") is None  # could still be one: wait
    assert header_length(V2_SIGNATURE[:5]) is None
    assert header_length(b"PROXY TCP4 1.2.3.4") is None
    with pytest.raises(ProxyHeaderError):
        header_length(b"PROXY " + b"x" * 200)
    for bad in (b"PROXY TCP4 1.2.3 4.5.6.7 1 2\r\n", b"PROXY TCP4 ::1 ::1 1 2\r\n",
                b"PROXY TCP9 1.2.3.4 4.5.6.7 1 2\r\n", b"PROXY TCP4 1.2.3.4 4.5.6.7 1\r\n"):
        with pytest.raises(ProxyHeaderError):
            parse(bad)


def test_trusted_networks() -> None:
    nets = parse_networks(["127.0.0.1", "10.0.0.0/8", "fd00::/8"])
    assert is_trusted("127.0.0.1", nets) and is_trusted("10.9.8.7", nets)
    assert is_trusted("::ffff:10.1.1.1", nets) and is_trusted("fd12::1", nets)
    assert not is_trusted("127.0.0.2", nets) and not is_trusted("?", nets)
    with pytest.raises(ValueError):
        ServerConfig(trusted_proxies=("not-a-cidr",))


# ---------------------------------------------------------------------------- serving


async def _connect(port: int, source: str) -> trio.SocketStream:
    """A TCP connection to the server from ``source`` (any 127/8 address is ours)."""
    sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_STREAM)
    await sock.bind((source, 0))
    with trio.fail_after(WAIT):
        await sock.connect(("127.0.0.1", port))
    return trio.SocketStream(sock)


async def _status(stream: trio.SocketStream, data: bytes) -> int:
    """Send ``data``; the status of the response (0: closed without one)."""
    with trio.fail_after(WAIT):
        await stream.send_all(data)
        head = b""
        while b"\r\n" not in head:
            try:
                chunk = await stream.receive_some(4096)
            except trio.BrokenResourceError:  # closed (reset: our bytes were left unread)
                return 0
            if not chunk:
                return 0
            head += chunk
    return int(head.split(b" ", 2)[1])


async def _wait_for(predicate: object) -> None:
    with trio.fail_after(WAIT):
        while not predicate():  # type: ignore[operator]
            await trio.sleep(0.01)


def proxied_config(**kwargs: object) -> ServerConfig:
    return ServerConfig(port=0, trusted_proxies=("127.0.0.1/32",), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("make", [v1, v2], ids=["v1", "v2"])
async def test_a_trusted_proxy_names_the_client_it_counts_under(make: object) -> None:
    async with running_server(proxied_config()) as server:
        stream = await _connect(server.port or 0, "127.0.0.1")
        async with stream:
            assert await _status(stream, make("203.0.113.7") + UPGRADE) == 101  # type: ignore[operator]
            await _wait_for(lambda: server.admission.count("203.0.113.7") == 1)
            assert server.admission.count("127.0.0.1") == 0


async def test_the_real_address_is_what_the_admin_gate_sees() -> None:
    """Behind a proxy on loopback, a remote client must not pass the loopback-only rule."""
    async with running_server(proxied_config()) as server:
        stream = await _connect(server.port or 0, "127.0.0.1")
        async with stream:
            request = b"GET /api/rooms HTTP/1.1\r\nHost: x\r\n\r\n"
            assert await _status(stream, v1("203.0.113.7") + request) == 403
        direct = await _connect(server.port or 0, "127.0.0.1")
        async with direct:  # the same proxy without a header: served as itself
            assert await _status(direct, b"GET /api/rooms HTTP/1.1\r\nHost: x\r\n\r\n") == 200


async def test_a_forged_header_from_an_untrusted_peer_is_refused() -> None:
    async with running_server(proxied_config()) as server:
        for header in (v1("127.0.0.9"), v2("127.0.0.9")):
            stream = await _connect(server.port or 0, "127.0.0.2")
            async with stream:
                assert await _status(stream, header + UPGRADE) == 400
                assert server.admission.count("127.0.0.9") == 0


async def test_a_malformed_header_from_a_trusted_proxy_closes_the_connection() -> None:
    async with running_server(proxied_config()) as server:
        stream = await _connect(server.port or 0, "127.0.0.1")
        async with stream:
            assert await _status(stream, b"PROXY TCP4 nonsense\r\n" + UPGRADE) == 0


async def test_the_per_address_cap_counts_proxied_clients() -> None:
    config = proxied_config(cap_loopback=True, max_connections_per_address=2)
    async with running_server(config) as server:
        port = server.port or 0
        statuses = []
        streams = []
        for client in ("10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.2"):
            stream = await _connect(port, "127.0.0.1")
            streams.append(stream)
            statuses.append(await _status(stream, v2(client) + UPGRADE))
        assert statuses == [101, 101, 503, 101]
        for stream in streams:
            await stream.aclose()


# ---------------------------------------------------------------------------- node and drain


async def test_node_id_in_healthz_metrics_and_rooms() -> None:
    async with running_server(ServerConfig(port=0, node_id="node-a")) as server:
        health = json.loads((await request(server.port or 0, "/healthz"))[2])
        assert health["node"] == "node-a"
        metrics = (await request(server.port or 0, "/metrics"))[2].decode()
        assert 'signaling_node_info{node="node-a"} 1.0' in metrics
        async with ws_client(server, "noderoom") as ws:
            await join(ws, "c", "coach")
            rooms = json.loads((await request(server.port or 0, "/api/rooms"))[2])
            assert rooms["node"] == "node-a"
            assert [room["node"] for room in rooms["rooms"]] == ["node-a"]
    async with running_server() as server:  # the default: host:port
        health = json.loads((await request(server.port or 0, "/healthz"))[2])
        assert health["node"] == f"127.0.0.1:{server.port}"


async def test_drain_fails_the_health_check_before_the_restart_close() -> None:
    async with running_server(ServerConfig(port=0, drain_seconds=0.6)) as server:
        port = server.port or 0
        async with ws_client(server, "drainroom") as ws, trio.open_nursery() as nursery:
            await join(ws, "c", "coach")
            nursery.start_soon(server.drain_and_restart)
            await _wait_for(lambda: server.draining)
            status, _, body = await request(port, "/healthz")
            assert status == 503 and json.loads(body)["status"] == "draining"
            # Still serving while the balancer takes the node out.
            assert (await request(port, "/metrics"))[0] == 200
            started = trio.current_time()
            assert await closed_code(ws) == 1012
            assert trio.current_time() - started >= 0.4
