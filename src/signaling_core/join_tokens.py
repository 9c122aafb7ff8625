"""Signed join tokens: HS256 JWTs that bind a join's room and identity, with an expiry.

With ``--join-secret`` set, every ``join`` must carry a token minted here (or by an integrator's
backend with the same secret). The token's claims are the join's own fields, so the format is
part of the protocol and lives in the core package, where both the server (which verifies) and
``orb-worker`` (which mints its orb's token) find it without depending on each other.

It is not part of the state machine: :class:`~signaling_core.SignalingCore` never imports it
and checks no signature. A server hands the core :func:`make_authorizer`'s callable, which
checks the signature, the expiry against the wall clock, and that every claim equals the join's
own field. No function here reads a clock: the caller passes ``now`` (wall-clock seconds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt

from signaling_core import JoinRequest

from .wire import AI, HUMAN, JOIN_TOKEN_CLAIMS

ALGORITHM = "HS256"
#: Clock skew tolerated between the minting backend and this server.
LEEWAY_SECONDS = 5.0
DEFAULT_TTL_SECONDS = 3600


def mint_token(
    secret: str,
    *,
    room_id: str,
    user_id: str,
    user_role: str,
    participant_type: str | None = None,
    ttl: float = DEFAULT_TTL_SECONDS,
    now: float,
) -> str:
    """A token allowing exactly one identity into exactly one room until ``now + ttl``."""
    issued = now
    ptype = participant_type or (AI if user_role == AI else HUMAN)
    identity = (room_id, user_id, user_role, ptype)
    claims: dict[str, object] = {
        **dict(zip(JOIN_TOKEN_CLAIMS, identity, strict=True)),
        "iat": int(issued),
        "exp": int(issued + ttl),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verified_claims(secret: str, token: str | None, now: float) -> dict[str, Any] | None:
    """The claims of ``token`` when it is signed with ``secret``, unexpired and complete;
    else None. What the token allows is for the caller to compare (see :func:`token_allows`).
    """
    if not token:
        return None
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=[ALGORITHM], leeway=LEEWAY_SECONDS,
            options={"require": ["exp", *JOIN_TOKEN_CLAIMS],
                     # Time is ours to check, against the caller's ``now``: PyJWT's checks
                     # would read the wall clock.
                     "verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.PyJWTError:
        return None
    if float(claims["exp"]) + LEEWAY_SECONDS < now:
        return None
    return claims


def token_allows(secret: str, token: str | None, room_id: str, request: JoinRequest,
                 now: float) -> bool:
    """Whether ``token`` is valid now and its claims equal the join's fields."""
    claims = verified_claims(secret, token, now)
    if claims is None:
        return False
    joined = (room_id, request.user_id, request.user_role, request.participant_type)
    return all(claims[name] == value
               for name, value in zip(JOIN_TOKEN_CLAIMS, joined, strict=True))


def make_authorizer(secret: str,
                    clock: Callable[[], float]) -> Callable[[str, JoinRequest], bool]:
    """The ``authorize_join`` hook for :class:`signaling_core.SignalingCore`; ``clock`` gives
    the wall-clock time (the server's ``time.time``), which the core itself never reads."""

    def authorize(room_id: str, request: JoinRequest) -> bool:
        return token_allows(secret, request.token, room_id, request, clock())

    return authorize
