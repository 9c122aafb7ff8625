"""The server's own HTTP endpoints: health, metrics, the room snapshot and ICE configuration.

Handlers only read: none of them changes the core's state.
"""

from __future__ import annotations

import hmac
import re
import time
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .http import HttpRequest, HttpResponse, Router, json_response, text_response
from .ledger import Ledger, SessionsApi
from .turn import ice_servers
from .version import VERSION

if TYPE_CHECKING:
    from .server import SignalingServer

_NO_STORE = {"Cache-Control": "no-store"}
_USER_ID = re.compile(r"[^\x00-\x1f\x7f:]{1,128}")


def _bearer_matches(request: HttpRequest, token: str) -> bool:
    """``Authorization: Bearer <token>``; the scheme in any case (RFC 7235), the token
    compared in constant time so that its bytes cannot be guessed from response times."""
    scheme, _, given = request.headers.get("authorization", "").strip().partition(" ")
    # Both sides always go through compare_digest, whatever the scheme said.
    same = hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))
    return same and scheme.lower() == "bearer"


def register(router: Router, server: SignalingServer) -> None:
    config = server.config

    async def healthz(request: HttpRequest) -> HttpResponse:
        core = server.core
        return json_response({
            "status": "stopping" if server.stopping else "ok",
            "version": VERSION,
            "uptime": round(server.uptime(), 3),
            "rooms": core.room_count,
            "connections": core.connection_count,
            "orbs": core.orb_count,
        })

    async def metrics(request: HttpRequest) -> HttpResponse:
        return HttpResponse(200, generate_latest(server.registry), CONTENT_TYPE_LATEST)

    def admin_refusal(request: HttpRequest) -> HttpResponse | None:
        """The refusal for an admin endpoint (/api/rooms, /api/sessions), None to go on."""
        token = config.admin_token
        if token is None and config.join_secret:
            # Joins are guarded; an open list of rooms and userIds would undo that.
            return text_response(403, "this server requires join tokens: set --admin-token "
                                 f"to read {request.path}")
        if token is not None and not _bearer_matches(request, token):
            return text_response(401, "unauthorized",
                                 {"WWW-Authenticate": 'Bearer realm="signaling"'})
        return None

    async def rooms(request: HttpRequest) -> HttpResponse:
        refusal = admin_refusal(request)
        if refusal is not None:
            return refusal
        response = json_response(server.core.snapshot().to_dict())
        response.headers.update(_NO_STORE)
        return response

    async def turn_credentials(request: HttpRequest) -> HttpResponse:
        user_id = request.query.get("userId", "anonymous")
        if _USER_ID.fullmatch(user_id) is None:
            return text_response(400, "userId must be 1-128 characters without ':'")
        body = ice_servers(user_id=user_id, now=time.time(), stun_urls=config.stun_urls,
                           turn_url=config.turn_url, turn_secret=config.turn_secret,
                           ttl=config.turn_ttl)
        response = json_response(body)
        response.headers.update(_NO_STORE)
        return response

    router.add("GET", "/healthz", healthz)
    router.add("GET", "/metrics", metrics)
    router.add("GET", "/api/rooms", rooms)
    router.add("GET", "/api/turn-credentials", turn_credentials)

    if isinstance(server.ledger, Ledger):  # --db none: no /api/sessions (404)
        sessions_api = SessionsApi(server.ledger.reader())

        async def sessions(request: HttpRequest) -> HttpResponse:
            refusal = admin_refusal(request)
            if refusal is not None:
                return refusal
            status, body = await sessions_api(request.query)
            return HttpResponse(status, body, "application/json", dict(_NO_STORE))

        router.add("GET", "/api/sessions", sessions)
