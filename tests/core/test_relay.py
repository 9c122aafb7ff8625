"""Relaying (§3): targeted and broadcast signaling, the room messages, and the refusals."""

from __future__ import annotations

from typing import Any

import pytest

from signaling_core import ConnectionActive, ConnectionClosed, OrbStatusChanged, Send, TextReceived

from .harness import Harness, Peer, join_message


def room_of_three(h: Harness | None = None) -> tuple[Harness, Peer, Peer, Peer]:
    """coach-1, ai-orb-1, client-1 in room-1, inboxes empty."""
    h = h or Harness()
    coach = h.join("coach-1", "coach")
    orb = h.join("ai-orb-1", "ai", ptype="ai", name="AI Assistant")
    client = h.join("client-1", "client")
    for p in (coach, orb, client):
        p.take()
    return h, coach, orb, client


def assert_error(peer: Peer, code: str, ref: str | None = None) -> None:
    msg = peer.take_one()
    assert msg["type"] == "error" and msg["code"] == code, msg
    if ref is not None:
        assert msg["ref"] == ref


def nobody_else(*peers: Peer) -> None:
    for p in peers:
        assert p.inbox == [], (p, p.inbox)


OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"}
ANSWER = {"type": "answer", "sdp": "v=0\r\n"}
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host",
             "sdpMid": "0", "sdpMLineIndex": 0}


# ------------------------------------------------------------------ WebRTC signaling

@pytest.mark.parametrize(
    ("mtype", "field", "payload"),
    [("offer", "offer", OFFER), ("answer", "answer", ANSWER),
     ("ice-candidate", "candidate", CANDIDATE)],
)
def test_targeted_relay_keeps_every_field(mtype: str, field: str, payload: Any) -> None:
    h, coach, orb, client = room_of_three()
    msg = {"type": mtype, field: payload, "toId": "client-1", "extra": [1, {"x": None}],
           "unicode": "é😀"}
    h.send(coach, msg)
    assert client.take() == [{**msg, "fromId": "coach-1"}]
    nobody_else(coach, orb)
    h.assert_consistent()


def test_spoofed_from_id_is_overwritten() -> None:
    h, coach, orb, client = room_of_three()
    h.send(client, {"type": "answer", "answer": ANSWER, "toId": "coach-1",
                    "fromId": "ai-orb-1"})
    assert coach.take_one()["fromId"] == "client-1"
    h.send(client, {"type": "client_signal", "action": "raise-hand", "fromId": "coach-1"})
    assert coach.take_one()["fromId"] == "client-1"
    assert orb.take_one()["fromId"] == "client-1"
    h.send(orb, {"type": "ai_status", "status": "ready", "sessionId": "1", "fromId": 5})
    assert coach.take_one()["fromId"] == "ai-orb-1"


def test_broadcast_relay_reaches_every_other_participant_once() -> None:
    h, coach, orb, client = room_of_three()
    msg = {"type": "ice-candidate", "candidate": CANDIDATE}
    commands = h.send(coach, msg)
    assert orb.take() == [{**msg, "fromId": "coach-1"}]
    assert client.take() == [{**msg, "fromId": "coach-1"}]
    nobody_else(coach)
    sends = [c for c in commands if isinstance(c, Send)]
    assert len(sends) == 2
    assert sends[0].data is sends[1].data  # encoded once for the whole broadcast


def test_broadcast_from_ai_skips_other_ai() -> None:
    h, coach, orb, client = room_of_three()
    other_ai = h.join("ai-2", "ai")
    for p in (coach, orb, client):
        p.take()
    other_ai.take()
    h.send(orb, {"type": "answer", "answer": ANSWER})
    assert [m["fromId"] for m in coach.take()] == ["ai-orb-1"]
    assert [m["fromId"] for m in client.take()] == ["ai-orb-1"]
    nobody_else(other_ai)
    h.send(orb, {"type": "answer", "answer": ANSWER, "toId": "ai-2"})
    assert_error(orb, "forbidden", "answer")
    nobody_else(other_ai, coach, client)


