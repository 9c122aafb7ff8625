"""A PostgreSQL of this test's own under a real ``trio-server``: frozen, crashed and restarted,
and fed a name it cannot store. The calls never notice, and the ledger loses nothing it could
have written.

The database is a real cluster (``scripts/start-postgres.sh`` with its own data directory and
port), so it can be stopped with SIGSTOP (every process of the cluster: a database that hangs),
shut down ``immediate`` (a crash: no checkpoint, recovery on the next start) and started again
on the same port. Throughout, a bystander pair in another room exchanges numbered messages
through the server; each must arrive, once and in order, and never wait long.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from trio_websocket import WebSocketConnection, connect_websocket_url

from testkit.fleet import BIN, Proc, free_port
from testkit.ticks import Ticks

from .conftest import query

pytestmark = [pytest.mark.timeout(150)]

ROOT = Path(__file__).resolve().parents[2]
#: A bystander message may wait this long at most, database frozen or down.
MAX_GAP = 1.0
#: Bound on the ledger catching up once the database is back.
CATCH_UP = 30.0


class OwnPostgres:
    """A throwaway cluster this test may freeze, crash and restart."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pg-outage-"))
        self.port = free_port()
        self.env = {**os.environ, "PGDATA_DIR": str(self.dir), "PORT": str(self.port)}
        self.dsn = subprocess.run(
            ["bash", str(ROOT / "scripts" / "start-postgres.sh")], env=self.env, check=True,
            capture_output=True, text=True, timeout=120).stdout.strip()
        self.bin = Path(next(p for p in Path("/usr/lib/postgresql").glob("*/bin")
                             if (p / "pg_ctl").exists()))

    def _as_owner(self, *argv: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        subprocess.run([*prefix, *argv], check=True, capture_output=True, timeout=60)

    def _pids(self) -> list[int]:
        postmaster = int((self.dir / "data" / "postmaster.pid").read_text().split()[0])
        children = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines()
                              if ":\t" in line)
            except OSError:  # a process that ended meanwhile
                continue
            if fields.get("PPid", "").strip() == str(postmaster):
                children.append(int(status.parent.name))
        return [postmaster, *children]

    def freeze(self) -> list[int]:
        """SIGSTOP to the postmaster and every backend (a child that ends meanwhile, such as
        a finished connection's backend, is skipped)."""
        frozen = []
        for pid in self._pids():
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                continue
            frozen.append(pid)
        return frozen

    @staticmethod
    def thaw(pids: list[int]) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def crash(self) -> None:
        """``pg_ctl stop -m immediate``: every backend is gone at once, nothing checkpointed."""
        self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m",
                       "immediate", "stop")

    def start(self) -> None:
        self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-l",
                       str(self.dir / "server.log"), "-w", "-t", "60", "-o",
                       f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} "
                       "-c fsync=off", "start")

    def remove(self) -> None:
        subprocess.run(["bash", str(ROOT / "scripts" / "start-postgres.sh"), "stop"],
                       env=self.env, capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    if shutil.which("runuser") is None and os.getuid() == 0:
        pytest.fail("runuser is missing (util-linux)")
    pg = OwnPostgres()
    try:
        yield pg
    finally:
        pg.remove()


async def join(nursery: trio.Nursery, url: str, room: str, user: str, role: str,
               name: str | None = None) -> WebSocketConnection:
    ws = await connect_websocket_url(nursery, f"{url}/ws-simple/{room}")
    await ws.send_message(json.dumps({"type": "join", "userId": user, "userRole": role,
                                      "userName": name if name is not None else user}))
    with trio.fail_after(10):
        while True:
            answer = json.loads(await ws.get_message())
            if answer["type"] in ("peer-discovery", "error"):
                break
    assert answer["type"] == "peer-discovery", answer
    return ws


async def a_short_call(nursery: trio.Nursery, url: str, room: str, name: str = "Client"
                       ) -> None:
    """A coach and a client meet in ``room`` and both leave."""
    coach = await join(nursery, url, room, f"{room}-coach", "coach")
    client = await join(nursery, url, room, f"{room}-client", "client", name)
    for ws in (client, coach):
        await ws.send_message(json.dumps({"type": "leave"}))
        await ws.aclose()


def ledger_rooms(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    rows = query(dsn, "SELECT room, user_id, name, ending FROM participations ORDER BY id")
    out: dict[str, list[tuple[Any, ...]]] = {}
    for room, *rest in rows:
        out.setdefault(room, []).append(tuple(rest))
    return out


async def wait_for_room(dsn: str, room: str, participants: int) -> None:
    """Until the ledger holds ``room``'s participations, ended."""
    with trio.fail_after(CATCH_UP):
        while True:
            try:
                rows = await trio.to_thread.run_sync(ledger_rooms, dsn)
            except Exception:  # the database still starting
                rows = {}
            held = rows.get(room, [])
            if len(held) == participants and all(r[2] is not None for r in held):
                return
            await trio.sleep(0.2)


async def test_a_frozen_crashed_and_restarted_postgresql_harms_no_call(
        own_postgres: OwnPostgres) -> None:
    dsn = own_postgres.dsn
    port = free_port()
    server = await trio.to_thread.run_sync(lambda: Proc("node", [
        f"{BIN}/trio-server", "--port", str(port), "--db", dsn, "--log-level", "info"]))
    try:
        await trio.to_thread.run_sync(server.log.wait_for, "listening on", 20)
        url = f"ws://127.0.0.1:{port}"
        async with trio.open_nursery() as nursery:
            coach = await join(nursery, url, "calm", "calm-coach", "coach")
            client = await join(nursery, url, "calm", "calm-client", "client")
            pair = Ticks(coach, client, "calm-client")
            pair.start(nursery)
            await a_short_call(nursery, url, "before")
            await wait_for_room(dsn, "before", 2)

            # Hung: every process of the cluster stopped for 3 s; a call starts and ends.
            frozen = await trio.to_thread.run_sync(own_postgres.freeze)
            try:
                with trio.fail_after(5):
                    await a_short_call(nursery, url, "while-frozen")
                await trio.sleep(3.0)
            finally:
                own_postgres.thaw(frozen)
            await wait_for_room(dsn, "while-frozen", 2)

            # Crashed, and down for 3 s: a call starts and ends; then it comes back.
            await trio.to_thread.run_sync(own_postgres.crash)
            with trio.fail_after(5):
                await a_short_call(nursery, url, "while-down")
            await trio.sleep(3.0)
            await trio.to_thread.run_sync(own_postgres.start)
            await wait_for_room(dsn, "while-down", 2)

            # A name PostgreSQL's text cannot hold (a NUL character): stored with U+FFFD in
            # its place, never dropping the record.
            await a_short_call(nursery, url, "bad-name", name="Cli\u0000ent")
            await a_short_call(nursery, url, "after")
            await wait_for_room(dsn, "after", 2)

            await pair.drain(5)
            nursery.cancel_scope.cancel()
        assert pair.intact, "a bystander message was lost or reordered"
        assert pair.sent > 300
        assert pair.worst_gap <= MAX_GAP, f"a bystander waited {pair.worst_gap:.2f} s"
        rooms = await trio.to_thread.run_sync(ledger_rooms, dsn)
        for room in ("before", "while-frozen", "while-down", "bad-name", "after"):
            assert [(user, ending) for user, _, ending in rooms[room]] == [
                (f"{room}-coach", "leave"), (f"{room}-client", "leave")], rooms[room]
        assert rooms["bad-name"][1][1] == "Cli\ufffdent"
        assert "dropping" not in server.log.text()
        assert server.alive()
        assert "Traceback" not in server.log.text()
    finally:
        await trio.to_thread.run_sync(server.stop)
