"""Runs cases one after another, each bounded in time, and turns every outcome into a line.

A case never takes the suite down: a broken rule, an unexpected exception and a timeout are
all reported as ``FAIL name: detail`` and the next case starts on fresh connections.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import attrs
import trio

from .context import CaseContext
from .options import SuiteOptions
from .registry import Case, CaseFailed

#: Added to a slow case's timeout on top of the deadline it waits for.
SLOW_MARGIN = 5.0


@attrs.frozen
class CaseResult:
    name: str
    passed: bool
    detail: str
    seconds: float

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'} {self.name}: {self.detail}"


def select_cases(cases: Iterable[Case], options: SuiteOptions,
                 keywords: Sequence[str] = ()) -> list[Case]:
    """The cases to run: [ext] ones only in ext mode, slow ones only with --slow, ``-k``."""
    chosen = []
    for case in cases:
        if case.ext and not options.ext:
            continue
        if case.slow and not options.slow:
            continue
        if keywords and not any(k.lower() in case.name.lower() for k in keywords):
            continue
        chosen.append(case)
    return chosen


def case_timeout(case: Case, options: SuiteOptions) -> float:
    if not case.slow:
        return options.case_timeout
    longest = max(options.join_timeout, options.idle_timeout)
    return options.case_timeout + longest * 1.5 + SLOW_MARGIN


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (possibly nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup):
        inner = [e for e in exc.exceptions if not isinstance(e, trio.Cancelled)]
        exc = (inner or list(exc.exceptions))[0]
    return exc


async def run_case(case: Case, options: SuiteOptions) -> CaseResult:
    limit = case_timeout(case, options)
    start = trio.current_time()
    failure: str | None = None
    try:
        # The connections' own tasks live outside the case's deadline, so that a case that
        # timed out can still close its connections cleanly (and quickly).
        async with trio.open_nursery() as nursery:
            context = CaseContext(options, nursery)
            try:
                with trio.fail_after(limit):
                    await case.run(context)
            except trio.TooSlowError:
                failure = f"timed out after {limit:g}s ({context.waiting})"
            finally:
                await context.aclose()
                nursery.cancel_scope.cancel()
    except Exception as exc:
        leaf = _leaf(exc)
        failure = str(leaf) if isinstance(leaf, CaseFailed) else f"{type(leaf).__name__}: {leaf}"
    elapsed = trio.current_time() - start
    if failure is not None:
        return CaseResult(case.name, False, failure, elapsed)
    return CaseResult(case.name, True, case.summary, elapsed)


async def run_suite(cases: Sequence[Case], options: SuiteOptions,
                    report: Callable[[str], None] = print) -> list[CaseResult]:
    """Run ``cases`` in order, reporting each result line as soon as it is known."""
    results = []
    for case in cases:
        result = await run_case(case, options)
        report(result.line())
        results.append(result)
    return results


def summary_line(results: Sequence[CaseResult]) -> str:
    passed = sum(1 for r in results if r.passed)
    return f"{passed} passed, {len(results) - passed} failed"
