"""The suite against a server that is not ours: the Node original, profile original.

The server is our reconstruction of the original system's Node/ws server
(``bench/baselines/node_original``: written for this project from the seed's description, not
the original's code). The test installs it with ``npm ci`` into a temporary directory and
asserts the exact set of failing cases. Each one is a real fault of the reconstruction,
explained below and in docs/conformance.md; every other original case must pass. A change in
either direction (a new failure, or a fault no longer caught) fails this test, so the table in
docs/conformance.md stays true.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from trio_server.conformance.cases import ALL_CASES
from trio_server.conformance.registry import Profile

from .servers import run_suite, running_node_original

#: Case -> the fault of the Node server it shows (read from server.mjs and seen on the wire).
NODE_FAULTS = {
    "replace.stale-close-keeps-new":
        "a user who reconnects is removed when its old connection closes: the server keys "
        "participants by userId alone, so the old socket's close deletes the new seat; the "
        "others get user-left for a user who is still connected, and nothing reaches it any "
        "more",
}
ORIGINAL = {c.name for c in ALL_CASES if c.profile is Profile.ORIGINAL}


def test_every_expected_fault_names_an_original_case() -> None:
    assert set(NODE_FAULTS) <= ORIGINAL


@pytest.mark.timeout(300)
def test_node_original_fails_exactly_its_faults(tmp_path: Path) -> None:
    junit = tmp_path / "node-original.xml"
    with running_node_original() as server:
        result = run_suite(server.ws_url, "--profile", "original", "--json",
                           "--junit-xml", str(junit), timeout=240)
        log = server.log()
    document = json.loads("\n".join(result.lines))
    verdicts = {case["name"]: case for case in document["cases"]}
    report = result.stderr + "\nserver log:\n" + log
    assert set(verdicts) == ORIGINAL, report
    failed = {name for name, case in verdicts.items() if not case["passed"]}
    assert failed == set(NODE_FAULTS), report
    assert result.returncode == 1, report
    for name in failed:  # each failure says what was expected and what came
        assert verdicts[name]["expected"] and verdicts[name]["got"], verdicts[name]
        assert verdicts[name]["rules"][0]["ref"].startswith("docs/protocol.md#")
    assert (document["passed"], document["failed"]) == (len(ORIGINAL) - len(NODE_FAULTS),
                                                         len(NODE_FAULTS))
    suites = ET.parse(junit).getroot()
    assert suites.get("failures") == str(len(NODE_FAULTS))
    in_xml = {c.get("name"): c.find("failure") is not None for c in suites.iter("testcase")}
    assert {name for name, bad in in_xml.items() if bad} == set(NODE_FAULTS)


def test_docs_table_of_the_original_matches_the_expected_faults() -> None:
    """docs/conformance.md lists every original case once, with FAIL exactly for these."""
    from .servers import REPO

    doc = (REPO / "docs" / "conformance.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([\w.-]+)` \| (pass|\*\*FAIL\*\*) \|", doc, re.M)
    assert sorted(name for name, _ in rows) == sorted(ORIGINAL)
    assert {name for name, verdict in rows if verdict != "pass"} == set(NODE_FAULTS)
    summary = f"**{len(ORIGINAL) - len(NODE_FAULTS)} passed, {len(NODE_FAULTS)} failed**"
    assert summary in doc
