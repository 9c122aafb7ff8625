"""A conformance suite that holds any server claiming the tri-party protocol to docs/protocol.md.

Run it as ``signaling-conformance ws://HOST:PORT``. Each case opens its own real WebSocket
connections to a fresh, randomly named room, checks one rule of docs/protocol.md, and is
bounded in time. Cases for rules marked **[ext]** can be skipped with ``--only-original`` so the
suite can be pointed at the original Node server too. The suite talks to the server only over
the network: it never imports the server, and of the core it may be built on it uses only
``signaling_core.join_message`` (the one place a client's ``join`` is spelt) to build what it
sends, never to check what it gets.
"""

from .options import SuiteOptions
from .registry import Case, CaseFailed
from .runner import CaseResult, run_suite, select_cases

__all__ = ["Case", "CaseFailed", "CaseResult", "SuiteOptions", "run_suite", "select_cases"]
