"""ICE servers for ``RTCPeerConnection`` (docs/protocol.md), with TURN REST credentials.

coturn's ``use-auth-secret`` accepts a username whose part before the first ``:`` is a Unix
expiry time, and whose password is ``base64(HMAC-SHA1(secret, username))``; nothing is stored,
the TURN server recomputes it. The rest of the username is ours: ``{expiry}:{roomId}:{userId}``
binds the credential to the participant it was issued to (coturn logs it with every
allocation), and ``{expiry}:{userId}`` is issued when no room was named (servers without join
tokens, clients that do not say). Neither a room id nor a userId may contain ``:``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any


def turn_password(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def turn_username(*, expiry: int, user_id: str, room_id: str | None = None) -> str:
    """The TURN REST username for ``user_id`` (in ``room_id``) valid until ``expiry``."""
    if room_id is None:
        return f"{expiry}:{user_id}"
    return f"{expiry}:{room_id}:{user_id}"


def ice_servers(
    *, user_id: str, now: float, stun_urls: tuple[str, ...], turn_url: str | None,
    turn_secret: str | None, ttl: int, room_id: str | None = None,
) -> dict[str, Any]:
    """The ``{"iceServers": [...]}`` body; empty without STUN or TURN (loopback and LAN)."""
    servers: list[dict[str, Any]] = []
    if stun_urls:
        servers.append({"urls": list(stun_urls)})
    if turn_url and turn_secret:
        username = turn_username(expiry=int(now) + ttl, user_id=user_id, room_id=room_id)
        servers.append({
            "urls": [turn_url],
            "username": username,
            "credential": turn_password(turn_secret, username),
        })
    return {"iceServers": servers}
