"""The signaling core behind asyncio and `websockets`: a whole /ws-simple/{roomId} server.

Every decision is the core's; this file only moves bytes and time (docs/embedding.md walks
through it). Run: ``python examples/embed_asyncio.py --port 0`` (prints the port it got).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal
import time
from collections.abc import Callable
from http import HTTPStatus

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

import signaling_core as sc

PREFIX = "/ws-simple/"
OUTBOX_BOUND = 1024  # messages queued for one connection before it counts as too slow (1013)
LIMITS = ("max_participants", "max_message_bytes", "join_timeout", "idle_timeout",
          "reconnect_grace")
now = time.monotonic  # the core reads no clock: the embedder passes the time with each event
Outbox = asyncio.Queue[bytes | sc.Close]


class Embedding:
    """Feeds the core the events of `websockets` and carries out the commands it returns."""

    def __init__(self, core: sc.SignalingCore) -> None:
        self.core = core
        self.outboxes: dict[int, Outbox] = {}
        self.conn_ids = itertools.count(1)
        self.deadline_moved = asyncio.Event()

    def perform(self, commands: list[sc.Command]) -> None:
        """Carry out commands in order and without awaiting, so no other event interleaves."""
        if self.core.deadline_changed:  # the input set a deadline earlier than the one told
            self.deadline_moved.set()
        too_slow = []
        for command in commands:
            if isinstance(command, sc.Send | sc.Close):
                outbox = self.outboxes.get(command.conn_id)
                if outbox is None:
                    continue
                if isinstance(command, sc.Close):  # the core has already forgotten it
                    del self.outboxes[command.conn_id]
                try:
                    outbox.put_nowait(command.data if isinstance(command, sc.Send) else command)
                except asyncio.QueueFull:
                    too_slow.append(command.conn_id)
            elif isinstance(command, sc.SpawnOrb | sc.StopOrb):
                print(f"orbs are not wired into this example; ignoring {command}", flush=True)
            # Session records (SessionStarted, ParticipantJoined, ...) would go to a ledger.
        for conn_id in too_slow:  # §8: a receiver that cannot keep up is cut off, not waited on
            outbox = self.outboxes.pop(conn_id)
            while not outbox.empty():
                outbox.get_nowait()
            outbox.put_nowait(sc.Close(conn_id, 1013, "too slow"))
            self.perform(self.core.handle(
                sc.ConnectionClosed(conn_id, now(), sc.Departure.SLOW_CONSUMER)))

    def process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        """Refuse bad paths at the handshake, before any WebSocket exists (§1)."""
        if not request.path.startswith(PREFIX):
            return conn.respond(HTTPStatus.NOT_FOUND, "no such endpoint\n")
        if not sc.is_valid_room_id(request.path.removeprefix(PREFIX)):
            return conn.respond(HTTPStatus.BAD_REQUEST, "invalid room id\n")
        return None

    async def handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None  # process_request vetted the path
        conn_id = next(self.conn_ids)
        self.outboxes[conn_id] = outbox = Outbox(OUTBOX_BOUND)
        writer = asyncio.create_task(self.write(ws, outbox))
        keepalive = asyncio.create_task(self.keepalive(ws, conn_id))
        path = ws.request.path.removeprefix(PREFIX)
        self.perform(self.core.handle(sc.ConnectionOpened(conn_id, path, now())))
        cause = sc.Departure.CLOSED
        try:
            async for message in ws:  # websockets itself closes with 1007 and 1009
                if isinstance(message, bytes):
                    self.perform([sc.Close(conn_id, 1003, "binary frames are not accepted")])
                    cause = sc.Departure.PROTOCOL_VIOLATION
                    break
                self.perform(self.core.handle(sc.TextReceived(conn_id, message, now())))
        except ConnectionClosed as exc:  # websockets refused a frame (1007/1009), or a drop
            refused = exc.sent is not None and exc.sent.code in (1007, 1009)
            cause = sc.Departure.PROTOCOL_VIOLATION if refused else sc.Departure.DROPPED
        finally:
            self.outboxes.pop(conn_id, None)
            # A no-op if the core closed the connection itself.
            self.perform(self.core.handle(sc.ConnectionClosed(conn_id, now(), cause)))
            keepalive.cancel()
            try:
                await asyncio.wait_for(ws.wait_closed(), 10)
            finally:
                writer.cancel()

    async def write(self, ws: ServerConnection, outbox: Outbox) -> None:
        """Drain one connection's outbox; a Close goes out after everything queued before it."""
        with contextlib.suppress(ConnectionClosed):
            while True:
                item = await outbox.get()
                if isinstance(item, sc.Close):
                    await ws.close(item.code, item.reason)
                    return
                await ws.send(item, text=True)  # the core's bytes are UTF-8 JSON: a text frame

    async def keepalive(self, ws: ServerConnection, conn_id: int) -> None:
        """WebSocket pings (§7); a pong is life, which the core learns through activity()."""
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(self.core.config.idle_timeout / 3)
                await (await ws.ping())
                self.perform(self.core.handle(sc.ConnectionActive(conn_id, now())))

    async def tick_forever(self) -> None:
        """Deadlines fire when the core is told the time: at exactly the next one, no polling."""
        while True:
            deadline = self.core.next_deadline()
            self.deadline_moved.clear()
            delay = None if deadline is None else max(0.0, deadline - now())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.deadline_moved.wait(), delay)
            self.perform(self.core.handle(sc.TimeAdvanced(now())))


async def run(args: argparse.Namespace,
              make_core: Callable[[sc.CoreConfig], sc.SignalingCore]) -> None:
    config = sc.CoreConfig(**{name: getattr(args, name) for name in LIMITS})
    embedding = Embedding(make_core(config))
    async with serve(embedding.handler, args.host, args.port, ping_interval=None,
                     process_request=embedding.process_request,
                     max_size=config.max_message_bytes) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening on ws://{args.host}:{port}", flush=True)
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        ticker = asyncio.create_task(embedding.tick_forever())
        await stop.wait()
        ticker.cancel()
        embedding.perform(embedding.core.handle(sc.ServerStopping(now())))  # all get 1001


def main(argv: list[str] | None = None,
         make_core: Callable[[sc.CoreConfig], sc.SignalingCore] = sc.SignalingCore) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000, help="0 picks a free port")
    for name in LIMITS:  # the defaults are the core's, not a second copy
        default = getattr(sc.CoreConfig(), name)
        parser.add_argument("--" + name.replace("_", "-"), type=type(default), default=default)
    asyncio.run(run(parser.parse_args(argv), make_core))


if __name__ == "__main__":
    main()
