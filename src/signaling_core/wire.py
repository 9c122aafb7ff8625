"""The protocol's wire vocabulary, defined once: message types, field names, limits, error and
close codes, parsing (with the protocol's error codes) and encoding (docs/protocol.md).

Everything that reads or writes a message of the protocol — the core, the orb, the transcript
and summary records, the ledger's readers, the benches — takes its names from here, and
``static/protocol.js`` is generated from this module (``scripts/gen_protocol_js.py``; a test
fails when the generated file is stale). The conformance suite takes names and constants from
here but keeps its own checks, so a bug shared by this parser and the server cannot pass it.

Field names are plain ``str`` constants of :class:`Field` (not enum members): messages are
dicts given to orjson, which takes only ``str`` keys. The bytes on the wire are those the
protocol always had; key order is part of that, so the encoders keep it.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs
import orjson


class MessageType(enum.StrEnum):
    """The ``type`` of every message of the protocol, both directions."""

    # client -> server
    JOIN = "join"
    LEAVE = "leave"
    PING = "ping"
    AI_CONTROL = "ai_control"
    ORB_HEARTBEAT = "orb_heartbeat"
    ORB_SHUTDOWN = "ai-orb-shutdown"
    AI_SUMMARY = "ai_summary"
    END_SESSION = "end_session"
    AI_MODE = "ai_mode"
    AI_ASK = "ai_ask"
    # relayed (client -> server -> client)
    OFFER = "offer"
    ANSWER = "answer"
    ICE_CANDIDATE = "ice-candidate"
    AI_STATUS = "ai_status"
    AI_TRANSCRIPT = "ai_transcript"
    CLIENT_SIGNAL = "client_signal"
    # server -> client
    PEER_DISCOVERY = "peer-discovery"
    USER_JOINED = "user-joined"
    USER_LEFT = "user-left"
    USER_AWAY = "user-away"
    USER_BACK = "user-back"
    PONG = "pong"
    ERROR = "error"
    SESSION_ENDED = "session-ended"
    AI_MODE_CHANGED = "ai-mode"


class Field:
    """Every field name a message of the protocol carries (plain strings: see the module)."""

    TYPE: Final = "type"
    ROOM_ID: Final = "roomId"
    USER_ID: Final = "userId"
    USER_NAME: Final = "userName"
    USER_ROLE: Final = "userRole"
    PARTICIPANT_TYPE: Final = "participantType"
    TOKEN: Final = "token"
    RESUME_TOKEN: Final = "resumeToken"
    RESUMED: Final = "resumed"
    LEFT: Final = "left"
    PEERS: Final = "peers"
    ORB_MODE: Final = "orbMode"
    SHOULD_CREATE_OFFER: Final = "shouldCreateOffer"
    AWAY: Final = "away"
    STATUS: Final = "status"
    TO_ID: Final = "toId"
    FROM_ID: Final = "fromId"
    OFFER: Final = "offer"
    ANSWER: Final = "answer"
    CANDIDATE: Final = "candidate"
    LINK_ID: Final = "linkId"
    ACTION: Final = "action"
    MODE: Final = "mode"
    BY: Final = "by"
    REASON: Final = "reason"
    CODE: Final = "code"
    MESSAGE: Final = "message"
    REF: Final = "ref"
    METRICS: Final = "metrics"
    SESSION_ID: Final = "sessionId"
    UTTERANCE_ID: Final = "utteranceId"
    SPEAKER_ID: Final = "speakerId"
    SPEAKER_ROLE: Final = "speakerRole"
    TEXT: Final = "text"
    STARTED_AT: Final = "startedAt"
    ENDED_AT: Final = "endedAt"
    METHOD: Final = "method"
    KEY_TOPICS: Final = "keyTopics"
    GOALS: Final = "goals"
    #: ``ai_status`` [ext]: whether the orb's captions will come, and the voice it speaks with.
    TRANSCRIBING: Final = "transcribing"
    VOICE: Final = "voice"


class ErrorCode(enum.StrEnum):
    """The ``code`` values of the ``error`` message (docs/protocol.md, "Server -> client")."""

    INVALID_JSON = "invalid-json"
    INVALID_MESSAGE = "invalid-message"
    UNKNOWN_TYPE = "unknown-type"
    NOT_JOINED = "not-joined"
    ALREADY_JOINED = "already-joined"
    ROOM_MISMATCH = "room-mismatch"
    ROOM_FULL = "room-full"
    DUPLICATE_USER = "duplicate-user"
    UNKNOWN_TARGET = "unknown-target"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate-limited"
    UNAUTHORIZED = "unauthorized"
    ORB_UNAVAILABLE = "orb-unavailable"
    #: A ``join`` for a seat that is held (away, or present with a token that does not match).
    RESUME_REFUSED = "resume-refused"
    #: A message addressed to a participant who is away: it is dropped, not held.
    PEER_AWAY = "peer-away"
    #: ``ai_ask`` while the orb only listens (mode ``listen``): it would not answer.
    ORB_LISTENING = "orb-listening"


class CloseCode(enum.IntEnum):
    """WebSocket close codes the protocol uses (docs/protocol.md, "Close codes")."""

    NORMAL = 1000
    GOING_AWAY = 1001
    #: RFC 6455's own violations (unmasked frame, bad opcode, ...), found by the frame layer.
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    #: Never sent: what a received close frame without a code stands for (RFC 6455 §7.1.5).
    NO_STATUS_RECEIVED = 1005
    INVALID_PAYLOAD = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    #: The server restarts (a deploy, SIGTERM): reconnect and resume; the call goes on.
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    REPLACED = 4001
    UNAUTHORIZED = 4003
    DEADLINE = 4008
    #: A coach ended the session (``end_session``): the call is over, do not reconnect.
    SESSION_ENDED = 4010


#: Codes RFC 6455 §7.4 reserves for reports inside an endpoint; never sent in a close frame.
_RESERVED_CLOSE_CODES = frozenset({1004, CloseCode.NO_STATUS_RECEIVED, 1006})


def is_valid_close_code(code: int) -> bool:
    """Whether a close frame may carry ``code`` (RFC 6455 §7.4: 1000-1011 bar the reserved
    ones, and 3000-4999 for libraries and applications, such as our 4001-4008)."""
    return (1000 <= code <= 1011 or 3000 <= code <= 4999) and code not in _RESERVED_CLOSE_CODES


class ProtocolError(Exception):
    """A message broke a rule; carries the ``error`` reply the sender gets (its ``code``, a
    human ``message`` and the ``ref``, the type of the refused message)."""

    def __init__(self, code: ErrorCode, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


# ---------------------------------------------------------------------- names and limits

#: ``participantType`` values.
HUMAN: Final = "human"
AI: Final = "ai"
#: The ``userRole`` values the protocol gives a meaning to (any short word is allowed).
COACH: Final = "coach"
CLIENT: Final = "client"

#: Longest ``userId`` (and ``resumeToken``, ``utteranceId``, ``speakerId``), in characters.
MAX_ID_CHARS: Final = 128
MAX_NAME_CHARS: Final = 128
MAX_ROLE_CHARS: Final = 32
#: Longest ``action`` of ``ai_control`` / ``client_signal``.
MAX_ACTION_CHARS: Final = 64
#: Longest ``text`` of one ``ai_transcript`` (characters); a longer utterance is the orb's
#: to split.
MAX_TRANSCRIPT_CHARS: Final = 4000
#: Longest ``text`` of an ``ai_summary``.
MAX_SUMMARY_CHARS: Final = 8000
SUMMARY_METHODS: Final = frozenset({"llm", "extractive"})
DEFAULT_SUMMARY_METHOD: Final = "extractive"

#: Whom the orb talks to (docs/orb.md, "Whom the orb talks to"): ``listen`` never speaks,
#: ``addressed`` (the default) answers whoever addresses it, ``active`` also answers the
#: client's turns when the humans leave a silence. Set by a coach with ``ai_mode``.
ORB_MODES: Final = ("listen", "addressed", "active")
ORB_MODE_LISTEN: Final = "listen"
DEFAULT_ORB_MODE: Final = "addressed"

AI_STATUSES: Final = frozenset(
    {"ready", "listening", "thinking", "speaking", "paused", "processing"})
#: The reasons of ``ai-orb-shutdown``: no human left (or asked to stop), lifetime over, failure.
ORB_SHUTDOWN_COMPLETE: Final = "session_complete"
ORB_SHUTDOWN_TIMEOUT: Final = "timeout"
ORB_SHUTDOWN_ERROR: Final = "error"

#: The userId prefix reserved for orbs (``ai-orb-{sessionId}``).
ORB_USER_PREFIX: Final = "ai-orb-"
#: ``peer-discovery``'s per-peer ``status`` of a resumed seat.
PEER_UNCHANGED: Final = "unchanged"
PEER_JOINED: Final = "joined"
#: How a session ended when a coach ended it (``session-ended``'s ``reason``).
ENDED_BY_COACH: Final = "ended-by-coach"

#: ``client_signal`` action by which the answerer of a pair tells the offerer which link it
#: holds (docs/protocol.md, "Links: keep, repair, rebuild").
LINK_STATE: Final = "link-state"
#: ``client_signal`` action by which a coach shows the orb's summary to the client.
SHARE_SUMMARY: Final = "share-summary"

#: The field that carries the payload of each relayed WebRTC message. Keyed by the plain
#: ``str`` values: looked up with the received ``type`` on the relay path, where a dict whose
#: keys are all exact ``str`` takes CPython's fast path (enum keys would not).
SIGNAL_PAYLOAD_FIELD: Mapping[str, str] = {
    MessageType.OFFER.value: Field.OFFER,
    MessageType.ANSWER.value: Field.ANSWER,
    MessageType.ICE_CANDIDATE.value: Field.CANDIDATE,
}

#: The limits a client is told (``static/protocol.js``'s ``Limits``).
LIMITS: Mapping[str, int] = {
    "MAX_ID_CHARS": MAX_ID_CHARS,
    "MAX_NAME_CHARS": MAX_NAME_CHARS,
    "MAX_ROLE_CHARS": MAX_ROLE_CHARS,
    "MAX_ACTION_CHARS": MAX_ACTION_CHARS,
    "MAX_TRANSCRIPT_CHARS": MAX_TRANSCRIPT_CHARS,
    "MAX_SUMMARY_CHARS": MAX_SUMMARY_CHARS,
}


# ---------------------------------------------------------------------- parsing

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


# ---------------------------------------------------------------------- encoding

def encode(message: Mapping[str, object]) -> bytes:
    """UTF-8 JSON of one message, ready to be sent as a text frame."""
    return orjson.dumps(message)


PONG: Final = orjson.dumps({Field.TYPE: MessageType.PONG.value})


def error(code: ErrorCode, message: str, ref: str | None = None) -> bytes:
    body: dict[str, object] = {Field.TYPE: MessageType.ERROR.value, Field.CODE: code.value,
                               Field.MESSAGE: message}
    if ref is not None:
        body[Field.REF] = ref
    return orjson.dumps(body)


def participant_fields(user_id: str, user_name: str, user_role: str,
                       participant_type: str) -> dict[str, str]:
    """A participant as the server describes it (``peer-discovery``, ``user-*``)."""
    return {Field.USER_ID: user_id, Field.USER_NAME: user_name, Field.USER_ROLE: user_role,
            Field.PARTICIPANT_TYPE: participant_type}


def discovered_peer(public: Mapping[str, str], should_create_offer: bool, *,
                    away: bool = False, resumed_status: str | None = None) -> dict[str, object]:
    """One entry of ``peer-discovery``'s ``peers``."""
    entry: dict[str, object] = dict(public)
    entry[Field.SHOULD_CREATE_OFFER] = should_create_offer
    if resumed_status is not None:
        entry[Field.STATUS] = resumed_status
    if away:
        entry[Field.AWAY] = True
    return entry


