"""Membership: join validation (§2-§4), discovery, departures of every kind, replacement (§6)."""

from __future__ import annotations

from typing import Any

import pytest

from signaling_core import (
    Close,
    ConnectionOpened,
    CoreConfig,
    Departure,
    ParticipantJoined,
    ParticipantLeft,
    SessionEnded,
    SessionStarted,
)

from .harness import DEFAULT_ROOM, Harness, Peer, join_message


def refused(h: Harness, peer: Peer, msg: dict[str, Any], code: str) -> dict[str, Any]:
    """``msg`` gets exactly one error with ``code`` and changes nothing else."""
    before = h.snapshot()
    others = [p for p in h.peers.values() if p is not peer]
    for p in h.peers.values():
        p.take()
    h.send(peer, msg)
    error = peer.take_one()
    assert error["type"] == "error"
    assert error["code"] == code, error
    assert type(error["message"]) is str and error["message"]
    assert all(not p.inbox for p in others)
    assert h.snapshot() == before
    h.assert_consistent()
    return error


# ------------------------------------------------------------------ field validation

def test_minimal_join_takes_defaults() -> None:
    h = Harness()
    peer = h.connect()
    h.send(peer, {"type": "join", "userId": "u1", "userRole": "coach"})
    discovery = peer.take_one()
    assert type(discovery.pop("resumeToken")) is str
    assert discovery == {"type": "peer-discovery", "roomId": DEFAULT_ROOM, "peers": [],
                         "orbMode": "addressed"}
    (part,) = h.snapshot().rooms[0].participants
    assert (part.user_id, part.user_name, part.user_role, part.participant_type) == (
        "u1", "", "coach", "human")
    h.assert_consistent()


BAD_JOIN_FIELDS: list[tuple[str, dict[str, Any]]] = [
    ("userId missing", {"userId": None}),
    ("userId int", {"userId": 7}),
    ("userId list", {"userId": ["a"]}),
    ("userId empty", {"userId": ""}),
    ("userId too long", {"userId": "u" * 129}),
    ("userId NUL", {"userId": "a\x00b"}),
    ("userId newline", {"userId": "a\nb"}),
    ("userId unit separator", {"userId": "a\x1fb"}),
    ("userId DEL", {"userId": "a\x7fb"}),
    ("userName int", {"userName": 3}),
    ("userName null", {"userName": None}),
    ("userName too long", {"userName": "n" * 129}),
    ("userRole missing", {"userRole": None}),
    ("userRole empty", {"userRole": ""}),
    ("userRole too long", {"userRole": "r" * 33}),
    ("userRole with space", {"userRole": "co ach"}),
    ("userRole starts with digit", {"userRole": "1coach"}),
    ("userRole punctuation", {"userRole": "coach!"}),
    ("userRole control char", {"userRole": "coach\n"}),
    ("userRole dict", {"userRole": {"a": 1}}),
    ("participantType unknown", {"participantType": "robot"}),
    ("participantType int", {"participantType": 1}),
    ("participantType list", {"participantType": ["ai"]}),
    ("role ai but human", {"userRole": "ai", "participantType": "human"}),
    ("token int", {"token": 5}),
]


@pytest.mark.parametrize(("case", "change"), BAD_JOIN_FIELDS, ids=[c for c, _ in BAD_JOIN_FIELDS])
def test_invalid_join_fields(case: str, change: dict[str, Any]) -> None:
    h = Harness()
    h.join("coach-1", "coach").take()
    peer = h.connect()
    msg = join_message("client-1", "client")
    for key, value in change.items():
        if value is None and key in ("userId", "userRole"):
            del msg[key]
        else:
            msg[key] = value
    error = refused(h, peer, msg, "invalid-message")
    assert error["ref"] == "join"
    # The connection stays usable: the same peer can join properly afterwards.
    h.join("client-1", "client", peer=peer)
    h.assert_consistent()


GOOD_JOIN_FIELDS: list[tuple[str, dict[str, Any], tuple[str, str, str, str]]] = [
    ("userId 128 chars", {"userId": "u" * 128}, ("u" * 128, "N", "client", "human")),
    ("unicode userId", {"userId": "ü-λ-😀"}, ("ü-λ-😀", "N", "client", "human")),
    ("userName 128 chars", {"userName": "n" * 128}, ("c", "n" * 128, "client", "human")),
    ("userName empty", {"userName": ""}, ("c", "", "client", "human")),
    ("markup name kept verbatim", {"userName": "<b>x</b>"}, ("c", "<b>x</b>", "client", "human")),
    ("other role word", {"userRole": "co-host_2"}, ("c", "N", "co-host_2", "human")),
    ("role 32 chars", {"userRole": "R" * 32}, ("c", "N", "R" * 32, "human")),
    ("explicit human", {"participantType": "human"}, ("c", "N", "client", "human")),
    ("role ai implies ai", {"userRole": "ai"}, ("c", "N", "ai", "ai")),
    ("role ai and type ai", {"userRole": "ai", "participantType": "ai"}, ("c", "N", "ai", "ai")),
    ("roomId equal to path", {"roomId": DEFAULT_ROOM}, ("c", "N", "client", "human")),
    ("string token", {"token": "t"}, ("c", "N", "client", "human")),
    ("extra fields ignored", {"color": "red"}, ("c", "N", "client", "human")),
]


