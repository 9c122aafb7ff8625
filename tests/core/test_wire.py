"""The wire vocabulary (signaling_core.wire): one home for every name, the same bytes as the
protocol always had, and static/protocol.js generated from it and never stale."""

from __future__ import annotations

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
