"""``trio-server sessions``: the ledger's recent sessions as a table, or as JSON.

``add_arguments``/``run`` let the server's CLI mount this as a subcommand;
``sessions_main(argv)`` runs it on its own.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import orjson

from ._format import format_sessions
from ._query import DEFAULT_LIMIT, MAX_LIMIT, LedgerReader
from ._schema import NotALedger, SchemaTooNew
from ._url import DEFAULT_DB, backend_from_url, is_disabled


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=DEFAULT_DB,
                        help="ledger database: a SQLite path or a postgresql:// DSN "
                             f"(default {DEFAULT_DB})")
    parser.add_argument("--room", default=None, help="only sessions of this room")
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT,
                        help=f"most recent sessions to show (1-{MAX_LIMIT}, "
                             f"default {DEFAULT_LIMIT})")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    """Print the sessions; 0 on success, 1 when the database cannot be read."""
    if is_disabled(args.db):
        print("trio-server sessions: --db none has no sessions to show", file=sys.stderr)
        return 1
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


def sessions_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trio-server sessions",
                                     description="Show the sessions the ledger recorded.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(sessions_main())
