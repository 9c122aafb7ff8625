"""``SignalingCore.handle``: the single entry point for events, and nothing else gets through."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from signaling_core import (
    Close,
    ConnectionActive,
    ConnectionClosed,
    ConnectionOpened,
    CoreConfig,
    Departure,
    OrbEnded,
    OrbState,
    ParticipantLeft,
    Send,
    ServerStopping,
    SessionStarted,
    SignalingCore,
    SpawnOrb,
    StopOrb,
    TextReceived,
    TimeAdvanced,
    join_message,
)


def core(**config: Any) -> SignalingCore:
    ids = iter(f"s{n}" for n in range(1, 100))
    # One resume secret, so that two cores fed the same inputs issue the same tokens.
    return SignalingCore(CoreConfig(**config), session_ids=lambda: next(ids),
                         resume_secret=b"k" * 32)


def join(user_id: str, role: str) -> bytes:
    return orjson.dumps(join_message("room-1", user_id, role))


def test_every_event_goes_through_handle() -> None:
    # Without a reconnect grace, so the drop below is a departure at once.
    c = core(orbs_enabled=True, idle_timeout=100.0, orb_join_timeout=1000.0, reconnect_grace=0)
    assert c.handle(ConnectionOpened(1, "room-1", 0.0)) == []
    out = c.handle(TextReceived(1, join("coach-1", "coach"), 0.0))
    assert [type(x) for x in out] == [SessionStarted, Send, type(out[2]), SpawnOrb]
    assert out[1].kind == "peer-discovery"
    spawn = out[3]
    assert isinstance(spawn, SpawnOrb)
    assert c.handle(ConnectionActive(1, 50.0)) == []
    assert c.handle(TimeAdvanced(99.0)) == []  # the activity kept the coach alive
    assert c.orb_state("room-1") is OrbState.STARTING
    assert c.handle(OrbEnded("room-1", spawn.session_id, 99.0, spawn.spawn_id)) == []
    assert c.orb_state("room-1") is None and c.orb_count == 0
    c.handle(ConnectionOpened(2, "room-1", 99.0))
    c.handle(TextReceived(2, join("client-1", "client"), 99.0))
    out = c.handle(ConnectionClosed(2, 99.5, Departure.DROPPED))
    left = [x for x in out if isinstance(x, ParticipantLeft)]
    assert [(x.user_id, x.ending) for x in left] == [("client-1", Departure.DROPPED)]
    out = c.handle(ServerStopping(100.0))
    assert [x for x in out if isinstance(x, Close)] == [Close(1, 1001, "server shutting down")]
    assert c.connection_count == c.room_count == 0


def test_handle_stop_tells_every_orb() -> None:
    c = core(orbs_enabled=True)
    c.handle(ConnectionOpened(1, "room-1", 0.0))
    c.handle(TextReceived(1, join("coach-1", "coach"), 0.0))
    out = c.handle(ServerStopping(1.0))
    assert [x for x in out if isinstance(x, StopOrb)] == [
        StopOrb("room-1", "s1", "server-shutdown")]


@pytest.mark.parametrize("thing", [
    None, object(), "text", 42, {"type": "ping"}, TimeAdvanced, [TimeAdvanced(1.0)],
])
def test_anything_else_raises_type_error_and_changes_nothing(thing: Any) -> None:
    c = core()
    c.handle(ConnectionOpened(1, "room-1", 0.0))
    before = c.snapshot()
    with pytest.raises(TypeError, match="not a signaling_core event"):
        c.handle(thing)
    assert c.snapshot() == before
    assert c.connection_count == 1  # in particular, not stopped


def test_a_subclass_of_an_event_is_not_an_event() -> None:
    class Sneaky(ServerStopping):
        pass

    c = core()
    c.handle(ConnectionOpened(1, "room-1", 0.0))
    with pytest.raises(TypeError):
        c.handle(Sneaky(1.0))
    assert c.connection_count == 1


def test_one_reused_text_event_is_as_good_as_a_fresh_one_per_message() -> None:
    """The Trio server fills one TextReceived in place per message: the core keeps nothing
    of it, so the commands are those of fresh events, message by message."""
    fresh, reused = core(), core()
    event = TextReceived(0, b"", 0.0)
    texts = [(1, join("coach-1", "coach")), (2, join("client-1", "client")),
             (1, b'{"type":"offer","toId":"client-1","sdp":{"type":"offer","sdp":"x"}}'),
             (2, b'{"type":"ping"}'), (2, b"not json"), (1, b'{"type":"leave"}')]
    for c in (fresh, reused):
        c.handle(ConnectionOpened(1, "room-1", 0.0))
        c.handle(ConnectionOpened(2, "room-1", 0.0))
    for n, (conn_id, text) in enumerate(texts):
        expected = fresh.handle(TextReceived(conn_id, text, float(n)))
        event.conn_id, event.text, event.now = conn_id, text, float(n)
        assert reused.handle(event) == expected, text
    assert reused.snapshot() == fresh.snapshot()


def test_the_direct_methods_are_deprecated_wrappers_of_handle() -> None:
    old, new = core(orbs_enabled=True), core(orbs_enabled=True)
    calls: list[tuple[str, tuple[Any, ...], Any]] = [
        ("open", (1, "room-1", 0.0), ConnectionOpened(1, "room-1", 0.0)),
        ("receive", (1, join("coach-1", "coach"), 0.0),
         TextReceived(1, join("coach-1", "coach"), 0.0)),
        ("tick", (1.0,), TimeAdvanced(1.0)),
        ("orb_ended", ("room-1", "s1", 2.0, 1), OrbEnded("room-1", "s1", 2.0, 1)),
        ("closed", (1, 3.0), ConnectionClosed(1, 3.0)),
        ("stop", (4.0,), ServerStopping(4.0)),
    ]
    for name, args, event in calls:
        with pytest.warns(DeprecationWarning, match=f"SignalingCore.{name}"):
            got = getattr(old, name)(*args)
        assert got == new.handle(event), name
    with pytest.warns(DeprecationWarning, match="SignalingCore.activity"):
        assert old.activity(1, 5.0) is None
