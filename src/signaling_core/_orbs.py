"""The orb bookkeeping of the core: spawning, feeding the lifecycle table, carrying out effects.

Every change of an orb's state goes through :meth:`Orbs.input`, which looks the
``(state, input)`` pair up in :data:`._orb_lifecycle.ORB_TRANSITIONS` (a missing pair raises
before anything changes), sets the next state and performs the row's effect. The core's other
modules only report what happened (a human left, the orb's participant joined, time passed).
"""

from __future__ import annotations

import heapq
import math
from typing import Any, Protocol

from . import _messages as messages
from ._commands import Command, SpawnOrb, StopOrb
from ._config import CoreConfig
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
from ._rules import COACH, ORB_SHUTDOWN_ENDINGS, orb_user_id
from .wire import Field


class OrbSide(Protocol):
    """What the orbs need from the rest of the core, and nothing more."""

    def _drop(self, conn: Connection, code: int, reason: str, ending: Departure,
              now: float, out: list[Command], replaced: bool = False) -> None:
        """Close a connection from the core's side (the orb's, when forced out)."""

    def _delete_room_if_empty(self, room: Room, now: float, out: list[Command]) -> None:
        """Delete the room if nothing keeps it (no participants, no orb on its way)."""

    def _deadline_set(self, when: float) -> None:
        """A deadline was set: the I/O side may need to wake earlier."""


