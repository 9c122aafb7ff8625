"""The docs quote tables generated from the code; these tests keep them from drifting."""

from __future__ import annotations

from pathlib import Path

from signaling_core._rules import permission_table_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_protocol_doc_embeds_the_permission_table() -> None:
    doc = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    assert permission_table_markdown() in doc


def test_protocol_doc_lists_every_error_code() -> None:
    from signaling_core import ErrorCode

    doc = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    missing = [code.value for code in ErrorCode if f"`{code.value}`" not in doc]
    assert missing == []