def test_ai_may_not_offer() -> None:
    h, coach, orb, client = room_of_three()
    h.send(orb, {"type": "offer", "offer": OFFER, "toId": "coach-1"})
    assert_error(orb, "forbidden", "offer")
    nobody_else(coach, client)


@pytest.mark.parametrize("to_id", ["nobody", "coach-1 ", "", "COACH-1"])
def test_unknown_target(to_id: str) -> None:
    h, coach, orb, client = room_of_three()
    h.send(client, {"type": "offer", "offer": OFFER, "toId": to_id})
    assert_error(client, "unknown-target", "offer")
    nobody_else(coach, orb)
    h.assert_consistent()


def test_target_self_is_unknown() -> None:
    h, coach, orb, client = room_of_three()
    h.send(coach, {"type": "offer", "offer": OFFER, "toId": "coach-1"})
    assert_error(coach, "unknown-target")
    nobody_else(orb, client)


def test_target_in_another_room_is_unknown() -> None:
    h, coach, orb, client = room_of_three()
    stranger = h.join("stranger", "client", room="room-2")
    stranger.take()
    h.send(coach, {"type": "offer", "offer": OFFER, "toId": "stranger"})
    assert_error(coach, "unknown-target")
    h.send(stranger, {"type": "offer", "offer": OFFER, "toId": "coach-1"})
    assert_error(stranger, "unknown-target")
    nobody_else(orb, client, coach)


def test_no_cross_room_delivery() -> None:
    h = Harness()
    a1 = h.join("a1", "coach", room="ra")
    a2 = h.join("a2", "client", room="ra")
    b1 = h.join("a1", "coach", room="rb")  # same userId in another room
    b2 = h.join("b2", "client", room="rb")
    for p in (a1, a2, b1, b2):
        p.take()
    h.send(a1, {"type": "offer", "offer": OFFER})
    h.send(a1, {"type": "client_signal", "action": "wave"})
    h.send(a2, {"type": "leave"})
    assert [m["type"] for m in a2.take()] == ["offer", "client_signal"]
    assert [m["type"] for m in a1.take()] == ["user-left"]
    nobody_else(b1, b2)
    h.send(b2, {"type": "offer", "offer": OFFER, "toId": "a1"})
    assert b1.take_one()["fromId"] == "b2"
    nobody_else(a1, a2)
    h.assert_consistent()


@pytest.mark.parametrize("mtype", ["offer", "answer", "ice-candidate"])
def test_signal_without_payload_is_invalid(mtype: str) -> None:
    h, coach, orb, client = room_of_three()
    h.send(coach, {"type": mtype, "toId": "client-1"})
    assert_error(coach, "invalid-message", mtype)
    nobody_else(orb, client)


@pytest.mark.parametrize("to_id", [5, None, ["client-1"], {"a": 1}, True])
def test_non_string_to_id(to_id: Any) -> None:
    h, coach, orb, client = room_of_three()
    h.send(coach, {"type": "offer", "offer": OFFER, "toId": to_id})
    if to_id is None:  # an explicit null toId is the legacy broadcast
        assert orb.take_one()["type"] == "offer"
        assert client.take_one()["type"] == "offer"
    else:
        assert_error(coach, "invalid-message", "offer")
        nobody_else(orb, client)


# ------------------------------------------------------------------ room messages

@pytest.mark.parametrize("status", ["ready", "listening", "thinking", "speaking", "paused",
                                    "processing"])
def test_ai_status_relayed_to_everyone_else(status: str) -> None:
    h, coach, orb, client = room_of_three()
    msg = {"type": "ai_status", "status": status, "sessionId": "s1"}
    h.send(orb, msg)
    relayed = {**msg, "fromId": "ai-orb-1", "mode": "addressed"}  # the room's mode stamped
    assert coach.take() == [relayed]
    assert client.take() == [relayed]
    nobody_else(orb)
    assert next(c for c in h.last if isinstance(c, OrbStatusChanged)).status == status
    parts = {p.user_id: p for p in h.snapshot().rooms[0].participants}
    assert parts["ai-orb-1"].status == status


