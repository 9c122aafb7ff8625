"""The run as a person reads it (text), as a program reads it (JSON), and as CI reads it
(JUnit XML).

Every form says, per case, the verdict, the rule of docs/protocol.md it checks and the case's
profile, and on failure what was expected and what came; and, per section of docs/protocol.md,
how many cases passed. The text form is written as results arrive, so a slow run shows its
progress.
"""

from __future__ import annotations

import platform
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

import attrs

from .registry import Profile
from .rules import Rule
from .runner import CaseResult, summary_line

INDENT = "     "


def case_lines(result: CaseResult) -> list[str]:
    """``PASS|FAIL name: detail``, then the rule (and on failure what was expected/came)."""
    case = result.case
    rules = ", ".join(f"{r.title} ({r.ref})" for r in case.rules)
    lines = [result.line(), f"{INDENT}rule: {rules} [{case.profile.value}]"]
    if not result.passed:
        lines.append(f"{INDENT}checks: {case.summary}")
        if result.expected is not None:
            lines.append(f"{INDENT}expected: {result.expected}")
        if result.got is not None:
            lines.append(f"{INDENT}got: {result.got}")
    return lines


@attrs.frozen
class SectionTally:
    rule: Rule
    passed: int
    failed: int


def by_section(results: Sequence[CaseResult]) -> list[SectionTally]:
    """Pass/fail counts per section of docs/protocol.md (a case counts in its home section),
    in the order the sections first appear in the run."""
    order: list[Rule] = []
    counts: dict[Rule, list[int]] = {}
    for result in results:
        rule = result.case.section
        if rule not in counts:
            order.append(rule)
            counts[rule] = [0, 0]
        counts[rule][0 if result.passed else 1] += 1
    return [SectionTally(rule, *counts[rule]) for rule in order]


def summary_lines(results: Sequence[CaseResult], profile: Profile) -> list[str]:
    """The table by section, the failed cases by name, and ``N passed, N failed`` last."""
    tallies = by_section(results)
    width = max((len(t.rule.title) for t in tallies), default=0)
    lines = [f"by section of docs/protocol.md (profile {profile.value}):"]
    for tally in tallies:
        mark = "ok" if not tally.failed else "FAILING"
        lines.append(f"  {tally.rule.title:<{width}}  {tally.passed:3d} passed  "
                     f"{tally.failed:3d} failed  {mark}")
    failed = [r.name for r in results if not r.passed]
    if failed:
        lines.append(f"failed: {' '.join(failed)}")
    lines.append(summary_line(results))
    return lines


def to_json(results: Sequence[CaseResult], *, url: str, profile: Profile,
            seconds: float) -> dict[str, Any]:
    passed = sum(1 for r in results if r.passed)
    return {
        "tool": "signaling-conformance",
        "server": url,
        "profile": profile.value,
        "passed": passed,
        "failed": len(results) - passed,
        "seconds": round(seconds, 3),
        "sections": [{"heading": t.rule.title, "ref": t.rule.ref, "passed": t.passed,
                      "failed": t.failed} for t in by_section(results)],
        "cases": [{
            "name": r.name,
            "passed": r.passed,
            "profile": r.case.profile.value,
            "rules": [{"heading": rule.title, "ref": rule.ref} for rule in r.case.rules],
            "summary": r.case.summary,
            "detail": None if r.passed else r.detail,
            "expected": r.expected,
            "got": r.got,
            "seconds": round(r.seconds, 3),
        } for r in results],
    }


def junit_xml(results: Sequence[CaseResult], *, url: str, profile: Profile,
              seconds: float) -> bytes:
    """One ``<testsuite>`` per section of docs/protocol.md, one ``<testcase>`` per case.

    The shape CI systems read (Jenkins, GitLab, GitHub test reporters): ``classname`` names
    the section, a failed case has a ``<failure>`` whose message is the one-line account and
    whose text says what was expected and what came.
    """
    root = ET.Element("testsuites", name="signaling-conformance", tests=str(len(results)),
                      failures=str(sum(1 for r in results if not r.passed)), errors="0",
                      time=f"{seconds:.3f}")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    for tally in by_section(results):
        members = [r for r in results if r.case.section == tally.rule]
        suite = ET.SubElement(
            root, "testsuite", name=f"{tally.rule.title} ({profile.value})",
            tests=str(len(members)), failures=str(tally.failed), errors="0", skipped="0",
            time=f"{sum(r.seconds for r in members):.3f}", timestamp=stamp,
            hostname=platform.node() or "localhost")
        properties = ET.SubElement(suite, "properties")
        for name, value in (("server", url), ("profile", profile.value),
                            ("rule", tally.rule.ref)):
            ET.SubElement(properties, "property", name=name, value=value)
        for result in members:
            testcase = ET.SubElement(suite, "testcase", name=result.name,
                                     classname=f"signaling-conformance.{tally.rule.anchor}",
                                     time=f"{result.seconds:.3f}")
            if result.passed:
                continue
            failure = ET.SubElement(testcase, "failure", message=result.detail,
                                    type="ProtocolViolation")
            failure.text = "\n".join(line.strip() for line in case_lines(result)[1:]) + "\n"
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
