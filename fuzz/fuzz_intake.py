"""Fuzz the core's intake: any input yields only the protocol's own output, never an exception.

This is h11's fuzz property applied to :class:`signaling_core.SignalingCore`: whatever bytes or
text arrive, on whichever connections, in whatever order and state, ``open``/``receive``/
``closed``/``tick``/``orb_ended`` return commands and never raise. Every command must be one
the protocol knows: a ``Send`` of one JSON object with a string ``type`` (an ``error`` only with
a §4 code), a ``Close`` with a §10 code, orb commands and session records. A reply to a message
never reaches a connection of another room, and nothing is sent to a connection after its
``Close``.

Two engines drive the same :class:`Driver`:

* atheris (coverage-guided libFuzzer; optional, ``pip install atheris``; not a project
  dependency)::

      python fuzz/fuzz_intake.py --atheris [corpus_dir] -max_total_time=600

  A fresh corpus directory is seeded with the built-in seeds (valid messages, deep nesting,
  lone surrogates, huge numbers, invalid UTF-8).
* Hypothesis (always available)::

      python fuzz/fuzz_intake.py --max-examples 1000000

``tests/core/test_fuzz_intake.py`` runs a bounded version of both input styles in CI.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

import orjson

from signaling_core import (
    Close,
    CloseCode,
    Command,
    ConnectionActive,
    ConnectionClosed,
    ConnectionOpened,
    CoreConfig,
    Departure,
    ErrorCode,
    JoinRequest,
    OrbEnded,
    OrbStatusChanged,
    ParticipantJoined,
    ParticipantLeft,
    Send,
    SessionEnded,
    SessionStarted,
    SignalingCore,
    SpawnOrb,
    StopOrb,
    TextReceived,
    TimeAdvanced,
)

ERROR_CODES = frozenset(code.value for code in ErrorCode)
CLOSE_CODES = frozenset(int(code) for code in CloseCode)
ROOMS = ("r1", "r2")
CONNS = 6
CAUSES = tuple(Departure)
RECORDS = (SessionStarted, SessionEnded, ParticipantJoined, ParticipantLeft, OrbStatusChanged)
SERVER_TYPES = frozenset({
    "peer-discovery", "user-joined", "user-left", "pong", "error", "offer", "answer",
    "ice-candidate", "ai_status", "ai_control", "client_signal", "user-away", "user-back",
})


def _join(user_id: str, role: str, **extra: Any) -> dict[str, Any]:
    return {"type": "join", "userId": user_id, "userName": f"Name {user_id}",
            "userRole": role, **extra}


_CANDIDATE = {"candidate": "candidate:842163049 1 udp 1677729535 192.0.2.7 53705 typ srflx "
                           "raddr 0.0.0.0 rport 0 generation 0 ufrag sK3v network-cost 999",
              "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "sK3v"}

#: Well-formed messages of every type: the fuzzers mutate these, and the byte programs can
#: send them whole to reach the joined states quickly.
TEMPLATES: tuple[dict[str, Any], ...] = (
    _join("coach-1", "coach", roomId="r1", participantType="human"),
    _join("client-1", "client"),
    _join("ai-orb-s1", "ai", participantType="ai"),
    _join("obs", "observer", token="abc"),
    {"type": "offer", "toId": "client-1", "offer": {"type": "offer", "sdp": "v=0\r\n"}},
    {"type": "answer", "toId": "coach-1", "answer": {"type": "answer", "sdp": "v=0\r\n"}},
    {"type": "ice-candidate", "toId": "coach-1", "candidate": _CANDIDATE},
    {"type": "ice-candidate", "candidate": _CANDIDATE, "fromId": "forged"},
    {"type": "ping"},
    {"type": "leave"},
    {"type": "ai_status", "status": "listening", "sessionId": "s1"},
    {"type": "ai_control", "action": "pause"},
    {"type": "client_signal", "action": "raise-hand", "toId": "coach-1"},
    {"type": "orb_heartbeat", "metrics": {"fps": 15, "peers": 2}},
    {"type": "ai-orb-shutdown", "sessionId": "s1", "reason": "session_complete"},
    _join("client-2", "client", participantType="human"),
    _join("x-intruder", "coach"),  # refused by the fuzz authorizer
    _join("helper", "coach", token="bad"),  # refused by the fuzz authorizer
    {"type": "teleport", "to": "mars"},
)


def seed_payloads() -> list[bytes | str]:
    """Texts worth starting from: every template, and each of the classic parser traps."""
    seeds: list[bytes | str] = [orjson.dumps(t) for t in TEMPLATES]
    seeds += [
        "[" * 5000 + "]" * 5000,  # deeper than the parser allows
        '{"type":"offer","offer":' + "[" * 300 + "]" * 300 + "}",  # parses, cannot re-encode
        '{"type":"client_signal","action":"x","a":' + '{"a":' * 260 + "1" + "}" * 261,
        '{"type":"ping","x":"\ud800"}',  # lone surrogate in the str itself
        '{"type":"join","userId":"\\udc00","userRole":"coach"}',  # escaped lone surrogate
        '{"type":"join","userId":"\ud83d","userRole":"coach"}',
        '{"type":"ping","n":123456789012345678901234567890123456789}',
        '{"type":"ping","n":1e999999}',
        '{"type":"ping","n":-0.0e-999999}',
        '{"type":"ping","n":NaN}',
        b'{"type":"ping","x":"\xff\xfe"}',  # invalid UTF-8
        b"\xc0\xaf",
        b'\xef\xbb\xbf{"type":"ping"}',  # UTF-8 byte order mark
        b'{"type":"join","userId":"a\x00b","userRole":"coach"}',
        '{"type":"join","userId":"' + "x" * 70_000 + '","userRole":"coach"}',  # too big
        "é" * 17_000,  # few characters, many bytes
        '{"type":"ping","type":"join"}',  # duplicate keys
        '{"type":["join"]}',
        '{"type":"join","userId":{"a":1},"userRole":[],"participantType":{}}',
        '{"type":"ai_status","status":["listening"]}',
        '{"type":"ai-orb-shutdown","reason":{"r":1}}',
        '{"type":"offer","toId":["x"],"offer":1}',
        "",
        "null",
        '"type"',
        "{}",
    ]
    return seeds


def _authorize(room_id: str, request: JoinRequest) -> bool:
    """A join authorizer with an arbitrary rule, so the ``unauthorized`` path is fuzzed too."""
    return not request.user_id.startswith("x") and request.token != "bad"


class Driver:
    """Plays a careless I/O layer around one core and checks every command it gets back."""

    def __init__(self, authorize: bool = False) -> None:
        cfg = CoreConfig(orbs_enabled=True, max_orbs=1, max_participants=3,
                         max_message_bytes=4096, join_timeout=5.0, idle_timeout=8.0,
                         rate_limit_per_second=2.0, rate_limit_burst=8,
                         rate_limit_strikes=3, orb_join_timeout=3.0, orb_idle_grace=2.0,
                         orb_stop_timeout=1.0, orb_max_lifetime=30.0)
        sessions = (f"s{n}" for n in range(1, 1 << 30))
        self.core = SignalingCore(cfg, session_ids=lambda: next(sessions),
                                  authorize_join=_authorize if authorize else None)
        self.now = 0.0
        self.rooms: dict[int, str] = {}  # open connections (as the I/O layer sees them)
        self.spawned: list[tuple[str, str]] = [("r1", "s1")]

    # ---- the checked inputs

    def open(self, conn_id: int, room_id: str) -> None:
        if conn_id in self.rooms:
            self.closed(conn_id, Departure.CLOSED)
        self.rooms[conn_id] = room_id
        self.check(self.core.handle(ConnectionOpened(conn_id, room_id, self.now)), origin=conn_id)

    def receive(self, conn_id: int, text: str | bytes) -> None:
        self.check(self.core.handle(TextReceived(conn_id, text, self.now)), origin=conn_id)

    def closed(self, conn_id: int, cause: Departure) -> None:
        self.rooms.pop(conn_id, None)
        self.check(self.core.handle(ConnectionClosed(conn_id, self.now, cause)), origin=None)

    def tick(self, seconds: float) -> None:
        self.now += seconds
        self.check(self.core.handle(TimeAdvanced(self.now)), origin=None)
        deadline = self.core.next_deadline()
        assert deadline is None or deadline > self.now, "next_deadline() in the past"

    def activity(self, conn_id: int) -> None:
        self.core.handle(ConnectionActive(conn_id, self.now))

    def orb_ended(self, which: int) -> None:
        room_id, session_id = self.spawned[which % len(self.spawned)]
        self.check(self.core.handle(OrbEnded(room_id, session_id, self.now)), origin=None)

    def finish(self) -> None:
        """Close everything the I/O side holds; the core must then hold nothing."""
        for conn_id in list(self.rooms):
            self.closed(conn_id, Departure.CLOSED)
        for index in range(len(self.spawned)):
            self.orb_ended(index)
        self.tick(10_000.0)  # orb slots still waiting on their limits
        for index in range(len(self.spawned)):
            self.orb_ended(index)
        assert self.core.connection_count == 0
        assert self.core.room_count == 0, self.core.snapshot()
        assert self.core.orb_count == 0

    # ---- the property

    def check(self, commands: list[Command], origin: int | None) -> None:
        """Every command is the protocol's own; replies stay within the sender's room; the
        core did not fail (a failure puts it in its error state: reported here as raised)."""
        if self.core.failure is not None:
            raise self.core.failure
        assert type(commands) is list
        gone: set[int] = set()
        for cmd in commands:
            if isinstance(cmd, Send):
                assert cmd.conn_id in self.rooms and cmd.conn_id not in gone, cmd
                assert type(cmd.data) is bytes
                msg = orjson.loads(cmd.data)
                assert type(msg) is dict and msg.get("type") in SERVER_TYPES, msg
                if msg["type"] == "error":
                    assert msg["code"] in ERROR_CODES, msg
                    assert type(msg["message"]) is str
                if origin is not None and origin in self.rooms:
                    assert self.rooms[cmd.conn_id] == self.rooms[origin], "crossed rooms"
            elif isinstance(cmd, Close):
                assert cmd.code in CLOSE_CODES, cmd
                assert cmd.conn_id in self.rooms and cmd.conn_id not in gone, cmd
                gone.add(cmd.conn_id)
            elif isinstance(cmd, SpawnOrb):
                assert cmd.user_id == f"ai-orb-{cmd.session_id}"
                self.spawned.append((cmd.room_id, cmd.session_id))
            else:
                assert isinstance(cmd, (StopOrb, *RECORDS)), cmd
        for conn_id in gone:
            # The I/O layer carries out the close and reports it: a no-op by contract.
            del self.rooms[conn_id]
            assert self.core.handle(ConnectionClosed(conn_id, self.now)) == []
            assert self.core.room_of(conn_id) is None
        self.core.snapshot()


# --------------------------------------------------------------------------- byte programs


class _Reader:
    """Reads a byte string as a program; running out of bytes yields zeros."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def more(self) -> bool:
        return self.pos < len(self.data)

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def chunk(self) -> bytes:
        size = self.byte() | (self.byte() << 8)
        out = self.data[self.pos:self.pos + size]
        self.pos += size
        return out