def test_ai_status_with_to_id_is_still_a_broadcast() -> None:
    h, coach, orb, client = room_of_three()
    h.send(orb, {"type": "ai_status", "status": "ready", "sessionId": "s1", "toId": "coach-1"})
    assert "toId" not in coach.take_one()
    assert "toId" not in client.take_one()


@pytest.mark.parametrize("status", ["sleeping", "", "READY", 3, None, ["ready"], {"s": 1}])
def test_ai_status_validated(status: Any) -> None:
    h, coach, orb, client = room_of_three()
    h.send(orb, {"type": "ai_status", "status": status, "sessionId": "s1"})
    assert_error(orb, "invalid-message", "ai_status")
    nobody_else(coach, client)
    assert all(p.status is None for p in h.snapshot().rooms[0].participants)
    h.assert_consistent()


def test_ai_status_only_from_ai() -> None:
    h, coach, orb, client = room_of_three()
    h.send(coach, {"type": "ai_status", "status": "ready", "sessionId": "s1"})
    assert_error(coach, "forbidden", "ai_status")
    nobody_else(orb, client)


def test_ai_control_goes_to_ai_participants_only() -> None:
    h, coach, orb, client = room_of_three()
    second_ai = h.join("ai-2", "ai")
    for p in (coach, orb, client):
        p.take()
    second_ai.take()
    msg = {"type": "ai_control", "action": "pause", "volume": 0.5, "toId": "client-1"}
    h.send(client, msg)
    expected = {"type": "ai_control", "action": "pause", "volume": 0.5, "fromId": "client-1"}
    assert orb.take() == [expected]
    assert second_ai.take() == [expected]
    nobody_else(coach, client)


def test_ai_control_without_ai_reaches_no_one() -> None:
    h = Harness()
    coach = h.join("coach-1", "coach")
    client = h.join("client-1", "client")
    coach.take()
    client.take()
    assert h.send(coach, {"type": "ai_control", "action": "mute"}) == []
    nobody_else(coach, client)


def test_ai_control_only_from_humans() -> None:
    h, coach, orb, client = room_of_three()
    h.send(orb, {"type": "ai_control", "action": "pause"})
    assert_error(orb, "forbidden", "ai_control")
    nobody_else(coach, client)


@pytest.mark.parametrize("mtype", ["ai_control", "client_signal"])
@pytest.mark.parametrize("action", [None, "", 5, "a" * 65, ["pause"]])
def test_action_validated(mtype: str, action: Any) -> None:
    h, coach, orb, client = room_of_three()
    msg: dict[str, Any] = {"type": mtype}
    if action is not None:
        msg["action"] = action
    h.send(client, msg)
    assert_error(client, "invalid-message", mtype)
    nobody_else(coach, orb)


def test_client_signal_broadcast_and_targeted() -> None:
    h, coach, orb, client = room_of_three()
    msg = {"type": "client_signal", "action": "raise-hand", "hand": "left"}
    h.send(client, msg)
    assert coach.take() == [{**msg, "fromId": "client-1"}]
    assert orb.take() == [{**msg, "fromId": "client-1"}]
    nobody_else(client)
    h.send(orb, {**msg, "toId": "coach-1"})
    assert coach.take() == [{**msg, "toId": "coach-1", "fromId": "ai-orb-1"}]
    nobody_else(client, orb)


def test_orb_heartbeat_is_recorded_not_relayed() -> None:
    h, coach, orb, client = room_of_three()
    assert h.send(orb, {"type": "orb_heartbeat", "metrics": {"fps": 30}}) == []
    nobody_else(coach, orb, client)
    h.send(coach, {"type": "orb_heartbeat"})
    assert_error(coach, "forbidden", "orb_heartbeat")


def test_orb_shutdown_validated_and_ai_only() -> None:
    h, coach, orb, client = room_of_three()
    for reason in (None, "bored", 1, ["error"]):
        msg: dict[str, Any] = {"type": "ai-orb-shutdown", "sessionId": "s"}
        if reason is not None:
            msg["reason"] = reason
        h.send(orb, msg)
        assert_error(orb, "invalid-message", "ai-orb-shutdown")
    h.send(client, {"type": "ai-orb-shutdown", "sessionId": "s", "reason": "error"})
    assert_error(client, "forbidden", "ai-orb-shutdown")
    nobody_else(coach, orb, client)
    assert h.user_ids() == ["coach-1", "ai-orb-1", "client-1"]
    h.send(orb, {"type": "ai-orb-shutdown", "sessionId": "s", "reason": "error"})
    assert coach.take_one()["type"] == "user-left"
    assert client.take_one()["type"] == "user-left"
    assert h.user_ids() == ["coach-1", "client-1"]
    h.assert_consistent()


