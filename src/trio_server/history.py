"""The coach's history in the browser: who may read it, and its HTTP routes.

The history serves conversation content (transcripts, summaries), so the rule of
:mod:`.admin` stands: content only behind the admin token, loopback included. This module
makes that usable without weakening it:

* **The admin token, or a cookie that stands for it.** Without ``--admin-token`` the server
  generates one at start and prints a login URL carrying it in the *fragment*
  (``/history#token=...``): a fragment never reaches a server, so it stays out of access logs
  and proxies. The page sends it once in ``Authorization: Bearer`` to ``POST
  /api/history/login``, which answers with a cookie: HttpOnly (scripts cannot read it),
  SameSite=Strict (never sent by another site's request), signed and stateless
  (``v1.<expiry>.<scope>.<mac>``, an HMAC keyed from the admin token), so any node that shares
  the token accepts it, and nothing is stored.
* **A coach's join token** (with ``--join-secret``), in ``Authorization: Bearer`` or posted
  to the login the same way, opens the history of that token's room only: a cookie scoped to
  the room. A client's token never opens anything (403). A room id reused by different
  coaches shares its history: the room is the unit of trust, as it is for joining.
* **Never a query string**: a request with ``token`` (or ``access_token``) in its query is
  refused (400) before anything else, so tokens do not end up in logs and histories.
* **CSRF**: the cookie is SameSite=Strict, and every state-changing request (login, logout,
  ``DELETE``) whose ``Origin`` is present must come from the server's own origin; one that
  authenticates by cookie must carry an ``Origin`` at all.

Nothing here logs what a session contains: refusals name the rule, never the words.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import orjson
import trio

from signaling_core import is_valid_room_id
from signaling_core.join_tokens import verified_claims
from signaling_core.wire import COACH, HUMAN, Field

from .admin import bearer_matches
from .http import HttpRequest, HttpResponse, Router, json_response, text_response
from .ledger import Backend, NoSuchSession, NotALedger, SessionRunning, erase_session
from .ledger._history import (
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    HistoryFilter,
    history_page,
    history_session,
    session_markdown,
    session_room,
)
from .origins import origin_allowed

COOKIE = "trio_history"
#: How long a login lasts (seconds).
COOKIE_TTL = 12 * 3600
API = "/api/history"
SESSIONS = f"{API}/sessions"
PAGE = "/history"
#: Query parameters that would carry a credential: refused, whatever their value.
_TOKEN_PARAMS = ("token", "access_token", "admin_token", "auth")
_SESSION_ID = re.compile(r"[A-Za-z0-9_.~-]{1,128}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NO_STORE = {"Cache-Control": "no-store"}


@attrs.frozen
class Access:
    """What a request may see: every room (``room`` None) or one room's sessions."""

    room: str | None
    #: Whether it came from the cookie (then state changes need a same-origin ``Origin``).
    by_cookie: bool = False

    def sees(self, room: str) -> bool:
        return self.room is None or self.room == room


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class HistoryAuth:
    """Signs and checks the history cookie, and decides what a request may see."""

    def __init__(self, admin_token: str, join_secret: str | None, *, tls: bool,
                 clock: Callable[[], float] = time.time) -> None:
        self._admin = admin_token
        self._join_secret = join_secret
        self._tls = tls
        self._clock = clock
        # Derived, not the token itself: a cookie's MAC reveals nothing usable as the token.
        self._key = hmac.new(admin_token.encode(), b"trio-history-cookie-v1",
                             hashlib.sha256).digest()

    # ---------------------------------------------------------------- the cookie
    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def cookie_value(self, access: Access, now: float | None = None) -> str:
        expiry = int((self._clock() if now is None else now) + COOKIE_TTL)
        scope = _b64(b"*" if access.room is None else b"r:" + access.room.encode())
        body = f"v1.{expiry}.{scope}"
        return f"{body}.{self._mac(body)}"

    def set_cookie(self, access: Access) -> str:
        secure = "; Secure" if self._tls else ""
        return (f"{COOKIE}={self.cookie_value(access)}; Path=/; Max-Age={COOKIE_TTL}; "
                f"HttpOnly; SameSite=Strict{secure}")

    def clear_cookie(self) -> str:
        return f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"

    def _from_cookie(self, value: str) -> Access | None:
        parts = value.split(".")
        if len(parts) != 4 or parts[0] != "v1":
            return None
        body = ".".join(parts[:3])
        if not hmac.compare_digest(self._mac(body).encode(), parts[3].encode()):
            return None
        try:
            expiry = int(parts[1])
            scope = _unb64(parts[2]).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        if expiry < self._clock():
            return None
        if scope == "*":
            return Access(None, by_cookie=True)
        if scope.startswith("r:") and is_valid_room_id(scope[2:]):
            return Access(scope[2:], by_cookie=True)
        return None

    # ---------------------------------------------------------------- a request
    def _from_bearer(self, request: HttpRequest) -> Access | HttpResponse | None:
        header = request.headers.get("authorization", "").strip()
        if not header:
            return None
        if bearer_matches(request, self._admin):
            return Access(None)
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and self._join_secret:
            claims = verified_claims(self._join_secret, token.strip(), now=self._clock())
            if claims is not None:
                if claims[Field.USER_ROLE] != COACH or claims[Field.PARTICIPANT_TYPE] != HUMAN:
                    return text_response(403, "a client's join token never opens the history")
                return Access(str(claims[Field.ROOM_ID]))
        return _unauthorized("the token is not valid (or has expired)")

    def access(self, request: HttpRequest) -> Access | HttpResponse:
        """What ``request`` may see, or the refusal to send."""
        if any(name in request.query for name in _TOKEN_PARAMS):
            return text_response(400, "tokens are never accepted in a query string: send "
                                 "'Authorization: Bearer TOKEN' or log in at /history")
        bearer = self._from_bearer(request)
        if bearer is not None:
            return bearer
        cookie = _cookie(request.headers.get("cookie", ""), COOKIE)
        if cookie is not None:
            found = self._from_cookie(cookie)
            if found is None:
                return _unauthorized("the login has expired or is not valid: log in again")
            return found
        return _unauthorized("log in at /history first")

    def same_origin(self, request: HttpRequest, access: Access | None) -> bool:
        """A state change may proceed: ``Origin`` is this server's own (required when the
        request rides on the cookie; a request with a header credential is not forgeable)."""
        origin = request.headers.get("origin")
        if origin is None:
            return access is not None and not access.by_cookie
        return origin_allowed(origin, request.headers.get("host"), allowed=(), tls=self._tls)


