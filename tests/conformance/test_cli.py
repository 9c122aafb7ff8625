"""The command line of ``signaling-conformance``: profiles, selection, listing, exit statuses,
and the metadata every case must carry (its rules, resolvable in docs/protocol.md)."""

from __future__ import annotations

import re

import pytest

from trio_server.conformance.cases import ALL_CASES
from trio_server.conformance.cli import main
from trio_server.conformance.registry import Profile
from trio_server.conformance.rules import ALL_RULES

from .servers import REPO

#: The cases of the original (seed) protocol. Adding one is a decision: it must check nothing
#: but what the seed specifies (test_suite runs it against a seed-shaped server).
ORIGINAL_CASES = {
    "join.first-peer-discovery", "join.peer-discovery-peers", "join.user-joined-fields",
    "offer.coach-client", "offer.human-ai", "offer.ai-ai", "relay.targeted",
    "relay.broadcast", "relay.fromid-overwrite", "ping.after-join", "prejoin.not-relayed",
    "leave.user-left", "close.user-left", "drop.user-left", "leave.then-close",
    "room.empty-after-departures", "room.stale-close-after-empty",
    "replace.stale-close-keeps-new", "delivery.order-per-pair",
}


def listed(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert main(["ws://127.0.0.1:9", "--list", *argv]) == 0
    return [line.split(":")[0].split(" ")[0] for line in capsys.readouterr().out.splitlines()]


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces
    to hyphens."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def test_names_are_unique_and_every_case_says_what_it_proves() -> None:
    names = [c.name for c in ALL_CASES]
    assert len(names) == len(set(names))
    assert all(c.summary and c.rules for c in ALL_CASES)
    assert {c.name for c in ALL_CASES if c.profile is Profile.ORIGINAL} == ORIGINAL_CASES


def test_every_rule_cited_is_a_heading_of_docs_protocol_md() -> None:
    doc = (REPO / "docs" / "protocol.md").read_text(encoding="utf-8")
    headings = {github_anchor(h): h for h in re.findall(r"^#+ (.+)$", doc, re.M)}
    for rule in ALL_RULES:
        assert rule.anchor in headings, f"{rule.ref} names no heading of docs/protocol.md"
        assert headings[rule.anchor] == rule.heading
    cited = {rule for case in ALL_CASES for rule in case.rules}
    assert cited <= set(ALL_RULES)


def test_profile_original_and_its_alias_list_exactly_the_original_cases(
        capsys: pytest.CaptureFixture[str]) -> None:
    everything = listed(capsys)
    assert set(listed(capsys, "--profile", "original")) == ORIGINAL_CASES
    assert set(listed(capsys, "--only-original")) == ORIGINAL_CASES
    assert listed(capsys, "--profile", "full") == everything
    assert set(everything) > ORIGINAL_CASES
    assert not any(c.slow and c.name in everything for c in ALL_CASES)


def test_slow_cases_need_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert listed(capsys, "--slow", "-k", "deadline") == ["deadline.join", "deadline.idle"]


def test_k_selects_by_substring(capsys: pytest.CaptureFixture[str]) -> None:
    assert listed(capsys, "-k", "replace.r") == ["replace.rejoin"]
    both = listed(capsys, "-k", "replace.rejoin", "-k", "ws.binary")
    assert both == ["ws.binary-frame", "replace.rejoin"]


def test_nothing_selected_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ws://127.0.0.1:9", "-k", "no-such-case"]) == 2
    assert main(["ws://127.0.0.1:9", "--profile", "original", "-k", "ws.binary"]) == 2


def test_url_must_be_a_websocket_url() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["http://127.0.0.1:9"])
    assert exc.value.code == 2


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["ws://127.0.0.1:9", "--profile", "seed"])
    assert exc.value.code == 2


def test_unreachable_server_fails_every_case_quickly(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ws://127.0.0.1:9", "-k", "ping.", "--timeout", "2"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "0 passed, 2 failed"
    verdicts = [line for line in lines if line.startswith(("PASS", "FAIL"))]
    assert len(verdicts) == 2 and all(line.startswith("FAIL ping.") for line in verdicts)
