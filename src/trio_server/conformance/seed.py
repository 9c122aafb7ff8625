"""The original protocol as the seed shows it, and the guard that keeps original cases to it.

The seed (the original system's architecture note) shows a handful of message shapes and no
more. A case of the ``original`` profile may send only the seed's client messages and look only
at the fields the seed shows in what comes back: every message it reads is a :class:`SeedView`,
which raises :class:`ProfileViolation` when the case asks for anything else (``roomId`` in
``peer-discovery``, an ``error``, ``shouldCreateOffer`` in a peer entry, ...). That is a bug of
the suite, not of the server under test, and it makes the case fail against every server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from signaling_core.wire import Field, MessageType

#: What a client of the original sends.
SEED_CLIENT_TYPES = frozenset({MessageType.JOIN, MessageType.OFFER, MessageType.ANSWER,
                               MessageType.ICE_CANDIDATE, MessageType.PING, MessageType.LEAVE})

#: Relayed as sent, plus ``fromId``: every field the sender wrote is fair to check.
SEED_RELAYED = frozenset({MessageType.OFFER, MessageType.ANSWER, MessageType.ICE_CANDIDATE})

PEER_FIELDS = frozenset({Field.USER_ID, Field.USER_NAME, Field.USER_ROLE, Field.PARTICIPANT_TYPE})

#: The fields the seed shows in each message the server sends (besides relayed ones).
SEED_SERVER_FIELDS: Mapping[str, frozenset[str]] = {
    MessageType.PEER_DISCOVERY: frozenset({Field.TYPE, Field.PEERS}),
    MessageType.USER_JOINED: frozenset({Field.TYPE, Field.SHOULD_CREATE_OFFER}) | PEER_FIELDS,
    MessageType.USER_LEFT: frozenset({Field.TYPE, Field.USER_ID}),
    MessageType.PONG: frozenset({Field.TYPE}),
}
#: The message types an original client knows; it ignores any other (an extension).
SEED_SERVER_TYPES = frozenset(SEED_SERVER_FIELDS) | SEED_RELAYED


class ProfileViolation(Exception):
    """An ``original`` case relied on something only the extensions define (a suite bug)."""


_PEER_ENTRY = "peer-discovery entry"


class SeedView(dict[str, Any]):
    """A received message whose non-seed fields cannot be read.

    Iterating, comparing and printing see the whole message (so a case may still say "this
    relayed message gained fields"), but ``m[k]`` and ``m.get(k)`` of a field the seed does
    not show raise :class:`ProfileViolation`.
    """

    def __init__(self, message: Mapping[str, Any], shape: str) -> None:
        super().__init__(message)
        self._shape = shape

    def _allowed(self, key: str) -> bool:
        if key == Field.TYPE or self._shape in SEED_RELAYED:
            return True
        if self._shape == _PEER_ENTRY:
            return key in PEER_FIELDS
        return key in SEED_SERVER_FIELDS.get(self._shape, frozenset())

    def _guard(self, key: str) -> None:
        if not self._allowed(key):
            raise ProfileViolation(
                f"an original-profile case read {self._shape}.{key}, which the seed's protocol "
                "does not define (a bug of the suite)")

    def __getitem__(self, key: str) -> Any:
        self._guard(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._guard(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self._guard(str(key))
        return super().__contains__(key)


def seed_view(message: dict[str, Any]) -> SeedView:
    """``message`` as an original client may see it; peer entries are guarded too."""
    mtype = str(message.get(Field.TYPE))
    view = SeedView(message, mtype)
    peers = message.get(Field.PEERS)
    if mtype == MessageType.PEER_DISCOVERY and isinstance(peers, list):
        dict.__setitem__(view, Field.PEERS, [
            SeedView(p, _PEER_ENTRY) if isinstance(p, dict) else p for p in peers])
    return view


def check_seed_send(message: Mapping[str, object] | str) -> None:
    """An original case may send only what a client of the original sends (or raw text)."""
    if isinstance(message, str):
        return
    mtype = message.get(Field.TYPE)
    if mtype not in SEED_CLIENT_TYPES:
        raise ProfileViolation(f"an original-profile case sent {mtype!r}, which the seed's "
                               "protocol does not define (a bug of the suite)")