def _as_text(raw: bytes, mode: int) -> str | bytes:
    if mode == 0:
        return raw
    if mode == 1:
        return raw.decode("utf-8", "surrogateescape")  # invalid bytes become lone surrogates
    if mode == 2:
        return raw.decode("latin-1")
    return raw.decode("utf-8", "replace")


def _spliced(template: dict[str, Any], raw: bytes, mode: int) -> str | bytes:
    """A well-formed message whose fields are overwritten by fuzz bytes, as text or JSON."""
    msg = dict(template)
    keys = list(msg) or ["type"]
    key = keys[mode % len(keys)]
    value: Any = raw.decode("utf-8", "surrogateescape")
    if mode & 4:
        with contextlib.suppress(ValueError, RecursionError):
            value = json.loads(raw)
    msg[key] = value
    try:
        return json.dumps(msg, ensure_ascii=bool(mode & 8))
    except (ValueError, RecursionError, TypeError):
        return raw


def run_program(data: bytes, authorize: bool = False) -> None:
    """Interpret ``data`` as a sequence of I/O events on one core; checks as it goes."""
    driver = Driver(authorize)
    reader = _Reader(data)
    seeds = seed_payloads()
    steps = 0
    while reader.more() and steps < 200:
        steps += 1
        op = reader.byte() % 10
        conn = reader.byte() % CONNS
        if op == 0:
            sel = reader.byte()
            room = ROOMS[sel % 2] if sel < 200 else _as_text(reader.chunk(), 1 + sel % 3)
            driver.open(conn, room if isinstance(room, str) else room.decode("latin-1"))
        elif op in (1, 2):
            driver.receive(conn, orjson.dumps(TEMPLATES[reader.byte() % len(TEMPLATES)]))
        elif op == 3:
            driver.receive(conn, _spliced(TEMPLATES[reader.byte() % len(TEMPLATES)],
                                          reader.chunk(), reader.byte()))
        elif op == 4:
            driver.receive(conn, _as_text(reader.chunk(), reader.byte() % 4))
        elif op == 5:
            seed = seeds[reader.byte() % len(seeds)]
            driver.receive(conn, seed)
        elif op == 6:
            driver.closed(conn, CAUSES[reader.byte() % len(CAUSES)])
        elif op == 7:
            driver.tick(reader.byte() / 16)
        elif op == 8:
            driver.activity(conn)
        else:
            driver.orb_ended(reader.byte())
    driver.finish()