class Orbs:
    """The orbs of the core's rooms: at most one per room, ``max_orbs`` in all.

    A component the core owns: it reads the rooms (``rooms``, shared) and acts on the room side
    only through :class:`OrbSide` (closing a forced-out orb, deleting an empty room, telling
    of a new deadline).
    """

    def __init__(self, config: CoreConfig, rooms: dict[str, Room], side: OrbSide) -> None:
        self.config = config
        self._rooms = rooms
        self._side = side
        #: Orbs by the first of their state's timers: (due, tie-breaker, room, orb); an entry
        #: is stale once the orb left its room or moved on (``orb.due`` differs).
        self._deadlines: list[tuple[float, int, Room, Orb]] = []
        #: Orbs running (counted against ``max_orbs``).
        self.count = 0
        #: Counts spawned (or returned) orbs, so each has an id of its own.
        self._spawns = 0
        #: Tie-breaker of the deadline heap's entries.
        self._timer_entries = 0

    def clear(self) -> None:
        """The server stopped: no orb runs any more."""
        self._deadlines.clear()
        self.count = 0

    # ------------------------------------------------------------------ the one way in

    def input(self, room: Room, orb: Orb, event: OrbInput, now: float,
                   out: list[Command]) -> None:
        self._step(room, orb, event, now, out)
        self._schedule(room, orb)

    def _schedule(self, room: Room, orb: Orb) -> None:
        """After a step: when the orb's first timer moved, its new time goes on the heap
        (the old entry turns stale)."""
        timers = ORB_TIMERS.get(orb.state)
        due = (min(self._timer_due(orb, event) for event in timers)
               if timers and room.orb is orb else math.inf)
        if due == orb.due:
            return
        orb.due = due
        if due != math.inf:
            self._timer_entries += 1
            heapq.heappush(self._deadlines, (due, self._timer_entries, room, orb))
            self._side._deadline_set(due)

    def _step(self, room: Room, orb: Orb, event: OrbInput, now: float,
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
            self.count -= 1
            if effect is OrbEffect.FORCE_OUT:
                # The stop timeout passed: the orb is closed as the protocol would close it.
                holder = room.participants.get(orb.user_id)
                if holder is not None:
                    ending = ORB_SHUTDOWN_ENDINGS.get(orb.stop_reason, Departure.ORB_ERROR)
                    self._side._drop(holder.conn, CloseCode.NORMAL, "orb stopped", ending,
                                     now, out)
                    return
            if effect is OrbEffect.RELEASE:  # a departure in progress deletes the room
                room.orb_may_return = self.config.orbs_rejoin
            else:
                self._side._delete_room_if_empty(room, now, out)

    # ------------------------------------------------------------------ reports

    def spawn(self, room: Room, coach: Participant, now: float,
                   out: list[Command]) -> None:
        if self.count >= self.config.max_orbs:
            out.append(messages.error_send(coach.conn.conn_id, ErrorCode.ORB_UNAVAILABLE,
                                           "no AI orb can be started for this room now"))
            return
        self._spawns += 1
        orb = room.orb = Orb(room.session_id, orb_user_id(room.session_id), now, self._spawns)
        self.count += 1
        self.input(room, orb, OrbInput.SPAWNED, now, out)

    def adopt(self, room: Room, coach: Participant, now: float,
                   out: list[Command]) -> None:
        """A coach joined a room without an orb where an ai holds the orb's userId: that
        ai is the room's orb again (no ``SpawnOrb``), if a slot is free."""
        if self.count >= self.config.max_orbs:
            out.append(messages.error_send(coach.conn.conn_id, ErrorCode.ORB_UNAVAILABLE,
                                           "no AI orb can be started for this room now"))
            return
        self.returned(room, now, out)

    def joined(self, room: Room, orb: Orb, replaced: bool, now: float,
                    out: list[Command]) -> None:
        """A participant with the orb's userId joined (in place of another, if ``replaced``)."""
        self.input(room, orb, OrbInput.REPLACED if replaced else OrbInput.JOINED, now, out)

    def returned(self, room: Room, now: float, out: list[Command]) -> None:
        """The session's orb joined while the room had none (``CoreConfig.orbs_rejoin``), or
        a coach joined while an ai held the orb's userId (:meth:`adopt`).

        A remote host re-dispatched the job of a worker that died (or the orb that left came
        back); that orb is the room's orb again, with its limits counted afresh, and no
        ``SpawnOrb`` is issued. The caller has checked that a slot is free.
        """
        self._spawns += 1
        orb = room.orb = Orb(room.session_id, orb_user_id(room.session_id), now, self._spawns)
        room.orb_may_return = False
        self.count += 1
        self.input(room, orb, OrbInput.RETURNED, now, out)
        if room.humans == 0:
            self.input(room, orb, OrbInput.HUMANS_ALL_LEFT, now, out)

    def report_ended(self, room_id: str, session_id: str, now: float,
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
            self.input(room, orb, OrbInput.HOST_ENDED, now, out)
            if unavailable:
                self._tell_coaches_unavailable(room, out)

    def _tell_coaches_unavailable(self, room: Room, out: list[Command]) -> None:
        for participant in room.participants.values():
            if participant.user_role == COACH:
                out.append(messages.error_send(
                    participant.conn.conn_id, ErrorCode.ORB_UNAVAILABLE,
                    "no AI orb can be started for this room now"))

    def check(self, now: float, out: list[Command]) -> None:
        """Fire, per orb whose first timer is due, the first of its state's timers that has
        expired. Only the heap's due entries are looked at, never every room; a timer that
        a firing sets for ``now`` or earlier fires on the next tick, as one per tick."""
        heap = self._deadlines
        due_now = []
        while heap and heap[0][0] <= now:
            due_now.append(heapq.heappop(heap))
        for due, _, room, orb in due_now:
            if room.orb is not orb or orb.due != due:
                continue  # stale: the orb moved on or left
            for event in ORB_TIMERS[orb.state]:
                if now >= self._timer_due(orb, event):
                    self.input(room, orb, event, now, out)
                    break

    def _timer_due(self, orb: Orb, event: OrbInput) -> float:
        since, limit = ORB_TIMER_CLOCKS[event]
        due: float = getattr(orb, since) + getattr(self.config, limit)
        return due

    def next_deadline(self) -> float | None:
        """The first orb timer due (stale heap entries dropped), or None."""
        heap = self._deadlines
        while heap and (heap[0][2].orb is not heap[0][3] or heap[0][3].due != heap[0][0]):
            heapq.heappop(heap)  # stale entries are dropped here, so they wake nobody
        return heap[0][0] if heap else None

    # ------------------------------------------------------------------ the orb's messages

    def on_heartbeat(self, conn: Connection, msg: dict[str, Any], now: float,
                          out: list[Command]) -> None:
        sender = conn.participant
        assert sender is not None
        room = sender.room
        orb = room.orb
        if orb is not None and orb.user_id == sender.user_id:
            self.input(room, orb, OrbInput.HEARTBEAT, now, out)
            orb.last_heartbeat = now
            metrics = msg.get(Field.METRICS)
            if type(metrics) is dict:
                # Kept flat and small: admin endpoints serialise it, so no depth, no bulk.
                orb.metrics = {
                    str(key)[:64]: value for key, value in list(metrics.items())[:32]
                    if type(value) in (int, float, bool)
                    or (type(value) is str and len(value) <= 128)
                }
