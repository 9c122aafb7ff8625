"""The orb reaches humans behind NAT as they reach each other: its peer connections get the
same STUN/TURN servers the browsers get from /api/turn-credentials (in-process, through
``OrbHostServer.ice_servers``; on workers, through the job)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from orb_bridge import OfflineBrain, OrbConfig, OrbSession
from orb_bridge.peers import rtc_ice_servers
from orb_bridge.signaling_link import QueueLink
from trio_server.config import ServerConfig
from trio_server.server import SignalingServer


def on_the_orb_loop(check: Callable[[], Any]) -> Any:
    """Run ``check`` inside an asyncio loop: an orb's peers are made on its loop (the floor
    stage starts its clock there), never outside one."""
    async def inside() -> Any:
        return check()
    return asyncio.run(asyncio.wait_for(inside(), 30))


def test_the_server_hands_the_orb_the_browsers_ice_servers() -> None:
    server = SignalingServer(ServerConfig(port=0, stun_urls=("stun:stun.example:3478",),
                                          turn_url="turn:turn.example:3478",
                                          turn_secret="t" * 32))
    servers = server.ice_servers("room-1", "ai-orb-s1")
    assert servers[0] == {"urls": ["stun:stun.example:3478"]}
    assert servers[1]["urls"] == ["turn:turn.example:3478"]
    assert "ai-orb-s1" in servers[1]["username"] and servers[1]["credential"]
    assert SignalingServer(ServerConfig(port=0)).ice_servers("room-1", "u") == []


def test_every_peer_connection_of_the_orb_uses_them() -> None:
    specs = [{"urls": "stun:a.example"}, {"urls": ["turn:b.example"], "username": "u",
                                          "credential": "c"}, {"urls": []}]
    def check() -> None:
        session = OrbSession(QueueLink(8), room_id="room-1", session_id="s1",
                             config=OrbConfig(), brain=OfflineBrain(), ice_servers=specs)
        peer = session._new_peer("client-1", "client")
        assert [(s.urls, s.username, s.credential) for s in peer.ice_servers] == [
            (["stun:a.example"], None, None), (["turn:b.example"], "u", "c")]
        pc = peer._new_pc()  # aiortc keeps the configuration private
        assert [s.urls for s in pc._RTCPeerConnection__configuration.iceServers or []] == [
            ["stun:a.example"], ["turn:b.example"]]

    on_the_orb_loop(check)
    assert rtc_ice_servers([]) == []


def test_a_relay_only_orb_gives_aiortc_the_relay_policy() -> None:
    """``OrbConfig.ice_relay_only`` reaches aiortc (whose ICE then gathers relay candidates
    only; tests/security/test_browser_relay.py checks that end to end with coturn)."""
    from aiortc import RTCIceTransportPolicy

    policies = {}
    for relay_only in (False, True):
        def policy(relay_only: bool = relay_only) -> Any:
            session = OrbSession(QueueLink(8), room_id="room-1", session_id="s1",
                                 config=OrbConfig(ice_relay_only=relay_only),
                                 brain=OfflineBrain())
            pc = session._new_peer("client-1", "client")._new_pc()
            return pc._RTCPeerConnection__configuration.iceTransportPolicy

        policies[relay_only] = on_the_orb_loop(policy)
    assert policies == {False: RTCIceTransportPolicy.ALL, True: RTCIceTransportPolicy.RELAY}


def test_the_relay_only_switch_reaches_both_orb_hosts() -> None:
    """``trio-server --orb-ice-relay-only on`` (in-process orbs) and ``orb-worker
    --ice-relay-only`` (workers) both end in ``OrbConfig.ice_relay_only``."""
    from orb_bridge import InProcessOrbHost
    from orb_bridge.worker import build_parser as worker_parser
    from trio_server.cli import build_parser, orb_options_from_args

    args = build_parser().parse_args(["--orbs", "--orb-ice-relay-only", "on",
                                      "--orb-stt-model", "off"])
    options = orb_options_from_args(args, {})
    assert options == {"stt_model": "off", "ice_relay_only": "on"}
    assert InProcessOrbHost(orb_options=options).config.ice_relay_only is True
    assert InProcessOrbHost(orb_options={"stt_model": "off"}).config.ice_relay_only is False
    assert worker_parser().parse_args(["--url", "ws://x", "--ice-relay-only"]).ice_relay_only
    assert not worker_parser().parse_args(["--url", "ws://x"]).ice_relay_only
