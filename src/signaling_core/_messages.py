"""Encoding of the server→client messages (docs/protocol.md, "Server -> client").

Each function returns the UTF-8 JSON bytes of one message, ready to be sent as a text frame;
callers reuse the bytes for every recipient of a broadcast.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import orjson

from ._commands import Send
from ._errors import ErrorCode
from ._events import ConnectionId

PONG = orjson.dumps({"type": "pong"})


def encode(message: Mapping[str, object]) -> bytes:
    return orjson.dumps(message)


def error(code: ErrorCode, message: str, ref: str | None = None) -> bytes:
    body: dict[str, object] = {"type": "error", "code": code.value, "message": message}
    if ref is not None:
        body["ref"] = ref
    return orjson.dumps(body)


def error_send(conn_id: ConnectionId, code: ErrorCode, message: str,
               ref: str | None = None) -> Send:
    """The ``Send`` of an ``error`` message, its ``kind`` and ``error`` filled in."""
    return Send(conn_id, error(code, message, ref), "error", code.value)


def peer_discovery(room_id: str, peers: Iterable[Mapping[str, object]],
                   resume_token: str | None = None,
                   left: Sequence[Mapping[str, str]] | None = None,
                   *, orb_mode: str | None = None) -> bytes:
    """``left`` is given (possibly empty) only for a resumed seat, which also says so;
    ``orbMode`` is the room's ``ai_mode`` (an orb joining learns it here)."""
    body: dict[str, object] = {"type": "peer-discovery", "roomId": room_id, "peers": list(peers)}
    if orb_mode is not None:
        body["orbMode"] = orb_mode
    if resume_token:
        body["resumeToken"] = resume_token
    if left is not None:
        body["resumed"] = True
        body["left"] = list(left)
    return orjson.dumps(body)


def user_away(public: Mapping[str, str]) -> bytes:
    return orjson.dumps({"type": "user-away", **public})


def user_back(public: Mapping[str, str]) -> bytes:
    return orjson.dumps({"type": "user-back", **public})


def user_joined(public: Mapping[str, str], should_create_offer: bool) -> bytes:
    return orjson.dumps({"type": "user-joined", **public, "shouldCreateOffer": should_create_offer})


def user_left(public: Mapping[str, str]) -> bytes:
    return orjson.dumps({"type": "user-left", **public})


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

    The one place Python clients (the orb, the conformance suite, benches, tests) build it, so
    the message's field names live beside the code that reads them. ``room_id`` None leaves
    ``roomId`` out (the path names the room); optional fields are sent only when given.
    """
    message: dict[str, object] = {"type": "join"}
    if room_id is not None:
        message["roomId"] = room_id
    message["userId"] = user_id
    if user_name is not None:
        message["userName"] = user_name
    message["userRole"] = user_role
    if participant_type is not None:
        message["participantType"] = participant_type
    if token is not None:
        message["token"] = token
    if resume_token is not None:
        message["resumeToken"] = resume_token
    return message


def session_ended(reason: str, by: str) -> bytes:
    """``session-ended``: the call is over for everyone (``end_session`` by coach ``by``)."""
    return orjson.dumps({"type": "session-ended", "reason": reason, "by": by})


def ai_mode(mode: str, by: str) -> bytes:
    """``ai-mode``: coach ``by`` set whom the orb talks to (sent to everyone, the orb too)."""
    return orjson.dumps({"type": "ai-mode", "mode": mode, "by": by})
