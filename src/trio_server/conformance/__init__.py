"""A conformance suite that holds any server claiming the tri-party protocol to docs/protocol.md.

Run it as ``signaling-conformance ws://HOST:PORT``. Each case opens its own real WebSocket
connections to a fresh, randomly named room, checks one rule of docs/protocol.md, and is
bounded in time. Cases for rules marked **[ext]** can be skipped with ``--only-original`` so the
suite can be pointed at the original Node server too. The suite talks to the server only over
the network: it never imports the server or the core it may be built on.
"""

from .options import SuiteOptions
from .registry import Case, CaseFailed
from .runner import CaseResult, run_suite, select_cases

__all__ = ["Case", "CaseFailed", "CaseResult", "SuiteOptions", "run_suite", "select_cases"]
