"""The server's own HTTP endpoints: health, metrics, the room snapshot and ICE configuration.

Handlers only read: none of them changes the core's state.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import trio
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from signaling_core import is_valid_room_id
from signaling_core.join_tokens import verified_claims
from signaling_core.orb_hosting import ObservableOrbHost
from signaling_core.wire import Field, HttpField

from .http import HttpRequest, HttpResponse, Router, json_response, text_response
from .ledger import Ledger, SessionsApi
from .ratelimit import PerAddressLimit
from .turn import ice_servers
from .version import VERSION

if TYPE_CHECKING:
    from .server import SignalingServer

_NO_STORE = {"Cache-Control": "no-store"}
_USER_ID = re.compile(r"[^\x00-\x1f\x7f:]{1,128}")


def turn_grant(request: HttpRequest,
               join_secret: str | None) -> tuple[str | None, str] | HttpResponse:
    """(room id or None, userId) a TURN credential may be issued for, or the refusal.

    With join tokens on, only a participant gets one: the request carries its join token as
    ``Authorization: Bearer`` (a header, so it stays out of URLs and access logs), and the
    credential names the token's own room and userId. ``roomId``/``userId`` in the query may
    repeat them; differing ones are refused, so a client learns at once that it holds the
    wrong token. Without join tokens, identity is whatever the client claims, as for joins.
    """
    room_id = request.query.get(Field.ROOM_ID) or None
    user_id = request.query.get(Field.USER_ID) or None
    if room_id is not None and not is_valid_room_id(room_id):
        return text_response(400, "roomId must be a valid room id")
    if user_id is not None and _USER_ID.fullmatch(user_id) is None:
        return text_response(400, "userId must be 1-128 characters without ':'")
    if not join_secret:
        return room_id, user_id or "anonymous"
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    claims = (verified_claims(join_secret, token.strip(), now=time.time())
              if scheme.lower() == "bearer" else None)
    if claims is None:
        return text_response(401, "TURN credentials need a valid join token: send "
                             "'Authorization: Bearer TOKEN'",
                             {"WWW-Authenticate": 'Bearer realm="signaling"'})
    granted_room, granted_user = str(claims[Field.ROOM_ID]), str(claims[Field.USER_ID])
    if room_id not in (None, granted_room) or user_id not in (None, granted_user):
        return text_response(403, "the join token is for another room or user")
    if _USER_ID.fullmatch(granted_user) is None:
        return text_response(403, "the join token's userId cannot name a TURN user")
    return granted_room, granted_user


def local_rooms(server: SignalingServer) -> dict[str, Any]:
    """This node's rooms as ``/api/rooms`` shows them (also what the cluster view publishes)."""
    body = server.core.snapshot().to_dict()
    body[HttpField.NODE] = server.node_id
    for room in body[HttpField.ROOMS]:
        room[HttpField.NODE] = server.node_id
    host = server.orb_host
    if isinstance(host, ObservableOrbHost):  # where each room's orb runs (--orb-dispatch)
        placements = host.orb_placements()
        for room in body[HttpField.ROOMS]:
            room[HttpField.ORB_HOST] = placements.get(room[Field.ROOM_ID])
    return body


def register(router: Router, server: SignalingServer) -> None:
    config = server.config

    async def healthz(request: HttpRequest) -> HttpResponse:
        # 503 from the first moment of a drain: the balancer's check is what stops new
        # connections coming here, so it must fail before the connections are closed.
        core = server.core
        status = "stopping" if server.stopping else "draining" if server.draining else "ok"
        return json_response({
            HttpField.NODE_STATUS: status,
            HttpField.NODE: server.node_id,
            HttpField.VERSION: VERSION,
            HttpField.UPTIME: round(server.uptime(), 3),
            HttpField.ROOMS: core.room_count,
            HttpField.CONNECTIONS: core.connection_count,
            HttpField.ORBS: core.orb_count,
        }, status=200 if status == "ok" else 503)

    async def metrics(request: HttpRequest) -> HttpResponse:
        return HttpResponse(200, generate_latest(server.registry), CONTENT_TYPE_LATEST)

    async def rooms(request: HttpRequest) -> HttpResponse:
        scope = request.query.get("scope") or "local"
        if scope == "local":
            return json_response(local_rooms(server))
        if scope != "cluster":
            return json_response({"error": f"unknown scope {scope!r}: 'local' (this node, "
                                           "the default) or 'cluster' (every node)"}, 400)
        view = server.cluster_view
        if view is None:
            return json_response({"error": "this node has no cluster view: start it with "
                                           "--cluster redis://... (env SIGNALING_CLUSTER)"},
                                 404)
        from .cluster_view import ClusterUnavailable

        try:
            body = await view.read(local=server.cluster_document())
        except ClusterUnavailable as exc:
            response = json_response({"error": f"the cluster view is unavailable: {exc}; "
                                               "scope=local still answers"}, 503)
            response.headers["Retry-After"] = "1"
            return response
        body[HttpField.NODE] = server.node_id
        return json_response(body)

    turn_limit = PerAddressLimit(config.turn_rate_limit, max(1, int(config.turn_rate_limit)),
                                 cap_loopback=config.cap_loopback)

    async def turn_credentials(request: HttpRequest) -> HttpResponse:
        wait = turn_limit.retry_after(request.client, trio.current_time())
        if wait:
            return text_response(429, "too many TURN credential requests from your address; "
                                 f"try again in {wait} s", {"Retry-After": str(wait)})
        grant = turn_grant(request, config.join_secret)
        if isinstance(grant, HttpResponse):
            return grant
        room_id, user_id = grant
        body = ice_servers(user_id=user_id, room_id=room_id, now=time.time(),
                           stun_urls=config.stun_urls, turn_url=config.turn_url,
                           turn_secret=config.turn_secret, ttl=config.turn_ttl)
        response = json_response(body)
        response.headers.update(_NO_STORE)
        return response

    router.add("GET", "/healthz", healthz)
    router.add("GET", "/metrics", metrics)
    server.admin.add(router, "/api/rooms", rooms, carries_content=False)
    router.add("GET", "/api/turn-credentials", turn_credentials)

    if isinstance(server.ledger, Ledger):  # --db none: no /api/sessions (404)
        sessions_api = SessionsApi(server.ledger.reader())

        async def sessions(request: HttpRequest) -> HttpResponse:
            status, body = await sessions_api(request.query)
            return HttpResponse(status, body, "application/json")

        # Who took part, when, and how it ended: no words of the conversation. A route that
        # serves transcripts or summaries must say carries_content=True.
        server.admin.add(router, "/api/sessions", sessions, carries_content=False)

        async def one_session(request: HttpRequest) -> HttpResponse:
            session_id = request.path.removeprefix("/api/sessions/")
            status, body = await sessions_api.one(session_id)
            return HttpResponse(status, body, "application/json")

        # The transcript and summary: the words of the conversation, behind the token only.
        server.admin.add(router, "/api/sessions/", one_session, carries_content=True,
                         prefix=True)
