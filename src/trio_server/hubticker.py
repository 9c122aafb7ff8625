"""A periodic Linux ``timerfd``: the read hub's cheap "come back in half a millisecond".

The hub gathers arrivals while they come densely (see :mod:`.readhub`): it waits for the end of
a short window instead of for the next socket. Trio's own timer (``trio.sleep``) goes through a
cancel scope and a ``Cancelled`` exception, which costs more than the wake-up it would save; a
``timerfd`` is one more descriptor for ``trio.lowlevel.wait_readable``, a wake-up like any
other. It is armed once when arrivals become dense and ticks every period until disarmed, so a
window costs one ``read`` of 8 bytes, not a ``timerfd_settime``.

``timerfd`` is reached through ``ctypes`` (Python gains ``os.timerfd_create`` only in 3.13);
where it is missing, :func:`open_ticker` returns ``None`` and the hub reads every arrival at
once, as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os

_CLOCK_MONOTONIC = 1
_TFD_NONBLOCK = os.O_NONBLOCK
_TFD_CLOEXEC = os.O_CLOEXEC


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.timerfd_create.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.timerfd_settime.argtypes = [ctypes.c_int, ctypes.c_int,
                                         ctypes.POINTER(_Itimerspec), ctypes.c_void_p]
    except (OSError, AttributeError):
        return None
    return libc


class Ticker:
    """A non-blocking ``timerfd`` that ticks every ``period`` seconds while armed."""

    __slots__ = ("_disarm", "_fd", "_libc", "_tick", "armed")

    def __init__(self, libc: ctypes.CDLL, fd: int, period: float) -> None:
        self._libc = libc
        self._fd = fd
        ns = int(period * 1e9)
        spec = _Timespec(ns // 1_000_000_000, ns % 1_000_000_000)
        self._tick = _Itimerspec(spec, spec)
        self._disarm = _Itimerspec(_Timespec(0, 0), _Timespec(0, 0))
        self.armed = False

    def fileno(self) -> int:
        return self._fd

    def arm(self) -> None:
        """Tick every period from now on."""
        self._settime(self._tick)
        self.armed = True

    def disarm(self) -> None:
        self._settime(self._disarm)
        self.armed = False
        self.clear()

    def clear(self) -> None:
        """Take the ticks counted so far (the descriptor is readable until then)."""
        with contextlib.suppress(BlockingIOError, InterruptedError):
            os.read(self._fd, 8)

    def close(self) -> None:
        self.armed = False
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _settime(self, spec: _Itimerspec) -> None:
        if self._libc.timerfd_settime(self._fd, 0, ctypes.byref(spec), None) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))


def open_ticker(period: float) -> Ticker | None:
    """A disarmed ticker of ``period`` seconds, or None where ``timerfd`` is not there."""
    libc = _libc()
    if libc is None:
        return None
    fd = libc.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
    if fd < 0:
        return None
    return Ticker(libc, fd, period)
