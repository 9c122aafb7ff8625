"""The seat's lifecycle table: every (state, input) pair swept, the table printed in the docs,
and the core's seats moving only through it."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from signaling_core import (
    ConnectionClosed,
    ConnectionOpened,
    CoreConfig,
    CoreFailedError,
    Departure,
    SignalingCore,
    TextReceived,
    TimeAdvanced,
    join_message,
)
from signaling_core._seat_lifecycle import (
    SEAT_TRANSITIONS,
    SeatInput,
    SeatLifecycleError,
    SeatState,
    seat_step,
    seat_table_markdown,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


@pytest.mark.parametrize("state", list(SeatState))
@pytest.mark.parametrize("event", list(SeatInput))
def test_every_pair_has_a_row_or_raises(state: SeatState, event: SeatInput) -> None:
    row = SEAT_TRANSITIONS.get((state, event))
    if row is None:
        with pytest.raises(SeatLifecycleError):
            seat_step(state, event)
    else:
        assert seat_step(state, event) is row


def test_gone_is_terminal_and_every_live_state_can_end() -> None:
    assert not [key for key in SEAT_TRANSITIONS if key[0] is SeatState.GONE]
    for state in (SeatState.PRESENT, SeatState.AWAY):
        assert any(row.next_state is SeatState.GONE for (s, _), row in SEAT_TRANSITIONS.items()
                   if s is state)


def test_the_docs_print_the_table() -> None:
    table = seat_table_markdown()
    assert table in DOC.read_text(encoding="utf-8")
    assert len(table.splitlines()) == 2 + len(SEAT_TRANSITIONS)


def _join(core: SignalingCore, conn: int, user: str, now: float, **extra: str) -> list:
    core.handle(ConnectionOpened(conn, "room", now))
    return core.handle(TextReceived(conn, orjson.dumps(
        join_message(None, user, "client", **extra)).decode(), now))


def test_seats_move_through_the_table() -> None:
    core = SignalingCore(CoreConfig(reconnect_grace=5.0))
    _join(core, 1, "a", 0.0)
    _join(core, 2, "b", 0.0)
    room = core._rooms.by_id["room"]
    seat = room.participants["a"]
    assert seat.seat is SeatState.PRESENT and not seat.away
    core.handle(ConnectionClosed(1, 1.0, Departure.DROPPED))
    assert seat.seat is SeatState.AWAY and seat.away
    _join(core, 3, "a", 2.0, resume_token=seat.resume_token)
    assert seat.seat is SeatState.PRESENT and not seat.away
    core.handle(ConnectionClosed(3, 3.0, Departure.DROPPED))
    core.handle(TimeAdvanced(9.0))
    assert seat.seat is SeatState.GONE and "a" not in room.participants


def test_a_missing_pair_in_the_core_is_its_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """A seat moved by an input its state has no row for: refused before anything changed,
    and the core enters its error state (tests/core/test_core_failure.py)."""
    core = SignalingCore(CoreConfig(reconnect_grace=5.0))
    _join(core, 1, "a", 0.0)
    _join(core, 2, "b", 0.0)
    seat = core._rooms.by_id["room"].participants["a"]
    seat.seat = SeatState.GONE  # as if it had departed without leaving the room: a bug
    core.handle(ConnectionClosed(1, 1.0, Departure.DROPPED))
    assert isinstance(core.failure, SeatLifecycleError)
    assert "a" in core._rooms.by_id["room"].participants  # nothing acted on
    with pytest.raises(CoreFailedError):
        core.handle(TimeAdvanced(2.0))