# ------------------------------------------------------------------ phases

def test_ping_before_and_after_join() -> None:
    h = Harness()
    peer = h.connect()
    h.send(peer, {"type": "ping"})
    assert peer.take() == [{"type": "pong"}]
    h.join("u1", peer=peer).take()
    h.send(peer, {"type": "ping", "t": 1})
    assert peer.take() == [{"type": "pong"}]


@pytest.mark.parametrize(
    "msg",
    [
        {"type": "offer", "offer": OFFER, "toId": "coach-1"},
        {"type": "answer", "answer": ANSWER},
        {"type": "ice-candidate", "candidate": CANDIDATE, "toId": "coach-1"},
        {"type": "leave"},
        {"type": "ai_status", "status": "ready", "sessionId": "s"},
        {"type": "ai_control", "action": "pause"},
        {"type": "client_signal", "action": "raise-hand"},
        {"type": "orb_heartbeat"},
        {"type": "ai-orb-shutdown", "sessionId": "s", "reason": "error"},
    ],
)
def test_signaling_before_join_is_not_joined(msg: dict[str, Any]) -> None:
    h, coach, orb, client = room_of_three()
    stranger = h.connect()
    before = h.snapshot()
    h.send(stranger, msg)
    assert_error(stranger, "not-joined", msg["type"])
    nobody_else(coach, orb, client)
    assert h.snapshot() == before
    h.join("late", "client", peer=stranger)
    h.assert_consistent()


@pytest.mark.parametrize("mtype", ["", "Offer", "hello", "pong", "user-joined", "x" * 1000])
def test_unknown_type_keeps_connection_usable(mtype: str) -> None:
    h, coach, orb, client = room_of_three()
    h.send(client, {"type": mtype, "toId": "coach-1"})
    msg = client.take_one()
    assert msg["type"] == "error" and msg["code"] == "unknown-type"
    assert len(msg["ref"]) <= 64
    nobody_else(coach, orb)
    assert client.open
    h.send(client, {"type": "client_signal", "action": "wave"})
    assert coach.take_one()["action"] == "wave"
    stranger = h.connect()
    h.send(stranger, {"type": mtype})
    assert stranger.take_one()["code"] == "unknown-type"
    h.join("late", "client", peer=stranger)
    h.assert_consistent()


def test_leave_then_rejoin_on_the_same_connection() -> None:
    h, coach, orb, client = room_of_three()
    h.send(client, {"type": "leave"})
    assert client.inbox == [] and client.open
    assert coach.take_one()["type"] == "user-left"
    orb.take()
    h.send(client, {"type": "leave"})
    assert_error(client, "not-joined", "leave")
    h.send(client, {"type": "offer", "offer": OFFER, "toId": "coach-1"})
    assert_error(client, "not-joined", "offer")
    nobody_else(coach, orb)
    h.send(client, join_message("client-1b", "observer"))
    disc = client.take_one()
    assert [p["userId"] for p in disc["peers"]] == ["coach-1", "ai-orb-1"]
    assert coach.take_one()["userId"] == "client-1b"
    h.send(client, {"type": "client_signal", "action": "back"})
    assert coach.take_one()["fromId"] == "client-1b"
    h.assert_consistent()


def test_closed_connection_receives_nothing_and_sends_nothing() -> None:
    h, coach, orb, client = room_of_three()
    h.close(client)
    coach.take()
    orb.take()
    assert h.core.handle(TextReceived(client.conn_id, '{"type":"ping"}', h.now)) == []
    assert h.core.handle(ConnectionClosed(client.conn_id, h.now)) == []
    h.core.handle(ConnectionActive(client.conn_id, h.now))
    h.assert_consistent()
