"""``signaling-conformance ws://HOST:PORT``: run the suite and exit non-zero on any failure.

Output is, per case, ``PASS|FAIL name: detail`` followed by indented lines naming the rule of
docs/protocol.md it checks (and on failure what was expected and what came), then a table by
section and a final ``N passed, N failed``. ``--json`` prints the same as one JSON document
instead (progress goes to stderr); ``--junit-xml PATH`` also writes a JUnit report for CI.
Exit status: 0 all passed, 1 a case failed, 2 nothing to run or bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

import trio

from .cases import ALL_CASES
from .options import SuiteOptions
from .registry import Profile
from .report import case_lines, junit_xml, summary_lines, to_json
from .runner import CaseResult, run_suite, select_cases


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signaling-conformance",
        description="Hold a tri-party signaling server to docs/protocol.md, one case per rule.")
    parser.add_argument("url", help="the server, e.g. ws://127.0.0.1:3000")
    parser.add_argument("-k", dest="keywords", action="append", default=[],
                        metavar="SUBSTRING",
                        help="run only cases whose name contains SUBSTRING (repeatable)")
    parser.add_argument("--profile", choices=[p.value for p in Profile], default="full",
                        help="original: only what the original (seed) protocol specifies; "
                             "full: all of docs/protocol.md (default)")
    parser.add_argument("--only-original", dest="profile", action="store_const",
                        const="original", help="the same as --profile original")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="time limit of one case (default 10)")
    parser.add_argument("--slow", action="store_true",
                        help="also run the cases that wait for the join and idle deadlines")
    parser.add_argument("--join-timeout", type=float, default=10.0, metavar="SECONDS",
                        help="the server's join deadline (default 10)")
    parser.add_argument("--idle-timeout", type=float, default=75.0, metavar="SECONDS",
                        help="the server's idle deadline (default 75)")
    parser.add_argument("--reconnect-grace", type=float, default=10.0, metavar="SECONDS",
                        help="the server's reconnect grace: a dropped user's user-left may "
                             "come this late (default 10)")
    parser.add_argument("--max-participants", type=int, default=8,
                        help="the server's room size limit (default 8)")
    parser.add_argument("--max-message-bytes", type=int, default=64 * 1024,
                        help="the server's message size limit (default 65536)")
    parser.add_argument("--insecure", action="store_true",
                        help="wss://: do not verify the server certificate")
    parser.add_argument("--list", action="store_true",
                        help="list the selected cases instead of running them")
    parser.add_argument("--json", action="store_true",
                        help="print the report as JSON on stdout (progress goes to stderr)")
    parser.add_argument("--junit-xml", metavar="PATH",
                        help="also write the report as JUnit XML to PATH (for CI)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    profile = Profile(args.profile)
    try:
        options = SuiteOptions(
            url=args.url, case_timeout=args.timeout, profile=profile,
            slow=args.slow, max_participants=args.max_participants,
            max_message_bytes=args.max_message_bytes, join_timeout=args.join_timeout,
            idle_timeout=args.idle_timeout, reconnect_grace=args.reconnect_grace,
            insecure=args.insecure)
    except ValueError as exc:
        parser.error(str(exc))
    cases = select_cases(ALL_CASES, options, args.keywords)
    if not cases:
        print("no case selected", file=sys.stderr)
        return 2
    if args.list:
        for case in cases:
            tags = f" [{case.profile.value}]" + (" [slow]" if case.slow else "")
            refs = " ".join(r.ref for r in case.rules)
            print(f"{case.name}{tags}: {case.summary} ({refs})")
        return 0

    progress = sys.stderr if args.json else sys.stdout

    def report(result: CaseResult) -> None:
        for line in case_lines(result):
            print(line, file=progress, flush=True)

    started = time.monotonic()
    results = trio.run(run_suite, cases, options, report)
    seconds = time.monotonic() - started
    if args.junit_xml:
        with open(args.junit_xml, "wb") as out:
            out.write(junit_xml(results, url=args.url, profile=profile, seconds=seconds))
    if args.json:
        document = to_json(results, url=args.url, profile=profile, seconds=seconds)
        print(json.dumps(document, indent=2, ensure_ascii=False), flush=True)
    for line in summary_lines(results, profile):
        print(line, file=progress, flush=True)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
