"""The core's ``Send`` of an ``error``; every message's encoding is :mod:`.wire`'s."""

from __future__ import annotations

from ._commands import Send
from ._events import ConnectionId
from .wire import ErrorCode, MessageType, error


def error_send(conn_id: ConnectionId, code: ErrorCode, message: str,
               ref: str | None = None) -> Send:
    """The ``Send`` of an ``error`` message, its ``kind`` and ``error`` filled in."""
    return Send(conn_id, error(code, message, ref), MessageType.ERROR, code.value)
