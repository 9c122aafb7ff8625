"""The wire vocabulary (signaling_core.wire): one home for every name, the same bytes as the
protocol always had, and static/protocol.js generated from it and never stale."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import orjson
import pytest

from orb_bridge.transcripts import Transcript
from signaling_core import wire
from signaling_core.wire import ErrorCode, MessageType, ProtocolError, TranscriptLine
from trio_server.ledger._query import TranscriptLine as LedgerLine

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_protocol_js",
                                                  ROOT / "scripts" / "gen_protocol_js.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_protocol_js_is_generated_and_fresh() -> None:
    gen = _generator()
    assert gen.TARGET.read_text(encoding="utf-8") == gen.render(), (
        "static/protocol.js is stale: run python scripts/gen_protocol_js.py")


def test_the_freshness_check_sees_a_change(monkeypatch: pytest.MonkeyPatch) -> None:
    gen = _generator()
    before = gen.render()
    monkeypatch.setattr(wire, "ORB_USER_PREFIX", "bot-")
    assert gen.render() != before
    assert gen.main(["--check"]) == 1


def test_each_constant_has_one_home() -> None:
    """MAX_ID_CHARS, the transcript limit and the record's field names are defined only in
    the wire package, signaling_core/wire/ (other modules import them)."""
    defined = re.compile(r"^(MAX_ID_CHARS|MAX_TEXT_CHARS|MAX_TRANSCRIPT_CHARS|MAX_SUMMARY_CHARS"
                         r"|ORB_USER_PREFIX)\s*(:[^=]*)?=", re.MULTILINE)
    field = re.compile(r"""["'](utteranceId|speakerId|speakerRole)["']""")
    homes: dict[str, list[str]] = {}
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for name, _ in defined.findall(text):
            homes.setdefault(name, []).append(path.parent.name)
        if path.parent.name != "wire":
            assert not field.search(text), f"{path} spells a transcript field itself"
    assert homes == {name: ["wire"] for name in homes}, homes
    assert "MAX_TEXT_CHARS" not in homes


def test_encoders_keep_the_bytes() -> None:
    public = wire.participant_fields("u1", "Ann", "coach", "human")
    assert wire.user_joined(public, True) == (
        b'{"type":"user-joined","userId":"u1","userName":"Ann","userRole":"coach",'
        b'"participantType":"human","shouldCreateOffer":true}')
    assert wire.error(ErrorCode.ROOM_FULL, "full", "join") == (
        b'{"type":"error","code":"room-full","message":"full","ref":"join"}')
    assert wire.PONG == b'{"type":"pong"}'
    peer = wire.discovered_peer(public, False, away=True, resumed_status=wire.PEER_JOINED)
    assert wire.peer_discovery("r", [peer], "tok", [], orb_mode="addressed") == (
        b'{"type":"peer-discovery","roomId":"r","peers":[{"userId":"u1","userName":"Ann",'
        b'"userRole":"coach","participantType":"human","shouldCreateOffer":false,'
        b'"status":"joined","away":true}],"orbMode":"addressed","resumeToken":"tok",'
        b'"resumed":true,"left":[]}')
    assert orjson.dumps(wire.join_message(None, "u", "client", token="t")) == (
        b'{"type":"join","userId":"u","userRole":"client","token":"t"}')


def test_one_transcript_record_from_orb_to_ledger() -> None:
    said = Transcript("s-1", "client-1", "client", "x" * 5000, 10.00049, 12.5)
    message = said.message()
    assert list(message) == ["type", "utteranceId", "speakerId", "speakerRole", "text",
                             "startedAt", "endedAt"]
    line = wire.parse_transcript(message)
    assert line == TranscriptLine("s-1", "client-1", "client", "x" * wire.MAX_TRANSCRIPT_CHARS,
                                  10.0, 12.5)
    stored = LedgerLine(*attrs_tuple(line))
    assert list(stored.to_json()) == ["utteranceId", "speakerId", "speakerRole", "text",
                                      "startedAt", "endedAt"]


def attrs_tuple(line: TranscriptLine) -> tuple[str, str, str, str, float, float]:
    return (line.utterance_id, line.speaker_id, line.speaker_role, line.text, line.started_at,
            line.ended_at)


@pytest.mark.parametrize("broken", [
    {"text": ""}, {"startedAt": "soon"}, {"endedAt": 1.0}, {"speakerRole": "r" * 33},
])
def test_parse_transcript_refuses_with_the_protocols_code(broken: dict[str, object]) -> None:
    good = wire.ai_transcript(TranscriptLine("u", "s", "client", "hi", 5.0, 6.0))
    with pytest.raises(ProtocolError) as caught:
        wire.parse_transcript({**good, **broken})
    assert caught.value.code is ErrorCode.INVALID_MESSAGE
    assert caught.value.ref == MessageType.AI_TRANSCRIPT


def test_message_types_cover_the_rules() -> None:
    from signaling_core import MESSAGE_RULES
    assert set(MESSAGE_RULES) <= set(MessageType)
    assert all(type(key) is MessageType for key in MESSAGE_RULES)


def test_the_orbs_own_messages_keep_their_bytes() -> None:
    """The orb's messages, built by the vocabulary, are the bytes the orb sent by hand."""
    from signaling_core import wire as w

    assert w.encode(w.ping()) == b'{"type":"ping"}'
    assert w.encode(w.orb_shutdown("error", "s1")) == (
        b'{"type":"ai-orb-shutdown","sessionId":"s1","reason":"error"}')
    assert w.encode(w.orb_heartbeat("s1", {"cpu": 0.5})) == (
        b'{"type":"orb_heartbeat","sessionId":"s1","metrics":{"cpu":0.5}}')
    assert w.encode(w.orb_status("ready", "s1", transcribing=True, voice="piper",
                                 mode="addressed")) == (
        b'{"type":"ai_status","status":"ready","sessionId":"s1","transcribing":true,'
        b'"voice":"piper","mode":"addressed"}')
    assert w.encode(w.answer({"type": "answer", "sdp": "v=0"}, "coach-1")) == (
        b'{"type":"answer","answer":{"type":"answer","sdp":"v=0"},"toId":"coach-1"}')
    assert w.encode(w.answer("x", "coach-1", "L1")) == (
        b'{"type":"answer","answer":"x","toId":"coach-1","linkId":"L1"}')


# ------------------------------------------------- field names spelled only by the vocabulary

#: The wire's names whose literals may appear only in signaling_core/wire/ (and the generated
#: protocol.js): the messages' fields and the WebRTC payloads' fields they carry.
WIRE_NAMES = frozenset(
    value for kind in (wire.Field, wire.WebRtcField) for key, value in vars(kind).items()
    if key.isupper())

#: Where the literal names another thing that happens to share a word with a field, and why.
NOT_A_FIELD = {
    ("src/trio_server/conformance/report.py", "ref"): "the report's rule reference",
    ("src/trio_server/cli.py", "token"): "the name of the `token` subcommand",
    ("src/trio_server/history.py", "token"): "a query parameter a login link may carry",
    ("src/orb_bridge/coaching.py", "by"): "an English word a topic phrase does not end with",
    ("src/orb_bridge/dispatch/pool.py", "token"): "the dispatch job's payload (a Redis entry)",
    ("src/orb_bridge/dispatch/redis_host.py", "token"): "the dispatch job's payload",
    ("src/orb_bridge/in_process_host.py", "reason"): "an OrbOutcome's attribute (asdict)",
    ("src/orb_bridge/runtime.py", "reason"): "an OrbOutcome's attribute (attrs.asdict)",
    ("src/orb_bridge/llm.py", "message"): "the OpenAI chat API's answer",
    ("src/orb_bridge/openai_audio.py", "text"): "the OpenAI audio API's transcription",
    ("src/orb_bridge/openai_audio.py", "voice"): "the OpenAI audio API's speech request",
    ("src/orb_bridge/speech_config.py", "voice"): "the orb's configuration key",
    ("src/orb_bridge/worker.py", "voice"): "the orb's configuration key (--voice)",
    ("bench/orb_dispatch.py", "left"): "an orb event's kind (testkit.fleet.Coach.orb_events)",
    ("bench/orb_reply_latency.py", "mode"): "the bench's result record",
    ("bench/orb_reply_latency.py", "voice"): "the bench's result record",
    ("bench/orb_capacity.py", "voice"): "the bench's result record",
    ("bench/party.py", "voice"): "the bench's result records",
    ("bench/party.py", "text"): "the bench's result records",
    ("bench/party.py", "resumed"): "the bench's result records (seconds to resume speaking)",
    ("bench/_party_floor.py", "voice"): "the floor part's result records (bench/party.py)",
    ("bench/_party_floor.py", "text"): "the floor part's result records (bench/party.py)",
    ("bench/_party_floor.py", "resumed"): "the floor part's result records (seconds to resume)",
    ("bench/_addressing.py", "voice"): "a turn of the addressing set and its result record",
    ("bench/_addressing.py", "text"): "a turn of the addressing set and its result record",
    ("bench/_addressing_fresh5.py", "voice"): "a turn of the addressing set fresh5",
    ("bench/_addressing_fresh5.py", "text"): "a turn of the addressing set fresh5",
    ("bench/_addressing_fresh6.py", "voice"): "a turn of the addressing set fresh6",
    ("bench/_addressing_fresh6.py", "text"): "a turn of the addressing set fresh6",
    ("bench/_addressing_fresh7.py", "voice"): "a turn of the addressing set fresh7",
    ("bench/_addressing_fresh7.py", "text"): "a turn of the addressing set fresh7",
    ("bench/_addressing_fresh8.py", "voice"): "a turn of the addressing set fresh8",
    ("bench/_addressing_fresh8.py", "text"): "a turn of the addressing set fresh8",
    ("bench/test_bench.py", "voice"): "a result record of the party bench",
    ("bench/test_bench.py", "text"): "a result record of the party bench",
}

#: bench/ files not held to it: an independent server kept as a baseline (it must not share
#: the code it is compared with).
BENCH_EXEMPT = frozenset({"baselines"})


def wire_literals(source: str) -> list[tuple[int, str]]:
    """(line, name) of every string literal of a wire name used as a name: a dict key, a
    subscript, the key of ``get``/``pop``/``setdefault``, a compared value or a member of a
    literal set, list or tuple (``__slots__`` aside, which name attributes)."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and type(node.value) is str
                and node.value in WIRE_NAMES):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Dict):
            named = node in parent.keys
        elif isinstance(parent, ast.Subscript):
            named = parent.slice is node
        elif isinstance(parent, ast.Call):
            named = (isinstance(parent.func, ast.Attribute)
                     and parent.func.attr in ("get", "pop", "setdefault")
                     and bool(parent.args) and parent.args[0] is node)
        elif isinstance(parent, ast.Compare):
            named = True
        elif isinstance(parent, ast.Set | ast.List | ast.Tuple):
            slots = parents.get(parent)
            named = not (isinstance(slots, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__slots__" for t in slots.targets))
        else:
            named = False
        if named:
            found.append((node.lineno, node.value))
    return found


def _held_files() -> list[Path]:
    files = [p for root in ("signaling_core", "trio_server", "orb_bridge")
             for p in (SRC / root).rglob("*.py")
             if "wire" not in p.relative_to(SRC).parts]
    files += [p for p in (ROOT / "bench").rglob("*.py")
              if not BENCH_EXEMPT & set(p.relative_to(ROOT / "bench").parts)]
    return sorted(files)


def test_field_names_are_spelled_only_by_the_vocabulary() -> None:
    """No module of the core, the server (its conformance suite included), the orb or the
    benches spells a message's field name: each takes it from signaling_core.wire."""
    spelled = []
    for path in _held_files():
        rel = path.relative_to(ROOT).as_posix()
        for line, name in wire_literals(path.read_text(encoding="utf-8")):
            if (rel, name) not in NOT_A_FIELD:
                spelled.append(f"{rel}:{line}: {name!r}")
    assert not spelled, "field names spelled outside signaling_core.wire:\n" + "\n".join(spelled)


def test_the_field_name_check_sees_a_literal() -> None:
    source = ('m = {"userId": u}\nx = m["sdp"]\ny = m.get("toId")\nok = m[Field.TYPE]\n'
              'if k == "candidate": pass\n__slots__ = ("status",)\nprint("text")\n')
    assert wire_literals(source) == [(1, "userId"), (2, "sdp"), (3, "toId"), (5, "candidate")]
    conformance = [p for p in _held_files() if "conformance" in p.parts and "cases" in p.parts]
    assert len(conformance) >= 10, "the conformance cases are held to it"
    held = {p.relative_to(ROOT).as_posix() for p in _held_files()}
    assert {"src/orb_bridge/peers.py", "src/orb_bridge/worker.py", "bench/party.py",
            "bench/orb_dispatch.py", "bench/orb_reply_latency.py"} <= held, "the orb is held"


def test_the_conformance_suite_keeps_its_own_checks() -> None:
    """The suite takes names and builders from the vocabulary, never its parsers or the core
    itself: a bug shared by them and the server would pass a suite that judged with them."""
    judges = {name for name in dir(wire) if name.startswith(("parse_", "require_"))}
    judges |= {"JoinRequest", "SignalingCore", "MESSAGE_RULES"}
    assert {"parse_join", "parse_transcript", "require_action"} <= judges
    used = []
    for path in sorted((SRC / "trio_server" / "conformance").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.ImportFrom)
                     else [node.attr] if isinstance(node, ast.Attribute) else [])
            used += [f"{path.name}: {name}" for name in names if name in judges]
    assert not used, used
