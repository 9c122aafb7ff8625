"""Cross-site WebSocket hijacking: the Origin check of the upgrade (403 for a foreign page)."""

from __future__ import annotations

import pytest
import trio

from trio_server import ServerConfig
from trio_server.cli import build_parser, config_from_args
from trio_server.conformance.raw import RawClient, upgrade_request
from trio_server.origins import normalize_origin, origin_allowed

from .conftest import ABUSED_ROOM, WAIT, bystanders, running


async def _status(port: int, origin: str | None, host: str | None = None) -> tuple[int, bytes]:
    with trio.fail_after(WAIT):
        client = await RawClient.connect(port)
        try:
            if host is None:
                return await client.handshake(f"/ws-simple/{ABUSED_ROOM}", origin=origin)
            await client.stream.send_all(upgrade_request(f"/ws-simple/{ABUSED_ROOM}",
                                                         host=host, origin=origin))
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = await client.stream.receive_some(4096)
                if not chunk:
                    break
                data += chunk
            return int(data.split(b" ", 2)[1]), data
        finally:
            await client.aclose()


async def test_by_default_only_the_servers_own_pages_and_non_browsers_may_connect() -> None:
    async with running() as server, bystanders(server):
        assert server.port is not None
        own = f"http://127.0.0.1:{server.port}"
        assert (await _status(server.port, None))[0] == 101
        assert (await _status(server.port, own))[0] == 101
        assert (await _status(server.port, own.upper().replace("HTTP", "http")))[0] == 101
        for foreign in ("http://evil.example", f"http://localhost:{server.port}", "null",
                        f"http://127.0.0.1:{server.port + 1}", "not an origin", ""):
            status, body = await _status(server.port, foreign)
            assert status == 403, foreign
            assert body.endswith(b"origin not allowed\n")
        assert server.stats.handshake_refusals == {403: 6}


async def test_listed_origins_replace_the_default() -> None:
    async with running(allowed_origins=("https://app.example", "http://127.0.0.1:9")) as server:
        assert server.port is not None
        assert (await _status(server.port, "https://app.example"))[0] == 101
        assert (await _status(server.port, "https://APP.example:443/"))[0] == 101
        assert (await _status(server.port, "http://127.0.0.1:9"))[0] == 101
        assert (await _status(server.port, None))[0] == 101
        # Its own origin is not implied once a list is given (DNS rebinding).
        assert (await _status(server.port, f"http://127.0.0.1:{server.port}"))[0] == 403
        assert (await _status(server.port, "http://app.example"))[0] == 403


async def test_a_rebinding_host_matches_only_without_a_list() -> None:
    async with running() as server:
        assert server.port is not None
        rebound = await _status(server.port, "http://attacker.example", "attacker.example")
        assert rebound[0] == 101  # documented: the default trusts the Host header
    async with running(allowed_origins=("https://calls.example",)) as server:
        assert server.port is not None
        rebound = await _status(server.port, "http://attacker.example", "attacker.example")
        assert rebound[0] == 403


async def test_star_allows_any_origin() -> None:
    async with running(allowed_origins=("*",)) as server:
        assert server.port is not None
        assert (await _status(server.port, "http://evil.example"))[0] == 101


@pytest.mark.parametrize(("origin", "normal"), [
    ("HTTPS://Example.COM:443", "https://example.com"),
    ("http://example.com:80/", "http://example.com"),
    ("http://example.com:8080", "http://example.com:8080"),
    ("http://[::1]:3000", "http://[::1]:3000"),
    ("*", "*"), ("null", "null"),
    ("http://example.com/path", None), ("http://user@example.com", None),
    ("example.com", None), ("http://", None), ("http://example.com:99999", None),
])
def test_origins_are_normalized(origin: str, normal: str | None) -> None:
    assert normalize_origin(origin) == normal


def test_own_origin_follows_the_servers_scheme() -> None:
    assert origin_allowed("https://h.example", "h.example", allowed=(), tls=True)
    assert not origin_allowed("http://h.example", "h.example", allowed=(), tls=True)
    # A plain server may sit behind a TLS-terminating proxy that keeps the Host header.
    assert origin_allowed("https://h.example", "h.example", allowed=(), tls=False)
    assert origin_allowed("http://h.example:8080", "H.example:8080", allowed=(), tls=False)
    assert not origin_allowed("http://h.example", None, allowed=(), tls=False)


def test_cli_and_environment_configure_origins() -> None:
    args = build_parser().parse_args(["--allowed-origin", "https://A.example",
                                      "--allowed-origin", "http://b.example:81"])
    config, _ = config_from_args(args, environ={})
    assert config.allowed_origins == ("https://a.example", "http://b.example:81")
    config, _ = config_from_args(build_parser().parse_args([]), environ={
        "SIGNALING_ALLOWED_ORIGIN": "https://a.example, https://c.example"})
    assert config.allowed_origins == ("https://a.example", "https://c.example")
    with pytest.raises(SystemExit, match="not an origin"):
        config_from_args(build_parser().parse_args(["--allowed-origin", "a.example/x"]),
                         environ={})
    with pytest.raises(ValueError, match="not an origin"):
        ServerConfig(allowed_origins=("https://a.example/path",))
