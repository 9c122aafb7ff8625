"""A failure inside the core (a bug) puts it in an error state, as h11 does: the input that
failed returns what had been decided before the failure, and every later input raises."""

from __future__ import annotations

import orjson
import pytest

from signaling_core import (
    ConnectionOpened,
    CoreConfig,
    CoreFailedError,
    OrbLifecycleError,
    ParticipantJoined,
    Send,
    SessionStarted,
    SignalingCore,
    SpawnOrb,
    TextReceived,
    TimeAdvanced,
    join_message,
)
from signaling_core._orb_lifecycle import OrbInput, OrbState


def _join(core: SignalingCore, conn: int, user: str, role: str, now: float = 0.0) -> list:
    core.handle(ConnectionOpened(conn, "room", now))
    text = orjson.dumps(join_message(None, user, role)).decode()
    return core.handle(TextReceived(conn, text, now))


@pytest.mark.parametrize("failure", [RuntimeError("injected"),
                                     OrbLifecycleError(OrbState.ENDED, OrbInput.SPAWNED)])
def test_a_failure_mid_batch_returns_what_was_decided(
        monkeypatch: pytest.MonkeyPatch, failure: Exception) -> None:
    core = SignalingCore(CoreConfig(orbs_enabled=True))

    def broken_step(*args: object) -> None:
        raise failure

    # The coach's join seats it (peer-discovery, the records) and then spawns the room's orb:
    # the orb's lifecycle step fails, in the middle of the join's batch.
    monkeypatch.setattr(core._orbs, "_step", broken_step)
    commands = _join(core, 1, "coach-1", "coach")
    assert [type(c) for c in commands] == [SessionStarted, Send, ParticipantJoined]
    assert isinstance(commands[1], Send) and commands[1].kind == "peer-discovery"
    assert not any(isinstance(c, SpawnOrb) for c in commands)
    assert core.failure is failure
    assert core.deadline_changed  # an I/O layer that checks after each input hears of it
    for later in (lambda: core.handle(TimeAdvanced(1.0)),
                  lambda: core.handle(TextReceived(1, '{"type":"ping"}', 1.0)),
                  core.next_deadline):
        with pytest.raises(CoreFailedError) as caught:
            later()
        assert caught.value.__cause__ is failure


def test_a_protocol_error_is_no_failure() -> None:
    core = SignalingCore()
    _join(core, 1, "client-1", "client")
    commands = core.handle(TextReceived(1, '{"type":"nonsense"}', 0.0))
    assert len(commands) == 1 and isinstance(commands[0], Send) and commands[0].kind == "error"
    assert core.failure is None
    assert core.handle(TextReceived(1, '{"type":"ping"}', 0.0))[0].kind == "pong"