@pytest.mark.parametrize(
    ("case", "change", "stored"), GOOD_JOIN_FIELDS, ids=[c for c, _, _ in GOOD_JOIN_FIELDS]
)
def test_valid_join_fields(
    case: str, change: dict[str, Any], stored: tuple[str, str, str, str]
) -> None:
    h = Harness()
    msg = {"type": "join", "userId": "c", "userName": "N", "userRole": "client", **change}
    peer = h.connect()
    h.send(peer, msg)
    assert peer.take_one()["type"] == "peer-discovery"
    (part,) = h.snapshot().rooms[0].participants
    assert (part.user_id, part.user_name, part.user_role, part.participant_type) == stored
    h.assert_consistent()


def test_ai_type_with_human_role_never_offers() -> None:
    h = Harness()
    coach = h.join("coach-1", "coach")
    bot = h.join("bot", "coach", ptype="ai")
    assert bot.take_one()["peers"][0]["shouldCreateOffer"] is False
    assert coach.take()[-1]["shouldCreateOffer"] is True
    h.assert_consistent()


@pytest.mark.parametrize("room_id", ["other-room", "", None, 5, ["room-1"]])
def test_room_id_mismatch(room_id: Any) -> None:
    h = Harness()
    peer = h.connect()
    error = refused(h, peer, {**join_message("u1"), "roomId": room_id}, "room-mismatch")
    assert error["ref"] == "join"
    h.join("u1", peer=peer)


def test_room_full_at_max_participants() -> None:
    h = Harness(CoreConfig(max_participants=3))
    peers = [h.join(f"u{i}", "client") for i in range(3)]
    late = h.connect()
    refused(h, late, join_message("u9", "client"), "room-full")
    # Still usable: a ping works, and once someone leaves the join succeeds.
    h.send(late, {"type": "ping"})
    assert late.take_one() == {"type": "pong"}
    h.send(peers[0], {"type": "leave"})
    h.join("u9", "client", peer=late)
    assert h.user_ids() == ["u1", "u2", "u9"]
    h.assert_consistent()


def test_room_full_does_not_count_other_rooms() -> None:
    h = Harness(CoreConfig(max_participants=1))
    h.join("u1", room="a")
    h.join("u1", room="b")
    h.assert_consistent()


def test_replacement_is_allowed_in_a_full_room() -> None:
    h = Harness(CoreConfig(max_participants=2))
    h.join("u1", "coach")
    h.join("u2", "client")
    h.join("u2", "client")
    assert h.user_ids() == ["u1", "u2"]
    h.assert_consistent()


def test_second_join_is_already_joined() -> None:
    h = Harness()
    h.join("coach-1", "coach").take()
    peer = h.join("client-1", "client")
    peer.take()
    error = refused(h, peer, join_message("client-2", "client"), "already-joined")
    assert error["ref"] == "join"
    refused(h, peer, join_message("client-1", "client"), "already-joined")
    assert h.user_ids() == ["coach-1", "client-1"]


def test_duplicate_user_without_replacement() -> None:
    h = Harness(CoreConfig(replace_on_rejoin=False))
    first = h.join("u1")
    first.take()
    second = h.connect()
    error = refused(h, second, join_message("u1"), "duplicate-user")
    assert error["ref"] == "join"
    assert first.open and first.close_frame is None
    h.join("u2", peer=second)
    h.assert_consistent()


def test_invalid_room_path_is_closed_1008_and_forgotten() -> None:
    h = Harness()
    peer = h.connect("bad room")
    assert h.closes() == [Close(peer.conn_id, 1008, "invalid room id")]
    assert h.core.connection_count == 0
    assert h.send(peer, {"type": "ping"}) == []
    h.assert_consistent()


def test_reusing_an_open_connection_id_is_a_caller_bug() -> None:
    h = Harness()
    peer = h.connect()
    with pytest.raises(ValueError):
        h.core.handle(ConnectionOpened(peer.conn_id, DEFAULT_ROOM, h.now))