def _unauthorized(reason: str) -> HttpResponse:
    return text_response(401, reason, {"WWW-Authenticate": 'Bearer realm="history"'})


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip()
    return None


def _day(text: str | None, field: str) -> float | None:
    if not text:
        return None
    if _DATE.fullmatch(text) is None:
        raise ValueError(f"{field} must be a date, YYYY-MM-DD")
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()


def parse_filter(query: dict[str, str], access: Access) -> tuple[HistoryFilter, int, int]:
    """The list's filter and page from the query string; ``ValueError`` for a bad value, and
    ``PermissionError`` for a room the viewer may not see."""
    room = query.get("room") or None
    if room is not None and not is_valid_room_id(room):
        raise ValueError("room must be a valid room id")
    if access.room is not None:
        if room not in (None, access.room):
            raise PermissionError("this login opens the history of another room")
        room = access.room
    since = _day(query.get("from"), "from")
    until = _day(query.get("to"), "to")
    if until is not None:
        until += timedelta(days=1).total_seconds()  # "to" is inclusive: the whole day
    try:
        offset = int(query.get("offset") or 0)
        limit = int(query.get("limit") or PAGE_SIZE)
    except ValueError:
        raise ValueError("offset and limit must be integers") from None
    if offset < 0 or not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"offset must be >= 0 and limit 1-{MAX_PAGE_SIZE}")
    return HistoryFilter(room, since, until), offset, limit


