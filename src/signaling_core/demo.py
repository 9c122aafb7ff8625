"""A three-party room played through the core alone: ``python -m signaling_core.demo``.

Shows what each party receives for a join, a targeted relay, a broadcast and a leave, with an
orb spawned for the coach. No sockets: the "server" here is a loop over the core's commands.
"""

from __future__ import annotations

import json

from signaling_core import ConnectionOpened, TextReceived

from . import CoreConfig, Send, SignalingCore, SpawnOrb


def main() -> None:
    ids = iter(["demo1"])
    core = SignalingCore(CoreConfig(orbs_enabled=True), session_ids=lambda: next(ids))
    names = {1: "coach", 2: "client", 3: "orb"}
    clock = 0.0

    def feed(conn: int, message: dict[str, object]) -> None:
        nonlocal clock
        clock += 0.1
        print(f"\n{names[conn]} sends {json.dumps(message)}")
        for command in core.handle(TextReceived(conn, json.dumps(message), clock)):
            if isinstance(command, Send):
                print(f"  -> {names[command.conn_id]:6} receives {command.data.decode()}")
            elif isinstance(command, SpawnOrb):
                print(f"  -> server spawns orb {command.user_id} for room {command.room_id}")
            else:
                print(f"  -> record {command}")

    for conn in names:
        core.handle(ConnectionOpened(conn, "demo-room", 0.0))
    feed(1, {"type": "join", "roomId": "demo-room", "userId": "coach-123",
             "userName": "Coach Carol", "userRole": "coach", "participantType": "human"})
    feed(3, {"type": "join", "roomId": "demo-room", "userId": "ai-orb-demo1",
             "userName": "AI Assistant", "userRole": "ai", "participantType": "ai"})
    feed(2, {"type": "join", "roomId": "demo-room", "userId": "client-456",
             "userName": "Client Chris", "userRole": "client"})
    feed(1, {"type": "offer", "toId": "client-456", "offer": {"type": "offer", "sdp": "v=0..."}})
    feed(2, {"type": "answer", "toId": "coach-123", "answer": {"type": "answer", "sdp": "v=0..."}})
    feed(3, {"type": "ai_status", "status": "listening", "sessionId": "demo1"})
    feed(2, {"type": "client_signal", "action": "raise-hand"})
    feed(2, {"type": "leave"})
    print("\nroom state:", json.dumps(core.snapshot().to_dict(), indent=2))


if __name__ == "__main__":
    main()