# ------------------------------------------------------------------ discovery

def test_peer_discovery_in_join_order_with_offer_flags() -> None:
    h = Harness()
    h.join("zed-client", "client")
    h.join("coach-b", "coach")
    h.join("ai-orb-x", "ai", ptype="ai")
    h.join("aaa-observer", "observer")
    newcomer = h.join("mmm-observer", "observer")
    disc = newcomer.take_one()
    assert disc["type"] == "peer-discovery"
    assert disc["roomId"] == DEFAULT_ROOM
    assert [(p["userId"], p["shouldCreateOffer"]) for p in disc["peers"]] == [
        ("zed-client", True),      # other roles: lower userId offers
        ("coach-b", False),
        ("ai-orb-x", True),        # the human offers to the ai
        ("aaa-observer", False),
    ]
    for p in disc["peers"]:
        assert set(p) == {"userId", "userName", "userRole", "participantType",
                          "shouldCreateOffer"}
    h.assert_consistent()


def test_user_joined_goes_to_each_existing_participant() -> None:
    h = Harness()
    coach = h.join("coach-1", "coach", name="Coach Carol")
    orb = h.join("ai-orb-1", "ai", ptype="ai")
    for p in (coach, orb):
        p.take()
    client = h.join("client-1", "client", name="Client Chris")
    base = {"type": "user-joined", "userId": "client-1", "userName": "Client Chris",
            "userRole": "client", "participantType": "human"}
    assert coach.take() == [{**base, "shouldCreateOffer": True}]
    assert orb.take() == [{**base, "shouldCreateOffer": False}]
    assert [p["shouldCreateOffer"] for p in client.take_one()["peers"]] == [False, True]
    h.assert_consistent()


def test_room_lives_while_it_has_participants() -> None:
    h = Harness()
    a = h.join("a")
    assert h.core.room_count == 1
    assert isinstance(h.last[0], SessionStarted)
    assert any(isinstance(c, ParticipantJoined) for c in h.last)
    session = h.snapshot().rooms[0].session_id
    b = h.join("b", "client")
    h.send(a, {"type": "leave"})
    assert h.core.room_count == 1
    h.close(b)
    assert h.core.room_count == 0
    assert SessionEnded(session, DEFAULT_ROOM, h.now) in h.last
    h.join("c")
    assert h.snapshot().rooms[0].session_id != session
    h.assert_consistent()


def test_rooms_are_separate() -> None:
    h = Harness()
    a = h.join("same-id", "coach", room="r1")
    b = h.join("same-id", "coach", room="r2")
    assert a.take_one()["peers"] == []
    assert b.take_one()["peers"] == []
    h.join("client", "client", room="r2")
    assert a.inbox == []
    assert b.types() == ["user-joined"]
    h.assert_consistent()


# ------------------------------------------------------------------ departures

def user_left_of(user_id: str, role: str, ptype: str = "human") -> dict[str, Any]:
    return {"type": "user-left", "userId": user_id, "userName": f"Name of {user_id}",
            "userRole": role, "participantType": ptype}


def _depart_by_leave(h: Harness, p: Peer) -> Departure:
    h.send(p, {"type": "leave"})
    assert p.open
    return Departure.LEAVE


def _depart_by_close(h: Harness, p: Peer) -> Departure:
    h.close(p)
    return Departure.CLOSED


def _depart_by_drop(h: Harness, p: Peer) -> Departure:
    h.close(p, Departure.DROPPED)
    return Departure.DROPPED


def _depart_by_slow_consumer(h: Harness, p: Peer) -> Departure:
    h.close(p, Departure.SLOW_CONSUMER)
    return Departure.SLOW_CONSUMER


def _depart_by_timeout(h: Harness, p: Peer) -> Departure:
    h.now += 1.0
    for other in h.peers.values():
        if other is not p and other.open:
            h.activity(other)
    h.advance(h.core.config.idle_timeout - 0.5)
    assert p.close_frame == (4008, "idle deadline passed")
    return Departure.TIMED_OUT


def _depart_by_replacement(h: Harness, p: Peer) -> Departure:
    assert p.user_id is not None
    h.join(p.user_id, "client")
    assert p.close_frame == (4001, "replaced")
    return Departure.REPLACED


def _depart_by_oversize(h: Harness, p: Peer) -> Departure:
    h.send(p, "x" * (h.core.config.max_message_bytes + 1))
    assert p.close_frame is not None and p.close_frame[0] == 1009
    return Departure.PROTOCOL_VIOLATION


DEPARTURES = {
    "leave": _depart_by_leave,
    "close": _depart_by_close,
    "drop": _depart_by_drop,
    "slow-consumer": _depart_by_slow_consumer,
    "timeout": _depart_by_timeout,
    "replacement": _depart_by_replacement,
    "oversize": _depart_by_oversize,
}


