"""The protocol's rules, in one place: offer direction and who may send what.

Everything here is pure: no state of the core is read or written. The permission table is
data, so the state sweep in the tests can enumerate it and the docs can print it. The
messages' fields, limits and their checks are the wire vocabulary's (:mod:`.wire`); the names
the core's modules import from here are re-exported from there.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping

import attrs

from ._errors import ErrorCode, ProtocolError
from ._events import Departure
from .wire import (
    AI,
    AI_STATUSES,
    CLIENT,
    COACH,
    DEFAULT_ORB_MODE,
    HUMAN,
    MAX_ID_CHARS,
    MAX_NAME_CHARS,
    MAX_ROLE_CHARS,
    ORB_MODES,
    ORB_SHUTDOWN_COMPLETE,
    ORB_SHUTDOWN_ERROR,
    ORB_SHUTDOWN_TIMEOUT,
    ORB_USER_PREFIX,
    SIGNAL_PAYLOAD_FIELD,
    JoinRequest,
    MessageType,
    parse_join,
    require_action,
    require_mode,
)

__all__ = [
    "AI", "AI_STATUSES", "CLIENT", "COACH", "DEFAULT_ORB_MODE", "HUMAN", "MAX_ID_CHARS",
    "MAX_NAME_CHARS", "MAX_ROLE_CHARS", "MESSAGE_RULES", "ORB_MODES", "ORB_SHUTDOWN_COMPLETE",
    "ORB_SHUTDOWN_ENDINGS", "ORB_SHUTDOWN_ERROR", "ORB_SHUTDOWN_REASONS", "ORB_SHUTDOWN_TIMEOUT",
    "ORB_USER_PREFIX", "RULE_ROLES", "SIGNAL_PAYLOAD_FIELD", "JoinRequest", "MessageRule",
    "Phase", "check_phase_and_sender", "is_valid_room_id", "orb_user_id", "parse_join",
    "permission_table_markdown", "require_action", "require_mode", "should_create_offer",
]

#: Each reason of ``ai-orb-shutdown`` and the departure it is recorded as.
ORB_SHUTDOWN_ENDINGS: Mapping[str, Departure] = {
    ORB_SHUTDOWN_COMPLETE: Departure.ORB_SESSION_COMPLETE,
    ORB_SHUTDOWN_TIMEOUT: Departure.ORB_TIMEOUT,
    ORB_SHUTDOWN_ERROR: Departure.ORB_ERROR,
}
ORB_SHUTDOWN_REASONS = frozenset(ORB_SHUTDOWN_ENDINGS)

_ROOM_ID = re.compile(r"[A-Za-z0-9_.~-]{1,128}")


def is_valid_room_id(room_id: str) -> bool:
    """``roomId`` is 1-128 characters of ``[A-Za-z0-9_.~-]`` (docs/protocol.md, "Transport")."""
    return _ROOM_ID.fullmatch(room_id) is not None


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
    MessageType.PING: MessageRule(_BOTH),
    MessageType.JOIN: MessageRule(frozenset({Phase.AWAITING_JOIN})),
    MessageType.LEAVE: MessageRule(_JOINED),
    # The ai never offers (§5), so an ai's offer is refused by construction.
    MessageType.OFFER: MessageRule(_JOINED, _HUMANS),
    MessageType.ANSWER: MessageRule(_JOINED),
    MessageType.ICE_CANDIDATE: MessageRule(_JOINED),
    MessageType.AI_STATUS: MessageRule(_JOINED, _AIS),
    MessageType.AI_CONTROL: MessageRule(_JOINED, _HUMANS),
    MessageType.CLIENT_SIGNAL: MessageRule(_JOINED),
    MessageType.ORB_HEARTBEAT: MessageRule(_JOINED, _AIS),
    MessageType.ORB_SHUTDOWN: MessageRule(_JOINED, _AIS),
    # What the orb understood: relayed to the humans and recorded / recorded only.
    MessageType.AI_TRANSCRIPT: MessageRule(_JOINED, _AIS),
    MessageType.AI_SUMMARY: MessageRule(_JOINED, _AIS),
    # A human coach ends the call for everyone (the others get session-ended and 4010).
    MessageType.END_SESSION: MessageRule(_JOINED, _HUMANS, _COACHES),
    # A human coach chooses whom the orb talks to (``ai-mode`` to everyone, the orb included).
    MessageType.AI_MODE: MessageRule(_JOINED, _HUMANS, _COACHES),
    # Any human opens an addressed turn of their own ("Ask the orb"), rate-limited per seat.
    MessageType.AI_ASK: MessageRule(_JOINED, _HUMANS),
}

#: Every ``userRole`` some rule names; any other role is judged as "a role no rule names".
RULE_ROLES: frozenset[str] = frozenset(
    role for rule in MESSAGE_RULES.values() for role in (rule.roles or ()))

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


def permitted(phase: Phase, participant_type: str | None,
              user_role: str | None = None) -> frozenset[str]:
    """The message types ``check_phase_and_sender`` lets through for this sender, as plain
    ``str`` (every message looks its received ``type`` up in these sets: exact-``str`` keys take
    CPython's fast path, StrEnum keys the generic one)."""
    allowed = set()
    for mtype in MESSAGE_RULES:
        try:
            check_phase_and_sender(mtype, phase, participant_type, user_role)
        except ProtocolError:
            continue
        allowed.add(MessageType(mtype).value)
    return frozenset(allowed)


#: What a connection that has not joined may send as is; any other type goes through
#: ``check_phase_and_sender`` for its exact error.
UNJOINED_OK: frozenset[str] = permitted(Phase.AWAITING_JOIN, None)

#: What a participant may send as is, keyed by (participantType, role); a role no rule names is
#: keyed as "" so that clients choosing odd roles cannot grow this table.
JOINED_OK: dict[tuple[str, str], frozenset[str]] = {
    (ptype, role): permitted(Phase.JOINED, ptype, role or None)
    for ptype in (HUMAN, AI) for role in (*RULE_ROLES, "")}


def joined_ok(participant_type: str, user_role: str) -> frozenset[str]:
    """The types a participant of this type and role may send as is."""
    return JOINED_OK[(participant_type, user_role if user_role in RULE_ROLES else "")]


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
