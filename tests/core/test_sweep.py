"""Every (connection state, message type) pair against the permission table, as h2 does.

For each state a connection can be in (not joined, joined as a human coach, joined as a human
client, joined as an ai) and each message type of ``MESSAGE_RULES`` plus an unknown one, a
well-formed instance is sent. The expected outcome is computed from the table alone: the
handler's effect when the table allows it, else exactly the error it names. The core must never
raise, and the room must stay consistent. A second, Hypothesis-driven sweep chains such steps,
so states reached by earlier steps (after a leave, a shutdown, a rejoin) are swept too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaling_core import MESSAGE_RULES, CoreConfig, CoreSnapshot, Phase

from .harness import Harness, Peer, join_message

UNKNOWN = "no-such-type"
STATES = ["not-joined", "coach", "client", "ai"]
SUBJECT_OF_STATE = {"coach": "coach-1", "client": "client-1", "ai": "ai-orb-s1"}

OFFER = {"type": "offer", "sdp": "v=0\r\n"}
ANSWER = {"type": "answer", "sdp": "v=0\r\n"}
CANDIDATE = {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0"}


def well_formed(mtype: str, sender: str | None) -> dict[str, Any]:
    """A correct instance of ``mtype`` as ``sender`` (a userId, or None) would send it."""
    target = "coach-1" if sender == "client-1" else "client-1"
    examples: dict[str, dict[str, Any]] = {
        "ping": {"type": "ping"},
        "join": join_message("newbie", "client"),
        "leave": {"type": "leave"},
        "offer": {"type": "offer", "offer": OFFER, "toId": target},
        "answer": {"type": "answer", "answer": ANSWER, "toId": target},
        "ice-candidate": {"type": "ice-candidate", "candidate": CANDIDATE, "toId": target},
        "ai_status": {"type": "ai_status", "status": "thinking", "sessionId": "s1"},
        "ai_control": {"type": "ai_control", "action": "pause"},
        "client_signal": {"type": "client_signal", "action": "raise-hand"},
        "orb_heartbeat": {"type": "orb_heartbeat", "metrics": {"fps": 30}},
        "ai-orb-shutdown": {"type": "ai-orb-shutdown", "sessionId": "s1",
                            "reason": "session_complete"},
        "ai_transcript": {"type": "ai_transcript", "utteranceId": "s1-1",
                          "speakerId": "client-1", "speakerRole": "client",
                          "text": "I want more time", "startedAt": 10.0, "endedAt": 11.5},
        "ai_summary": {"type": "ai_summary", "text": "Key topics: time",
                       "method": "extractive"},
        "end_session": {"type": "end_session"},
        "ai_mode": {"type": "ai_mode", "mode": "listen"},
        "ai_ask": {"type": "ai_ask"},
        UNKNOWN: {"type": UNKNOWN, "toId": target},
    }
    return examples[mtype]


def predicted_error(mtype: str, phase: Phase, ptype: str | None,
                    role: str | None = None) -> str | None:
    """The error code the permission table names for this pair, or None if it is allowed."""
    rule = MESSAGE_RULES.get(mtype)
    if rule is None:
        return "unknown-type"
    if phase not in rule.phases:
        return "not-joined" if phase is Phase.AWAITING_JOIN else "already-joined"
    if rule.senders is not None and ptype not in rule.senders:
        return "forbidden"
    if rule.roles is not None and role not in rule.roles:
        return "forbidden"
    return None


# ------------------------------------------------------------------ the effects

Effect = Callable[[Harness, Peer, list[Peer], CoreSnapshot], None]


def _ids(snapshot: CoreSnapshot) -> list[str]:
    """The userIds of room-1 in join order ([] once the room is gone)."""
    for room in snapshot.rooms:
        if room.room_id == "room-1":
            return [p.user_id for p in room.participants]
    return []


def _ping(h: Harness, subject: Peer, others: list[Peer], before: CoreSnapshot) -> None:
    assert subject.take() == [{"type": "pong"}]
    assert all(p.inbox == [] for p in others)
    assert h.snapshot() == before


def _join(h: Harness, subject: Peer, others: list[Peer], before: CoreSnapshot) -> None:
    existing = _ids(before)
    disc = subject.take_one()
    assert disc["type"] == "peer-discovery"
    assert [p["userId"] for p in disc["peers"]] == existing
    for p in others:
        if p.user_id is not None:
            assert [(m["type"], m["userId"]) for m in p.take()] == [("user-joined", "newbie")]
        else:
            assert p.inbox == []
    assert _ids(h.snapshot()) == [*existing, "newbie"]


def _departure(h: Harness, subject: Peer, others: list[Peer], before: CoreSnapshot) -> None:
    after = _ids(h.snapshot())
    gone = [uid for uid in _ids(before) if uid not in after]
    assert len(gone) == 1
    assert subject.inbox == [] and subject.open and subject.user_id is None
    for p in others:
        if p.user_id is not None:
            assert [(m["type"], m["userId"]) for m in p.take()] == [("user-left", gone[0])]
        else:
            assert p.inbox == []


def _targeted(h: Harness, subject: Peer, others: list[Peer], before: CoreSnapshot) -> None:
    sent = subject_sent[subject.conn_id]
    for p in others:
        if p.user_id == sent["toId"]:
            assert p.take() == [{**sent, "fromId": subject.user_id}]
        else:
            assert p.inbox == []
    assert subject.inbox == []
    assert h.snapshot() == before


def _to_everyone_else(h: Harness, subject: Peer, others: list[Peer], before: CoreSnapshot,
                      only_ai: bool = False) -> None:
    sent = subject_sent[subject.conn_id]
    types = {p.user_id: p.participant_type for p in before.rooms[0].participants}
    for p in others:
        if p.user_id is not None and (not only_ai or types[p.user_id] == "ai"):
            assert p.take() == [{**sent, "fromId": subject.user_id}]
        else:
            assert p.inbox == []
    assert subject.inbox == []


def _ai_status(h: Harness, subject: Peer, others: list[Peer], before: CoreSnapshot) -> None:
    """Relayed to everyone else with the room's mode stamped on it."""
    sent = subject_sent[subject.conn_id]
    for p in others:
        if p.user_id is not None:
            assert p.take() == [{**sent, "fromId": subject.user_id,
                                 "mode": before.rooms[0].orb_mode}]
        else:
            assert p.inbox == []
    assert subject.inbox == []
    statuses = {p.user_id: p.status for p in h.snapshot().rooms[0].participants}
    assert subject.user_id is not None and statuses[subject.user_id] == "thinking"


