"""Hostile input never raises: the sender gets the protocol's own error (or close) and the
room is left as it was (h11's property, applied to the core's ``receive``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaling_core import CoreConfig, Departure, ParticipantLeft, TextReceived

from .harness import Harness, Peer


def room() -> tuple[Harness, Peer, Peer]:
    h = Harness()
    coach = h.join("coach-1", "coach")
    client = h.join("client-1", "client")
    coach.take()
    client.take()
    return h, coach, client


def still_usable(h: Harness, sender: Peer, other: Peer) -> None:
    """The sender's connection still works: it can ping and relay."""
    assert sender.open
    h.send(sender, {"type": "ping"})
    assert sender.take() == [{"type": "pong"}]
    h.send(sender, {"type": "client_signal", "action": "ok"})
    assert other.take_one()["action"] == "ok"
    h.assert_consistent()


DEEP_ARRAY = "[" * 60_000  # under the default 64 KiB limit
DEEP_OBJECT = '{"a":' * 10_000 + "1" + "}" * 10_000


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "invalid-json"),
        ("not json", "invalid-json"),
        ("{", "invalid-json"),
        ('{"type":"ping"', "invalid-json"),
        ("{'type': 'ping'}", "invalid-json"),
        ('{"type":"ping"} trailing', "invalid-json"),
        ("NaN", "invalid-json"),
        ('{"type":"ping","n":NaN}', "invalid-json"),
        ('{"type":"ping","n":10' + "0" * 400 + "}", "invalid-json"),  # 10**400
        ('{"type":"ping","n":1e400}', "invalid-json"),
        ('{"type":"ping","n":-1e400}', "invalid-json"),
        ('{"type":"client_signal","action":"\\ud800"}', "invalid-json"),  # JSON escape
        ('{"type":"client_signal","action":"\ud800"}', "invalid-json"),  # lone surrogate str
        ('{"type":"client_signal","action":"\udfff\ud800"}', "invalid-json"),
        (DEEP_ARRAY, "invalid-json"),
        (DEEP_OBJECT, "invalid-json"),
        (b'{"type":"ping","x":"\xff"}', "invalid-json"),  # bytes, invalid UTF-8
        (b"\xc0\xaf", "invalid-json"),
        (b'{"type":"ping","x":"\xed\xa0\x80"}', "invalid-json"),  # UTF-8-encoded surrogate
        ("null", "invalid-message"),
        ("[]", "invalid-message"),
        ('["type","ping"]', "invalid-message"),
        ('"ping"', "invalid-message"),
        ("42", "invalid-message"),
        ("true", "invalid-message"),
        ("{}", "invalid-message"),
        ('{"type":null}', "invalid-message"),
        ('{"type":5}', "invalid-message"),
        ('{"type":["ping"]}', "invalid-message"),
        ('{"type":{"type":"ping"}}', "invalid-message"),
        ('{"type":"ping\\u0000"}', "unknown-type"),
        ('{"type":"' + "x" * 60_000 + '"}', "unknown-type"),
    ],
    ids=lambda v: repr(v)[:40] if isinstance(v, str | bytes) else str(v),
)
def test_bad_text_gets_an_error_and_nothing_else(text: str | bytes, code: str) -> None:
    h, coach, client = room()
    before = h.snapshot()
    h.send(client, text)
    msg = client.take_one()
    assert msg["type"] == "error" and msg["code"] == code, msg
    assert coach.inbox == []
    assert h.snapshot() == before
    still_usable(h, client, coach)


@pytest.mark.parametrize(
    "text",
    ["{", '{"type":"join","userId":"\\ud800","userRole":"coach"}', DEEP_ARRAY,
     '{"type":"join","userId":1e400,"userRole":"coach"}', b"\xff\xfe"],
    ids=["brace", "surrogate", "deep", "huge", "bytes"],
)
def test_bad_text_before_join(text: str | bytes) -> None:
    h = Harness()
    peer = h.connect()
    h.send(peer, text)
    assert peer.take_one()["code"] == "invalid-json"
    assert h.core.room_count == 0
    h.join("u1", peer=peer)
    h.assert_consistent()


