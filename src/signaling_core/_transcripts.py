"""What the orb understood: ``ai_transcript`` and ``ai_summary`` (docs/protocol.md, §3).

Both come only from the ``ai`` participant (``MESSAGE_RULES``). A transcript is relayed to
every *human* of the room — never to another ``ai`` — and becomes a
:class:`~signaling_core.TranscriptRecorded` for the ledger; a summary goes to the room's
*coaches* only (it is the coach's record of the call; a client sees it when the coach shares
it) and becomes a :class:`~signaling_core.SummaryRecorded`. Pure functions of the message
and the sender: the core calls them from its handler table and appends what they return.
"""

from __future__ import annotations

from typing import Any

import orjson

from ._commands import Command, Send, SummaryRecorded, TranscriptRecorded
from ._model import Connection
from .wire import (
    COACH,
    ErrorCode,
    Field,
    MessageType,
    ProtocolError,
    ai_transcript,
    parse_summary,
    parse_transcript,
)


def on_ai_transcript(conn: Connection, msg: dict[str, Any], now: float,
                     out: list[Command]) -> None:
    """Validate, relay to the room's humans, and record one finished utterance."""
    sender = conn.participant
    assert sender is not None
    mtype = MessageType.AI_TRANSCRIPT
    line = parse_transcript(msg)
    data: bytes | None = None
    for other in sender.room.participants.values():
        if other is sender or other.is_ai or other.away:
            continue
        if data is None:
            data = orjson.dumps(ai_transcript(line, sender.user_id))
        out.append(Send(other.conn.conn_id, data, mtype))
    room = sender.room
    out.append(TranscriptRecorded(room.session_id, room.room_id, line, now))


def on_ai_summary(conn: Connection, msg: dict[str, Any], now: float,
                  out: list[Command]) -> None:
    """Validate, relay to the room's present coaches (as sent, with ``fromId``), and record
    the session summary."""
    sender = conn.participant
    assert sender is not None
    mtype = MessageType.AI_SUMMARY
    text, method = parse_summary(msg)
    room = sender.room
    data: bytes | None = None
    for other in room.participants.values():
        if other.is_ai or other.away or other.user_role != COACH:
            continue
        if data is None:
            msg[Field.FROM_ID] = sender.user_id
            try:
                data = orjson.dumps(msg)
            except orjson.JSONEncodeError:
                raise ProtocolError(ErrorCode.INVALID_MESSAGE, "message is nested too deeply",
                                    mtype) from None
        out.append(Send(other.conn.conn_id, data, mtype))
    out.append(SummaryRecorded(room.session_id, room.room_id, sender.user_id, text, method,
                               now))