def peer_discovery(room_id: str, peers: Iterable[Mapping[str, object]],
                   resume_token: str | None = None,
                   left: Sequence[Mapping[str, str]] | None = None,
                   *, orb_mode: str | None = None) -> bytes:
    """``left`` is given (possibly empty) only for a resumed seat, which also says so;
    ``orbMode`` is the room's ``ai_mode`` (an orb joining learns it here)."""
    body: dict[str, object] = {Field.TYPE: MessageType.PEER_DISCOVERY.value,
                               Field.ROOM_ID: room_id, Field.PEERS: list(peers)}
    if orb_mode is not None:
        body[Field.ORB_MODE] = orb_mode
    if resume_token:
        body[Field.RESUME_TOKEN] = resume_token
    if left is not None:
        body[Field.RESUMED] = True
        body[Field.LEFT] = list(left)
    return orjson.dumps(body)


def user_away(public: Mapping[str, str]) -> bytes:
    return orjson.dumps({Field.TYPE: MessageType.USER_AWAY.value, **public})


def user_back(public: Mapping[str, str]) -> bytes:
    return orjson.dumps({Field.TYPE: MessageType.USER_BACK.value, **public})


def user_joined(public: Mapping[str, str], should_create_offer: bool) -> bytes:
    return orjson.dumps({Field.TYPE: MessageType.USER_JOINED.value, **public,
                         Field.SHOULD_CREATE_OFFER: should_create_offer})


