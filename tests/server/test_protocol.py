"""The protocol end to end through real WebSocket clients (trio-websocket) on real sockets."""

from __future__ import annotations

import trio

from .conftest import closed_code, join, recv, send, ws_client
from .serving import WAIT, running_server


async def test_three_party_room() -> None:
    async with running_server() as server, \
            ws_client(server, "room-a") as coach, \
            ws_client(server, "room-a") as client, \
            ws_client(server, "room-a") as extra:
        assert (await join(coach, "coach-1", "coach"))["peers"] == []

        discovery = await join(client, "client-1", "client")
        assert discovery["roomId"] == "room-a"
        assert [(p["userId"], p["shouldCreateOffer"]) for p in discovery["peers"]] == [
            ("coach-1", False)]
        joined = await recv(coach)
        assert joined["type"] == "user-joined" and joined["userId"] == "client-1"
        assert joined["shouldCreateOffer"] is True and joined["participantType"] == "human"

        discovery = await join(extra, "observer-9", "observer")
        assert [p["userId"] for p in discovery["peers"]] == ["coach-1", "client-1"]
        assert (await recv(coach))["userId"] == "observer-9"
        assert (await recv(client))["userId"] == "observer-9"

        # Targeted relay: only the target gets it, with fromId overwritten by the server.
        offer = {"type": "offer", "toId": "client-1", "fromId": "forged",
                 "offer": {"type": "offer", "sdp": "v=0"}}
        await send(coach, offer)
        got = await recv(client)
        assert got == {**offer, "fromId": "coach-1"}

        # Broadcast (no toId): everyone else, in order.
        await send(client, {"type": "ice-candidate", "candidate": {"candidate": "c1"}})
        await send(client, {"type": "client_signal", "action": "raise-hand"})
        for peer in (coach, extra):
            first, second = await recv(peer), await recv(peer)
            assert first["type"] == "ice-candidate" and first["fromId"] == "client-1"
            assert second == {"type": "client_signal", "action": "raise-hand",
                              "fromId": "client-1"}

        await send(extra, {"type": "ping"})
        assert await recv(extra) == {"type": "pong"}

        # The offer never reached the bystander: its next message is the leave below.
        await send(client, {"type": "leave"})
        for peer in (coach, extra):
            left = await recv(peer)
            assert left["type"] == "user-left" and left["userId"] == "client-1"
        # The connection stays usable and may join again.
        rejoin = await join(client, "client-1", "client")
        assert [p["userId"] for p in rejoin["peers"]] == ["coach-1", "observer-9"]


async def test_errors_keep_the_connection_usable() -> None:
    async with running_server() as server, ws_client(server, "room-e") as ws:
        await send(ws, {"type": "offer", "offer": {}})
        assert (await recv(ws))["code"] == "not-joined"
        await ws.send_message("not json")
        assert (await recv(ws))["code"] == "invalid-json"
        await send(ws, {"type": "no-such-type"})
        assert (await recv(ws))["code"] == "unknown-type"
        await send(ws, {"type": "join", "roomId": "other", "userId": "u", "userRole": "coach"})
        assert (await recv(ws))["code"] == "room-mismatch"
        await join(ws, "u", "coach")
        await send(ws, {"type": "offer", "toId": "nobody", "offer": {}})
        assert (await recv(ws))["code"] == "unknown-target"
        await send(ws, {"type": "ping"})
        assert (await recv(ws))["type"] == "pong"


async def test_rooms_are_isolated() -> None:
    async with running_server() as server, \
            ws_client(server, "iso-1") as a1, ws_client(server, "iso-1") as a2, \
            ws_client(server, "iso-2") as b1:
        await join(a1, "same-user", "coach")
        await join(b1, "same-user", "coach")  # same userId in another room: no conflict
        await join(a2, "client", "client")
        await recv(a1)  # user-joined
        await send(a1, {"type": "client_signal", "action": "wave"})
        assert (await recv(a2))["action"] == "wave"
        await send(b1, {"type": "ping"})
        # b1's next message is its own pong: nothing from room iso-1 leaked in.
        assert await recv(b1) == {"type": "pong"}


async def test_replacement_closes_the_old_connection_4001() -> None:
    async with running_server() as server, \
            ws_client(server, "rep") as coach, \
            ws_client(server, "rep") as old, ws_client(server, "rep") as new:
        await join(coach, "coach", "coach")
        await join(old, "client", "client")
        await recv(coach)
        discovery = await join(new, "client", "client")
        assert [p["userId"] for p in discovery["peers"]] == ["coach"]
        assert await closed_code(old) == 4001
        assert (await recv(coach))["type"] == "user-left"
        assert (await recv(coach))["type"] == "user-joined"
        # The old connection's close did not remove the new participant.
        await send(coach, {"type": "offer", "toId": "client", "offer": {}})
        assert (await recv(new))["fromId"] == "coach"


async def test_room_full() -> None:
    from signaling_core import CoreConfig
    from trio_server import ServerConfig

    config = ServerConfig(port=0, core=CoreConfig(max_participants=2))
    async with running_server(config) as server, \
            ws_client(server, "full") as a, ws_client(server, "full") as b, \
            ws_client(server, "full") as c:
        await join(a, "a", "coach")
        await join(b, "b", "client")
        await send(c, {"type": "join", "userId": "c", "userRole": "client"})
        assert (await recv(c))["code"] == "room-full"


async def test_client_close_is_a_departure() -> None:
    async with running_server() as server, ws_client(server, "bye") as stay:
        await join(stay, "stay", "coach")
        async with ws_client(server, "bye") as leaving:
            await join(leaving, "leaving", "client")
            await recv(stay)
        left = await recv(stay)
        assert left["type"] == "user-left" and left["userId"] == "leaving"
        with trio.fail_after(WAIT):
            while server.core.connection_count != 1:
                await trio.sleep(0.01)
