"""The protocol's names and limits: message types, field names, error and close codes, the
words and bounds of docs/protocol.md. Parsing and encoding (:mod:`._parse`, :mod:`._encode`)
build on them."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final


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



class WebRtcField:
    """The fields of the browser's own WebRTC payloads that ``offer``, ``answer`` and
    ``ice-candidate`` carry (``RTCSessionDescriptionInit``, ``RTCIceCandidateInit``).

    The server relays them untouched and never reads them; they are named here so that the
    Python clients that build them (the conformance suite, the benches) spell them once.
    """

    #: ``RTCSessionDescriptionInit``: its ``type`` ("offer" or "answer") and its SDP text.
    SDP_TYPE: Final = "type"
    SDP: Final = "sdp"
    #: ``RTCIceCandidateInit``.
    CANDIDATE: Final = "candidate"
    SDP_MID: Final = "sdpMid"
    SDP_M_LINE_INDEX: Final = "sdpMLineIndex"
    USERNAME_FRAGMENT: Final = "usernameFragment"


#: ``RTCSdpType`` values of a session description's ``type`` (WebRTC's, not a message type).
SDP_OFFER: Final = "offer"
SDP_ANSWER: Final = "answer"

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
