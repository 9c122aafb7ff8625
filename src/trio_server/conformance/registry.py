"""The list of cases, the profiles they belong to, and how a case reports a broken rule.

A case is an ``async`` function of a :class:`~.context.CaseContext`, registered with
:func:`case` under a unique dotted name, with the rules of docs/protocol.md it checks and its
profile. It fails by raising :class:`CaseFailed` (usually via :func:`check`, saying what was
expected and what came); any other exception is reported as a failure too, never as a crash
of the suite.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import attrs

from .rules import Rule

if TYPE_CHECKING:
    from .context import CaseContext

CaseFunction = Callable[["CaseContext"], Awaitable[None]]


class Profile(enum.Enum):
    """How much of the protocol a run holds the server to.

    ``original``: only what the seed (the original system's note) specifies; a server that
    implements no extension can pass all of it. ``full``: all of docs/protocol.md; it runs
    the ``original`` cases too.
    """

    ORIGINAL = "original"
    FULL = "full"


class CaseFailed(Exception):
    """The server broke the rule a case checks.

    ``detail`` is the one-line account; ``expected`` and ``got``, when the check knows them,
    are shown on their own lines so a reader sees the difference without parsing prose.
    """

    def __init__(self, detail: str, *, expected: object = None, got: object = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.expected = expected
        self.got = got


def check(condition: object, detail: str, *, expected: object = None,
          got: object = None) -> None:
    """Fail the running case with ``detail`` (and what was expected and came) unless
    ``condition`` holds."""
    if not condition:
        raise CaseFailed(detail, expected=expected, got=got)


@attrs.frozen
class Case:
    """One or more rules of docs/protocol.md, checked against a live server."""

    name: str
    run: CaseFunction
    #: One line saying what the case proves, printed after PASS.
    summary: str
    #: The sections of docs/protocol.md whose rules the case checks; the first is its home.
    rules: tuple[Rule, ...]
    #: ``original`` cases check only what the seed specifies and run in both profiles.
    profile: Profile
    #: Waits for a server deadline; only run with --slow.
    slow: bool = False
    #: Waits for a lost connection's user-left, which may come a reconnect grace late.
    grace: bool = False

    @property
    def section(self) -> Rule:
        return self.rules[0]


CASES: list[Case] = []


def case(name: str, summary: str, *, rules: tuple[Rule, ...] | Rule, profile: Profile,
         slow: bool = False, grace: bool = False) -> Callable[[CaseFunction], CaseFunction]:
    """Register the decorated function as the case ``name``."""
    cited = rules if isinstance(rules, tuple) else (rules,)
    if not cited:
        raise ValueError(f"conformance case {name!r} cites no rule")

    def register(run: CaseFunction) -> CaseFunction:
        if any(existing.name == name for existing in CASES):
            raise ValueError(f"duplicate conformance case {name!r}")
        CASES.append(Case(name, run, summary, cited, profile, slow, grace))
        return run

    return register


ORIGINAL = Profile.ORIGINAL
FULL = Profile.FULL