def _ai_control(h: Harness, subject: Peer, others: list[Peer], before: CoreSnapshot) -> None:
    _to_everyone_else(h, subject, others, before, only_ai=True)
    assert h.snapshot() == before


def _client_signal(h: Harness, subject: Peer, others: list[Peer], before: CoreSnapshot) -> None:
    _to_everyone_else(h, subject, others, before)
    assert h.snapshot() == before


def _heartbeat(h: Harness, subject: Peer, others: list[Peer], before: CoreSnapshot) -> None:
    assert subject.inbox == [] and all(p.inbox == [] for p in others)
    orb = before.rooms[0].orb
    if orb is not None and orb.user_id == subject.user_id:  # the room's own orb
        orb = h.snapshot().rooms[0].orb
        assert orb is not None and orb.last_heartbeat == h.now and orb.metrics == {"fps": 30}
    else:  # any other ai: accepted, recorded nowhere
        assert h.snapshot() == before


def _transcript(h: Harness, subject: Peer, others: list[Peer], before: CoreSnapshot) -> None:
    """Relayed to every human (never to another ai), state unchanged."""
    sent = subject_sent[subject.conn_id]
    types = {p.user_id: p.participant_type for p in before.rooms[0].participants}
    for p in others:
        if p.user_id is not None and types[p.user_id] == "human":
            assert p.take() == [{**sent, "fromId": subject.user_id}]
        else:
            assert p.inbox == []
    assert subject.inbox == []
    assert h.snapshot() == before


def _summary(h: Harness, subject: Peer, others: list[Peer], before: CoreSnapshot) -> None:
    """Relayed to the room's coaches only, recorded, state unchanged."""
    sent = subject_sent[subject.conn_id]
    roles = {p.user_id: p.user_role for p in before.rooms[0].participants}
    for p in others:
        if p.user_id is not None and roles[p.user_id] == "coach":
            assert p.take() == [{**sent, "fromId": subject.user_id}]
        else:
            assert p.inbox == []
    assert subject.inbox == []
    assert h.snapshot() == before


