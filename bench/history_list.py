"""The coach's history list: how long the first page takes with many sessions in the ledger.

A real ``trio-server`` over a ledger filled with ``--sessions`` ended sessions (each with a
coach, a client and a summary, one every 10 minutes over 100 rooms); then, over HTTP with the
admin token, 20 warm requests for the first 50 rows of each view: every room, one room, one
day. Prints the median and the worst per view, as a markdown table (goal: median <= 200 ms,
on SQLite and on PostgreSQL).

    python bench/history_list.py [--db /tmp/history.sqlite3] [--sessions 10000] [--requests 20]
    python bench/history_list.py --db postgresql://postgres@127.0.0.1:5432/ledger_test
    python bench/history_list.py --smoke

``--smoke`` runs 200 sessions and 3 requests per view on a temporary SQLite file: seconds,
to check the bench still runs (the figures then mean nothing).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from trio_server.ledger import backend_from_url

ROOMS = 100
T0 = 1_700_000_000.0
TOKEN = "history-bench-admin-token"
GOAL_MS = 200.0
_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


def fill(db: str, n: int) -> None:
    """``n`` sessions generated inside the database (one recursive query per table, the same
    SQL on SQLite and PostgreSQL); earlier bench rows are deleted first."""
    backend = backend_from_url(db)
    conn = backend.connect_existing()
    numbers = f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {n - 1}) "
    start = f"({T0} + 600 * i)"
    try:
        cur = conn.cursor()
        for table in ("summaries", "participations", "sessions"):
            cur.execute(f"DELETE FROM {table} WHERE session_id LIKE 'bench-%'")
        cur.execute(numbers + "INSERT INTO sessions (session_id, room, started_at, ended_at, "
                    f"end_reason) SELECT 'bench-' || i, 'room-' || (i % {ROOMS}), {start}, "
                    f"{start} + 1800, 'leave' FROM n")
        for uid, role in (("coach-1", "coach"), ("client-1", "client")):
            cur.execute(numbers + "INSERT INTO participations (session_id, room, user_id, name, "
                        "role, type, joined_at, left_at, ending) SELECT 'bench-' || i, "
                        f"'room-' || (i % {ROOMS}), '{uid}', '{uid.title()}', '{role}', "
                        f"'human', {start}, {start} + 1800, 'leave' FROM n")
        cur.execute(numbers + "INSERT INTO summaries (session_id, room, user_id, text, method, "
                    f"written_at) SELECT 'bench-' || i, 'room-' || (i % {ROOMS}), 'ai-orb', "
                    "'Key topics: topic ' || i || '\nmore', 'extractive', "
                    f"{start} + 1800 FROM n")
        conn.commit()
    finally:
        conn.close()


def start_server(db: str) -> tuple[subprocess.Popen[str], str]:
    exe = Path(sys.executable).parent / "trio-server"
    argv = [str(exe) if exe.exists() else "trio-server", "--port", "0", "--db", db,
            "--admin-token", TOKEN, "--log-level", "info"]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "SIGNALING_DB": db})
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        found = _LISTENING.search(line)
        if found:
            return proc, found.group(1)
    proc.kill()
    raise SystemExit("trio-server did not start")


def timed_get(url: str) -> float:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        assert response.status == 200
    return (time.perf_counter() - started) * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", default=None, help="SQLite path or postgresql:// DSN "
                   "(default: a temporary SQLite file)")
    p.add_argument("--sessions", type=int, default=10_000)
    p.add_argument("--requests", type=int, default=20, help="warm requests per view")
    p.add_argument("--smoke", action="store_true",
                   help="200 sessions, 3 requests per view: checks the bench runs")
    args = p.parse_args()
    if args.smoke:
        args.sessions, args.requests, args.db = 200, 3, None
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or str(Path(tmp) / "history.sqlite3")
        proc, base = start_server(db)  # the server creates the schema
        try:
            started = time.perf_counter()
            fill(db, args.sessions)
            print(f"filled {args.sessions} sessions in {time.perf_counter() - started:.1f} s "
                  f"({backend_from_url(db).describe()})")
            day = time.strftime("%Y-%m-%d", time.gmtime(T0 + 600 * args.sessions / 2))
            views = {"every room": "", "one room": "&room=room-7",
                     "one day": f"&from={day}&to={day}"}
            print("\n| view | median ms | worst ms |\n|---|---|---|")
            medians = []
            for name, query in views.items():
                url = f"{base}/api/history/sessions?limit=50{query}"
                timed_get(url)  # warm
                times = [timed_get(url) for _ in range(args.requests)]
                medians.append(statistics.median(times))
                print(f"| {name} | {statistics.median(times):.1f} | {max(times):.1f} |")
            verdict = "met" if max(medians) <= GOAL_MS else "MISSED"
            print(f"\ngoal: median <= {GOAL_MS:.0f} ms per view: {verdict}")
            if args.smoke:
                print("(--smoke: tiny sizes, so the figures above mean nothing)")
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
