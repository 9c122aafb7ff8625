"""The orb bookkeeping of the core: spawning, feeding the lifecycle table, carrying out effects.

Every change of an orb's state goes through :meth:`OrbKeeper._orb_input`, which looks the
``(state, input)`` pair up in :data:`._orb_lifecycle.ORB_TRANSITIONS` (a missing pair raises
before anything changes), sets the next state and performs the row's effect. The core's other
modules only report what happened (a human left, the orb's participant joined, time passed).
"""

from __future__ import annotations

import heapq
import math
from typing import Any

from . import _messages as messages
from ._commands import Command, SpawnOrb, StopOrb
from ._errors import CloseCode, ErrorCode
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
from .wire import Field, require_shutdown_reason


class OrbKeeper(RoomBook):
    """The orbs of the rooms of a :class:`RoomBook`: at most one per room, ``max_orbs`` in all."""

    # ------------------------------------------------------------------ the one way in

    def _orb_input(self, room: Room, orb: Orb, event: OrbInput, now: float,
                   out: list[Command]) -> None:
        self._orb_step(room, orb, event, now, out)
        self._schedule_orb(room, orb)

    def _schedule_orb(self, room: Room, orb: Orb) -> None:
        """After a step: when the orb's first timer moved, its new time goes on the heap
        (the old entry turns stale)."""
        timers = ORB_TIMERS.get(orb.state)
        due = (min(self._orb_timer_due(orb, event) for event in timers)
               if timers and room.orb is orb else math.inf)
        if due == orb.due:
            return
        orb.due = due
        if due != math.inf:
            self._timer_entries += 1
            heapq.heappush(self._orb_deadlines, (due, self._timer_entries, room, orb))
            self._deadline_set(due)

    def _orb_step(self, room: Room, orb: Orb, event: OrbInput, now: float,
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
                          spawn_id: int | None, unavailable: bool,
                          out: list[Command]) -> None:
        room = self._rooms.get(room_id)
        if room is None or room.session_id != session_id:
            return
        orb = room.orb
        if orb is None:
            if room.orb_may_return:
                # The orb that left will not be back (a handed-back job no worker took).
                room.orb_may_return = False
                if unavailable:
                    self._tell_coaches_unavailable(room, out)
            return
        if orb.session_id != session_id:
            return
        if spawn_id is not None and orb.spawn_id != spawn_id:
            return  # a late report about an earlier orb of the same session
        if orb.user_id not in room.participants:
            # An orb in the room leaves through its connection, like anyone else.
            self._orb_input(room, orb, OrbInput.HOST_ENDED, now, out)
            if unavailable:
                self._tell_coaches_unavailable(room, out)

    def _tell_coaches_unavailable(self, room: Room, out: list[Command]) -> None:
        for participant in room.participants.values():
            if participant.user_role == COACH:
                out.append(messages.error_send(
                    participant.conn.conn_id, ErrorCode.ORB_UNAVAILABLE,
                    "no AI orb can be started for this room now"))

    def _check_orbs(self, now: float, out: list[Command]) -> None:
        """Fire, per orb whose first timer is due, the first of its state's timers that has
        expired. Only the heap's due entries are looked at, never every room; a timer that
        a firing sets for ``now`` or earlier fires on the next tick, as one per tick."""
        heap = self._orb_deadlines
        due_now = []
        while heap and heap[0][0] <= now:
            due_now.append(heapq.heappop(heap))
        for due, _, room, orb in due_now:
            if room.orb is not orb or orb.due != due:
                continue  # stale: the orb moved on or left
            for event in ORB_TIMERS[orb.state]:
                if now >= self._orb_timer_due(orb, event):
                    self._orb_input(room, orb, event, now, out)
                    break

    def _orb_timer_due(self, orb: Orb, event: OrbInput) -> float:
        since, limit = ORB_TIMER_CLOCKS[event]
        due: float = getattr(orb, since) + getattr(self.config, limit)
        return due

    def _next_orb_deadline(self) -> float | None:
        heap = self._orb_deadlines
        while heap and (heap[0][2].orb is not heap[0][3] or heap[0][3].due != heap[0][0]):
            heapq.heappop(heap)  # stale entries are dropped here, so they wake nobody
        return heap[0][0] if heap else None

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
            metrics = msg.get(Field.METRICS)
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
        reason = require_shutdown_reason(msg, ORB_SHUTDOWN_REASONS)
        # The departure reports SHUTDOWN to the lifecycle when the sender is the room's orb.
        self._depart(sender, ORB_SHUTDOWN_ENDINGS[reason], now, out)
        self._rejoin_deadline(conn, now)
