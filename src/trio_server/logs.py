"""One structured log line per connection lifecycle event and per error.

Each line is an event name plus fields (room, userId, role, code, ...), written as
``key=value`` text or, with ``--log-json``, as one JSON object per line. Message bodies are
never logged (SDP describes a participant's network); at DEBUG only message types appear.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

INFO = logging.INFO
WARNING = logging.WARNING
ERROR = logging.ERROR
LOGGER_NAME = "trio_server"
log = logging.getLogger(LOGGER_NAME)


#: The node every line is from (``--node-id``), set once the server listens; None: no field.
_node: str | None = None


def set_node(node_id: str | None) -> None:
    """Name the node on every later event, so a cluster's merged logs say where each line
    was written."""
    global _node
    _node = node_id


def event(level: int, name: str, message: str | None = None, **fields: Any) -> None:
    """Log event ``name``; ``message`` is the human sentence (defaults to the name)."""
    if log.isEnabledFor(level):
        clean = {k: v for k, v in fields.items() if v is not None}
        if _node is not None:
            clean.setdefault("node", _node)
        log.log(level, message or name, extra={"event": name, "fields": clean})


def _text_value(value: Any) -> str:
    text = str(value)
    if not text or any(c in text for c in ' "=\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created))
        fields: dict[str, Any] = getattr(record, "fields", {})
        parts = [f"{stamp}.{int(record.msecs):03d}", record.levelname.lower(),
                 record.getMessage()]
        parts.extend(f"{key}={_text_value(value)}" for key, value in fields.items())
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", None) or "log",
            "msg": record.getMessage(),
        }
        body.update(getattr(record, "fields", {}))
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(body, default=str).decode()


def configure(level: str = "info", json: bool = False, libraries: str = "warning") -> None:
    """Send the project's logs at ``level`` to stderr, one line each; other libraries'
    (faster-whisper, aiortc, aioice, httpx, redis, websockets, ...) only from ``libraries``
    up (``--log-level-libraries``), so their chatter stays out of an operator's log.

    Python's ``warnings`` go through the log too (logger ``py.warnings``), so a ``--log-json``
    log stays one JSON object per line. What native code prints past Python's logging
    (CTranslate2, onnxruntime) follows these levels in ``orb_bridge.logs.quiet_native_logs``.
    """
    own, others = _level(level), _level(libraries)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(others)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(own)
    logging.captureWarnings(True)


def _level(name: str) -> int:
    numeric = logging.getLevelName(name.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {name!r}")
    return numeric


#: The loggers whose lines are the project's own (the in-process orb's included); every other
#: logger belongs to a library.
OWN_LOGGERS = (LOGGER_NAME, "orb_bridge", "signaling_core")
