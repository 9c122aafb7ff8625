"""Outputs of the core: what the I/O layer must do, in the order given.

The core has already changed its state when it returns these; the I/O layer performs them
before feeding the next event. ``Send.data`` is UTF-8 JSON to be sent as one text frame; a
broadcast hands the *same* bytes object to every recipient, so it is encoded once.
"""

from __future__ import annotations

import attrs

from ._events import ConnectionId, Departure
from .wire import TranscriptLine


@attrs.frozen(init=False)
class Send:
    """Send ``data`` (UTF-8 JSON text) to ``conn_id`` as one text message.

    ``kind`` is the ``type`` of the message in ``data`` (``"peer-discovery"``, ``"error"``,
    ``"offer"``, ...) and ``error`` its ``code`` when ``kind == "error"``, so an I/O layer can
    count what it sends without parsing ``data`` again. The core always fills both.

    One is made for every relayed message, so its ``__init__`` is written out: it sets the
    slots through their descriptors, which costs about two thirds of attrs' frozen
    ``__init__`` (that one looks ``object.__setattr__`` up for every field). Same signature,
    same frozen instance, same ``==``, ``hash`` and ``repr`` (attrs still makes those).
    """

    conn_id: ConnectionId
    data: bytes
    kind: str = "other"
    error: str | None = None

    def __init__(self, conn_id: ConnectionId, data: bytes, kind: str = "other",
                 error: str | None = None) -> None:
        _set_send_conn_id(self, conn_id)
        _set_send_data(self, data)
        _set_send_kind(self, kind)
        _set_send_error(self, error)


_set_send_conn_id, _set_send_data, _set_send_kind, _set_send_error = (
    Send.__dict__[name].__set__ for name in ("conn_id", "data", "kind", "error"))


@attrs.frozen
class Close:
    """Close ``conn_id`` with a WebSocket close code and a short reason.

    The core already treats the connection as gone: a later ``ConnectionClosed`` for it is a
    no-op, so its departure is announced exactly once.
    """

    conn_id: ConnectionId
    code: int
    reason: str


@attrs.frozen
class SpawnOrb:
    """Start an orb for ``room_id``; it must join as ``user_id`` (``ai-orb-{session_id}``).

    ``spawn_id`` tells this orb apart from an earlier one of the same session (same userId):
    hand it back in ``orb_ended`` so a late report about the old orb cannot end the new one.
    """

    room_id: str
    session_id: str
    user_id: str
    spawn_id: int = 0


@attrs.frozen
class StopOrb:
    """Ask the orb of ``room_id`` to announce ``ai-orb-shutdown`` with ``reason`` and leave."""

    room_id: str
    session_id: str
    reason: str


@attrs.frozen
class ParticipantRecord:
    """The public fields of a participant, as the ledger stores them."""

    user_id: str
    user_name: str
    user_role: str
    participant_type: str


@attrs.frozen
class SessionStarted:
    """A human joined an empty room: a new session begins."""

    session_id: str
    room_id: str
    at: float


@attrs.frozen
class ParticipantJoined:
    """A participant's part in a session begins."""

    session_id: str
    room_id: str
    participant: ParticipantRecord
    at: float


@attrs.frozen
class ParticipantLeft:
    """A participant's part in a session ends, and how."""

    session_id: str
    room_id: str
    user_id: str
    at: float
    ending: Departure


@attrs.frozen
class OrbStatusChanged:
    """The orb published a new ``ai_status``; the ledger times the status history."""

    session_id: str
    room_id: str
    user_id: str
    status: str
    at: float


@attrs.frozen
class OrbModeChanged:
    """A coach set whom the orb talks to (``ai_mode``); the ledger keeps each change."""

    session_id: str
    room_id: str
    mode: str
    by: str
    at: float


@attrs.frozen
class TranscriptRecorded:
    """The orb published one finished utterance (``ai_transcript``): ``line``, its times the
    orb's Unix seconds; ``at`` the core's clock like every record."""

    session_id: str
    room_id: str
    line: TranscriptLine
    at: float


@attrs.frozen
class SummaryRecorded:
    """The orb wrote the session's summary (``ai_summary``); a later one replaces it."""

    session_id: str
    room_id: str
    user_id: str
    text: str
    method: str
    at: float


@attrs.frozen
class SessionEnded:
    """The room emptied (its orb included): the session is over."""

    session_id: str
    room_id: str
    at: float
    #: How it ended when the core knows better than the last departure (``ended-by-coach``);
    #: None: the last departure says it (the ledger records that one's ending).
    how: str | None = None


SessionRecord = (
    SessionStarted | ParticipantJoined | ParticipantLeft | OrbStatusChanged | SessionEnded
    | TranscriptRecorded | SummaryRecorded | OrbModeChanged
)
Command = Send | Close | SpawnOrb | StopOrb | SessionRecord
