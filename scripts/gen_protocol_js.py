"""Generate the browser client's wire vocabulary (src/trio_server/static/protocol.js).

The names and values (close codes, message types, error codes, limits, orb modes, the orb's
userId prefix, the ``client_signal`` actions) come from :mod:`signaling_core.wire`, the one
definition of the protocol, as do the shapes of the history API's JSON (``HISTORY_SHAPES``); the
other JSDoc shapes, the client's own close codes and ``joinMessage``
come from ``scripts/protocol.js.in``. A test (tests/core/test_wire.py) renders the file again
and fails when the committed one differs.

    python scripts/gen_protocol_js.py           # write protocol.js
    python scripts/gen_protocol_js.py --check   # exit 1 when protocol.js is stale
"""

from __future__ import annotations

import argparse
import enum
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from signaling_core import wire

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "scripts" / "protocol.js.in"
TARGET = ROOT / "src" / "trio_server" / "static" / "protocol.js"


def _js(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    text = str(value)
    assert "'" not in text and "\\" not in text, f"not a plain JS string: {text!r}"
    return f"'{text}'"


def _frozen(name: str, doc: str, entries: Iterable[tuple[str, object]]) -> str:
    lines = [f"/** {doc} */", f"export const {name} = Object.freeze({{"]
    lines += [f"  {key}: {_js(value)}," for key, value in entries]
    lines.append("});")
    return "\n".join(lines) + "\n"


def _members(kind: type[enum.Enum]) -> list[tuple[str, object]]:
    return [(member.name, member.value) for member in kind]


def _const(name: str, doc: str, value: object) -> str:
    return f"/** {doc} */\nexport const {name} = {_js(value)};\n"


def _typedefs(doc: str, shapes: Mapping[str, Sequence[tuple[str, str]]]) -> str:
    lines = ["/**", f" * {doc}"]
    for name, fields in shapes.items():
        body = ", ".join(f"{field}: {js_type}" for field, js_type in fields)
        lines.append(f" * @typedef {{{{{body}}}}} {name}")
    lines.append(" */")
    return "\n".join(lines) + "\n"


def render() -> str:
    """The text protocol.js must have."""
    close_codes = _frozen(
        "CloseCode",
        "WebSocket close codes the protocol uses (docs/protocol.md, \"Close codes\").",
        _members(wire.CloseCode))
    vocabulary = "\n".join([
        _const("ORB_USER_PREFIX", "The userId prefix reserved for AI orbs.",
               wire.ORB_USER_PREFIX),
        _frozen("MessageType", "The `type` of every message of the protocol, both directions.",
                _members(wire.MessageType)),
        _frozen("ErrorCode", "The `code` values of the `error` message.",
                _members(wire.ErrorCode)),
        _frozen("OrbMode", "Whom the orb talks to (docs/orb.md, \"Whom the orb talks to\").",
                [(mode.upper(), mode) for mode in wire.ORB_MODES]),
        _const("LINK_STATE", "`client_signal` action: which link the answerer holds.",
               wire.LINK_STATE),
        _const("SHARE_SUMMARY", "`client_signal` action: a coach shows the orb's summary.",
               wire.SHARE_SUMMARY),
        _frozen("ParticipantType", "The participant types of a `join`.",
                [("HUMAN", wire.HUMAN), ("AI", wire.AI)]),
        _frozen("Limits", "Lengths (in characters) the server holds fields to.",
                wire.LIMITS.items()),
        _typedefs("The coach's history (`/api/history`) as the server writes it: the fields "
                  "the history page reads.", wire.HISTORY_SHAPES),
    ])
    template = TEMPLATE.read_text(encoding="utf-8")
    assert template.count("{{CLOSE_CODES}}") == 1 and template.count("{{VOCABULARY}}") == 1
    return template.replace("{{CLOSE_CODES}}\n", close_codes + "\n").replace(
        "{{VOCABULARY}}\n", vocabulary + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when protocol.js differs from what would be generated")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is stale: run python scripts/gen_protocol_js.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