WRONG_TYPES: list[dict[str, Any]] = [
    {"type": "offer", "offer": None, "toId": 5},
    {"type": "offer", "offer": 1e308, "toId": ["x"]},
    {"type": "answer", "answer": "x", "toId": {"a": "coach-1"}},
    {"type": "ice-candidate", "candidate": [], "toId": True},
    {"type": "ai_control", "action": {"a": 1}},
    {"type": "client_signal", "action": 12},
    {"type": "client_signal"},
    {"type": "ai_status", "status": ["ready"]},
    {"type": "ai-orb-shutdown", "reason": {"r": 1}},
    {"type": "join", "userId": {"a": 1}},
    {"type": "leave", "extra": [1, 2, 3]},
    {"type": "ping", "type2": None},
    {"type": "orb_heartbeat", "metrics": [1]},
]


@pytest.mark.parametrize("msg", WRONG_TYPES, ids=lambda m: json.dumps(m)[:40])
@pytest.mark.parametrize("sender", ["none", "human", "ai"])
def test_wrong_field_types_never_raise(msg: dict[str, Any], sender: str) -> None:
    h, coach, client = room()
    peer = {"none": h.connect(), "human": client, "ai": h.join("ai-1", "ai")}[sender]
    coach.take()
    client.take()
    peer.take()
    h.send(peer, msg)
    for m in peer.take():
        assert m["type"] in ("error", "pong"), m
    h.assert_consistent()


@pytest.mark.parametrize(
    "text", ["[" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000, "{" * 100_000]
)
def test_deep_nesting_with_a_large_limit_is_invalid_json(text: str) -> None:
    h = Harness(CoreConfig(max_message_bytes=2**20))
    peer = h.connect()
    h.send(peer, text)
    assert peer.take_one()["code"] == "invalid-json"
    h.join("u1", peer=peer)
    h.assert_consistent()


def test_deep_nesting_over_the_default_limit_is_too_big() -> None:
    h, coach, client = room()
    h.send(client, "[" * 100_000)
    assert client.close_frame == (1009, "message too big")
    assert coach.take_one()["type"] == "user-left"
    h.assert_consistent()


def test_huge_strings_are_relayed_within_the_limit() -> None:
    h, coach, client = room()
    blob = "é" * 20_000  # 40 000 UTF-8 bytes, under the default 64 KiB
    h.send(client, {"type": "offer", "offer": {"sdp": blob}, "toId": "coach-1"})
    assert coach.take_one()["offer"]["sdp"] == blob


def test_big_but_finite_numbers_are_relayed_unchanged() -> None:
    h, coach, client = room()
    h.send(client, '{"type":"client_signal","action":"n","i":9223372036854775807,'
                   '"f":1.7976931348623157e308,"neg":-9223372036854775808}')
    got = coach.take_one()
    assert got["i"] == 2**63 - 1 and got["neg"] == -(2**63) and got["f"] == 1.7976931348623157e308


def test_deep_but_valid_relay_is_refused_cleanly() -> None:
    """300 levels parse but exceed the encoder's depth: the sender gets invalid-message and
    nobody receives half a message."""
    h, coach, client = room()
    deep = '{"a":' * 300 + "1" + "}" * 300
    text = '{"type":"offer","toId":"coach-1","offer":' + deep + "}"
    h.send(client, text)
    msg = client.take_one()
    assert (msg["type"], msg["code"], msg["ref"]) == ("error", "invalid-message", "offer")
    assert coach.inbox == []
    # The same depth as a broadcast, a client_signal and an ai_control.
    h.send(client, '{"type":"ice-candidate","candidate":' + deep + "}")
    assert client.take_one()["code"] == "invalid-message"
    h.send(client, '{"type":"client_signal","action":"x","p":' + deep + "}")
    assert client.take_one()["code"] == "invalid-message"
    orb = h.join("ai-1", "ai")
    coach.take()
    client.take()
    orb.take()
    h.send(client, '{"type":"ai_control","action":"x","p":' + deep + "}")
    assert client.take_one()["code"] == "invalid-message"
    h.send(orb, '{"type":"ai_status","status":"ready","p":' + deep + "}")
    assert orb.take_one()["code"] == "invalid-message"
    assert all(p.status is None for p in h.snapshot().rooms[0].participants)
    assert coach.inbox == [] and client.inbox == []
    still_usable(h, client, coach)


