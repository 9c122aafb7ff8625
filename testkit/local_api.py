"""The part every local stand-in of an OpenAI-style API shares: a threaded HTTP server on a
loopback port, its ``/v1`` base URL, and start/stop as a context manager.

The stand-ins (:mod:`testkit.llm_standin`, :mod:`testkit.speech_standin`) differ only in what
their request handler answers, so each gives its handler class and inherits the rest.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LocalApi:
    """A loopback HTTP server in a daemon thread, serving ``handler`` until the ``with`` ends."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The API's base URL, as the orb's ``--orb-*-url`` options take it."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
