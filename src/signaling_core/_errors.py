"""Protocol error codes, close codes, and the one exception that carries its own reply.

Every rule violation inside the core raises :class:`ProtocolError`; the intake boundary turns it
into the ``error`` message (and, for a few cases, a close) that the offending connection gets.
Nothing else in the room is touched by a refused message. A bug inside the core is
:class:`CoreFailedError` for every input after it (the core's error state). The protocol's
codes are defined in :mod:`.wire`, its vocabulary; imported here under the names the core's
modules use.
"""

from __future__ import annotations

from .wire import CloseCode, ErrorCode, ProtocolError, is_valid_close_code

__all__ = ["CloseCode", "CoreFailedError", "ErrorCode", "ProtocolError", "is_valid_close_code"]


class CoreFailedError(RuntimeError):
    """The core failed inside an earlier input (a bug: see ``__cause__`` and
    :attr:`SignalingCore.failure`); its state may be inconsistent, so it takes no more input.

    As in h11, a failure is not swallowed: the input that failed returned the commands decided
    before the failure (carry them out), and every later input raises this.
    """

