"""Checks shared by several cases: participant fields, relayed copies, and settling."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import trio

from signaling_core.wire import Field, MessageType

from ..client import Peer, Who, short
from ..registry import check

#: How long to let the server act on an event the suite cannot observe directly (a close
#: on another connection) before checking that it had no unwanted effect.
SETTLE_SECONDS = 0.3


async def settle() -> None:
    await trio.sleep(SETTLE_SECONDS)


def check_public(label: str, got: Mapping[str, Any], who: Who, what: str) -> None:
    """``got`` carries ``who``'s four participant fields, exactly as joined (the seed shows
    all four in ``peer-discovery`` entries and in ``user-joined``)."""
    for name, value in who.public.items():
        check(got.get(name) == value,
              f"{label}: {what}.{name} is {short(got.get(name, '<absent>'))}, expected "
              f"{short(value)}", expected=f"{what} with {name} {short(value)}",
              got=short(got))


def check_relayed(label: str, got: Mapping[str, Any], sent: Mapping[str, Any],
                  from_id: str) -> None:
    """``got`` is ``sent`` unchanged plus ``fromId`` set to the true sender (docs/protocol.md)."""
    wanted = {**{k: v for k, v in sent.items() if k != Field.FROM_ID}, Field.FROM_ID: from_id}
    check(got.get(Field.FROM_ID) == from_id,
          f"{label}: {sent[Field.TYPE]}.fromId is {got.get(Field.FROM_ID)!r}, expected {from_id!r}",
          expected=short(wanted), got=short(got))
    for name, value in sent.items():
        if name == Field.FROM_ID:
            continue
        check(got.get(name) == value,
              f"{label}: relayed {sent[Field.TYPE]}.{name} is {short(got.get(name, '<absent>'))},"
              f" sent {short(value)}", expected=short(wanted), got=short(got))
    extra = set(got) - set(sent) - {Field.FROM_ID}
    check(not extra, f"{label}: relayed {sent[Field.TYPE]} gained fields {sorted(extra)}",
          expected=short(wanted), got=short(got))


async def expect_user_left(peer: Peer, who: Who) -> None:
    """One ``user-left`` for ``who``: its userId (the seed's shape); a ``full`` case also
    holds it to the four participant fields docs/protocol.md adds."""
    left = await peer.expect(MessageType.USER_LEFT)
    if peer.original:
        check(left.get(Field.USER_ID) == who.user_id,
              f"{peer.label}: user-left.userId is {left.get(Field.USER_ID)!r}, expected "
              f"{who.user_id!r}", expected=f"user-left for {who.user_id!r}", got=short(left))
    else:
        check_public(peer.label, left, who, MessageType.USER_LEFT)


async def all_quiet(peers: list[Peer], after: str) -> None:
    for peer in peers:
        await peer.quiet(after)