def register(router: Router, auth: HistoryAuth, backend: Backend,
             page: Callable[[HttpRequest], HttpResponse]) -> None:
    """Add the history's page and API routes; ``page`` serves the history's HTML shell."""
    limiter = trio.CapacityLimiter(2)

    async def in_thread(fn: Callable[[], Any]) -> Any:
        return await trio.to_thread.run_sync(fn, limiter=limiter)

    def done(response: HttpResponse) -> HttpResponse:
        response.headers.update(_NO_STORE)
        return response

    async def serve_page(request: HttpRequest) -> HttpResponse:
        rest = request.path[len(PAGE):].strip("/")
        if rest and _SESSION_ID.fullmatch(rest) is None:
            return text_response(404, "no such session")
        return page(request)

    async def login(request: HttpRequest) -> HttpResponse:
        if not auth.same_origin(request, None) and request.headers.get("origin") is not None:
            return text_response(403, "cross-origin request refused")
        if not request.headers.get("authorization"):
            return _unauthorized("send the admin token or a coach's join token in "
                                 "'Authorization: Bearer TOKEN'")
        access = auth.access(request)
        if isinstance(access, HttpResponse):
            return done(access)
        response = json_response({"room": access.room})
        response.headers["Set-Cookie"] = auth.set_cookie(access)
        return done(response)

    async def logout(request: HttpRequest) -> HttpResponse:
        if request.headers.get("origin") is not None and not auth.same_origin(request, None):
            return text_response(403, "cross-origin request refused")
        response = json_response({"room": None})
        response.headers["Set-Cookie"] = auth.clear_cookie()
        return done(response)

    async def whoami(request: HttpRequest) -> HttpResponse:
        access = auth.access(request)
        if isinstance(access, HttpResponse):
            return done(access)
        return done(json_response({"room": access.room}))

    async def sessions(request: HttpRequest) -> HttpResponse:
        access = auth.access(request)
        if isinstance(access, HttpResponse):
            return done(access)
        try:
            where, offset, limit = parse_filter(request.query, access)
        except PermissionError as exc:
            return done(text_response(403, str(exc)))
        except ValueError as exc:
            return done(text_response(400, str(exc)))
        try:
            body = await in_thread(lambda: history_page(backend, where, offset=offset,
                                                        limit=limit))
        except NotALedger:
            body = {"sessions": [], "offset": offset, "limit": limit, "more": False}
        return done(json_response(body))

    async def one(request: HttpRequest) -> HttpResponse:
        access = auth.access(request)
        if isinstance(access, HttpResponse):
            return done(access)
        rest = request.path[len(SESSIONS) + 1:]
        session_id, _, action = rest.partition("/")
        if _SESSION_ID.fullmatch(session_id) is None or action not in ("", "export") \
                or (request.method == "DELETE" and action):
            return done(text_response(404, "no such session"))
        if request.method == "DELETE":
            return done(await delete(request, access, session_id))
        try:
            body = await in_thread(lambda: history_session(backend, session_id))
        except NotALedger:
            body = None
        # Another room's session is as absent as a deleted one: nothing about it is shown.
        if body is None or not access.sees(body[Field.ROOM_ID]):
            return done(text_response(404, "no such session"))
        if action == "export":
            fmt = request.query.get("format", "json")
            if fmt == "md":
                response = HttpResponse(200, session_markdown(body).encode(),
                                        "text/markdown; charset=utf-8")
            elif fmt == "json":
                response = HttpResponse(200, orjson.dumps(body, option=orjson.OPT_INDENT_2),
                                        "application/json")
            else:
                return done(text_response(400, "format must be md or json"))
            response.headers["Content-Disposition"] = (
                f'attachment; filename="session-{session_id}.{fmt}"')
            return done(response)
        return done(json_response(body))

    async def delete(request: HttpRequest, access: Access, session_id: str) -> HttpResponse:
        if not auth.same_origin(request, access):
            return text_response(403, "cross-origin request refused")
        try:
            found = await in_thread(lambda: session_room(backend, session_id))
        except NotALedger:
            found = None
        if found is None or not access.sees(found[0]):
            return text_response(404, "no such session")
        if not found[1]:
            return text_response(409, "the session is live: delete it once it has ended")
        try:
            await in_thread(lambda: erase_session(backend, session_id))
        except NoSuchSession:
            return text_response(404, "no such session")
        except SessionRunning:
            return text_response(409, "the session is live: delete it once it has ended")
        return HttpResponse(204)

    router.add("GET", PAGE, serve_page)
    router.add_prefix("GET", PAGE + "/", serve_page)
    router.add("POST", f"{API}/login", login)
    router.add("POST", f"{API}/logout", logout)
    router.add("GET", f"{API}/me", whoami)
    router.add("GET", SESSIONS, sessions)
    router.add_prefix("GET", SESSIONS + "/", one)
    router.add_prefix("DELETE", SESSIONS + "/", one)
