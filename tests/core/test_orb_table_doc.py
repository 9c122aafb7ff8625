"""docs/protocol.md prints the orb lifecycle table; it must stay the code's table."""

from __future__ import annotations

from pathlib import Path

from signaling_core._orb_lifecycle import ORB_TRANSITIONS, orb_table_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_protocol_doc_embeds_the_orb_table() -> None:
    assert orb_table_markdown() in DOC.read_text(encoding="utf-8")


def test_the_printed_table_has_one_line_per_row() -> None:
    assert len(orb_table_markdown().splitlines()) == 2 + len(ORB_TRANSITIONS)
