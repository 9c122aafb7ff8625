"""Plays rooms through a real SignalingCore and hands its session records to a ledger.

The core is the one the server embeds; only the clock is ours (``now`` moves when a test
says so), so the expected timestamps in the ledger are exact.
"""

from __future__ import annotations

from typing import Any

import orjson

from signaling_core import (
    Close,
    Command,
    ConnectionClosed,
    ConnectionOpened,
    CoreConfig,
    Departure,
    Send,
    ServerStopping,
    SessionRecord,
    SignalingCore,
    TextReceived,
    TimeAdvanced,
)
from trio_server.ledger_contract import LedgerSink

#: The ledger's wall clock in these tests: core time 0.0 is this Unix time.
WALL0 = 1_700_000_000.0


class CoreDriver:
    """Connections are small ints; ``records`` keeps every record handed to the sink."""

    def __init__(self, sink: LedgerSink | None, config: CoreConfig | None = None,
                 session_ids: list[str] | None = None) -> None:
        ids = iter(session_ids or [f"s{i}" for i in range(1, 10_000)])
        self.core = SignalingCore(config or CoreConfig(orbs_enabled=True),
                                  session_ids=lambda: next(ids))
        self.sink = sink
        self.now = 0.0
        self.records: list[SessionRecord] = []
        self.closed: dict[int, Close] = {}
        self._next_conn = 1
        self._tokens: dict[int, str | None] = {}
        self._users: dict[str, int] = {}

    def _carry_out(self, commands: list[Command]) -> list[Command]:
        for command in commands:
            if isinstance(command, SessionRecord):
                self.records.append(command)
                if self.sink is not None:
                    self.sink.record(command)
            elif isinstance(command, Close):
                self.closed[command.conn_id] = command
        return commands

    def at(self, now: float) -> CoreDriver:
        assert now >= self.now
        self.now = now
        return self

    def connect(self, room: str) -> int:
        conn = self._next_conn
        self._next_conn += 1
        self._carry_out(self.core.handle(ConnectionOpened(conn, room, self.now)))
        return conn

    def send(self, conn: int, message: dict[str, Any]) -> list[Command]:
        text = orjson.dumps(message)
        return self._carry_out(self.core.handle(TextReceived(conn, text, self.now)))

    def join(self, room: str, user_id: str, role: str, name: str = "",
             resume_token: str | None = None) -> int:
        conn = self.connect(room)
        message: dict[str, Any] = {"type": "join", "userId": user_id, "userName": name,
                                   "userRole": role}
        if resume_token is not None:
            message["resumeToken"] = resume_token
        for command in self.send(conn, message):
            if isinstance(command, Send) and command.conn_id == conn \
                    and command.kind == "peer-discovery":
                self._tokens[conn] = orjson.loads(command.data).get("resumeToken")
        self._users[user_id] = conn
        return conn

    def resume_token(self, conn: int) -> str:
        """The resume token the core issued to ``conn`` in its ``peer-discovery``."""
        token = self._tokens.get(conn)
        assert isinstance(token, str), f"no resume token for connection {conn}"
        return token

    def conn_of(self, user_id: str) -> int:
        """The connection ``user_id`` joined on last."""
        return self._users[user_id]

    def status(self, conn: int, status: str, session_id: str) -> None:
        self.send(conn, {"type": "ai_status", "status": status, "sessionId": session_id})

    def close(self, conn: int, cause: Departure = Departure.CLOSED) -> None:
        self._carry_out(self.core.handle(ConnectionClosed(conn, self.now, cause)))

    def tick(self) -> None:
        self._carry_out(self.core.handle(TimeAdvanced(self.now)))

    def stop(self) -> None:
        self._carry_out(self.core.handle(ServerStopping(self.now)))