def seed_programs() -> list[bytes]:
    """Byte programs that reach each state and each refusal, then send every seed payload."""
    seeds = seed_payloads()
    # conns 0, 1, 2 open r1; coach, client and orb join; conn 3 opens r1 and stays unjoined.
    prologue = bytes([0, 0, 0, 0, 1, 0, 0, 2, 0,
                      1, 0, 0, 1, 1, 1, 1, 2, 2,
                      0, 3, 0])
    programs = [prologue]
    for index in range(len(seeds)):
        programs.append(prologue + bytes([5, index % 4, index]))
    for index in range(len(TEMPLATES)):
        programs.append(prologue + bytes([2, 0, index, 2, 3, index, 7, 0, 40, 6, 1, 1]))
    programs += [
        prologue + bytes([5, 0, 8] * 16),  # a flood of pings: rate-limited, then 1008
        prologue + bytes([1, 3, 16, 1, 3, 17, 1, 3, 15]),  # intruders, then a 4th joiner
        prologue + bytes([0, 4, 1, 1, 4, 17]),  # a coach in r2: no orb left for it
        prologue + bytes([7, 0, 48, 6, 0, 0, 6, 1, 0, 7, 0, 48, 7, 0, 48]),  # orb idle grace
        prologue + bytes([7, 0, 255, 7, 0, 255, 9, 0, 0]),  # everything times out
    ]
    return programs


