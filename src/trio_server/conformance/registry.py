"""The list of cases and how a case reports a broken rule.

A case is an ``async`` function of a :class:`~.context.CaseContext`, registered with
:func:`case` under a unique dotted name. It fails by raising :class:`CaseFailed` (usually via
:func:`check`); any other exception is reported as a failure too, never as a crash of the
suite.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from .context import CaseContext

CaseFunction = Callable[["CaseContext"], Awaitable[None]]


class CaseFailed(Exception):
    """The server broke the rule a case checks; the message is the one-line detail."""


def check(condition: object, detail: str) -> None:
    """Fail the running case with ``detail`` unless ``condition`` holds."""
    if not condition:
        raise CaseFailed(detail)


@attrs.frozen
class Case:
    """One rule of docs/protocol.md, checked against a live server."""

    name: str
    run: CaseFunction
    #: One line saying what the case proves, printed after PASS.
    summary: str
    #: Checks a rule docs/protocol.md marks [ext]; skipped with --only-original.
    ext: bool = False
    #: Waits for a server deadline; only run with --slow.
    slow: bool = False


CASES: list[Case] = []


def case(
    name: str, summary: str, *, ext: bool = False, slow: bool = False
) -> Callable[[CaseFunction], CaseFunction]:
    """Register the decorated function as the case ``name``."""

    def register(run: CaseFunction) -> CaseFunction:
        if any(existing.name == name for existing in CASES):
            raise ValueError(f"duplicate conformance case {name!r}")
        CASES.append(Case(name, run, summary, ext, slow))
        return run

    return register
