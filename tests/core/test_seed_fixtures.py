"""The message examples of the seed note (seed/000_2ad4df263535c841.txt), as literal fixtures.

An original client reads only the seed's fields, so everything we emit must contain those
fields with the seed's values; extra **[ext]** fields (``roomId``, ``shouldCreateOffer`` on
discovery entries, the leaver's four fields) are allowed. What the seed sends must be accepted
verbatim.
"""

from __future__ import annotations

import json
from typing import Any

from signaling_core import CoreConfig

from .harness import Harness, Peer

# -- the seed's literals (JavaScript objects transcribed to JSON; placeholders kept as-is)

SEED_WSCAT_JOIN = (
    '{"type":"join","roomId":"test-room-id","userId":"ai-orb-test","userName":"AI Test",'
    '"userRole":"ai","participantType":"ai"}'
)

SEED_PEER_DISCOVERY = {
    "type": "peer-discovery",
    "peers": [
        {"userId": "coach-123", "userName": "Coach Name", "userRole": "coach",
         "participantType": "human"},
        {"userId": "client-456", "userName": "Client Name", "userRole": "client",
         "participantType": "human"},
    ],
}

SEED_USER_JOINED = {
    "type": "user-joined",
    "userId": "participant-id",
    "userName": "Participant Name",
    "userRole": "coach",
    "participantType": "human",
    "shouldCreateOffer": False,  # AI NEVER creates offers
}

SEED_INCOMING_OFFER = {
    "type": "offer",
    "offer": {"type": "offer", "sdp": "..."},
    "fromId": "sender-user-id",
}
SEED_SEND_ANSWER = {
    "type": "answer",
    "answer": {"type": "answer", "sdp": "..."},
    "toId": "sender-user-id",
}
SEED_INCOMING_ICE = {"type": "ice-candidate", "candidate": {}, "fromId": "sender-user-id"}
SEED_SEND_ICE = {"type": "ice-candidate", "candidate": {}, "toId": "target-user-id"}

SEED_AI_STATUS = {"type": "ai_status", "status": "listening", "sessionId": "sess-1"}
SEED_PING = {"type": "ping"}
SEED_PONG = {"type": "pong"}
SEED_SHUTDOWN = {"type": "ai-orb-shutdown", "sessionId": "sess-1", "reason": "session_complete"}
SEED_USER_LEFT = {"type": "user-left", "userId": "leaving-user-id"}


def seed_join(room_id: str, session_id: str) -> dict[str, Any]:
    """The seed's AI orb join message, field for field."""
    return {
        "type": "join",
        "roomId": room_id,
        "userId": "ai-orb-" + session_id,
        "userName": "AI Assistant",
        "userRole": "ai",
        "participantType": "ai",
    }


def assert_seed_subset(seed: dict[str, Any], ours: dict[str, Any]) -> None:
    """Every field of the seed is in ours with an equal value (lists: item by item)."""
    for key, value in seed.items():
        assert key in ours, f"missing seed field {key!r} in {ours}"
        if isinstance(value, list):
            assert len(ours[key]) == len(value)
            for seed_item, our_item in zip(value, ours[key], strict=True):
                assert_seed_subset(seed_item, our_item)
        else:
            assert ours[key] == value, (key, ours[key], value)


def join_as(h: Harness, user_id: str, name: str, role: str, room: str = "room-1") -> Peer:
    peer = h.connect(room)
    h.send(peer, {"type": "join", "roomId": room, "userId": user_id, "userName": name,
                  "userRole": role, "participantType": "human"})
    assert peer.types() == ["peer-discovery"]
    return peer


def test_wscat_join_is_accepted_verbatim() -> None:
    h = Harness()
    orb = h.connect("test-room-id")
    h.send(orb, SEED_WSCAT_JOIN)
    discovery = orb.take_one()
    assert_seed_subset({"type": "peer-discovery", "peers": []}, discovery)
    (part,) = h.snapshot().rooms[0].participants
    assert (part.user_id, part.user_name, part.user_role, part.participant_type) == (
        "ai-orb-test", "AI Test", "ai", "ai")
    h.assert_consistent()


def test_orb_join_message_accepted_and_peer_discovery_matches_the_seed() -> None:
    ids = iter(["sess-1"])
    h = Harness(CoreConfig(orbs_enabled=True), session_ids=lambda: next(ids))
    join_as(h, "coach-123", "Coach Name", "coach")
    join_as(h, "client-456", "Client Name", "client")
    (spawn,) = h.spawned
    assert spawn.user_id == "ai-orb-sess-1"
    orb = h.connect(spawn.room_id)
    h.send(orb, json.dumps(seed_join(spawn.room_id, spawn.session_id)))
    discovery = orb.take_one()
    assert_seed_subset(SEED_PEER_DISCOVERY, discovery)
    # The [ext] additions, from the orb's point of view: it never offers.
    assert discovery["roomId"] == "room-1"
    assert [p["shouldCreateOffer"] for p in discovery["peers"]] == [False, False]
    room = h.snapshot().rooms[0]
    assert room.orb is not None and room.orb.state == "joined"
    h.assert_consistent()


