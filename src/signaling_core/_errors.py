"""Protocol error codes, close codes, and the one exception that carries its own reply.

Every rule violation inside the core raises :class:`ProtocolError`; the intake boundary turns it
into the ``error`` message (and, for a few cases, a close) that the offending connection gets.
Nothing else in the room is touched by a refused message. Defined in :mod:`.wire`, the
protocol's vocabulary; imported here under the names the core's modules use.
"""

from __future__ import annotations

from .wire import CloseCode, ErrorCode, ProtocolError, is_valid_close_code

__all__ = ["CloseCode", "ErrorCode", "ProtocolError", "is_valid_close_code"]
