"""The ledger's command-line side: ``trio-server sessions``, and ``--db`` for ``serve``.

``sessions_main(argv)`` is the ``sessions`` subcommand (``add_arguments``/``run`` to mount
it elsewhere); ``ledger_for_serve(db)`` turns ``trio-server --db`` into a checked ledger.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import orjson

from .. import logs
from ._erase import NoSuchSession, SessionRunning, erase_session
from ._format import format_sessions, format_transcript
from ._query import DEFAULT_LIMIT, MAX_LIMIT, LedgerReader, session_json
from ._schema import NotALedger, SchemaTooNew
from ._store import SqlStore
from ._url import DEFAULT_DB, backend_from_url, is_disabled
from ._writer import Ledger

#: ``trio-server --db`` may also come from the environment, like every serve option.
DB_ENV = "SIGNALING_DB"
DB_HELP = (f"session ledger: a SQLite path, sqlite:PATH?synchronous=full, a postgresql:// "
           f"DSN, or none [default {DEFAULT_DB}; env {DB_ENV}]")


def ledger_for_serve(db: str | None, environ: dict[str, str] | None = None) -> Ledger | None:
    """The ledger ``trio-server --db`` names (None for ``none``), its database opened and
    migrated once already, so a wrong ``--db`` stops the server before it listens."""
    env = os.environ if environ is None else environ
    value = db if db is not None else env.get(DB_ENV, DEFAULT_DB)
    if is_disabled(value):
        return None
    try:
        store = SqlStore(backend_from_url(value))
        store.check()
    except Exception as exc:
        shown = value if "://" not in value else "the PostgreSQL database"
        raise SystemExit(f"trio-server: cannot use the session ledger at {shown}: {exc}"
                         ) from None
    return Ledger(store)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=DEFAULT_DB,
                        help="ledger database: a SQLite path or a postgresql:// DSN "
                             f"(default {DEFAULT_DB})")
    parser.add_argument("--room", default=None, help="only sessions of this room")
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT,
                        help=f"most recent sessions to show (1-{MAX_LIMIT}, "
                             f"default {DEFAULT_LIMIT})")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--transcript", metavar="SESSION", default=None,
                        help="show this session's summary and transcript (conversation "
                             "content: mind who can read this output)")
    parser.add_argument("--delete", metavar="SESSION", default=None,
                        help="delete this (ended) session and everything attached to it, "
                             "instead of showing sessions; the log records its id and counts")


def run(args: argparse.Namespace) -> int:
    """Print the sessions; 0 on success, 1 when the database cannot be read."""
    if is_disabled(args.db):
        print("trio-server sessions: --db none has no sessions to show", file=sys.stderr)
        return 1
    if args.delete is not None:
        return delete(args.db, args.delete)
    if args.transcript is not None:
        return show_transcript(args.db, args.transcript, as_json=args.json)
    if not 1 <= args.limit <= MAX_LIMIT:
        print(f"trio-server sessions: --limit must be 1-{MAX_LIMIT}", file=sys.stderr)
        return 2
    try:
        sessions = LedgerReader(backend_from_url(args.db)).sessions(
            room=args.room, limit=args.limit)
    except (NotALedger, SchemaTooNew, ValueError) as exc:
        print(f"trio-server sessions: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"trio-server sessions: cannot read the ledger: {exc}", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(orjson.dumps({"sessions": [s.to_json() for s in sessions]},
                                      option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(format_sessions(sessions))
    return 0


def show_transcript(db: str, session_id: str, *, as_json: bool) -> int:
    """``--transcript SESSION``: the summary and the transcript; 1 when unknown/unreadable."""
    try:
        found = LedgerReader(backend_from_url(db)).session(session_id)
    except (NotALedger, SchemaTooNew, ValueError) as exc:
        print(f"trio-server sessions: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"trio-server sessions: cannot read the ledger: {exc}", file=sys.stderr)
        return 1
    if found is None:
        print(f"trio-server sessions: no session {session_id} in the ledger", file=sys.stderr)
        return 1
    session, lines, summary = found
    if as_json:
        sys.stdout.write(orjson.dumps(session_json(session, lines, summary),
                                      option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(format_transcript(session, lines, summary))
    return 0


def delete(db: str, session_id: str) -> int:
    """``--delete SESSION``: erase one session (a person's right to erasure).

    0 when deleted, 1 when the session is unknown, still running, or the database cannot be
    written. The log line says which session and how many rows, never what they held.
    """
    logs.configure()
    try:
        erased = erase_session(backend_from_url(db), session_id)
    except (NoSuchSession, SessionRunning, NotALedger, SchemaTooNew, ValueError) as exc:
        print(f"trio-server sessions: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"trio-server sessions: cannot delete from the ledger: {exc}", file=sys.stderr)
        return 1
    logs.event(logs.INFO, "session-erased", f"deleted session {session_id}: {erased}",
               session=session_id, sessions=erased.sessions,
               participations=erased.participations, orb_status_spans=erased.orb_status_spans,
               transcripts=erased.transcripts, summaries=erased.summaries)
    return 0


def sessions_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trio-server sessions",
                                     description="Show the sessions the ledger recorded.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(sessions_main())
