"""The baseline: the relay a Python developer would write in an afternoon with `websockets`.

It exists so that the Trio server is measured against something real in the same run. It is
meant to be idiomatic and honest: the `websockets` asyncio server with its defaults, the
standard-library `json`, one handler coroutine per connection, a dict of rooms. It must never be
tuned beyond what such a developer would write (no orjson, no hand-made frames), and never be
crippled either (no sleeps, no extra copies, no debug logging on the hot path).

It implements the part of docs/protocol.md the benchmark exercises: join, peer-discovery (with
``shouldCreateOffer`` per peer), user-joined (with ``shouldCreateOffer`` per §5), relay of
offer / answer / ice-candidate (targeted with ``toId`` or broadcast) with ``fromId``, ping/pong,
leave and user-left. Everything else gets an ``error``.

    python bench/baselines/websockets_relay.py --port 0
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

PATH = re.compile(r"/ws-simple/([A-Za-z0-9_.~-]{1,128})")
RELAYED = {"offer", "answer", "ice-candidate"}


@dataclass
class Participant:
    ws: ServerConnection
    user_id: str
    user_name: str
    user_role: str
    participant_type: str

    def info(self) -> dict[str, str]:
        return {
            "userId": self.user_id,
            "userName": self.user_name,
            "userRole": self.user_role,
            "participantType": self.participant_type,
        }


@dataclass
class Room:
    # dicts keep insertion order, which is join order.
    participants: dict[str, Participant] = field(default_factory=dict)


rooms: dict[str, Room] = {}


def should_create_offer(me: Participant, other: Participant) -> bool:
    """docs/protocol.md, "Offer direction": does `me` create the offer to `other`?"""
    if me.participant_type == "ai":
        return False
    if other.participant_type == "ai":
        return True
    if me.user_role == "coach" and other.user_role == "client":
        return True
    if me.user_role == "client" and other.user_role == "coach":
        return False
    return me.user_id < other.user_id


def error(code: str, message: str) -> str:
    return json.dumps({"type": "error", "code": code, "message": message})


def reject_bad_paths(connection: ServerConnection, request: Request) -> Response | None:
    if PATH.fullmatch(request.path) is None:
        return Response(404, "Not Found", Headers({"Content-Type": "text/plain"}), b"not found\n")
    return None


async def handler(ws: ServerConnection) -> None:
    match = PATH.fullmatch(ws.request.path if ws.request else "")
    assert match is not None  # reject_bad_paths let only good paths through
    room_id = match.group(1)
    me: Participant | None = None
    try:
        async for raw in ws:
            try:
                msg = json.loads(raw)
            except ValueError:
                await ws.send(error("invalid-json", "message is not JSON"))
                continue
            if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
                await ws.send(error("invalid-message", "expected an object with a type"))
                continue
            kind = msg["type"]
            if kind == "ping":
                await ws.send('{"type": "pong"}')
            elif kind == "join":
                if me is not None:
                    await ws.send(error("already-joined", "already joined"))
                else:
                    me = await join(ws, room_id, msg)
            elif me is None:
                await ws.send(error("not-joined", "join first"))
            elif kind in RELAYED:
                await relay(room_id, me, msg)
            elif kind == "leave":
                leave(room_id, me)
                me = None
            else:
                await ws.send(error("unknown-type", f"unknown type {kind!r}"))
    except ConnectionClosed:
        pass
    finally:
        if me is not None:
            leave(room_id, me)


async def join(ws: ServerConnection, room_id: str, msg: dict[str, Any]) -> Participant | None:
    user_id = msg.get("userId")
    if not isinstance(user_id, str) or not user_id:
        await ws.send(error("invalid-message", "join needs a userId"))
        return None
    if msg.get("roomId", room_id) != room_id:
        await ws.send(error("room-mismatch", "roomId does not match the URL"))
        return None
    role = str(msg.get("userRole") or "client")
    ptype = "ai" if role == "ai" else str(msg.get("participantType") or "human")
    me = Participant(ws, user_id, str(msg.get("userName") or ""), role, ptype)
    room = rooms.setdefault(room_id, Room())
    if user_id in room.participants:
        await ws.send(error("duplicate-user", "userId already in the room"))
        return None
    peers = list(room.participants.values())
    room.participants[user_id] = me
    await ws.send(json.dumps({
        "type": "peer-discovery",
        "roomId": room_id,
        "peers": [dict(p.info(), shouldCreateOffer=should_create_offer(me, p)) for p in peers],
    }))
    for p in peers:
        announce = dict(me.info(), type="user-joined",
                        shouldCreateOffer=should_create_offer(p, me))
        with contextlib.suppress(ConnectionClosed):
            await p.ws.send(json.dumps(announce))
    return me


async def relay(room_id: str, me: Participant, msg: dict[str, Any]) -> None:
    room = rooms[room_id]
    msg["fromId"] = me.user_id
    to_id = msg.get("toId")
    if to_id is None:
        others = [p.ws for p in room.participants.values() if p is not me]
        broadcast(others, json.dumps(msg))
        return
    target = room.participants.get(to_id)
    if target is None:
        await me.ws.send(error("unknown-target", f"no participant {to_id!r} in the room"))
        return
    with contextlib.suppress(ConnectionClosed):
        await target.ws.send(json.dumps(msg))


def leave(room_id: str, me: Participant) -> None:
    room = rooms.get(room_id)
    if room is None or room.participants.get(me.user_id) is not me:
        return
    del room.participants[me.user_id]
    if not room.participants:
        del rooms[room_id]
        return
    broadcast([p.ws for p in room.participants.values()],
              json.dumps(dict(me.info(), type="user-left")))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000, help="0 picks a free port")
    args = parser.parse_args()

    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    def request_stop() -> None:
        if not stop.done():
            stop.set_result(None)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, request_stop)
    async with serve(handler, args.host, args.port, process_request=reject_bad_paths) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"listening on http://{args.host}:{port}", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
