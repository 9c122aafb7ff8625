"""The orb bookkeeping of the core: spawning, feeding the lifecycle table, carrying out effects.

Every change of an orb's state goes through :meth:`OrbKeeper._orb_input`, which looks the
``(state, input)`` pair up in :data:`._orb_lifecycle.ORB_TRANSITIONS` (a missing pair raises
before anything changes), sets the next state and performs the row's effect. The core's other
modules only report what happened (a human left, the orb's participant joined, time passed).
"""

from __future__ import annotations

from typing import Any

from . import _messages as messages
from ._commands import Command, SpawnOrb, StopOrb
from ._errors import CloseCode, ErrorCode, ProtocolError
from ._events import Departure
from ._model import Connection, Orb, Participant, Room
from ._orb_lifecycle import (
    ORB_TIMER_CLOCKS,
    ORB_TIMERS,
    OrbEffect,
    OrbInput,
    orb_step,
)
from ._rooms import RoomBook
from ._rules import COACH, ORB_SHUTDOWN_ENDINGS, ORB_SHUTDOWN_REASONS, orb_user_id


class OrbKeeper(RoomBook):
    """The orbs of the rooms of a :class:`RoomBook`: at most one per room, ``max_orbs`` in all."""

    # ------------------------------------------------------------------ the one way in

    def _orb_input(self, room: Room, orb: Orb, event: OrbInput, now: float,
                   out: list[Command]) -> None:
        row = orb_step(orb.state, event)  # raises OrbLifecycleError: nothing has changed
        orb.state = row.next_state
        effect = row.effect
        if effect is OrbEffect.NOTHING:
            return
        if effect is OrbEffect.MARK_UNATTENDED:
            orb.humans_absent_since = now
        elif effect is OrbEffect.SPAWN:
            out.append(SpawnOrb(room.room_id, orb.session_id, orb.user_id, orb.spawn_id))
        elif effect is OrbEffect.REQUEST_STOP:
            orb.stop_requested_at = now
            orb.stop_reason = row.reason
            out.append(StopOrb(room.room_id, orb.session_id, row.reason))
        elif effect is OrbEffect.ANNOUNCE_STOP:
            out.append(StopOrb(room.room_id, orb.session_id, row.reason))
        else:
            if effect is OrbEffect.GIVE_UP:
                out.append(StopOrb(room.room_id, orb.session_id, row.reason))
            room.orb = None
            self._orb_count -= 1
            if effect is OrbEffect.FORCE_OUT:
                # The stop timeout passed: the orb is closed as the protocol would close it.
                holder = room.participants.get(orb.user_id)
                if holder is not None:
                    ending = ORB_SHUTDOWN_ENDINGS.get(orb.stop_reason, Departure.ORB_ERROR)
                    self._drop(holder.conn, CloseCode.NORMAL, "orb stopped", ending, now, out)
                    return
            if effect is OrbEffect.RELEASE:  # a departure in progress deletes the room
                room.orb_may_return = self.config.orbs_rejoin
            else:
                self._maybe_delete_room(room, now, out)

    # ------------------------------------------------------------------ reports

    def _spawn_orb(self, room: Room, coach: Participant, now: float,
                   out: list[Command]) -> None:
        if self._orb_count >= self.config.max_orbs:
            out.append(messages.error_send(coach.conn.conn_id, ErrorCode.ORB_UNAVAILABLE,
                                           "no AI orb can be started for this room now"))
            return
        self._spawns += 1
        orb = room.orb = Orb(room.session_id, orb_user_id(room.session_id), now, self._spawns)
        self._orb_count += 1
        self._orb_input(room, orb, OrbInput.SPAWNED, now, out)

    def _orb_joined(self, room: Room, orb: Orb, replaced: bool, now: float,
                    out: list[Command]) -> None:
        """A participant with the orb's userId joined (in place of another, if ``replaced``)."""
        self._orb_input(room, orb, OrbInput.REPLACED if replaced else OrbInput.JOINED, now, out)

    def _orb_returned(self, room: Room, now: float, out: list[Command]) -> None:
        """The session's orb joined while the room had none (``CoreConfig.orbs_rejoin``).

        A remote host re-dispatched the job of a worker that died; the orb it brings back is
        the room's orb again, with its limits counted afresh, and no ``SpawnOrb`` is issued.
        The caller has checked that a slot is free.
        """
        self._spawns += 1
        orb = room.orb = Orb(room.session_id, orb_user_id(room.session_id), now, self._spawns)
        room.orb_may_return = False
        self._orb_count += 1
        self._orb_input(room, orb, OrbInput.RETURNED, now, out)
        if room.humans == 0:
            self._orb_input(room, orb, OrbInput.HUMANS_ALL_LEFT, now, out)

    def _report_orb_ended(self, room_id: str, session_id: str, now: float,
                          spawn_id: int | None, unavailable: bool = False) -> list[Command]:
        out: list[Command] = []
        room = self._rooms.get(room_id)
        if room is None or room.session_id != session_id:
            return out
        orb = room.orb
        if orb is None:
            if room.orb_may_return:
                # The orb that left will not be back (a handed-back job no worker took).
                room.orb_may_return = False
                if unavailable:
                    self._tell_coaches_unavailable(room, out)
            return out
        if orb.session_id != session_id:
            return out
        if spawn_id is not None and orb.spawn_id != spawn_id:
            return out  # a late report about an earlier orb of the same session
        if orb.user_id not in room.participants:
            # An orb in the room leaves through its connection, like anyone else.
            self._orb_input(room, orb, OrbInput.HOST_ENDED, now, out)
            if unavailable:
                self._tell_coaches_unavailable(room, out)
        return out

    def _tell_coaches_unavailable(self, room: Room, out: list[Command]) -> None:
        for participant in room.participants.values():
            if participant.user_role == COACH:
                out.append(messages.error_send(
                    participant.conn.conn_id, ErrorCode.ORB_UNAVAILABLE,
                    "no AI orb can be started for this room now"))

    def _check_orbs(self, now: float, out: list[Command]) -> None:
        """Fire, per orb, the first of its state's timers that has expired."""
        for room in list(self._rooms.values()):
            orb = room.orb
            if orb is None:
                continue
            for event in ORB_TIMERS[orb.state]:
                if now >= self._orb_timer_due(orb, event):
                    self._orb_input(room, orb, event, now, out)
                    break

    def _orb_timer_due(self, orb: Orb, event: OrbInput) -> float:
        since, limit = ORB_TIMER_CLOCKS[event]
        due: float = getattr(orb, since) + getattr(self.config, limit)
        return due

    def _next_orb_deadline(self) -> float | None:
        times = [self._orb_timer_due(room.orb, event)
                 for room in self._rooms.values() if room.orb is not None
                 for event in ORB_TIMERS[room.orb.state]]
        return min(times) if times else None

    # ------------------------------------------------------------------ the orb's messages

    def _on_orb_heartbeat(self, conn: Connection, msg: dict[str, Any], now: float,
                          out: list[Command]) -> None:
        sender = conn.participant
        assert sender is not None
        room = sender.room
        orb = room.orb
        if orb is not None and orb.user_id == sender.user_id:
            self._orb_input(room, orb, OrbInput.HEARTBEAT, now, out)
            orb.last_heartbeat = now
            metrics = msg.get("metrics")
            if type(metrics) is dict:
                # Kept flat and small: admin endpoints serialise it, so no depth, no bulk.
                orb.metrics = {
                    str(key)[:64]: value for key, value in list(metrics.items())[:32]
                    if type(value) in (int, float, bool)
                    or (type(value) is str and len(value) <= 128)
                }

    def _on_orb_shutdown(self, conn: Connection, msg: dict[str, Any], now: float,
                         out: list[Command]) -> None:
        sender = conn.participant
        assert sender is not None
        reason = msg.get("reason")
        if type(reason) is not str or reason not in ORB_SHUTDOWN_REASONS:
            raise ProtocolError(
                ErrorCode.INVALID_MESSAGE,
                "reason must be one of " + ", ".join(sorted(ORB_SHUTDOWN_REASONS)),
                "ai-orb-shutdown",
            )
        # The departure reports SHUTDOWN to the lifecycle when the sender is the room's orb.
        self._depart(sender, ORB_SHUTDOWN_ENDINGS[reason], now, out)
        self._rejoin_deadline(conn, now)
