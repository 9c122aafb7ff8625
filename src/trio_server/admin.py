"""Who may read the admin endpoints (``/api/rooms``, ``/api/sessions``, and any added later).

The room list is a list of ways into calls (without join tokens a room id is all a caller
needs), and session records name people; so an admin endpoint must never answer a stranger
just because the operator forgot a flag. The rules, in order:

1. With ``--admin-token`` set, a request needs ``Authorization: Bearer <token>``, from any
   address (401 otherwise). Nothing else is asked.
2. Without it, a route marked as carrying conversation content (transcripts, summaries) is
   refused to everyone, loopback included: such content is only ever served behind the token.
3. Without it, a client that is not on loopback is refused with 403 naming ``--admin-token``:
   the server may listen on ``0.0.0.0``, but its admin side stays local unless a token is set.
4. Without it, with join tokens on, everyone is refused (an open room list would undo them).

Every admin route is registered through :meth:`AdminGate.add`, which wraps the handler in
these checks, so a new route cannot forget them; ``carries_content`` is a required argument
so that whoever adds a route must decide.
"""

from __future__ import annotations

import hmac

from .admission import address_key
from .http import Handler, HttpRequest, HttpResponse, Router, text_response

_NO_STORE = {"Cache-Control": "no-store"}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address, no port) is loopback; unknown or empty: no."""
    return bool(host) and address_key(host)[1]


def bearer_matches(request: HttpRequest, token: str) -> bool:
    """``Authorization: Bearer <token>``; the scheme in any case (RFC 7235), the token
    compared in constant time so that its bytes cannot be guessed from response times."""
    scheme, _, given = request.headers.get("authorization", "").strip().partition(" ")
    # Both sides always go through compare_digest, whatever the scheme said.
    same = hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))
    return same and scheme.lower() == "bearer"


class AdminGate:
    """The admin endpoints' access rule (see the module docstring), and their registration."""

    def __init__(self, admin_token: str | None, join_tokens: bool) -> None:
        self._token = admin_token
        self._join_tokens = join_tokens
        #: Paths registered as carrying conversation content (for tests and docs).
        self.content_routes: set[str] = set()

    def refusal(self, request: HttpRequest, *, carries_content: bool) -> HttpResponse | None:
        """The answer refusing ``request``, or None when it may be served."""
        if self._token is not None:
            if bearer_matches(request, self._token):
                return None
            return text_response(401, "unauthorized",
                                 {"WWW-Authenticate": 'Bearer realm="signaling"'})
        if carries_content:
            return text_response(403, f"{request.path} carries conversation content and is "
                                 "served only with --admin-token set (env "
                                 "SIGNALING_ADMIN_TOKEN), with 'Authorization: Bearer TOKEN'")
        if not is_loopback(request.client):
            return text_response(403, "admin endpoints answer only loopback clients unless "
                                 "--admin-token is set (env SIGNALING_ADMIN_TOKEN): set it to "
                                 f"read {request.path} from another address")
        if self._join_tokens:
            # Joins are guarded; an open list of rooms and userIds would undo that.
            return text_response(403, "this server requires join tokens: set --admin-token "
                                 f"to read {request.path}")
        return None

    def add(self, router: Router, path: str, handler: Handler, *,
            carries_content: bool, prefix: bool = False) -> None:
        """Register ``GET path`` (with ``prefix``: every path under it) behind the gate;
        answers are never cached."""

        async def guarded(request: HttpRequest) -> HttpResponse:
            refusal = self.refusal(request, carries_content=carries_content)
            if refusal is not None:
                return refusal
            response = await handler(request)
            response.headers.update(_NO_STORE)
            return response

        if prefix:
            router.add_prefix("GET", path, guarded)
        else:
            router.add("GET", path, guarded)
        if carries_content:
            self.content_routes.add(path)