def test_moderately_deep_relay_goes_through() -> None:
    h, coach, client = room()
    deep = '{"a":' * 100 + "1" + "}" * 100
    h.send(client, '{"type":"offer","toId":"coach-1","offer":' + deep + "}")
    assert coach.take_one()["type"] == "offer"


@pytest.mark.parametrize("as_bytes", [False, True])
def test_oversized_message_closes_1009_with_departure(as_bytes: bool) -> None:
    h = Harness(CoreConfig(max_message_bytes=1024))
    coach = h.join("coach-1", "coach")
    client = h.join("client-1", "client")
    coach.take()
    text = '{"type":"client_signal","action":"x","p":"' + "y" * 1024 + '"}'
    h.send(client, text.encode() if as_bytes else text)
    assert client.close_frame == (1009, "message too big")
    assert [m["type"] for m in coach.take()] == ["user-left"]
    left = [c for c in h.last if isinstance(c, ParticipantLeft)]
    assert [c.ending for c in left] == [Departure.PROTOCOL_VIOLATION]
    assert h.user_ids() == ["coach-1"]
    assert h.core.handle(TextReceived(client.conn_id, '{"type":"ping"}', h.now)) == []
    h.assert_consistent()


def test_size_limit_counts_utf8_bytes_not_characters() -> None:
    h = Harness(CoreConfig(max_message_bytes=1024))
    peer = h.connect()
    h.send(peer, '{"type":"ping","p":"' + "é" * 400 + '"}')  # 400 chars, ~820 bytes
    assert peer.take() == [{"type": "pong"}]
    h.send(peer, '{"type":"ping","p":"' + "😀" * 300 + '"}')  # 300 chars, ~1220 bytes
    assert peer.close_frame == (1009, "message too big")
    h.assert_consistent()


def test_oversize_with_lone_surrogates_does_not_raise() -> None:
    h = Harness(CoreConfig(max_message_bytes=1024))
    peer = h.connect()
    h.send(peer, "\ud800" * 2000)
    assert peer.close_frame == (1009, "message too big")


def test_message_at_exactly_the_limit_is_accepted() -> None:
    h = Harness(CoreConfig(max_message_bytes=1024))
    peer = h.connect()
    head = '{"type":"ping","p":"'
    text = head + "x" * (1024 - len(head) - 2) + '"}'
    assert len(text.encode()) == 1024
    h.send(peer, text)
    assert peer.take() == [{"type": "pong"}]


def test_bytes_and_str_are_the_same_message() -> None:
    h, coach, client = room()
    h.send(client, '{"type":"client_signal","action":"é"}'.encode())
    assert coach.take_one()["action"] == "é"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_random_text_never_raises(text: str | bytes) -> None:
    h, _coach, client = room()
    h.send(client, text)
    h.send(h.connect(), text)
    h.assert_consistent()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids,
                                                               max_size=3),
    max_leaves=10,
)
FIELDS = st.sampled_from(["type", "toId", "fromId", "userId", "userRole", "userName",
                          "participantType", "roomId", "status", "action", "reason",
                          "offer", "answer", "candidate", "metrics", "sessionId", "token"])
TYPES = st.sampled_from(["join", "leave", "offer", "answer", "ice-candidate", "ping",
                         "ai_status", "ai_control", "client_signal", "orb_heartbeat",
                         "ai-orb-shutdown", "bogus"])


@settings(max_examples=300, deadline=None)
@given(mtype=TYPES, fields=st.dictionaries(FIELDS, JSON_VALUES, max_size=6),
       sender=st.sampled_from(["none", "coach", "client", "ai"]))
def test_random_messages_never_raise(mtype: str, fields: dict[str, Any], sender: str) -> None:
    h = Harness(CoreConfig(orbs_enabled=True))
    coach = h.join("coach-1", "coach")
    client = h.join("client-1", "client")
    orb = h.join_orb()
    peer = {"none": h.connect(), "coach": coach, "client": client, "ai": orb}[sender]
    h.send(peer, {"type": mtype, **{k: v for k, v in fields.items() if k != "type"}})
    h.assert_consistent()
    for p in h.peers.values():
        for m in p.take():
            if "fromId" in m:
                assert m["fromId"] == peer.user_id or m["type"] == "user-left"
