"""``signaling-conformance ws://HOST:PORT``: run the suite and exit non-zero on any failure.

Output is one ``PASS|FAIL name: detail`` line per case and a final ``N passed, N failed``.
Exit status: 0 all passed, 1 a case failed, 2 nothing to run or bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import trio

from .cases import ALL_CASES
from .options import SuiteOptions
from .runner import run_suite, select_cases, summary_line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signaling-conformance",
        description="Hold a tri-party signaling server to docs/protocol.md, one case per rule.")
    parser.add_argument("url", help="the server, e.g. ws://127.0.0.1:3000")
    parser.add_argument("-k", dest="keywords", action="append", default=[],
                        metavar="SUBSTRING",
                        help="run only cases whose name contains SUBSTRING (repeatable)")
    parser.add_argument("--only-original", action="store_true",
                        help="skip the cases of rules docs/protocol.md marks [ext]")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="time limit of one case (default 10)")
    parser.add_argument("--slow", action="store_true",
                        help="also run the cases that wait for the join and idle deadlines")
    parser.add_argument("--join-timeout", type=float, default=10.0, metavar="SECONDS",
                        help="the server's join deadline (default 10)")
    parser.add_argument("--idle-timeout", type=float, default=75.0, metavar="SECONDS",
                        help="the server's idle deadline (default 75)")
    parser.add_argument("--max-participants", type=int, default=8,
                        help="the server's room size limit (default 8)")
    parser.add_argument("--max-message-bytes", type=int, default=64 * 1024,
                        help="the server's message size limit (default 65536)")
    parser.add_argument("--insecure", action="store_true",
                        help="wss://: do not verify the server certificate")
    parser.add_argument("--list", action="store_true",
                        help="list the selected cases instead of running them")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        options = SuiteOptions(
            url=args.url, case_timeout=args.timeout, ext=not args.only_original,
            slow=args.slow, max_participants=args.max_participants,
            max_message_bytes=args.max_message_bytes, join_timeout=args.join_timeout,
            idle_timeout=args.idle_timeout, insecure=args.insecure)
    except ValueError as exc:
        parser.error(str(exc))
    cases = select_cases(ALL_CASES, options, args.keywords)
    if not cases:
        print("no case selected", file=sys.stderr)
        return 2
    if args.list:
        for case in cases:
            tags = "".join(f" [{t}]" for t, on in (("ext", case.ext), ("slow", case.slow)) if on)
            print(f"{case.name}{tags}: {case.summary}")
        return 0

    def report(line: str) -> None:
        print(line, flush=True)

    results = trio.run(run_suite, cases, options, report)
    print(summary_line(results), flush=True)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