def test_user_joined_to_the_orb_matches_the_seed() -> None:
    h = Harness()
    orb = h.connect()
    h.send(orb, json.dumps(seed_join("room-1", "sess-1")))
    orb.take()
    join_as(h, "participant-id", "Participant Name", "coach")
    ours = orb.take_one()
    assert_seed_subset(SEED_USER_JOINED, ours)
    assert set(ours) == set(SEED_USER_JOINED)


def three(h: Harness) -> tuple[Peer, Peer, Peer]:
    sender = join_as(h, "sender-user-id", "Coach Name", "coach")
    target = join_as(h, "target-user-id", "Client Name", "client")
    orb = h.connect()
    h.send(orb, json.dumps(seed_join("room-1", "sess-1")))
    for p in (sender, target, orb):
        p.take()
    return sender, target, orb


def test_offer_relay_matches_the_seed() -> None:
    h = Harness()
    sender, _target, orb = three(h)
    h.send(sender, {"type": "offer", "offer": SEED_INCOMING_OFFER["offer"],
                    "toId": "ai-orb-sess-1"})
    ours = orb.take_one()
    assert_seed_subset(SEED_INCOMING_OFFER, ours)


def test_answer_as_the_seed_sends_it() -> None:
    h = Harness()
    sender, target, orb = three(h)
    h.send(orb, SEED_SEND_ANSWER)
    ours = sender.take_one()
    assert_seed_subset({**SEED_SEND_ANSWER, "fromId": "ai-orb-sess-1"}, ours)
    assert target.inbox == [] and orb.inbox == []


def test_ice_candidates_as_the_seed_sends_and_receives_them() -> None:
    h = Harness()
    sender, target, orb = three(h)
    h.send(sender, SEED_SEND_ICE)
    ours = target.take_one()
    assert_seed_subset({**SEED_INCOMING_ICE, "fromId": "sender-user-id"}, ours)
    assert_seed_subset(SEED_INCOMING_ICE, ours)
    assert orb.inbox == []


def test_ai_status_as_the_seed_sends_it() -> None:
    h = Harness()
    sender, target, orb = three(h)
    for status in ("ready", "listening", "thinking", "speaking", "paused"):
        msg = {**SEED_AI_STATUS, "status": status}
        h.send(orb, msg)
        for p in (sender, target):
            assert_seed_subset({**msg, "fromId": "ai-orb-sess-1"}, p.take_one())
    assert orb.inbox == []


def test_ping_pong_as_in_the_seed() -> None:
    h = Harness()
    _sender, _target, orb = three(h)
    h.send(orb, SEED_PING)
    assert orb.take() == [SEED_PONG]


def test_shutdown_and_user_left_as_in_the_seed() -> None:
    h = Harness()
    sender, target, orb = three(h)
    h.send(orb, SEED_SHUTDOWN)
    for p in (sender, target):
        assert_seed_subset({**SEED_USER_LEFT, "userId": "ai-orb-sess-1"}, p.take_one())
    leaver = join_as(h, "leaving-user-id", "Leaver", "observer")
    sender.take()
    target.take()
    h.send(leaver, {"type": "leave"})
    assert_seed_subset(SEED_USER_LEFT, sender.take_one())
    assert_seed_subset(SEED_USER_LEFT, target.take_one())
    h.assert_consistent()


def test_seed_offer_logic_in_a_full_room() -> None:
    """Coach offers to client and orb; client offers to the orb; the orb only answers."""
    h = Harness()
    coach = join_as(h, "coach-123", "Coach Name", "coach")
    orb = h.connect()
    h.send(orb, json.dumps(seed_join("room-1", "sess-1")))
    client = join_as(h, "client-456", "Client Name", "client")
    offers = {p["userId"]: p["shouldCreateOffer"] for p in client.take_one()["peers"]}
    assert offers == {"coach-123": False, "ai-orb-sess-1": True}
    coach_view = {m["userId"]: m["shouldCreateOffer"] for m in coach.take()
                  if m["type"] == "user-joined"}
    assert coach_view == {"ai-orb-sess-1": True, "client-456": True}
    orb_msgs = orb.take()
    assert all(p["shouldCreateOffer"] is False for p in orb_msgs[0]["peers"])
    assert all(m["shouldCreateOffer"] is False for m in orb_msgs[1:])
    h.assert_consistent()