# --------------------------------------------------------------------------- structured programs


def run_ops(ops: Sequence[tuple[str, Any]], authorize: bool = False,
            prologue: bool = True) -> None:
    """Structured programs (from Hypothesis): ``(operation, argument)`` pairs.

    The prologue puts a coach, a client and an orb in ``r1`` and a coach in ``r2`` first, so
    the fuzzed messages also meet the joined states.
    """
    driver = Driver(authorize)
    if prologue:
        for conn, room in enumerate(("r1", "r1", "r1", "r2")):
            driver.open(conn, room)
        for conn, template in ((0, 0), (1, 1), (2, 2), (3, 15)):
            driver.receive(conn, orjson.dumps(TEMPLATES[template]))
    for op, arg in ops:
        if op == "open":
            driver.open(*arg)
        elif op == "receive":
            driver.receive(*arg)
        elif op == "closed":
            driver.closed(*arg)
        elif op == "tick":
            driver.tick(arg)
        elif op == "activity":
            driver.activity(arg)
        elif op == "orb_ended":
            driver.orb_ended(arg)
        else:
            run_program(arg, authorize)
    driver.finish()


def programs() -> Any:
    """A Hypothesis strategy for :func:`run_ops` programs (Hypothesis imported lazily)."""
    from hypothesis import strategies as st

    conn = st.integers(0, CONNS - 1)
    scalars = (st.none() | st.booleans() | st.integers() | st.floats()
               | st.text(max_size=20) | st.sampled_from(["join", "coach", "ai", "r1", "client-1"]))
    values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=10), inner, max_size=4),
        max_leaves=12,
    )
    fields = st.sampled_from(["type", "userId", "userName", "userRole", "participantType",
                              "roomId", "toId", "fromId", "token", "status", "reason",
                              "action", "metrics", "offer", "candidate", "sessionId"])

    def mutate(template: dict[str, Any], field: str, value: Any, drop: bool,
               ascii_only: bool) -> str:
        msg = dict(template)
        if drop:
            msg.pop(field, None)
        else:
            msg[field] = value
        return json.dumps(msg, ensure_ascii=ascii_only)

    mutated = st.builds(mutate, st.sampled_from(TEMPLATES), fields, values, st.booleans(),
                        st.booleans())
    nested = st.builds(lambda n, kind: (kind[0] * n + kind[1] * n),
                       st.integers(1, 3000), st.sampled_from([("[", "]"), ('{"a":', "}")]))
    nested_field = st.builds(
        lambda n: '{"type":"client_signal","action":"x","v":' + "[" * n + "]" * n + "}",
        st.integers(200, 1100))
    surrogates = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
    payload = st.one_of(
        st.sampled_from(seed_payloads()),
        mutated,
        mutated.map(lambda text: text.encode("utf-8", "surrogatepass")),
        st.builds(lambda text, s, at: text[:at] + s + text[at:], mutated, surrogates,
                  st.integers(0, 200)),
        st.builds(lambda raw, at, junk: raw[:at] + junk + raw[at:],
                  st.sampled_from(TEMPLATES).map(orjson.dumps), st.integers(0, 200),
                  st.binary(min_size=1, max_size=4)),
        values.map(lambda v: json.dumps(v)),
        nested,
        nested_field,
        st.text(max_size=200),
        st.binary(max_size=200),
    )
    template = st.tuples(st.just("receive"), st.tuples(
        conn, st.sampled_from(TEMPLATES).map(orjson.dumps)))
    op = st.one_of(
        st.tuples(st.just("receive"), st.tuples(conn, payload)),
        template,
        template,
        template,
        st.tuples(st.just("open"), st.tuples(conn, st.sampled_from(ROOMS) | st.text(max_size=140))),
        st.tuples(st.just("closed"), st.tuples(conn, st.sampled_from(CAUSES))),
        st.tuples(st.just("tick"), st.sampled_from([0.0, 0.25, 1.0, 2.5, 4.0, 9.0])),
        st.tuples(st.just("activity"), conn),
        st.tuples(st.just("orb_ended"), st.integers(0, 10)),
        st.tuples(st.just("program"), st.binary(max_size=300)),
    )
    return st.lists(op, max_size=50)


