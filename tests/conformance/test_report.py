"""The report forms (text, JSON, JUnit XML) and the guard that keeps original cases to the
seed's protocol, without a server: results and messages are built by hand."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from trio_server.conformance.cases import ALL_CASES
from trio_server.conformance.registry import Profile
from trio_server.conformance.report import case_lines, junit_xml, summary_lines, to_json
from trio_server.conformance.runner import CaseResult
from trio_server.conformance.seed import ProfileViolation, check_seed_send, seed_view

BY_NAME = {c.name: c for c in ALL_CASES}


def results() -> list[CaseResult]:
    return [
        CaseResult(BY_NAME["relay.targeted"], True, BY_NAME["relay.targeted"].summary, 0.25),
        CaseResult(BY_NAME["leave.then-close"], False, "coach-1 received a second user-left",
                   0.5, expected="nothing", got='{"type":"user-left","userId":"client-1"}'),
        CaseResult(BY_NAME["relay.broadcast"], False, "timed out after 10s", 10.0),
    ]


def test_text_names_rule_and_on_failure_what_was_expected_and_came() -> None:
    passed, failed, _ = results()
    assert case_lines(passed) == [
        f"PASS relay.targeted: {passed.case.summary}",
        "     rule: Relayed messages (docs/protocol.md#relayed-messages) [original]"]
    lines = case_lines(failed)
    assert lines[0] == "FAIL leave.then-close: coach-1 received a second user-left"
    assert "docs/protocol.md#server---client" in lines[1]
    assert "     expected: nothing" in lines
    assert '     got: {"type":"user-left","userId":"client-1"}' in lines


def test_summary_counts_by_section_and_ends_with_the_totals() -> None:
    lines = summary_lines(results(), Profile.ORIGINAL)
    assert lines[0] == "by section of docs/protocol.md (profile original):"
    relayed = next(line for line in lines if "Relayed messages" in line)
    assert "1 passed" in relayed and "1 failed" in relayed
    assert lines[-2] == "failed: leave.then-close relay.broadcast"
    assert lines[-1] == "1 passed, 2 failed"


def test_json_report() -> None:
    document = to_json(results(), url="ws://x:1", profile=Profile.FULL, seconds=10.75)
    assert (document["passed"], document["failed"], document["profile"]) == (1, 2, "full")
    case = document["cases"][1]
    assert case["name"] == "leave.then-close" and case["passed"] is False
    assert case["expected"] == "nothing" and case["got"].startswith('{"type":"user-left"')
    assert case["rules"][0]["ref"] == "docs/protocol.md#server---client"
    assert {s["heading"] for s in document["sections"]} == {"Relayed messages",
                                                            "Server -> client"}


def test_junit_xml_is_what_ci_reads() -> None:
    root = ET.fromstring(junit_xml(results(), url="ws://x:1", profile=Profile.ORIGINAL,
                                   seconds=10.75))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "2", "0")
    suites = root.findall("testsuite")
    assert sum(int(s.get("tests", "0")) for s in suites) == 3
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"relay.targeted", "leave.then-close", "relay.broadcast"}
    assert cases["relay.targeted"].find("failure") is None
    failure = cases["leave.then-close"].find("failure")
    assert failure is not None
    assert failure.get("message") == "coach-1 received a second user-left"
    assert "expected: nothing" in (failure.text or "")
    assert cases["leave.then-close"].get("classname") == "signaling-conformance.server---client"


def test_seed_view_refuses_extension_fields() -> None:
    discovery = seed_view({"type": "peer-discovery", "roomId": "r", "peers": [
        {"userId": "a", "userName": "A", "userRole": "coach", "participantType": "human",
         "shouldCreateOffer": True}]})
    assert discovery["peers"][0]["userName"] == "A"
    with pytest.raises(ProfileViolation, match=r"peer-discovery\.roomId"):
        discovery.get("roomId")
    with pytest.raises(ProfileViolation, match="shouldCreateOffer"):
        discovery["peers"][0].get("shouldCreateOffer")
    left = seed_view({"type": "user-left", "userId": "a", "userRole": "coach"})
    assert left.get("userId") == "a"
    with pytest.raises(ProfileViolation):
        assert "userRole" in left
    relayed = seed_view({"type": "offer", "offer": {}, "fromId": "a", "extra": 1})
    assert relayed.get("extra") == 1  # relayed as sent: every field the sender wrote


def test_original_cases_may_send_only_the_seeds_messages() -> None:
    check_seed_send({"type": "ice-candidate", "candidate": None})
    check_seed_send("{not json")
    for mtype in ("client_signal", "ai_status", "ai_control", "orb_heartbeat"):
        with pytest.raises(ProfileViolation):
            check_seed_send({"type": mtype})


async def test_original_peers_cannot_wait_for_an_error() -> None:
    from trio_server.conformance.client import Peer

    peer = Peer(None, "p", "room", Profile.ORIGINAL, lambda _: None)  # type: ignore[arg-type]
    with pytest.raises(ProfileViolation, match="'error'"):
        await peer.expect_error("not-joined")
    with pytest.raises(ProfileViolation, match="'client_signal'"):
        await peer.send({"type": "client_signal", "action": "x"})
