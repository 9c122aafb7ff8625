"""The command line of ``signaling-conformance``: selection, listing, and exit statuses."""

from __future__ import annotations

import pytest

from trio_server.conformance.cases import ALL_CASES
from trio_server.conformance.cli import main

#: The cases of rules docs/protocol.md marks [ext]; --only-original must drop exactly these.
EXT_CASES = {
    "offer.peer-discovery-flags", "relay.unknown-target", "ai_status.only-from-ai",
    "ai_control.only-from-humans", "orb_heartbeat.only-from-ai",
    "ai-orb-shutdown.only-from-ai",
}


def listed(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert main(["ws://127.0.0.1:9", "--list", *argv]) == 0
    return [line.split(":")[0].split(" ")[0] for line in capsys.readouterr().out.splitlines()]


def test_names_are_unique_and_every_case_says_what_it_proves() -> None:
    names = [c.name for c in ALL_CASES]
    assert len(names) == len(set(names))
    assert all(c.summary for c in ALL_CASES)
    assert {c.name for c in ALL_CASES if c.ext} == EXT_CASES


def test_only_original_drops_exactly_the_ext_cases(capsys: pytest.CaptureFixture[str]) -> None:
    everything = listed(capsys)
    original = listed(capsys, "--only-original")
    assert set(everything) - set(original) == EXT_CASES
    assert not any(c.slow and c.name in everything for c in ALL_CASES)


def test_slow_cases_need_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert listed(capsys, "--slow", "-k", "deadline") == ["deadline.join", "deadline.idle"]


def test_k_selects_by_substring(capsys: pytest.CaptureFixture[str]) -> None:
    assert listed(capsys, "-k", "replace.") == ["replace.rejoin", "replace.old-drop-keeps-new"]
    both = listed(capsys, "-k", "replace.rejoin", "-k", "ws.binary")
    assert both == ["ws.binary-frame", "replace.rejoin"]


def test_nothing_selected_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ws://127.0.0.1:9", "-k", "no-such-case"]) == 2


def test_url_must_be_a_websocket_url() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["http://127.0.0.1:9"])
    assert exc.value.code == 2


def test_unreachable_server_fails_every_case_quickly(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ws://127.0.0.1:9", "-k", "ping.", "--timeout", "2"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "0 passed, 2 failed"
    assert all(line.startswith("FAIL ping.") for line in lines[:-1])
