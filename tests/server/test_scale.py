"""Many rooms at once: 200 rooms x 2 clients join and exchange concurrently, nothing crosses."""

from __future__ import annotations

import trio

from signaling_core import CoreConfig
from trio_server import ServerConfig

from .conftest import join, recv, send, ws_client
from .serving import running_server

ROOMS = 200


async def test_200_rooms_at_once() -> None:
    # The join deadline is generous: 400 handshakes share the machine with the test itself.
    config = ServerConfig(port=0, backlog=512, core=CoreConfig(join_timeout=60))
    done: list[str] = []
    all_joined = trio.Event()
    joined_count = 0

    async with running_server(config) as server:
        async def room(index: int) -> None:
            nonlocal joined_count
            room_id = f"scale-{index}"
            async with ws_client(server, room_id) as coach, ws_client(server, room_id) as client:
                await join(coach, f"coach-{index}", "coach")
                discovery = await join(client, f"client-{index}", "client")
                assert [p["userId"] for p in discovery["peers"]] == [f"coach-{index}"]
                assert (await recv(coach, 30))["userId"] == f"client-{index}"
                joined_count += 1
                if joined_count == ROOMS:
                    assert server.core.room_count == ROOMS
                    assert server.core.snapshot().participants == 2 * ROOMS
                    all_joined.set()
                with trio.fail_after(30):
                    await all_joined.wait()  # every room is open at the same time
                await send(coach, {"type": "offer", "toId": f"client-{index}",
                                   "offer": {"sdp": room_id}})
                offer = await recv(client, 30)
                assert offer["fromId"] == f"coach-{index}" and offer["offer"]["sdp"] == room_id
                await send(client, {"type": "answer", "toId": f"coach-{index}",
                                    "answer": {"sdp": room_id}})
                answer = await recv(coach, 30)
                assert answer["fromId"] == f"client-{index}"
                assert answer["answer"]["sdp"] == room_id
                done.append(room_id)

        with trio.fail_after(90):
            async with trio.open_nursery() as nursery:
                for index in range(ROOMS):
                    nursery.start_soon(room, index)
        assert len(done) == ROOMS
        assert server.stats.connections_total == 2 * ROOMS
