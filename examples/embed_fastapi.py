"""The signaling core inside FastAPI on uvicorn: its WebSocket route, its lifespan for the clock.

Every decision is the core's; FastAPI only accepts the socket and uvicorn moves the frames
(docs/embedding.md, "FastAPI / Starlette on uvicorn"). Run it like any FastAPI app:

    uvicorn embed_fastapi:app --app-dir examples --port 3000 --ws-max-size 65536

Limits come from the environment (``SIGNALING_JOIN_TIMEOUT=1`` ...), defaults from the core.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from collections.abc import AsyncIterator

from fastapi import FastAPI, WebSocket

import signaling_core as sc

OUTBOX_BOUND = 1024  # queued messages before a receiver counts as too slow (1013)
LIMITS = ("max_participants", "max_message_bytes", "join_timeout", "idle_timeout",
          "reconnect_grace")
now = time.monotonic  # the core reads no clock: each event carries the time
Outbox = asyncio.Queue[bytes | sc.Close]


def config_from_env() -> sc.CoreConfig:
    defaults = sc.CoreConfig()
    values = {name: type(getattr(defaults, name))(os.environ[f"SIGNALING_{name.upper()}"])
              for name in LIMITS if f"SIGNALING_{name.upper()}" in os.environ}
    return sc.CoreConfig(**values)


core = sc.SignalingCore(config_from_env())
outboxes: dict[int, Outbox] = {}
deadline_moved = asyncio.Event()  # set when an input moved the core's next deadline earlier
conn_ids = itertools.count(1)


def perform(commands: list[sc.Command]) -> None:
    """Carry out commands in order without awaiting, so no other event interleaves."""
    if core.deadline_changed:
        deadline_moved.set()
    too_slow = []
    for command in commands:
        if isinstance(command, sc.Send | sc.Close) and command.conn_id in outboxes:
            outbox = outboxes[command.conn_id]
            if isinstance(command, sc.Close):  # the core has already forgotten it
                del outboxes[command.conn_id]
            try:
                outbox.put_nowait(command.data if isinstance(command, sc.Send) else command)
            except asyncio.QueueFull:
                too_slow.append(command.conn_id)
        # SpawnOrb/StopOrb and the session records are ignored here (orbs off).
    for conn_id in too_slow:  # a receiver that cannot keep up is cut off, not waited on
        outbox = outboxes.pop(conn_id)
        while not outbox.empty():
            outbox.get_nowait()
        outbox.put_nowait(sc.Close(conn_id, 1013, "too slow"))
        perform(core.handle(sc.ConnectionClosed(conn_id, now(), sc.Departure.SLOW_CONSUMER)))


async def tick_forever() -> None:
    """Join/idle deadlines fire when the core is told the time: at exactly the next deadline,
    or sooner when an input set an earlier one (``perform`` sets ``deadline_moved``)."""
    while True:
        deadline = core.next_deadline()
        deadline_moved.clear()
        delay = None if deadline is None else max(0.0, deadline - now())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(deadline_moved.wait(), delay)
        perform(core.handle(sc.TimeAdvanced(now())))


@contextlib.asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    ticker = asyncio.create_task(tick_forever())
    yield
    ticker.cancel()
    perform(core.handle(sc.ServerStopping(now())))  # whoever is still here gets 1001


app = FastAPI(lifespan=lifespan)


async def write(ws: WebSocket, outbox: Outbox) -> None:
    """Drain one connection's outbox; a Close goes out after everything queued before it."""
    with contextlib.suppress(Exception):  # the peer may be gone; the reader notices that
        while True:
            item = await outbox.get()
            if isinstance(item, sc.Close):
                await ws.close(item.code, item.reason)
                return
            await ws.send_text(item.decode())


@app.websocket("/ws-simple/{room_id}")
async def signaling(ws: WebSocket, room_id: str) -> None:
    if not sc.is_valid_room_id(room_id):
        await ws.close(1008)  # before accept: uvicorn answers the handshake with HTTP 403
        return
    await ws.accept()
    conn_id = next(conn_ids)
    outboxes[conn_id] = outbox = Outbox(OUTBOX_BOUND)
    writer = asyncio.create_task(write(ws, outbox))
    perform(core.handle(sc.ConnectionOpened(conn_id, room_id, now())))
    cause = sc.Departure.DROPPED
    while True:  # uvicorn itself closes with 1007 (bad UTF-8) and 1009 (--ws-max-size)
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            code = message.get("code", 1006)  # 1007/1009: uvicorn refused a frame
            cause = {1000: sc.Departure.CLOSED, 1001: sc.Departure.CLOSED, 1007:
                     sc.Departure.PROTOCOL_VIOLATION, 1009: sc.Departure.PROTOCOL_VIOLATION
                     }.get(code, sc.Departure.DROPPED)
            break
        if message.get("text") is None:
            perform([sc.Close(conn_id, 1003, "binary frames are not accepted")])
            cause = sc.Departure.PROTOCOL_VIOLATION
            break
        perform(core.handle(sc.TextReceived(conn_id, message["text"], now())))
    outboxes.pop(conn_id, None)
    perform(core.handle(sc.ConnectionClosed(conn_id, now(), cause)))  # no-op if closed by it
    if cause is sc.Departure.PROTOCOL_VIOLATION:  # our 1003 is queued: let it go out
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(writer, 10)
    writer.cancel()