def user_left(public: Mapping[str, str]) -> bytes:
    return orjson.dumps({Field.TYPE: MessageType.USER_LEFT.value, **public})


def session_ended(reason: str, by: str) -> bytes:
    """``session-ended``: the call is over for everyone (``end_session`` by coach ``by``)."""
    return orjson.dumps({Field.TYPE: MessageType.SESSION_ENDED.value, Field.REASON: reason,
                         Field.BY: by})


def ai_mode(mode: str, by: str) -> bytes:
    """``ai-mode``: coach ``by`` set whom the orb talks to (sent to everyone, the orb too)."""
    return orjson.dumps({Field.TYPE: MessageType.AI_MODE_CHANGED.value, Field.MODE: mode,
                         Field.BY: by})


def ai_ask_relayed(from_id: str, user_role: str) -> bytes:
    """``ai_ask`` as the orb gets it: who asks, and in which role."""
    return orjson.dumps({Field.TYPE: MessageType.AI_ASK.value, Field.FROM_ID: from_id,
                         Field.USER_ROLE: user_role})


def ai_transcript(line: TranscriptLine, from_id: str | None = None) -> dict[str, Any]:
    """The ``ai_transcript`` message of ``line`` (relayed with the orb's ``fromId``)."""
    message: dict[str, Any] = {Field.TYPE: MessageType.AI_TRANSCRIPT.value, **line.fields()}
    if from_id is not None:
        message[Field.FROM_ID] = from_id
    return message


