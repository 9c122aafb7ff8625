"""Fixtures and small helpers for trio-websocket clients of a running server (serving.py)."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
from trio_websocket import WebSocketConnection, open_websocket_url

from signaling_core import CoreConfig
from trio_server import ServerConfig, SignalingServer

from .serving import WAIT


@pytest.fixture
def pairs() -> Iterator[list[tuple[socket.socket, socket.socket]]]:
    """Socket pairs a test makes for a read hub (append to it), closed after the test."""
    made: list[tuple[socket.socket, socket.socket]] = []
    yield made
    for a, b in made:
        a.close()
        b.close()


def url(server: SignalingServer, room: str) -> str:
    return f"ws://127.0.0.1:{server.port}/ws-simple/{room}"


@asynccontextmanager
async def ws_client(server: SignalingServer, room: str) -> AsyncIterator[WebSocketConnection]:
    async with open_websocket_url(url(server, room), connect_timeout=WAIT,
                                  disconnect_timeout=WAIT) as ws:
        yield ws


async def recv(ws: WebSocketConnection, timeout: float = WAIT) -> dict[str, Any]:
    with trio.fail_after(timeout):
        message = await ws.get_message()
    assert isinstance(message, str)
    decoded: dict[str, Any] = json.loads(message)
    return decoded


async def send(ws: WebSocketConnection, message: dict[str, Any]) -> None:
    with trio.fail_after(WAIT):
        await ws.send_message(json.dumps(message))


async def join(ws: WebSocketConnection, user_id: str, role: str = "client",
               **extra: Any) -> dict[str, Any]:
    """Join and return the peer-discovery answer."""
    await send(ws, {"type": "join", "userId": user_id, "userName": user_id.title(),
                    "userRole": role, **extra})
    answer = await recv(ws)
    assert answer["type"] == "peer-discovery", answer
    return answer


async def closed_code(ws: WebSocketConnection, timeout: float = WAIT) -> int:
    """Wait for the server to close ``ws`` (skipping messages); its close code."""
    from trio_websocket import ConnectionClosed

    with trio.fail_after(timeout):
        try:
            while True:
                await ws.get_message()
        except ConnectionClosed as exc:
            code: int = exc.reason.code
            return code


@pytest.fixture
def short_limits() -> ServerConfig:
    """Deadlines short enough to test in well under a second each."""
    return ServerConfig(port=0, handshake_timeout=0.5, close_timeout=0.5,
                        core=CoreConfig(join_timeout=0.4, idle_timeout=0.6))
