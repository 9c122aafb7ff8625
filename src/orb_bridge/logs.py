"""The orb's part of a log an operator can read: the project's lines, not its libraries'.

Two things live here:

* :func:`configure`, ``orb-worker``'s logging: the project's own loggers (:data:`OWN_LOGGERS`)
  at ``--log-level``, every other library's (faster-whisper, aioice, aiortc, websockets,
  redis, ...) at ``--log-level-libraries`` (default ``warning``), so faster-whisper's "Processing
  audio with duration ..." at INFO, once per utterance, and aioice's per-candidate-pair lines
  stay out. ``trio-server`` does the same in ``trio_server.logs`` (the two packages share no
  code: ``orb_bridge`` imports nothing of ``trio_server``).
* :func:`quiet_native_logs`: CTranslate2 and onnxruntime print from native code straight to
  stderr, past Python's logging and its format (a line that is not JSON in a ``--log-json``
  log). They follow the Python logger of their name (``ctranslate2``, ``onnxruntime``) through
  their own documented APIs (``ctranslate2.set_log_level``,
  ``onnxruntime.set_default_logger_severity``): errors only, unless that logger is set to INFO
  or lower (``--log-level-libraries info``), which lets their warnings and notes through too.
  Their warnings (a model's compute type converted, a GPU not found) are about the machine,
  said once per process in a format of their own; an operator who wants them asks.
  An explicit ``CT2_VERBOSE`` in the environment (CTranslate2's own switch) wins.
"""

from __future__ import annotations

import logging
import os
import sys

#: Loggers whose lines are the project's own: shown at ``--log-level``.
OWN_LOGGERS = ("orb_bridge", "signaling_core")
#: The level of every other library's loggers unless told otherwise.
DEFAULT_LIBRARY_LEVEL = "warning"
LEVELS = ("debug", "info", "warning", "error")
#: orb-worker's line format (it names the logger, so a line's source is always visible).
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: onnxruntime's severities: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal.
_ORT_SEVERITY = ((logging.INFO, 0), (logging.WARNING, 1), (logging.ERROR, 2),
                 (logging.CRITICAL, 3))


def level_number(name: str) -> int:
    """``"info"`` -> ``logging.INFO``; a name that is no level is a ``ValueError``."""
    number = logging.getLevelName(name.strip().upper())
    if not isinstance(number, int):
        raise ValueError(f"unknown log level {name!r}")
    return number


def configure(level: str = "info", libraries: str = DEFAULT_LIBRARY_LEVEL) -> None:
    """Log to stderr, one line each: the project at ``level``, other libraries at
    ``libraries``, and Python's ``warnings`` through the log (logger ``py.warnings``)."""
    own, others = level_number(level), level_number(libraries)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(others)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(own)
    logging.captureWarnings(True)


def native_level(logger_name: str) -> int:
    """The level native code behind ``logger_name`` prints at: that logger's effective level,
    but never below ERROR unless it is at INFO or lower (see the module's docstring)."""
    level = logging.getLogger(logger_name).getEffectiveLevel()
    if level >= logging.WARNING:
        return max(level, logging.ERROR)
    return max(level, logging.DEBUG)


def quiet_native_logs() -> None:
    """Set the native log level of CTranslate2 and onnxruntime, those of them this process
    has imported, from their Python loggers (:func:`native_level`). Call it after importing
    them and before they load a model; calling it again is harmless."""
    ct2 = sys.modules.get("ctranslate2")
    if ct2 is not None and "CT2_VERBOSE" not in os.environ:
        ct2.set_log_level(native_level("ctranslate2"))
    ort = sys.modules.get("onnxruntime")
    if ort is not None:
        level = native_level("onnxruntime")
        severity = next((s for limit, s in _ORT_SEVERITY if level < limit), 4)
        ort.set_default_logger_severity(severity)