def ai_summary(session_id: str, text: str, method: str, key_topics: Iterable[str],
               goals: Iterable[str]) -> dict[str, Any]:
    """The ``ai_summary`` the orb sends (the core relays it as sent, plus ``fromId``)."""
    return {Field.TYPE: MessageType.AI_SUMMARY.value, Field.SESSION_ID: session_id,
            Field.TEXT: text, Field.METHOD: method, Field.KEY_TOPICS: list(key_topics),
            Field.GOALS: list(goals)}


def orb_shutdown(reason: str, session_id: str | None = None) -> dict[str, Any]:
    """``ai-orb-shutdown`` with one of the shutdown reasons (and the orb's ``sessionId``, which
    the orb sends before the reason)."""
    if session_id is None:
        return {Field.TYPE: MessageType.ORB_SHUTDOWN.value, Field.REASON: reason}
    return {Field.TYPE: MessageType.ORB_SHUTDOWN.value, Field.SESSION_ID: session_id,
            Field.REASON: reason}


def ping() -> dict[str, Any]:
    """``ping``: the server answers ``pong`` (a client's liveness check of its link)."""
    return {Field.TYPE: MessageType.PING.value}


def orb_heartbeat(session_id: str, metrics: Mapping[str, object]) -> dict[str, Any]:
    """``orb_heartbeat``: the orb's liveness, with flat metrics the admin snapshot shows."""
    return {Field.TYPE: MessageType.ORB_HEARTBEAT.value, Field.SESSION_ID: session_id,
            Field.METRICS: dict(metrics)}


def orb_status(status: str, session_id: str, *, transcribing: bool, voice: str,
               mode: str) -> dict[str, Any]:
    """The orb's ``ai_status`` (the core stamps ``mode`` with the room's mode anyway)."""
    return {Field.TYPE: MessageType.AI_STATUS.value, Field.STATUS: status,
            Field.SESSION_ID: session_id, Field.TRANSCRIBING: transcribing,
            Field.VOICE: voice, Field.MODE: mode}


def answer(sdp: object, to_id: str, link_id: str | None = None) -> dict[str, Any]:
    """``answer`` to ``to_id`` (with the offer's ``linkId`` when it had one)."""
    message: dict[str, Any] = {Field.TYPE: MessageType.ANSWER.value, Field.ANSWER: sdp,
                               Field.TO_ID: to_id}
    if link_id is not None:
        message[Field.LINK_ID] = link_id
    return message


def join_message(
    room_id: str | None,
    user_id: str,
    user_role: str,
    *,
    user_name: str | None = None,
    participant_type: str | None = None,
    token: str | None = None,
    resume_token: str | None = None,
) -> dict[str, object]:
    """The ``join`` a client sends (docs/protocol.md, "join"), as a dict ready to encode.

    The one place Python clients (the orb, the conformance suite, benches, tests) build it.
    ``room_id`` None leaves ``roomId`` out (the path names the room); optional fields are sent
    only when given.
    """
    message: dict[str, object] = {Field.TYPE: MessageType.JOIN.value}
    if room_id is not None:
        message[Field.ROOM_ID] = room_id
    message[Field.USER_ID] = user_id
    if user_name is not None:
        message[Field.USER_NAME] = user_name
    message[Field.USER_ROLE] = user_role
    if participant_type is not None:
        message[Field.PARTICIPANT_TYPE] = participant_type
    if token is not None:
        message[Field.TOKEN] = token
    if resume_token is not None:
        message[Field.RESUME_TOKEN] = resume_token
    return message