def _end_session(h: Harness, subject: Peer, others: list[Peer],
                 before: CoreSnapshot) -> None:
    """Every human hears it ended; the others are closed (4010) and leave; the coach and
    the orb (asked to stop) stay."""
    ended = {"type": "session-ended", "reason": "ended-by-coach", "by": subject.user_id}
    assert subject.take()[0] == ended
    room = before.rooms[0]
    kinds = {p.user_id: p.participant_type for p in room.participants}
    for p in others:
        if p.user_id is None:
            assert p.inbox == []
        elif kinds[p.user_id] == "human":
            assert p.take()[0] == ended and p.close_frame == (4010, "session ended")
    assert _ids(h.snapshot()) == [uid for uid in _ids(before)
                                  if uid == subject.user_id or kinds[uid] == "ai"]


def _ai_mode(h: Harness, subject: Peer, others: list[Peer], before: CoreSnapshot) -> None:
    """Everyone joined (the sender too) hears the new mode; the room keeps it."""
    told = {"type": "ai-mode", "mode": "listen", "by": subject.user_id}
    assert subject.take() == [told]
    for p in others:
        assert p.take() == ([told] if p.user_id is not None else [])
    assert h.snapshot().rooms[0].orb_mode == "listen"


#: When each connection's last ask was accepted (its rate limit), keyed by connection id.
asked_at: dict[int, float] = {}


def _ai_ask(h: Harness, subject: Peer, others: list[Peer], before: CoreSnapshot) -> None:
    """To the room's orb only; refused in ``listen``, without an orb, or too soon."""
    room = before.rooms[0]
    orbs = [p.user_id for p in room.participants if p.participant_type == "ai"]
    roles = {p.user_id: p.user_role for p in room.participants}
    last = asked_at.get(subject.conn_id)
    expected = ("orb-listening" if room.orb_mode == "listen" else
                "orb-unavailable" if not orbs else
                "rate-limited" if last is not None and h.now - last < 3.0 else None)
    if expected is not None:
        got = subject.take_one()
        assert (got["code"], got["ref"]) == (expected, "ai_ask"), got
        assert all(p.inbox == [] for p in others)
    else:
        asked_at[subject.conn_id] = h.now
        assert subject.inbox == []
        for p in others:
            assert p.take() == ([{"type": "ai_ask", "fromId": subject.user_id,
                                  "userRole": roles[subject.user_id]}]
                                if p.user_id in orbs else [])
    assert h.snapshot() == before


EFFECTS: dict[str, Effect] = {
    "ping": _ping,
    "join": _join,
    "leave": _departure,
    "offer": _targeted,
    "answer": _targeted,
    "ice-candidate": _targeted,
    "ai_status": _ai_status,
    "ai_control": _ai_control,
    "client_signal": _client_signal,
    "orb_heartbeat": _heartbeat,
    "ai-orb-shutdown": _departure,
    "ai_transcript": _transcript,
    "ai_summary": _summary,
    "end_session": _end_session,
    "ai_mode": _ai_mode,
    "ai_ask": _ai_ask,
}

#: What each subject last sent, for the relay effects (keyed by connection id).
subject_sent: dict[int, dict[str, Any]] = {}


def test_every_message_type_has_an_instance_and_an_effect() -> None:
    assert set(EFFECTS) == set(MESSAGE_RULES)
    for mtype in MESSAGE_RULES:
        assert well_formed(mtype, None)["type"] == mtype


# ------------------------------------------------------------------ the room under test

def full_room() -> tuple[Harness, dict[str, Peer]]:
    """coach-1, the orb ai-orb-s1 and client-1 joined; a fifth connection not joined."""
    h = Harness(CoreConfig(orbs_enabled=True))
    asked_at.clear()
    h.advance_to(1.0)
    peers = {"coach": h.join("coach-1", "coach")}
    peers["ai"] = h.join_orb()
    peers["client"] = h.join("client-1", "client")
    peers["not-joined"] = h.connect()
    for p in peers.values():
        p.take()
    h.now = 2.0
    for p in peers.values():  # everyone has been seen at the current time
        h.activity(p)
    return h, peers