# --------------------------------------------------------------------------- engines


def hypothesis_fuzz(max_examples: int) -> None:
    """Run ``max_examples`` structured programs; a failure raises with the shrunk program."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=max_examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(programs(), st.booleans(), st.booleans())
    def fuzz(ops: Sequence[tuple[str, Any]], authorize: bool, prologue: bool) -> None:
        run_ops(ops, authorize, prologue)

    fuzz()


def atheris_fuzz(argv: list[str]) -> None:
    """libFuzzer via atheris: ``argv`` is passed on (corpus directories, ``-flags``)."""
    import atheris  # type: ignore[import-not-found, unused-ignore]

    if not any(not arg.startswith("-") for arg in argv[1:]):
        corpus = tempfile.mkdtemp(prefix="fuzz-intake-corpus-")
        for index, program in enumerate(seed_programs()):
            with open(os.path.join(corpus, f"seed-{index:03d}"), "wb") as f:
                f.write(program)
        argv = [argv[0], corpus, *argv[1:]]
        print(f"seed corpus: {corpus}", file=sys.stderr)

    def one_input(data: bytes) -> None:
        run_program(data[1:], authorize=bool(data) and data[0] & 1 == 1)

    atheris.instrument_all()
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv if argv is None else argv)
    if "--atheris" in args:
        args.remove("--atheris")
        atheris_fuzz(args)
        return
    parser = argparse.ArgumentParser(description="Hypothesis fuzzing of the core's intake.")
    parser.add_argument("--max-examples", type=int, default=10_000)
    ns = parser.parse_args(args[1:])
    for program in seed_programs():
        run_program(program)
        run_program(program, authorize=True)
    hypothesis_fuzz(ns.max_examples)
    print(f"ok: {len(seed_programs())} seed programs and {ns.max_examples} Hypothesis programs")


if __name__ == "__main__":
    main()
