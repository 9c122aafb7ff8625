"""Parsing received messages: validation with the protocol's error codes (docs/protocol.md)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ._vocabulary import (
    AI,
    AI_STATUSES,
    DEFAULT_SUMMARY_METHOD,
    HUMAN,
    MAX_ACTION_CHARS,
    MAX_ID_CHARS,
    MAX_NAME_CHARS,
    MAX_ROLE_CHARS,
    MAX_SUMMARY_CHARS,
    MAX_TRANSCRIPT_CHARS,
    ORB_MODES,
    SUMMARY_METHODS,
    ErrorCode,
    Field,
    MessageType,
    ProtocolError,
)

_ROLE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


@attrs.frozen
class JoinRequest:
    """The validated fields of a ``join``."""

    user_id: str
    user_name: str
    user_role: str
    participant_type: str
    token: str | None
    #: The ``resumeToken`` of an earlier ``peer-discovery``: this join takes that seat back.
    resume_token: str | None = None


def _invalid(mtype: str, message: str) -> ProtocolError:
    return ProtocolError(ErrorCode.INVALID_MESSAGE, message, mtype)


def _text(msg: Mapping[str, Any], name: str, mtype: str, lo: int, hi: int) -> str:
    value = msg.get(name)
    if type(value) is not str or not lo <= len(value) <= hi:
        raise _invalid(mtype, f"{name} must be a string of {lo}-{hi} characters")
    return value


def _join_text(msg: Mapping[str, Any], name: str, lo: int, hi: int) -> str:
    value = msg.get(name)
    if type(value) is not str:
        raise _invalid(MessageType.JOIN, f"{name} must be a string")
    if not lo <= len(value) <= hi:
        raise _invalid(MessageType.JOIN, f"{name} must be {lo}-{hi} characters")
    return value


def parse_join(msg: Mapping[str, Any], path_room_id: str) -> JoinRequest:
    """Validate every field of a ``join`` (docs/protocol.md, "join", §3)."""
    join = MessageType.JOIN
    if Field.ROOM_ID in msg and msg[Field.ROOM_ID] != path_room_id:
        raise ProtocolError(
            ErrorCode.ROOM_MISMATCH, "join.roomId differs from the room in the URL", join
        )
    user_id = _join_text(msg, Field.USER_ID, 1, MAX_ID_CHARS)
    if _CONTROL_CHARS.search(user_id):
        raise _invalid(join, "userId must not contain control characters")
    user_name = (_join_text(msg, Field.USER_NAME, 0, MAX_NAME_CHARS)
                 if Field.USER_NAME in msg else "")
    user_role = _join_text(msg, Field.USER_ROLE, 1, MAX_ROLE_CHARS)
    if _ROLE.fullmatch(user_role) is None:
        raise _invalid(join, "userRole must be a short word (letters, digits, '-' or '_')")
    ptype = msg.get(Field.PARTICIPANT_TYPE)
    if ptype is None:
        ptype = AI if user_role == AI else HUMAN
    elif ptype not in (HUMAN, AI):
        raise _invalid(join, "participantType must be 'human' or 'ai'")
    if user_role == AI and ptype != AI:
        raise _invalid(join, "userRole 'ai' requires participantType 'ai'")
    token = msg.get(Field.TOKEN)
    if token is not None and type(token) is not str:
        raise _invalid(join, "token must be a string")
    resume_token = msg.get(Field.RESUME_TOKEN)
    if resume_token is not None and (type(resume_token) is not str
                                     or not 1 <= len(resume_token) <= MAX_ID_CHARS):
        raise _invalid(join, f"resumeToken must be a string of 1-{MAX_ID_CHARS} characters")
    return JoinRequest(user_id, user_name, user_role, ptype, token, resume_token)


def require_action(msg: Mapping[str, Any], mtype: str) -> str:
    """``ai_control`` and ``client_signal`` carry a string ``action``."""
    action = msg.get(Field.ACTION)
    if type(action) is not str or not 1 <= len(action) <= MAX_ACTION_CHARS:
        raise _invalid(mtype, f"action must be a string of 1-{MAX_ACTION_CHARS} characters")
    return action


def require_mode(msg: Mapping[str, Any]) -> str:
    """``ai_mode`` carries one of :data:`ORB_MODES` as ``mode``."""
    mode = msg.get(Field.MODE)
    if type(mode) is not str or mode not in ORB_MODES:
        raise _invalid(MessageType.AI_MODE, "mode must be one of " + ", ".join(ORB_MODES))
    return mode


def require_status(msg: Mapping[str, Any]) -> str:
    """``ai_status`` carries one of :data:`AI_STATUSES` as ``status``."""
    status = msg.get(Field.STATUS)
    if type(status) is not str or status not in AI_STATUSES:
        raise _invalid(MessageType.AI_STATUS,
                       "status must be one of " + ", ".join(sorted(AI_STATUSES)))
    return status


def require_shutdown_reason(msg: Mapping[str, Any], reasons: Iterable[str]) -> str:
    """``ai-orb-shutdown`` carries one of ``reasons`` as ``reason``."""
    allowed = frozenset(reasons)
    reason = msg.get(Field.REASON)
    if type(reason) is not str or reason not in allowed:
        raise _invalid(MessageType.ORB_SHUTDOWN,
                       "reason must be one of " + ", ".join(sorted(allowed)))
    return reason


@attrs.frozen
class TranscriptLine:
    """One finished utterance in words (``ai_transcript``; the ledger's transcript row).

    Times are the orb's Unix seconds. The one definition of the record's fields: the orb
    builds its message, the core checks and relays it, the ledger stores and reads it.
    """

    utterance_id: str
    speaker_id: str
    speaker_role: str
    text: str
    started_at: float
    ended_at: float

    def fields(self) -> dict[str, Any]:
        """The record's fields under their wire names, in the wire's order."""
        return {Field.UTTERANCE_ID: self.utterance_id, Field.SPEAKER_ID: self.speaker_id,
                Field.SPEAKER_ROLE: self.speaker_role, Field.TEXT: self.text,
                Field.STARTED_AT: self.started_at, Field.ENDED_AT: self.ended_at}


def _time(msg: Mapping[str, Any], name: str, mtype: str) -> float:
    value = msg.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool) \
            or not math.isfinite(value) or value < 0:
        raise _invalid(mtype, f"{name} must be a non-negative number (Unix seconds)")
    return float(value)


def parse_transcript(msg: Mapping[str, Any]) -> TranscriptLine:
    """Validate an ``ai_transcript`` (docs/protocol.md, "What the orb understood")."""
    mtype = MessageType.AI_TRANSCRIPT
    line = TranscriptLine(
        _text(msg, Field.UTTERANCE_ID, mtype, 1, MAX_ID_CHARS),
        _text(msg, Field.SPEAKER_ID, mtype, 1, MAX_ID_CHARS),
        _text(msg, Field.SPEAKER_ROLE, mtype, 1, MAX_ROLE_CHARS),
        _text(msg, Field.TEXT, mtype, 1, MAX_TRANSCRIPT_CHARS),
        _time(msg, Field.STARTED_AT, mtype),
        _time(msg, Field.ENDED_AT, mtype),
    )
    if line.ended_at < line.started_at:
        raise _invalid(mtype, "endedAt must not be before startedAt")
    return line


def parse_summary(msg: Mapping[str, Any]) -> tuple[str, str]:
    """Validate an ``ai_summary``: its ``text`` and ``method``."""
    mtype = MessageType.AI_SUMMARY
    text = _text(msg, Field.TEXT, mtype, 1, MAX_SUMMARY_CHARS)
    method = msg.get(Field.METHOD, DEFAULT_SUMMARY_METHOD)
    if method not in SUMMARY_METHODS:
        raise _invalid(mtype, "method must be one of " + ", ".join(sorted(SUMMARY_METHODS)))
    return text, method
