"""Protocol error codes, close codes, and the one exception that carries its own reply.

Every rule violation inside the core raises :class:`ProtocolError`; the intake boundary turns it
into the ``error`` message (and, for a few cases, a close) that the offending connection gets.
Nothing else in the room is touched by a refused message.
"""

from __future__ import annotations

import enum


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
    """A message broke a rule; carries the reply the sender gets.

    ``close_code`` is set when the violation also ends the connection (e.g. an oversized text
    handed to the core by an embedder that does not enforce the frame limit itself).
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        ref: str | None = None,
        close_code: CloseCode | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref
        self.close_code = close_code
