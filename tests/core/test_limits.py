"""Server-wide limits in the core: the room cap refuses a join, never a room that exists."""

from __future__ import annotations

import pytest

from signaling_core import CoreConfig

from .harness import Harness, join_message


def test_a_join_that_would_open_a_room_past_the_cap_is_refused() -> None:
    h = Harness(CoreConfig(max_rooms=2))
    h.join("coach-a", room="a")
    h.join("coach-b", room="b")
    late = h.connect("c")
    h.send(late, join_message("coach-c"))
    reply = late.take_one()
    assert reply["type"] == "error"
    assert reply["code"] == "room-full"
    assert "server is full" in reply["message"]
    assert reply["ref"] == "join"
    assert late.open, "a refused join leaves the connection usable"
    assert h.core.room_count == 2
    h.assert_consistent()


def test_existing_rooms_still_take_joins_and_replacements_at_the_cap() -> None:
    h = Harness(CoreConfig(max_rooms=1))
    coach = h.join("coach-a", room="a")
    client = h.join("client-a", "client", room="a")
    assert [m["type"] for m in coach.take()] == ["peer-discovery", "user-joined"]
    again = h.join("client-a", "client", room="a")  # replacement (§6) opens no room
    assert client.close_frame == (4001, "replaced")
    assert again.open
    h.assert_consistent()


def test_a_room_freed_below_the_cap_can_be_opened_again() -> None:
    h = Harness(CoreConfig(max_rooms=1))
    first = h.join("coach-a", room="a")
    waiting = h.connect("b")
    h.send(waiting, join_message("coach-b"))
    assert waiting.errors() == ["room-full"]
    waiting.take()
    h.send(first, {"type": "leave"})
    assert h.core.room_count == 0
    h.join("coach-b", room="b", peer=waiting)
    assert h.user_ids("b") == ["coach-b"]
    h.assert_consistent()


def test_max_rooms_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_rooms"):
        CoreConfig(max_rooms=0)