@pytest.mark.parametrize("how", list(DEPARTURES))
def test_user_left_exactly_once_per_departure(how: str) -> None:
    # Without a reconnect grace every loss is a departure at once (test_resume.py: with one).
    h = Harness(CoreConfig(reconnect_grace=0))
    coach = h.join("coach-1", "coach")
    orb = h.join("ai-orb-1", "ai", ptype="ai")
    client = h.join("client-1", "client")
    for p in (coach, orb, client):
        p.take()
    ending = DEPARTURES[how](h, client)
    expected = user_left_of("client-1", "client")
    for p in (coach, orb):
        msgs = p.take()
        assert msgs.count(expected) == 1, msgs
        assert p.left_count == {"client-1": 1}
    left = [c for c in h.commands if isinstance(c, ParticipantLeft)]
    assert [(c.user_id, c.ending) for c in left] == [("client-1", ending)]
    # The connection's later close (if any) announces nothing more.
    if client.open:
        h.close(client)
    elif not client.gone:
        assert h.close(client) == []
    for p in (coach, orb):
        assert "user-left" not in p.types()
    h.assert_consistent()


def test_ai_orb_shutdown_is_a_departure() -> None:
    h = Harness()
    coach = h.join("coach-1", "coach")
    orb = h.join("ai-orb-1", "ai", ptype="ai", name="Name of ai-orb-1")
    coach.take()
    h.send(orb, {"type": "ai-orb-shutdown", "sessionId": "1", "reason": "session_complete"})
    assert coach.take() == [user_left_of("ai-orb-1", "ai", "ai")]
    assert orb.open and orb.user_id is None
    left = [c for c in h.last if isinstance(c, ParticipantLeft)]
    assert [c.ending for c in left] == [Departure.ORB_SESSION_COMPLETE]
    h.close(orb)
    assert coach.inbox == []
    h.assert_consistent()


# ------------------------------------------------------------------ replacement (§6)

def test_replacement_sequence() -> None:
    h = Harness()
    coach = h.join("coach-1", "coach")
    orb = h.join("ai-orb-1", "ai", ptype="ai")
    old = h.join("client-1", "client", name="Old name")
    for p in (coach, orb, old):
        p.take()
    new = h.join("client-1", "client", name="New name")
    # The old connection is closed 4001 'replaced' before anything else is said.
    assert isinstance(h.last[0], Close)
    assert h.last[0] == Close(old.conn_id, 4001, "replaced")
    assert old.inbox == []
    for p in (coach, orb):
        msgs = p.take()
        assert [m["type"] for m in msgs] == ["user-left", "user-joined"]
        assert msgs[0]["userId"] == msgs[1]["userId"] == "client-1"
        assert msgs[0]["userName"] == "Old name"
        assert msgs[1]["userName"] == "New name"
    disc = new.take_one()
    assert [p["userId"] for p in disc["peers"]] == ["coach-1", "ai-orb-1"]
    # The new connection now holds the place, at the end of the join order.
    assert h.user_ids() == ["coach-1", "ai-orb-1", "client-1"]
    h.assert_consistent()

    # The old connection's late close is a no-op: the new one stays.
    assert h.close(old) == []
    assert h.user_ids() == ["coach-1", "ai-orb-1", "client-1"]
    assert new.user_id == "client-1"
    for p in (coach, orb, new):
        assert p.inbox == []
    h.send(new, {"type": "client_signal", "action": "raise-hand"})
    assert coach.take_one()["fromId"] == "client-1"
    h.assert_consistent()


def test_replacement_of_a_lone_participant_keeps_the_session() -> None:
    h = Harness()
    old = h.join("u1")
    session = h.snapshot().rooms[0].session_id
    new = h.join("u1")
    assert old.close_frame == (4001, "replaced")
    assert h.snapshot().rooms[0].session_id == session
    assert not any(isinstance(c, SessionEnded | SessionStarted) for c in h.last)
    assert new.take_one()["peers"] == []
    h.assert_consistent()


def test_replacement_records_the_departure() -> None:
    h = Harness()
    h.join("u1")
    h.join("u1")
    left = [c for c in h.last if isinstance(c, ParticipantLeft)]
    assert [(c.user_id, c.ending) for c in left] == [("u1", Departure.REPLACED)]


def test_invalid_join_does_not_replace() -> None:
    h = Harness()
    old = h.join("u1")
    peer = h.connect()
    refused(h, peer, {**join_message("u1"), "userRole": ""}, "invalid-message")
    assert old.open
