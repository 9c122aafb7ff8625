"""A bounded run of ``fuzz/fuzz_intake.py`` for CI: any input gets only protocol output.

The long-running fuzzers (atheris, or Hypothesis with a million examples) live in ``fuzz/``;
this file runs the same driver and checks over the seeds, a fixed set of seed mutations, and a
few hundred random programs, so a regression in the intake fails CI within seconds.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signaling_core import Close, CoreFailedError, Departure, Send


def _load_fuzz_module() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "fuzz" / "fuzz_intake.py"
    spec = importlib.util.spec_from_file_location("fuzz_intake", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fuzz_intake", module)
    spec.loader.exec_module(module)
    return module


fuzz = _load_fuzz_module()
FAST = settings(max_examples=250, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _three_party_driver(authorize: bool = False) -> Any:
    """A coach, a client and the orb in r1; conn 3 open in r1 but not joined."""
    driver = fuzz.Driver(authorize)
    for conn in range(4):
        driver.open(conn, "r1")
    for conn, template in ((0, 0), (1, 1), (2, 2)):
        driver.receive(conn, orjson.dumps(fuzz.TEMPLATES[template]))
    assert driver.core.snapshot().participants == 3
    return driver


def _mutations(raw: bytes, rng: random.Random, count: int) -> list[bytes]:
    out = []
    for _ in range(count):
        data = bytearray(raw)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data) + 1)
            action = rng.randrange(4)
            if action == 0 and data:
                data[min(at, len(data) - 1)] = rng.randrange(256)
            elif action == 1:
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 3)))
            elif action == 2 and data:
                del data[at:at + rng.randint(1, 8)]
            else:
                data[at:at] = rng.choice((b'"', b"{", b"[", b"\\u", b"\xed\xa0\x80", b"\x00"))
        out.append(bytes(data))
    return out


@pytest.mark.parametrize("authorize", [False, True])
def test_seed_programs(authorize: bool) -> None:
    for program in fuzz.seed_programs():
        fuzz.run_program(program, authorize)


def test_every_seed_payload_in_every_state() -> None:
    for payload in fuzz.seed_payloads():
        variants = [payload]
        if isinstance(payload, str):
            variants.append(payload.encode("utf-8", "surrogatepass"))
        for text in variants:
            driver = _three_party_driver()
            for conn in range(4):  # coach, client, orb, not joined
                driver.receive(conn, text)
            driver.finish()


def test_mutated_messages() -> None:
    """About 4,000 deterministic byte mutations of valid messages, from joined and unjoined."""
    rng = random.Random(20240601)
    seeds = [orjson.dumps(t) for t in fuzz.TEMPLATES]
    for seed in seeds:
        driver = _three_party_driver(authorize=rng.random() < 0.5)
        for index, mutant in enumerate(_mutations(seed, rng, 250)):
            sender = index % 4
            if sender not in driver.rooms:
                driver.open(sender, "r1")
            driver.receive(sender, mutant if index % 2 else mutant.decode("utf-8", "replace"))
            if index % 40 == 39:
                driver.tick(1.0)
        driver.finish()


def test_random_room_ids() -> None:
    rng = random.Random(7)
    driver = fuzz.Driver()
    alphabet = "abcXYZ019_.~-/ %\x00\ud800é"
    for conn in range(300):
        room = "".join(rng.choice(alphabet) for _ in range(rng.choice((0, 1, 5, 128, 129))))
        driver.open(conn, room)
        driver.receive(conn, orjson.dumps(fuzz.TEMPLATES[conn % len(fuzz.TEMPLATES)]))
    driver.finish()


@FAST
@given(st.binary(max_size=400), st.booleans())
def test_random_byte_programs(data: bytes, authorize: bool) -> None:
    fuzz.run_program(data, authorize)


@FAST
@given(fuzz.programs(), st.booleans(), st.booleans())
def test_structured_programs(ops: Any, authorize: bool, prologue: bool) -> None:
    fuzz.run_ops(ops, authorize, prologue)


def test_the_checker_rejects_foreign_output() -> None:
    """The oracle must be able to fail, or the fuzzing above proves nothing."""
    driver = _three_party_driver()
    with pytest.raises((AssertionError, ValueError)):
        driver.check([Send(0, b"not json")], origin=0)
    with pytest.raises(AssertionError):
        driver.check([Send(0, b'{"type":"error","code":"oops","message":""}')], origin=0)
    with pytest.raises(AssertionError):
        driver.check([Close(0, 1006, "abnormal")], origin=None)
    with pytest.raises(AssertionError):
        driver.check([Close(1, 1000, "x"), Send(1, b'{"type":"pong"}')], origin=None)
    driver.open(9, "r2")
    with pytest.raises(AssertionError, match="crossed rooms"):
        driver.check([Send(9, b'{"type":"pong"}')], origin=0)


def test_a_raising_core_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    driver = _three_party_driver()

    def broken(*args: Any) -> None:
        raise KeyError("boom")

    monkeypatch.setitem(driver.core._handlers, "ping", broken)
    with pytest.raises(KeyError):
        driver.receive(0, b'{"type":"ping"}')
    # The core is in its error state: it takes no more input.
    with pytest.raises(CoreFailedError):
        driver.closed(0, Departure.CLOSED)
