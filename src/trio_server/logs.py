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


def configure(level: str = "info", json: bool = False) -> None:
    """Send this package's logs (and warnings from libraries) to stderr, one line each."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    root.setLevel(numeric)
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))


#: Libraries that narrate every packet at INFO; only their warnings are worth a line.
_NOISY = ("aioice", "aiortc", "av")
