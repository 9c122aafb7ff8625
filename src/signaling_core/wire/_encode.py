"""Encoding sent messages: the same bytes, key order included, the protocol always had."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import orjson

from ._parse import (
    TranscriptLine,
)
from ._vocabulary import (
    ErrorCode,
    Field,
    MessageType,
)


def encode(message: Mapping[str, object]) -> bytes:
    """UTF-8 JSON of one message, ready to be sent as a text frame."""
    return orjson.dumps(message)


PONG: Final = orjson.dumps({Field.TYPE: MessageType.PONG.value})


def error(code: ErrorCode, message: str, ref: str | None = None) -> bytes:
    body: dict[str, object] = {Field.TYPE: MessageType.ERROR.value, Field.CODE: code.value,
                               Field.MESSAGE: message}
    if ref is not None:
        body[Field.REF] = ref
    return orjson.dumps(body)


def participant_fields(user_id: str, user_name: str, user_role: str,
                       participant_type: str) -> dict[str, str]:
    """A participant as the server describes it (``peer-discovery``, ``user-*``)."""
    return {Field.USER_ID: user_id, Field.USER_NAME: user_name, Field.USER_ROLE: user_role,
            Field.PARTICIPANT_TYPE: participant_type}


def discovered_peer(public: Mapping[str, str], should_create_offer: bool, *,
                    away: bool = False, resumed_status: str | None = None) -> dict[str, object]:
    """One entry of ``peer-discovery``'s ``peers``."""
    entry: dict[str, object] = dict(public)
    entry[Field.SHOULD_CREATE_OFFER] = should_create_offer
    if resumed_status is not None:
        entry[Field.STATUS] = resumed_status
    if away:
        entry[Field.AWAY] = True
    return entry


def peer_discovery(room_id: str, peers: Iterable[Mapping[str, object]],
                   resume_token: str | None = None,
                   left: Sequence[Mapping[str, str]] | None = None,
                   *, orb_mode: str | None = None) -> bytes:
    """``left`` is given (possibly empty) only for a resumed seat, which also says so;
    ``orbMode`` is the room's ``ai_mode`` (an orb joining learns it here)."""
    body: dict[str, object] = {Field.TYPE: MessageType.PEER_DISCOVERY.value,
                               Field.ROOM_ID: room_id, Field.PEERS: list(peers)}
    if orb_mode is not None:
        body[Field.ORB_MODE] = orb_mode
    if resume_token:
        body[Field.RESUME_TOKEN] = resume_token
    if left is not None:
        body[Field.RESUMED] = True
        body[Field.LEFT] = list(left)
    return orjson.dumps(body)


def user_away(public: Mapping[str, str]) -> bytes:
    return orjson.dumps({Field.TYPE: MessageType.USER_AWAY.value, **public})


def user_back(public: Mapping[str, str]) -> bytes:
    return orjson.dumps({Field.TYPE: MessageType.USER_BACK.value, **public})


def user_joined(public: Mapping[str, str], should_create_offer: bool) -> bytes:
    return orjson.dumps({Field.TYPE: MessageType.USER_JOINED.value, **public,
                         Field.SHOULD_CREATE_OFFER: should_create_offer})


def user_left(public: Mapping[str, str]) -> bytes:
    return orjson.dumps({Field.TYPE: MessageType.USER_LEFT.value, **public})


def session_ended(reason: str, by: str) -> bytes:
    """``session-ended``: the call is over for everyone (``end_session`` by coach ``by``)."""
    return orjson.dumps({Field.TYPE: MessageType.SESSION_ENDED.value, Field.REASON: reason,
                         Field.BY: by})


def ai_mode(mode: str, by: str) -> bytes:
    """``ai-mode``: coach ``by`` set whom the orb talks to (sent to everyone, the orb too)."""
    return orjson.dumps({Field.TYPE: MessageType.AI_MODE_CHANGED.value, Field.MODE: mode,
                         Field.BY: by})


def ai_ask_relayed(from_id: str, user_role: str) -> bytes:
    """``ai_ask`` as the orb gets it: who asks, and in which role."""
    return orjson.dumps({Field.TYPE: MessageType.AI_ASK.value, Field.FROM_ID: from_id,
                         Field.USER_ROLE: user_role})


