"""Servers that break the protocol on purpose, to prove the suite can fail.

``--mode fromid``: the asyncio example with one bug, a core that relays offer/answer/
ice-candidate with the ``fromId`` the *client* wrote (the spoofing docs/protocol.md forbids);
everything else is the real core, so exactly one case should catch it.
``--mode silent``: completes every handshake, then never answers anything; every case must
still end, by its timeout.
Run as ``python tests/conformance/misbehaving_server.py --mode fromid --port 0``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
from pathlib import Path
from types import ModuleType

from websockets.asyncio.server import ServerConnection, serve

from signaling_core import Command, Send, SignalingCore

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "embed_asyncio.py"
RELAYED = {"offer", "answer", "ice-candidate"}


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("embed_asyncio", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class KeepsClientFromId(SignalingCore):
    """The real core, except that a client-sent ``fromId`` survives the relay."""

    def receive(self, conn_id: int, text: str | bytes, now: float) -> list[Command]:
        commands = super().receive(conn_id, text, now)
        try:
            sent = json.loads(text)
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


async def silent(port: int) -> None:
    async def swallow(ws: ServerConnection) -> None:
        async for _ in ws:
            pass

    async with serve(swallow, "127.0.0.1", port) as server:
        print(f"listening on ws://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.Future()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["fromid", "silent"], required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.mode == "silent":
        asyncio.run(silent(args.port))
    else:
        load_example().main(["--port", str(args.port)], make_core=KeepsClientFromId)


if __name__ == "__main__":
    main()
