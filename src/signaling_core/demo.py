"""A three-party room played through the core alone: ``python -m signaling_core.demo``.

Shows what each party receives for a join, a targeted relay, a broadcast and a leave, with an
orb spawned for the coach. No sockets: the "server" here is a loop over the core's commands.
"""

from __future__ import annotations

import json

from signaling_core import ConnectionOpened, TextReceived

from . import CoreConfig, Send, SignalingCore, SpawnOrb, wire
from .wire import Field, MessageType, WebRtcField


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
    feed(1, wire.join_message("demo-room", "coach-123", wire.COACH, user_name="Coach Carol",
                              participant_type=wire.HUMAN))
    feed(3, wire.join_message("demo-room", "ai-orb-demo1", wire.AI, user_name="AI Assistant",
                              participant_type=wire.AI))
    feed(2, wire.join_message("demo-room", "client-456", wire.CLIENT, user_name="Client Chris"))
    feed(1, {Field.TYPE: MessageType.OFFER, Field.TO_ID: "client-456",
             Field.OFFER: {WebRtcField.SDP_TYPE: wire.SDP_OFFER, WebRtcField.SDP: "v=0..."}})
    feed(2, {Field.TYPE: MessageType.ANSWER, Field.TO_ID: "coach-123",
             Field.ANSWER: {WebRtcField.SDP_TYPE: wire.SDP_ANSWER, WebRtcField.SDP: "v=0..."}})
    feed(3, {Field.TYPE: MessageType.AI_STATUS, Field.STATUS: "listening",
             Field.SESSION_ID: "demo1"})
    feed(2, {Field.TYPE: MessageType.CLIENT_SIGNAL, Field.ACTION: "raise-hand"})
    feed(2, {Field.TYPE: MessageType.LEAVE})
    print("\nroom state:", json.dumps(core.snapshot().to_dict(), indent=2))


if __name__ == "__main__":
    main()
