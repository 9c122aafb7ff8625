"""What the orb understood: ``ai_transcript`` and ``ai_summary`` (docs/protocol.md, §3).

Both come only from the ``ai`` participant (``MESSAGE_RULES``). A transcript is relayed to
every *human* of the room — never to another ``ai`` — and becomes a
:class:`~signaling_core.TranscriptRecorded` for the ledger; a summary goes to the room's
*coaches* only (it is the coach's record of the call; a client sees it when the coach shares
it) and becomes a :class:`~signaling_core.SummaryRecorded`. Pure functions of the message
and the sender: the core calls them from its handler table and appends what they return.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from ._commands import Command, Send, SummaryRecorded, TranscriptRecorded
from ._errors import ErrorCode, ProtocolError
from ._model import Participant
from ._rules import COACH

#: Longest ``text`` of one ``ai_transcript`` (characters); a longer utterance is the orb's
#: to split.
MAX_TRANSCRIPT_CHARS = 4000
#: Longest ``text`` of an ``ai_summary``.
MAX_SUMMARY_CHARS = 8000
MAX_ID_CHARS = 128
SUMMARY_METHODS = frozenset({"llm", "extractive"})


def _invalid(mtype: str, message: str) -> ProtocolError:
    return ProtocolError(ErrorCode.INVALID_MESSAGE, message, mtype)


def _text(msg: dict[str, Any], name: str, mtype: str, lo: int, hi: int) -> str:
    value = msg.get(name)
    if type(value) is not str or not lo <= len(value) <= hi:
        raise _invalid(mtype, f"{name} must be a string of {lo}-{hi} characters")
    return value


def _time(msg: dict[str, Any], name: str, mtype: str) -> float:
    value = msg.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool) \
            or not math.isfinite(value) or value < 0:
        raise _invalid(mtype, f"{name} must be a non-negative number (Unix seconds)")
    return float(value)


def on_ai_transcript(sender: Participant, msg: dict[str, Any], now: float,
                     out: list[Command]) -> None:
    """Validate, relay to the room's humans, and record one finished utterance."""
    mtype = "ai_transcript"
    utterance_id = _text(msg, "utteranceId", mtype, 1, MAX_ID_CHARS)
    speaker_id = _text(msg, "speakerId", mtype, 1, MAX_ID_CHARS)
    speaker_role = _text(msg, "speakerRole", mtype, 1, 32)
    text = _text(msg, "text", mtype, 1, MAX_TRANSCRIPT_CHARS)
    started_at = _time(msg, "startedAt", mtype)
    ended_at = _time(msg, "endedAt", mtype)
    if ended_at < started_at:
        raise _invalid(mtype, "endedAt must not be before startedAt")
    relayed = {
        "type": mtype, "utteranceId": utterance_id, "speakerId": speaker_id,
        "speakerRole": speaker_role, "text": text, "startedAt": started_at,
        "endedAt": ended_at, "fromId": sender.user_id,
    }
    data: bytes | None = None
    for other in sender.room.participants.values():
        if other is sender or other.is_ai or other.away:
            continue
        if data is None:
            data = orjson.dumps(relayed)
        out.append(Send(other.conn.conn_id, data, mtype))
    room = sender.room
    out.append(TranscriptRecorded(room.session_id, room.room_id, utterance_id, speaker_id,
                                  speaker_role, text, started_at, ended_at, now))


def on_ai_summary(sender: Participant, msg: dict[str, Any], now: float,
                  out: list[Command]) -> None:
    """Validate, relay to the room's present coaches (as sent, with ``fromId``), and record
    the session summary."""
    mtype = "ai_summary"
    text = _text(msg, "text", mtype, 1, MAX_SUMMARY_CHARS)
    method = msg.get("method", "extractive")
    if method not in SUMMARY_METHODS:
        raise _invalid(mtype, "method must be one of " + ", ".join(sorted(SUMMARY_METHODS)))
    room = sender.room
    data: bytes | None = None
    for other in room.participants.values():
        if other.is_ai or other.away or other.user_role != COACH:
            continue
        if data is None:
            msg["fromId"] = sender.user_id
            try:
                data = orjson.dumps(msg)
            except orjson.JSONEncodeError:
                raise _invalid(mtype, "message is nested too deeply") from None
        out.append(Send(other.conn.conn_id, data, mtype))
    out.append(SummaryRecorded(room.session_id, room.room_id, sender.user_id, text, method,
                               now))
