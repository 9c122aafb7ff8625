"""Plain-HTTP requests and responses, and the router that maps one to the other.

The router knows nothing about sockets or h11: a handler takes an :class:`HttpRequest` and
returns an :class:`HttpResponse`, so other modules (``web.py``, the admin endpoints) can add
routes without touching the connection code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import orjson


@attrs.frozen
class HttpRequest:
    """One request head; ``headers`` has lower-case names (the last value of a repeated one).

    ``client`` is the address of the TCP peer the request came from (no port), as the front
    saw it; the admin endpoints decide on it whether a request is local. Empty when unknown,
    which every check treats as "not loopback", never as trusted.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    client: str = ""


@attrs.frozen
class HttpResponse:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = attrs.field(factory=dict)


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


def text_response(status: int, text: str, headers: dict[str, str] | None = None) -> HttpResponse:
    """A short plain-text answer (errors, refusals): the reason a human can read."""
    return HttpResponse(status, (text + "\n").encode("utf-8"), "text/plain; charset=utf-8",
                        headers or {})


def json_response(body: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(status, orjson.dumps(body), "application/json")


class Router:
    """Exact paths and path prefixes, per method; ``GET`` routes also answer ``HEAD``."""

    def __init__(self) -> None:
        self._exact: dict[tuple[str, str], Handler] = {}
        self._prefixes: list[tuple[str, str, Handler]] = []

    def add(self, method: str, path: str, handler: Handler) -> None:
        key = (method.upper(), path)
        if key in self._exact:
            raise ValueError(f"route {method} {path} is already taken")
        self._exact[key] = handler

    def add_prefix(self, method: str, prefix: str, handler: Handler) -> None:
        self._prefixes.append((method.upper(), prefix, handler))
        # Longest prefix first, so /static/img/ wins over /static/.
        self._prefixes.sort(key=lambda entry: len(entry[1]), reverse=True)

    def _find(self, method: str, path: str) -> Handler | None:
        handler = self._exact.get((method, path))
        if handler is not None:
            return handler
        for route_method, prefix, prefix_handler in self._prefixes:
            if route_method == method and path.startswith(prefix):
                return prefix_handler
        return None

    def allowed_methods(self, path: str) -> list[str]:
        methods = {m for (m, p) in self._exact if p == path}
        methods.update(m for (m, prefix, _) in self._prefixes if path.startswith(prefix))
        if "GET" in methods:
            methods.add("HEAD")
        return sorted(methods)

    async def dispatch(self, request: HttpRequest) -> HttpResponse:
        """The handler's response, or 404/405 when no route fits."""
        method = "GET" if request.method == "HEAD" else request.method
        handler = self._find(method, request.path)
        if handler is not None:
            return await handler(request)
        allowed = self.allowed_methods(request.path)
        if allowed:
            return text_response(405, "method not allowed", {"Allow": ", ".join(allowed)})
        return text_response(404, "not found")
