"""ICE servers for ``RTCPeerConnection`` (docs/protocol.md), with TURN REST credentials.

coturn's ``use-auth-secret`` accepts a username ``{expiry}:{userId}`` whose password is
``base64(HMAC-SHA1(secret, username))``; nothing is stored, the TURN server recomputes it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any


def turn_password(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def ice_servers(
    *, user_id: str, now: float, stun_urls: tuple[str, ...], turn_url: str | None,
    turn_secret: str | None, ttl: int,
) -> dict[str, Any]:
    """The ``{"iceServers": [...]}`` body; empty without STUN or TURN (loopback and LAN)."""
    servers: list[dict[str, Any]] = []
    if stun_urls:
        servers.append({"urls": list(stun_urls)})
    if turn_url and turn_secret:
        username = f"{int(now) + ttl}:{user_id}"
        servers.append({
            "urls": [turn_url],
            "username": username,
            "credential": turn_password(turn_secret, username),
        })
    return {"iceServers": servers}
