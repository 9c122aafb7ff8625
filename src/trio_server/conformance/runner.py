"""Runs cases one after another, each bounded in time, and turns every outcome into a result.

A case never takes the suite down: a broken rule, an unexpected exception and a timeout are
all reported as a failed :class:`CaseResult` and the next case starts on fresh connections.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import attrs
import trio

from .context import CaseContext
from .options import SuiteOptions
from .registry import Case, CaseFailed, Profile

#: Added to a slow case's timeout on top of the deadline it waits for.
SLOW_MARGIN = 5.0


@attrs.frozen
class CaseResult:
    """What one case found: the verdict, and on failure what was expected and what came."""

    case: Case
    passed: bool
    #: The case's summary when it passed; the one-line account of the failure otherwise.
    detail: str
    seconds: float
    expected: str | None = None
    got: str | None = None

    @property
    def name(self) -> str:
        return self.case.name

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'} {self.name}: {self.detail}"


def select_cases(cases: Iterable[Case], options: SuiteOptions,
                 keywords: Sequence[str] = ()) -> list[Case]:
    """The cases to run: the profile's, slow ones only with --slow, ``-k`` substrings."""
    chosen = []
    for case in cases:
        if options.profile is Profile.ORIGINAL and case.profile is not Profile.ORIGINAL:
            continue
        if case.slow and not options.slow:
            continue
        if keywords and not any(k.lower() in case.name.lower() for k in keywords):
            continue
        chosen.append(case)
    return chosen


def case_timeout(case: Case, options: SuiteOptions) -> float:
    grace = options.reconnect_grace if case.grace else 0.0
    if not case.slow:
        return options.case_timeout + grace
    longest = max(options.join_timeout, options.idle_timeout)
    return options.case_timeout + grace + longest * 1.5 + SLOW_MARGIN


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (possibly nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup):
        inner = [e for e in exc.exceptions if not isinstance(e, trio.Cancelled)]
        exc = (inner or list(exc.exceptions))[0]
    return exc


def _text(value: object) -> str | None:
    return None if value is None else str(value)


async def run_case(case: Case, options: SuiteOptions) -> CaseResult:
    limit = case_timeout(case, options)
    start = trio.current_time()
    failure: str | None = None
    expected: object = None
    got: object = None
    try:
        # The connections' own tasks live outside the case's deadline, so that a case that
        # timed out can still close its connections cleanly (and quickly).
        async with trio.open_nursery() as nursery:
            context = CaseContext(options, nursery, case.profile)
            try:
                with trio.fail_after(limit):
                    await case.run(context)
            except trio.TooSlowError:
                failure = f"timed out after {limit:g}s ({context.waiting})"
                got = f"nothing within {limit:g}s"
                expected = context.waiting
            finally:
                await context.aclose()
                nursery.cancel_scope.cancel()
    except Exception as exc:
        leaf = _leaf(exc)
        if isinstance(leaf, CaseFailed):
            failure, expected, got = leaf.detail, leaf.expected, leaf.got
        else:
            failure = f"{type(leaf).__name__}: {leaf}"
    elapsed = trio.current_time() - start
    if failure is not None:
        return CaseResult(case, False, failure, elapsed, _text(expected), _text(got))
    return CaseResult(case, True, case.summary, elapsed)


async def run_suite(cases: Sequence[Case], options: SuiteOptions,
                    report: Callable[[CaseResult], None] | None = None) -> list[CaseResult]:
    """Run ``cases`` in order, handing each result to ``report`` as soon as it is known."""
    results = []
    for case in cases:
        result = await run_case(case, options)
        if report is not None:
            report(result)
        results.append(result)
    return results


def summary_line(results: Sequence[CaseResult]) -> str:
    passed = sum(1 for r in results if r.passed)
    return f"{passed} passed, {len(results) - passed} failed"
