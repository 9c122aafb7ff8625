"""Inputs of the core: what happened on the I/O side.

The I/O layer builds one of these per happening and hands it to
:meth:`SignalingCore.handle`, the single entry point (anything else raises ``TypeError``).
Time is always an argument: the core owns no clock. All are frozen but :class:`TextReceived`,
which an I/O loop may reuse for every message (the core reads it and keeps nothing of it):
building a fresh object per relayed message would cost more than the relay path's budget.
"""

from __future__ import annotations

import enum

import attrs

#: Chosen by the I/O layer; unique among the connections it has open.
ConnectionId = int


class Departure(enum.StrEnum):
    """Why a participant left; recorded in the session ledger."""

    LEAVE = "leave"
    CLOSED = "close"
    DROPPED = "dropped"
    TIMED_OUT = "time-out"
    REPLACED = "replaced"
    SLOW_CONSUMER = "slow-consumer"
    PROTOCOL_VIOLATION = "protocol-violation"
    SERVER_STOPPED = "server-stopped"
    ORB_SESSION_COMPLETE = "session_complete"
    ORB_TIMEOUT = "timeout"
    ORB_ERROR = "error"
    #: A coach ended the session for everyone (``end_session``).
    SESSION_ENDED = "session-ended"


#: Losses of a connection that a participant may come back from (``reconnect_grace``): no
#: ``leave`` and no close frame, so nobody decided to go. A clean close is a departure.
RECONNECTABLE = frozenset({Departure.DROPPED, Departure.TIMED_OUT, Departure.SLOW_CONSUMER})


@attrs.frozen
class ConnectionOpened:
    """A WebSocket for ``/ws-simple/{room_id}`` completed its handshake.

    ``trusted``: the server's own in-process orb, which skips ``authorize_join``.
    """

    conn_id: ConnectionId
    room_id: str
    now: float
    trusted: bool = False


@attrs.define
class TextReceived:
    """One complete text message arrived (``str``, or its UTF-8 ``bytes``).

    Mutable (slots, no hash) so that a reader may fill one in place per message and hand it
    to :meth:`SignalingCore.handle` again.
    """

    conn_id: ConnectionId
    text: str | bytes
    now: float


@attrs.frozen
class ConnectionActive:
    """The peer showed life without a message (e.g. a WebSocket pong)."""

    conn_id: ConnectionId
    now: float


@attrs.frozen
class ConnectionClosed:
    """The connection is gone; ``cause`` says how (a clean close, a drop, a slow consumer)."""

    conn_id: ConnectionId
    now: float
    cause: Departure = Departure.CLOSED


@attrs.frozen
class TimeAdvanced:
    """Time moved on; expired deadlines become close commands."""

    now: float


@attrs.frozen
class OrbEnded:
    """The orb spawned for ``room_id`` has ended on the I/O side (exited, failed to start).

    ``unavailable``: it never started because no orb could be placed (no worker had a free
    slot in time, the dispatch queue was unreachable); the room's coaches get ``error``
    ``orb-unavailable``, as when the core's own orb cap is reached.
    """

    room_id: str
    session_id: str
    now: float
    spawn_id: int | None = None
    unavailable: bool = False


@attrs.frozen
class ServerStopping:
    """The server is shutting down: every connection is closed with 1001, or with 1012
    (``restart``: it comes back, so clients reconnect and keep their calls)."""

    now: float
    restart: bool = False


Event = (
    ConnectionOpened
    | TextReceived
    | ConnectionActive
    | ConnectionClosed
    | TimeAdvanced
    | OrbEnded
    | ServerStopping
)
