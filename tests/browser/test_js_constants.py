"""The browser client's wire vocabulary (static/protocol.js) against the Python side, and the
rule that it lives only there: no other file of static/ spells a close code, the orb prefix or
a message type. No browser needed: the files are read as text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from signaling_core import MESSAGE_RULES, ORB_USER_PREFIX, CloseCode

STATIC = Path(__file__).resolve().parents[2] / "src" / "trio_server" / "static"
PROTOCOL_JS = STATIC / "protocol.js"

#: A line carrying this comment may hold a number equal to a close code (e.g. 1000 ms).
NOT_A_CLOSE_CODE = "// not a close code"

_NUMBER = re.compile(
    r"(?<![\w$.])(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+"
    r"|\d[\d_]*(?:\.[\d_]*)?(?:[eE][+-]?\d+)?)(?![\w$])"
)
_ENTRY = re.compile(r"\s*([A-Z][A-Z0-9_]*)\s*:\s*([^,:\s][^,:]*?)\s*,?\s*$")


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    return re.sub(r"//[^\n]*", "", text)


def _frozen_object(source: str, name: str) -> dict[str, str]:
    """The entries of `export const NAME = Object.freeze({ KEY: value, ... });`, as source text.

    Every non-blank line of the object must be a `KEY: value` entry, so an entry spelled in
    some other way fails here rather than being skipped.
    """
    match = re.search(
        rf"^export const {name} = Object\.freeze\(\{{\n(.*?)\n\}}\);$",
        source,
        flags=re.DOTALL | re.MULTILINE,
    )
    assert match is not None, f"protocol.js has no `export const {name} = Object.freeze({{...}})`"
    entries: dict[str, str] = {}
    for line in _strip_comments(match.group(1)).splitlines():
        if not line.strip():
            continue
        entry = _ENTRY.fullmatch(line)
        assert entry is not None, f"{name}: not a `KEY: value,` entry: {line!r}"
        key, value = entry.groups()
        assert key not in entries, f"{name}.{key} is defined twice"
        entries[key] = value
    return entries


def _int_entries(source: str, name: str) -> dict[str, int]:
    entries = _frozen_object(source, name)
    for key, value in entries.items():
        assert re.fullmatch(r"\d+", value), f"{name}.{key} is not a plain integer: {value}"
    return {key: int(value) for key, value in entries.items()}


def _str_entries(source: str, name: str) -> dict[str, str]:
    entries = _frozen_object(source, name)
    for key, value in entries.items():
        assert re.fullmatch(r"'[^'\\]*'", value), f"{name}.{key} is not a plain string: {value}"
    return {key: value[1:-1] for key, value in entries.items()}


def _number_value(literal: str) -> float:
    digits = literal.replace("_", "")
    if digits[:2].lower() in ("0x", "0o", "0b"):
        return float(int(digits, 0))
    return float(digits)


def _other_files(suffixes: tuple[str, ...]) -> list[Path]:
    files = sorted(
        path for path in STATIC.iterdir()
        if path.is_file() and path.suffix in suffixes and path != PROTOCOL_JS
    )
    assert files, f"no {suffixes} files besides protocol.js in {STATIC}"
    return files


@pytest.fixture(scope="module")
def protocol_source() -> str:
    return PROTOCOL_JS.read_text(encoding="utf-8")


def test_close_codes_mirror_the_python_enum(protocol_source: str) -> None:
    js_codes = _int_entries(protocol_source, "CloseCode")
    py_codes = {member.name: member.value for member in CloseCode}
    assert list(js_codes) == list(py_codes), "CloseCode names or their order differ"
    for name, value in py_codes.items():
        assert js_codes[name] == value, f"CloseCode.{name}: JS {js_codes[name]}, Python {value}"


def test_local_close_codes_are_not_protocol_codes(protocol_source: str) -> None:
    local = _int_entries(protocol_source, "LocalCloseCode")
    assert local, "LocalCloseCode is empty"
    assert not set(local.values()) & {member.value for member in CloseCode}
    assert not set(local) & set(CloseCode.__members__)


def test_orb_prefix_mirrors_python(protocol_source: str) -> None:
    match = re.search(
        r"^export const ORB_USER_PREFIX = '([^'\\]*)';$", protocol_source, flags=re.MULTILINE
    )
    assert match is not None, "protocol.js has no `export const ORB_USER_PREFIX = '...';`"
    assert match.group(1) == ORB_USER_PREFIX


def test_message_types_cover_what_clients_may_send(protocol_source: str) -> None:
    types = _str_entries(protocol_source, "MessageType")
    assert len(set(types.values())) == len(types), "two MessageType names share one value"
    missing = set(MESSAGE_RULES) - set(types.values())
    assert not missing, f"MessageType lacks client message types the server knows: {missing}"
    assert types["JOIN"] == "join"


def test_join_is_built_only_by_join_message(protocol_source: str) -> None:
    assert re.search(r"^export function joinMessage\(", protocol_source, flags=re.MULTILINE)
    for path in _other_files((".js",)):
        text = _strip_comments(path.read_text(encoding="utf-8"))
        assert "MessageType.JOIN" not in text, f"{path.name} builds a join itself"


def test_no_close_code_literal_outside_protocol_js(protocol_source: str) -> None:
    codes = {float(member.value) for member in CloseCode}
    codes |= {float(v) for v in _int_entries(protocol_source, "LocalCloseCode").values()}
    found = []
    for path in _other_files((".js",)):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if NOT_A_CLOSE_CODE in line:
                continue
            for literal in _NUMBER.findall(line):
                if _number_value(literal) in codes:
                    found.append(f"{path.name}:{number}: {line.strip()}")
    assert not found, "close codes spelled outside protocol.js:\n" + "\n".join(found)


def test_no_orb_prefix_outside_protocol_js() -> None:
    found = [
        path.name
        for path in _other_files((".js", ".html", ".css", ".svg"))
        if ORB_USER_PREFIX in path.read_text(encoding="utf-8")
    ]
    assert not found, f"{ORB_USER_PREFIX!r} spelled outside protocol.js: {found}"


def test_no_message_type_literal_outside_protocol_js(protocol_source: str) -> None:
    types = "|".join(re.escape(t) for t in _str_entries(protocol_source, "MessageType").values())
    quoted = rf"""(['"`])(?:{types})\1"""
    spelled = re.compile(
        rf"\btype\s*:\s*{quoted}|\.type\s*[!=]==?\s*{quoted}|\bcase\s+{quoted}"
    )
    found = []
    for path in _other_files((".js",)):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if spelled.search(line):
                found.append(f"{path.name}:{number}: {line.strip()}")
    assert not found, "message types spelled outside protocol.js:\n" + "\n".join(found)


def test_the_checks_catch_a_respelling(protocol_source: str) -> None:
    """The patterns above do find what they are meant to find."""
    assert _NUMBER.findall("ws.close(4_001, 'x'); f(0xFA1); g(1e3)") == ["4_001", "0xFA1", "1e3"]
    assert [_number_value(n) for n in ("4_001", "0xFA1", "1e3")] == [4001.0, 4001.0, 1000.0]
    assert _NUMBER.findall("a.b1000 + x1013 + 'ai-orb-' + 1.5") == ["1.5"]
    assert _frozen_object("export const X = Object.freeze({\n  A: 1, // one\n});", "X") == {
        "A": "1"
    }
    with pytest.raises(AssertionError):
        _frozen_object("export const X = Object.freeze({\n  A: 1, B: 2,\n});", "X")
