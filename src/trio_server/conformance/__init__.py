"""A conformance suite that holds any server claiming the tri-party protocol to docs/protocol.md.

Run it as ``signaling-conformance ws://HOST:PORT``. Each case opens its own real WebSocket
connections to a fresh, randomly named room, checks one rule of docs/protocol.md, and is
bounded in time. Every case names the sections of docs/protocol.md it checks and belongs to a
profile: ``--profile original`` runs only the cases of what the original (seed) protocol
specifies, each of which reads nothing but the seed's message shapes (:mod:`.seed` enforces
it), so the suite can be pointed at the original Node server too; ``--profile full`` (the
default) runs them all. The suite talks to the server only over
the network: it never imports the server. Of the core it may be built on, it takes the
protocol's names and constants from ``signaling_core.wire`` (message types, field names, error
codes, limits) and its builders (``join_message``, the one place a client's ``join`` is spelt;
``ai_transcript``) to build what it sends, but never its parsers to check what it gets: a bug
shared by the server and that parser would pass a suite that judged with it (a test,
``tests/core/test_wire.py``, holds it to that).
"""

from .options import SuiteOptions
from .registry import Case, CaseFailed, Profile
from .runner import CaseResult, run_suite, select_cases

__all__ = ["Case", "CaseFailed", "CaseResult", "Profile", "SuiteOptions", "run_suite",
           "select_cases"]
