"""Browser routes: the lobby (``/``), the call page (``/room/{roomId}``) and ``/static/...``.

The browser client is package data served as it is (no build step, nothing fetched from
elsewhere). Static files are read once at startup into a table keyed by file name, and a
request is answered only when its name is a key of that table: a path can therefore never
reach outside the package's ``static`` directory, whatever dots, slashes or encodings it uses.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from importlib import resources
from urllib.parse import unquote

import attrs

from signaling_core import is_valid_room_id

from .http import HttpRequest, HttpResponse, Router, text_response

STATIC_PREFIX = "/static/"
ROOM_PREFIX = "/room/"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}

#: Files are not content-hashed, so the browser revalidates every time (cheap: a 304 by ETag);
#: a server upgrade is then picked up on the next load, never mixed with stale modules.
CACHE_CONTROL = "no-cache"

_SAFE_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


@attrs.frozen
class StaticFile:
    body: bytes
    content_type: str
    etag: str


def load_static() -> dict[str, StaticFile]:
    """Every servable file of the package's ``static`` directory, by name."""
    files: dict[str, StaticFile] = {}
    for entry in resources.files("trio_server").joinpath("static").iterdir():
        name = entry.name
        suffix = name[name.rfind("."):] if "." in name else ""
        content_type = CONTENT_TYPES.get(suffix)
        if not entry.is_file() or content_type is None or name.startswith("."):
            continue
        body = entry.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        files[name] = StaticFile(body, content_type, etag)
    return files


def _not_modified(request: HttpRequest, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in tags or "*" in tags


def _csp(request: HttpRequest) -> str:
    """The page's policy: only this origin, for scripts, styles, fetches and the WebSocket."""
    connect = "'self'"
    host = request.headers.get("host", "")
    if _SAFE_HOST.fullmatch(host):
        # Older engines do not count ws:/wss: on the same host as 'self'.
        connect += f" ws://{host} wss://{host}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"media-src 'self' blob: mediastream:; connect-src {connect}; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def _serve(request: HttpRequest, file: StaticFile, *, page: bool = False) -> HttpResponse:
    headers = {
        "Cache-Control": CACHE_CONTROL,
        "ETag": file.etag,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if page:
        headers["Content-Security-Policy"] = _csp(request)
        # The call page needs the camera and microphone of this origin, nothing else.
        headers["Permissions-Policy"] = "camera=(self), microphone=(self), geolocation=()"
    if _not_modified(request, file.etag):
        return HttpResponse(304, b"", file.content_type, headers)
    return HttpResponse(200, file.body, file.content_type, headers)


def _room_id(path: str) -> str | None:
    """The room id of a call-page path, or None when it is not a valid one."""
    candidate = path[len(ROOM_PREFIX):]
    for room_id in (candidate, unquote(candidate)):
        if is_valid_room_id(room_id):
            return room_id
    return None


def page_server(name: str) -> Callable[[HttpRequest], HttpResponse]:
    """Serves the static page ``name`` with the pages' headers (CSP and the rest); for routes
    other modules own (the history)."""
    file = load_static()[name]

    def serve(request: HttpRequest) -> HttpResponse:
        return _serve(request, file, page=True)

    return serve


def register(router: Router) -> None:
    """Add the browser client's routes to ``router``."""
    files = load_static()
    lobby = files["index.html"]
    call_page = files["room.html"]

    async def serve_lobby(request: HttpRequest) -> HttpResponse:
        return _serve(request, lobby, page=True)

    async def serve_room(request: HttpRequest) -> HttpResponse:
        if _room_id(request.path) is None:
            return text_response(404, "a room id is 1-128 characters of A-Z a-z 0-9 _ . ~ -")
        return _serve(request, call_page, page=True)

    async def serve_static(request: HttpRequest) -> HttpResponse:
        name = request.path[len(STATIC_PREFIX):]
        file = files.get(name) or files.get(unquote(name))
        if file is None:
            return text_response(404, "not found")
        return _serve(request, file, page=file.content_type.startswith("text/html"))

    router.add("GET", "/", serve_lobby)
    router.add_prefix("GET", ROOM_PREFIX, serve_room)
    router.add_prefix("GET", STATIC_PREFIX, serve_static)
