"""The protocol's rules, in one place: offer direction, who may send what, and field checks.

Everything here is pure: no state of the core is read or written. The permission table is
data, so the state sweep in the tests can enumerate it and the docs can print it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any

import attrs

from ._errors import ErrorCode, ProtocolError
from ._events import Departure

HUMAN = "human"
AI = "ai"
COACH = "coach"
CLIENT = "client"

MAX_ID_CHARS = 128
MAX_NAME_CHARS = 128
MAX_ROLE_CHARS = 32

#: Whom the orb talks to (docs/orb.md, "Whom the orb talks to"): ``listen`` never speaks,
#: ``addressed`` (the default) answers whoever addresses it, ``active`` also answers the
#: client's turns when the humans leave a silence. Set by a coach with ``ai_mode``.
ORB_MODES = ("listen", "addressed", "active")
DEFAULT_ORB_MODE = "addressed"

AI_STATUSES = frozenset({"ready", "listening", "thinking", "speaking", "paused", "processing"})
#: The reasons of ``ai-orb-shutdown``: no human left (or asked to stop), lifetime over, failure.
ORB_SHUTDOWN_COMPLETE = "session_complete"
ORB_SHUTDOWN_TIMEOUT = "timeout"
ORB_SHUTDOWN_ERROR = "error"
#: Each reason of ``ai-orb-shutdown`` and the departure it is recorded as.
ORB_SHUTDOWN_ENDINGS: Mapping[str, Departure] = {
    ORB_SHUTDOWN_COMPLETE: Departure.ORB_SESSION_COMPLETE,
    ORB_SHUTDOWN_TIMEOUT: Departure.ORB_TIMEOUT,
    ORB_SHUTDOWN_ERROR: Departure.ORB_ERROR,
}
ORB_SHUTDOWN_REASONS = frozenset(ORB_SHUTDOWN_ENDINGS)

_ROOM_ID = re.compile(r"[A-Za-z0-9_.~-]{1,128}")
_ROLE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def is_valid_room_id(room_id: str) -> bool:
    """``roomId`` is 1-128 characters of ``[A-Za-z0-9_.~-]`` (docs/protocol.md, "Transport")."""
    return _ROOM_ID.fullmatch(room_id) is not None


ORB_USER_PREFIX = "ai-orb-"


def orb_user_id(session_id: str) -> str:
    """The userId an orb joins with."""
    return f"{ORB_USER_PREFIX}{session_id}"


def should_create_offer(
    offerer_id: str, offerer_role: str, offerer_is_ai: bool,
    other_id: str, other_role: str, other_is_ai: bool,
) -> bool:
    """Whether the first participant creates the WebRTC offer to the second (docs/protocol.md).

    The single source of truth for both sides of a pair: calling it with the arguments swapped
    gives the opposite answer for every pair that connects, and ``False`` both ways for two
    ``ai`` participants, who do not connect at all.
    """
    if offerer_is_ai:
        return False
    if other_is_ai:
        return True
    if offerer_role == COACH and other_role == CLIENT:
        return True
    if offerer_role == CLIENT and other_role == COACH:
        return False
    return offerer_id < other_id


class Phase(enum.StrEnum):
    """Where a connection stands in the protocol."""

    AWAITING_JOIN = "awaiting-join"
    JOINED = "joined"


@attrs.frozen
class MessageRule:
    """Who may send one message type, and in which phase.

    A sender is judged by its ``participantType`` (``senders``) and by its ``userRole``
    (``roles``); when both are set it must pass both. Roles are what a coaching call is about
    (only a coach ends the session or, later, switches the orb's mode), so they are written
    here as data rather than as a check buried in one handler.
    """

    phases: frozenset[Phase]
    #: participantType values allowed to send it once joined; ``None`` means anyone.
    senders: frozenset[str] | None = None
    #: userRole values allowed to send it once joined; ``None`` means any role.
    roles: frozenset[str] | None = None


_BOTH = frozenset({Phase.AWAITING_JOIN, Phase.JOINED})
_JOINED = frozenset({Phase.JOINED})
_HUMANS = frozenset({HUMAN})
_AIS = frozenset({AI})
_COACHES = frozenset({COACH})

#: Every client→server message type and who may send it (docs/protocol.md). A type missing here
#: is ``unknown-type``; a phase missing is ``not-joined``/``already-joined``; a sender missing
#: is ``forbidden``.
MESSAGE_RULES: Mapping[str, MessageRule] = {
    "ping": MessageRule(_BOTH),
    "join": MessageRule(frozenset({Phase.AWAITING_JOIN})),
    "leave": MessageRule(_JOINED),
    # The ai never offers (§5), so an ai's offer is refused by construction.
    "offer": MessageRule(_JOINED, _HUMANS),
    "answer": MessageRule(_JOINED),
    "ice-candidate": MessageRule(_JOINED),
    "ai_status": MessageRule(_JOINED, _AIS),
    "ai_control": MessageRule(_JOINED, _HUMANS),
    "client_signal": MessageRule(_JOINED),
    "orb_heartbeat": MessageRule(_JOINED, _AIS),
    "ai-orb-shutdown": MessageRule(_JOINED, _AIS),
    # What the orb understood: relayed to the humans and recorded / recorded only.
    "ai_transcript": MessageRule(_JOINED, _AIS),
    "ai_summary": MessageRule(_JOINED, _AIS),
    # A human coach ends the call for everyone (the others get session-ended and 4010).
    "end_session": MessageRule(_JOINED, _HUMANS, _COACHES),
    # A human coach chooses whom the orb talks to (``ai-mode`` to everyone, the orb included).
    "ai_mode": MessageRule(_JOINED, _HUMANS, _COACHES),
    # Any human opens an addressed turn of their own ("Ask the orb"), rate-limited per seat.
    "ai_ask": MessageRule(_JOINED, _HUMANS),
}

#: Every ``userRole`` some rule names; any other role is judged as "a role no rule names".
RULE_ROLES: frozenset[str] = frozenset(
    role for rule in MESSAGE_RULES.values() for role in (rule.roles or ()))

#: The field that carries the payload of each relayed WebRTC message.
SIGNAL_PAYLOAD_FIELD: Mapping[str, str] = {
    "offer": "offer",
    "answer": "answer",
    "ice-candidate": "candidate",
}


def check_phase_and_sender(mtype: str, phase: Phase, participant_type: str | None,
                           user_role: str | None = None) -> None:
    """Raise the protocol's error when ``mtype`` may not be sent now by this sender."""
    rule = MESSAGE_RULES.get(mtype)
    if rule is None:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {mtype!r}", mtype)
    if phase not in rule.phases:
        if phase is Phase.AWAITING_JOIN:
            raise ProtocolError(
                ErrorCode.NOT_JOINED, f"join the room before sending {mtype}", mtype
            )
        raise ProtocolError(ErrorCode.ALREADY_JOINED, "this connection has already joined", mtype)
    if rule.senders is not None and participant_type not in rule.senders:
        raise ProtocolError(
            ErrorCode.FORBIDDEN, f"a {participant_type} participant may not send {mtype}", mtype
        )
    if rule.roles is not None and user_role not in rule.roles:
        raise ProtocolError(
            ErrorCode.FORBIDDEN,
            f"only a {' or '.join(sorted(rule.roles))} may send {mtype}", mtype)


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


def _invalid(message: str) -> ProtocolError:
    return ProtocolError(ErrorCode.INVALID_MESSAGE, message, "join")


def _text_field(msg: Mapping[str, Any], name: str, lo: int, hi: int) -> str:
    value = msg.get(name)
    if type(value) is not str:
        raise _invalid(f"{name} must be a string")
    if not lo <= len(value) <= hi:
        raise _invalid(f"{name} must be {lo}-{hi} characters")
    return value


def parse_join(msg: Mapping[str, Any], path_room_id: str) -> JoinRequest:
    """Validate every field of a ``join`` (docs/protocol.md, "join", §3)."""
    if "roomId" in msg and msg["roomId"] != path_room_id:
        raise ProtocolError(
            ErrorCode.ROOM_MISMATCH, "join.roomId differs from the room in the URL", "join"
        )
    user_id = _text_field(msg, "userId", 1, MAX_ID_CHARS)
    if _CONTROL_CHARS.search(user_id):
        raise _invalid("userId must not contain control characters")
    user_name = _text_field(msg, "userName", 0, MAX_NAME_CHARS) if "userName" in msg else ""
    user_role = _text_field(msg, "userRole", 1, MAX_ROLE_CHARS)
    if _ROLE.fullmatch(user_role) is None:
        raise _invalid("userRole must be a short word (letters, digits, '-' or '_')")
    ptype = msg.get("participantType")
    if ptype is None:
        ptype = AI if user_role == AI else HUMAN
    elif ptype not in (HUMAN, AI):
        raise _invalid("participantType must be 'human' or 'ai'")
    if user_role == AI and ptype != AI:
        raise _invalid("userRole 'ai' requires participantType 'ai'")
    token = msg.get("token")
    if token is not None and type(token) is not str:
        raise _invalid("token must be a string")
    resume_token = msg.get("resumeToken")
    if resume_token is not None and (type(resume_token) is not str
                                     or not 1 <= len(resume_token) <= MAX_ID_CHARS):
        raise _invalid(f"resumeToken must be a string of 1-{MAX_ID_CHARS} characters")
    return JoinRequest(user_id, user_name, user_role, ptype, token, resume_token)


def require_action(msg: Mapping[str, Any], mtype: str) -> str:
    """``ai_control`` and ``client_signal`` carry a string ``action``."""
    action = msg.get("action")
    if type(action) is not str or not 1 <= len(action) <= 64:
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE, "action must be a string of 1-64 characters", mtype
        )
    return action


def require_mode(msg: Mapping[str, Any]) -> str:
    """``ai_mode`` carries one of :data:`ORB_MODES` as ``mode``."""
    mode = msg.get("mode")
    if type(mode) is not str or mode not in ORB_MODES:
        raise ProtocolError(ErrorCode.INVALID_MESSAGE,
                            "mode must be one of " + ", ".join(ORB_MODES), "ai_mode")
    return mode


def permission_table_markdown() -> str:
    """The permission table as markdown; docs/protocol.md embeds it and a test keeps it equal."""
    lines = [
        "| type | before join | after join | who may send |",
        "|---|---|---|---|",
    ]
    for mtype, rule in MESSAGE_RULES.items():
        before = "yes" if Phase.AWAITING_JOIN in rule.phases else "`not-joined`"
        after = "yes" if Phase.JOINED in rule.phases else "`already-joined`"
        if rule.roles is not None:
            who = " or ".join(sorted(rule.roles)) + " only"
        elif rule.senders is not None:
            who = " or ".join(sorted(rule.senders)) + " only"
        else:
            who = "anyone"
        lines.append(f"| `{mtype}` | {before} | {after} | {who} |")
    return "\n".join(lines)