def ai_transcript(line: TranscriptLine, from_id: str | None = None) -> dict[str, Any]:
    """The ``ai_transcript`` message of ``line`` (relayed with the orb's ``fromId``)."""
    message: dict[str, Any] = {Field.TYPE: MessageType.AI_TRANSCRIPT.value, **line.fields()}
    if from_id is not None:
        message[Field.FROM_ID] = from_id
    return message


def ai_summary(session_id: str, text: str, method: str, key_topics: Iterable[str],
               goals: Iterable[str]) -> dict[str, Any]:
    """The ``ai_summary`` the orb sends (the core relays it as sent, plus ``fromId``)."""
    return {Field.TYPE: MessageType.AI_SUMMARY.value, Field.SESSION_ID: session_id,
            Field.TEXT: text, Field.METHOD: method, Field.KEY_TOPICS: list(key_topics),
            Field.GOALS: list(goals)}


def orb_shutdown(reason: str, session_id: str | None = None) -> dict[str, Any]:
    """``ai-orb-shutdown`` with one of the shutdown reasons (and the orb's ``sessionId``, which
    the orb sends before the reason)."""
    if session_id is None:
        return {Field.TYPE: MessageType.ORB_SHUTDOWN.value, Field.REASON: reason}
    return {Field.TYPE: MessageType.ORB_SHUTDOWN.value, Field.SESSION_ID: session_id,
            Field.REASON: reason}


def ping() -> dict[str, Any]:
    """``ping``: the server answers ``pong`` (a client's liveness check of its link)."""
    return {Field.TYPE: MessageType.PING.value}


def orb_heartbeat(session_id: str, metrics: Mapping[str, object]) -> dict[str, Any]:
    """``orb_heartbeat``: the orb's liveness, with flat metrics the admin snapshot shows."""
    return {Field.TYPE: MessageType.ORB_HEARTBEAT.value, Field.SESSION_ID: session_id,
            Field.METRICS: dict(metrics)}


def orb_status(status: str, session_id: str, *, transcribing: bool, voice: str,
               mode: str) -> dict[str, Any]:
    """The orb's ``ai_status`` (the core stamps ``mode`` with the room's mode anyway)."""
    return {Field.TYPE: MessageType.AI_STATUS.value, Field.STATUS: status,
            Field.SESSION_ID: session_id, Field.TRANSCRIBING: transcribing,
            Field.VOICE: voice, Field.MODE: mode}


def answer(sdp: object, to_id: str, link_id: str | None = None) -> dict[str, Any]:
    """``answer`` to ``to_id`` (with the offer's ``linkId`` when it had one)."""
    message: dict[str, Any] = {Field.TYPE: MessageType.ANSWER.value, Field.ANSWER: sdp,
                               Field.TO_ID: to_id}
    if link_id is not None:
        message[Field.LINK_ID] = link_id
    return message


def join_message(
    room_id: str | None,
    user_id: str,
    user_role: str,
    *,
    user_name: str | None = None,
    participant_type: str | None = None,
    token: str | None = None,
    resume_token: str | None = None,
) -> dict[str, object]:
    """The ``join`` a client sends (docs/protocol.md, "join"), as a dict ready to encode.

    The one place Python clients (the orb, the conformance suite, benches, tests) build it.
    ``room_id`` None leaves ``roomId`` out (the path names the room); optional fields are sent
    only when given.
    """
    message: dict[str, object] = {Field.TYPE: MessageType.JOIN.value}
    if room_id is not None:
        message[Field.ROOM_ID] = room_id
    message[Field.USER_ID] = user_id
    if user_name is not None:
        message[Field.USER_NAME] = user_name
    message[Field.USER_ROLE] = user_role
    if participant_type is not None:
        message[Field.PARTICIPANT_TYPE] = participant_type
    if token is not None:
        message[Field.TOKEN] = token
    if resume_token is not None:
        message[Field.RESUME_TOKEN] = resume_token
    return message
