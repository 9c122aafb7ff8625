"""Servers that break the protocol on purpose, to prove the suite can fail.

``--mode fromid``: the asyncio example with one bug, a core that relays offer/answer/
ice-candidate with the ``fromId`` the *client* wrote (the spoofing docs/protocol.md forbids);
everything else is the real core, so exactly one case should catch it.
``--mode silent``: completes every handshake, then never answers anything; every case must
still end, by its timeout.
``--mode seed``: the real core behind the example, but every message it sends cut down to the
shape the seed shows (no ``roomId`` in ``peer-discovery``, no ``shouldCreateOffer`` in its
entries, ``user-left`` with only ``userId``, no ``error`` at all): a server that implements only
the original protocol correctly. Every ``original`` case must pass against it, so none of
them can lean on an extension.
Run as ``python tests/conformance/misbehaving_server.py --mode fromid --port 0``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
from websockets.asyncio.server import ServerConnection, serve

from signaling_core import Command, Event, Send, SignalingCore, TextReceived

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "embed_asyncio.py"
RELAYED = {"offer", "answer", "ice-candidate"}
PEER_FIELDS = ("userId", "userName", "userRole", "participantType")
#: What the seed shows of each message the server sends (relayed messages go as they are).
SEED_SHAPES: dict[str, tuple[str, ...]] = {
    "peer-discovery": ("type", "peers"),
    "user-joined": ("type", *PEER_FIELDS, "shouldCreateOffer"),
    "user-left": ("type", "userId"),
    "pong": ("type",),
}


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("embed_asyncio", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class KeepsClientFromId(SignalingCore):
    """The real core, except that a client-sent ``fromId`` survives the relay."""

    def handle(self, event: Event) -> list[Command]:
        commands = super().handle(event)
        if not isinstance(event, TextReceived):
            return commands
        try:
            sent = json.loads(event.text)
        except ValueError:
            return commands
        if not isinstance(sent, dict) or "fromId" not in sent:
            return commands
        if not isinstance(sent.get("type"), str) or sent["type"] not in RELAYED:
            return commands
        out: list[Command] = []
        for command in commands:
            if isinstance(command, Send):
                relayed = json.loads(command.data)
                if relayed.get("type") == sent["type"]:
                    relayed["fromId"] = sent["fromId"]
                    command = Send(command.conn_id, json.dumps(relayed).encode())
            out.append(command)
        return out


def seed_shaped(message: dict[str, Any]) -> dict[str, Any]:
    shape = SEED_SHAPES.get(message["type"])
    if shape is None:
        return message
    out = {k: message[k] for k in shape if k in message}
    if message["type"] == "peer-discovery":
        out["peers"] = [{k: p[k] for k in PEER_FIELDS} for p in message["peers"]]
    return out


class SeedShapes(SignalingCore):
    """The real core, speaking only the seed's message shapes and never an ``error``."""

    def handle(self, event: Event) -> list[Command]:
        out: list[Command] = []
        for command in super().handle(event):
            if isinstance(command, Send):
                if command.kind == "error":
                    continue
                data = json.dumps(seed_shaped(json.loads(command.data))).encode()
                command = attrs.evolve(command, data=data)
            out.append(command)
        return out


async def silent(port: int) -> None:
    async def swallow(ws: ServerConnection) -> None:
        async for _ in ws:
            pass

    async with serve(swallow, "127.0.0.1", port) as server:
        print(f"listening on ws://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.Future()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["fromid", "silent", "seed"], required=True)
    parser.add_argument("--port", type=int, default=0)
    # The example's own limits (a short --reconnect-grace, say) are passed on to it.
    args, limits = parser.parse_known_args()
    if args.mode == "silent":
        asyncio.run(silent(args.port))
    else:
        core = KeepsClientFromId if args.mode == "fromid" else SeedShapes
        load_example().main(["--port", str(args.port), *limits], make_core=core)


if __name__ == "__main__":
    main()
