"""A protocol participant as the suite sees it: one trio-websocket connection with checks.

Every read names what it waits for, so a case that times out says where it was stuck. The
"nothing else arrived" checks rest on one idea: the server answers ``ping`` in order with
everything else it sends to that connection, so whatever it had queued for us before it read
our ping arrives before the ``pong`` (see :meth:`Peer.sync`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection

from signaling_core import join_message
from signaling_core.wire import Field, MessageType

from .registry import CaseFailed, Profile, check
from .seed import SEED_SERVER_TYPES, ProfileViolation, check_seed_send, seed_view


def short(message: object, limit: int = 160) -> str:
    """A message as compact JSON, cut to fit on the report line."""
    text = message if isinstance(message, str) else json.dumps(message, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


@attrs.frozen
class Who:
    """A participant to join as: what the suite sends, and what the others must see."""

    user_id: str
    role: str
    name: str = ""
    participant_type: str | None = None

    def join_message(self, room_id: str | None, *, seed_shape: bool = False) -> dict[str, object]:
        """The ``join`` to send; ``seed_shape`` always names the participantType, as the seed's
        clients do (an original server need not know the default)."""
        ptype = self.public[Field.PARTICIPANT_TYPE] if seed_shape else self.participant_type
        return join_message(room_id, self.user_id, self.role,
                            user_name=self.name or self.user_id, participant_type=ptype)

    @property
    def public(self) -> dict[str, str]:
        """The four fields every other participant must be shown (docs/protocol.md, "join")."""
        ptype = self.participant_type or ("ai" if self.role == "ai" else "human")
        return {Field.USER_ID: self.user_id, Field.USER_NAME: self.name or self.user_id,
                Field.USER_ROLE: self.role, Field.PARTICIPANT_TYPE: ptype}


class Peer:
    """One open connection to ``/ws-simple/{room_id}``, joined or not."""

    def __init__(self, ws: WebSocketConnection, label: str, room_id: str, profile: Profile,
                 note: Callable[[str], None]) -> None:
        self.ws = ws
        self.label = label
        self.room_id = room_id
        self.profile = profile
        self._note = note
        self.who: Who | None = None

    @property
    def original(self) -> bool:
        """Owned by an ``original`` case: sends and reads only what the seed defines."""
        return self.profile is Profile.ORIGINAL

    async def send(self, message: Mapping[str, object] | str) -> None:
        if self.original:
            check_seed_send(message)
        text = message if isinstance(message, str) else json.dumps(message)
        await self.ws.send_message(text)

    async def recv(self, waiting_for: str = "a message") -> dict[str, Any]:
        """The next message, which must be a JSON object with a string ``type``.

        An ``original`` case skips messages of types the seed does not know, as a client of
        the original does (its ``switch`` on ``type`` has no case for them): an extension
        may add messages, it may not take the seed's away.
        """
        while True:
            message = await self._recv_any(waiting_for)
            if not self.original or message[Field.TYPE] in SEED_SERVER_TYPES:
                return seed_view(message) if self.original else message

    async def _recv_any(self, waiting_for: str) -> dict[str, Any]:
        self._note(f"{self.label} waiting for {waiting_for}")
        try:
            data = await self.ws.get_message()
        except ConnectionClosed as exc:
            raise CaseFailed(f"{self.label}: connection closed ({_reason(exc)}) while waiting "
                             f"for {waiting_for}") from None
        check(isinstance(data, str), f"{self.label}: server sent a binary frame")
        try:
            message = json.loads(data)
        except ValueError:
            raise CaseFailed(f"{self.label}: server sent invalid JSON {short(data)}") from None
        check(isinstance(message, dict) and isinstance(message.get(Field.TYPE), str),
              f"{self.label}: server sent a message without a string type",
              expected="a JSON object with a string type", got=short(data))
        assert isinstance(message, dict)
        return message

    async def expect(self, mtype: str,
                     fields: Mapping[str, object] | None = None) -> dict[str, Any]:
        """The next message must have ``type`` ``mtype`` and the given field values (named
        by their wire names, :class:`~signaling_core.wire.Field`)."""
        mtype = str(mtype)  # a MessageType reads as its plain value in the report
        if self.original and mtype not in SEED_SERVER_TYPES:
            raise ProfileViolation(f"an original-profile case waits for {mtype!r}, which the "
                                   "seed's protocol does not define (a bug of the suite)")
        message = await self.recv(mtype)
        check(message[Field.TYPE] == mtype,
              f"{self.label} expected {mtype}, got {message[Field.TYPE]}",
              expected=mtype, got=short(message))
        for name, value in (fields or {}).items():
            check(message.get(name) == value,
                  f"{self.label}: {mtype}.{name} is {short(message.get(name, '<absent>'))}, "
                  f"expected {short(value)}", expected=short(value), got=short(message))
        return message

    async def expect_error(self, code: str, ref: str | None = None) -> dict[str, Any]:
        """An ``error`` with a human ``message``, its ``code`` and, if given, its ``ref``.

        Errors are an extension (the original answers bad input with silence), so only
        ``full`` cases may wait for one.
        """
        code, ref = str(code), None if ref is None else str(ref)
        message = await self.expect(MessageType.ERROR)
        check(isinstance(message.get(Field.MESSAGE), str),
              f"{self.label}: error without a string message",
              expected="error with a string message", got=short(message))
        check(message.get(Field.CODE) == code,
              f"{self.label}: error code {message.get(Field.CODE)!r}, expected {code!r}",
              expected=f"error code {code!r}", got=short(message))
        if ref is not None and Field.REF in message:
            check(message[Field.REF] == ref,
                  f"{self.label}: error ref {message[Field.REF]!r}, expected {ref!r}",
                  expected=f"error ref {ref!r}", got=short(message))
        return message

    async def sync(self) -> list[dict[str, Any]]:
        """Send ``ping`` and return whatever arrives before its ``pong``."""
        await self.send({Field.TYPE: MessageType.PING})
        before: list[dict[str, Any]] = []
        while True:
            message = await self.recv(MessageType.PONG)
            if message[Field.TYPE] == MessageType.PONG:
                return before
            before.append(message)

    async def quiet(self, after: str) -> None:
        """Nothing may have been delivered to this connection (checked with :meth:`sync`).

        For an ``original`` case, messages of types the seed does not know (an extension's
        ``error``, say) do not count: :meth:`recv` skips them.
        """
        extra = await self.sync()
        check(not extra, f"{self.label} received {short(extra[0]) if extra else ''} {after}",
              expected="nothing", got=short(extra[0]) if extra else None)

    async def join(self, who: Who, *, room_id: str | None = None,
                   send_room_id: bool = True) -> dict[str, Any]:
        """Join as ``who``; returns the ``peer-discovery``, which must come first.

        A ``full`` case also holds it to the extension's ``roomId`` (the path's room).
        """
        target = self.room_id if room_id is None else room_id
        await self.send(who.join_message(target if send_room_id else None,
                                         seed_shape=self.original))
        discovery = await self.expect(MessageType.PEER_DISCOVERY)
        if not self.original:
            check(discovery.get(Field.ROOM_ID) == self.room_id,
                  f"{self.label}: peer-discovery.roomId is {discovery.get(Field.ROOM_ID)!r}, "
                  f"expected {self.room_id!r}", expected=f"roomId {self.room_id!r}",
                  got=short(discovery))
        check(isinstance(discovery.get(Field.PEERS), list),
              f"{self.label}: peer-discovery.peers is not a list",
              expected="peers: a list", got=short(discovery))
        self.who = who
        return discovery

    async def expect_closed(self, code: int | None = None) -> tuple[int | None, str | None]:
        """Read until the server closes; returns (code, reason). Messages before are skipped."""
        self._note(f"{self.label} waiting for the server to close (code {code})")
        while True:
            try:
                await self.ws.get_message()
            except ConnectionClosed as exc:
                got = exc.reason.code if exc.reason is not None else None
                reason = exc.reason.reason if exc.reason is not None else None
                if code is not None:
                    check(got == code, f"{self.label}: closed with {got} ({reason!r}), "
                                       f"expected {code}",
                          expected=f"close code {code}", got=f"close code {got} ({reason!r})")
                return got, reason

    async def aclose(self) -> None:
        """Close cleanly (1000); never raises and never waits more than two seconds."""
        with trio.move_on_after(2):
            # The server may already be gone; closing must never fail a case.
            with contextlib.suppress(Exception):
                await self.ws.aclose()


def _reason(exc: ConnectionClosed) -> str:
    reason = exc.reason
    if reason is None:
        return "no close frame"
    return f"{reason.code} {reason.reason or ''}".strip()