def sweep_step(h: Harness, subject: Peer, mtype: str) -> None:
    """Send a well-formed ``mtype`` from ``subject`` and check the table's prediction."""
    for p in h.peers.values():
        p.take()
    where = h.core.room_of(subject.conn_id)
    assert where is not None
    user_id = where[1]
    ptype = role = None
    before = h.snapshot()
    if user_id is not None:
        (room,) = [r for r in before.rooms if r.room_id == where[0]]
        ptype, role = next((p.participant_type, p.user_role) for p in room.participants
                           if p.user_id == user_id)
    phase = Phase.AWAITING_JOIN if user_id is None else Phase.JOINED
    msg = well_formed(mtype, user_id)
    if msg.get("toId") not in {p.user_id for r in before.rooms for p in r.participants}:
        msg.pop("toId", None)  # the usual target is gone: broadcast instead
    subject_sent[subject.conn_id] = msg
    h.send(subject, msg)

    others = [p for p in h.peers.values() if p is not subject and p.open]
    error = predicted_error(mtype, phase, ptype, role)
    if error is not None:
        got = subject.take_one()
        assert (got["type"], got["code"]) == ("error", error), (mtype, phase, ptype, got)
        assert got.get("ref") == mtype
        assert all(p.inbox == [] for p in others), mtype
        assert h.snapshot() == before
    elif "toId" not in msg and EFFECTS[mtype] is _targeted:
        _to_everyone_else(h, subject, others, before)
    else:
        EFFECTS[mtype](h, subject, others, before)
    assert subject.open
    h.assert_consistent()


@pytest.mark.parametrize("mtype", [*MESSAGE_RULES, UNKNOWN])
@pytest.mark.parametrize("state", STATES)
def test_sweep(state: str, mtype: str) -> None:
    h, peers = full_room()
    sweep_step(h, peers[state], mtype)
    # The connection is still usable afterwards: a ping is answered.
    h.send(peers[state], {"type": "ping"})
    assert peers[state].take() == [{"type": "pong"}]


def test_sweep_predictions_are_the_table() -> None:
    """Spot checks that the prediction reads the table as docs/protocol.md states it."""
    assert predicted_error("ping", Phase.AWAITING_JOIN, None) is None
    assert predicted_error("offer", Phase.AWAITING_JOIN, None) == "not-joined"
    assert predicted_error("join", Phase.JOINED, "human") == "already-joined"
    assert predicted_error("offer", Phase.JOINED, "ai") == "forbidden"
    assert predicted_error("answer", Phase.JOINED, "ai") is None
    assert predicted_error("ai_status", Phase.JOINED, "human") == "forbidden"
    assert predicted_error("ai_control", Phase.JOINED, "ai") == "forbidden"
    assert predicted_error("orb_heartbeat", Phase.JOINED, "human") == "forbidden"
    assert predicted_error("ai-orb-shutdown", Phase.JOINED, "human") == "forbidden"
    assert predicted_error("end_session", Phase.JOINED, "human", "client") == "forbidden"
    assert predicted_error("end_session", Phase.JOINED, "human", "coach") is None
    assert predicted_error(UNKNOWN, Phase.JOINED, "human") == "unknown-type"
    assert predicted_error(UNKNOWN, Phase.AWAITING_JOIN, None) == "unknown-type"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(STATES), st.sampled_from([*MESSAGE_RULES, UNKNOWN])),
                min_size=1, max_size=12))
def test_sweep_sequences(steps: list[tuple[str, str]]) -> None:
    h, peers = full_room()
    for state, mtype in steps:
        subject = peers[state]
        if not subject.open:  # closed by an earlier step (end_session closes the others)
            continue
        if subject.user_id is None and mtype == "join":
            # Each subject rejoins under its own name, so the room keeps its shape.
            role = {"coach": "coach", "client": "client", "ai": "ai"}.get(state, "observer")
            uid = SUBJECT_OF_STATE.get(state, f"newbie-{subject.conn_id}")
            for p in h.peers.values():
                p.take()
            asked_at.pop(subject.conn_id, None)  # a new seat: a new ask allowance
            h.send(subject, join_message(uid, role))
            assert subject.types()[:1] == ["peer-discovery"]
            h.assert_consistent()
            continue
        sweep_step(h, subject, mtype)
