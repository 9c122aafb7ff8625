"""docs/embedding.md quotes examples/embed_asyncio.py and examples/embed_fastapi.py; the quotes
must stay true."""

from __future__ import annotations

import re

from .servers import EXAMPLE, REPO

DOC = REPO / "docs" / "embedding.md"
QUOTE = re.compile(r"```python example\n(.*?)```", re.S)
FASTAPI_QUOTE = re.compile(r"```python fastapi\n(.*?)```", re.S)
FASTAPI_EXAMPLE = REPO / "examples" / "embed_fastapi.py"


def test_every_quoted_snippet_is_in_the_example() -> None:
    source = EXAMPLE.read_text(encoding="utf-8")
    quotes = QUOTE.findall(DOC.read_text(encoding="utf-8"))
    assert len(quotes) >= 5
    for quote in quotes:
        assert quote in source, f"docs/embedding.md quotes code the example no longer has:\n{quote}"


def test_every_fastapi_snippet_is_in_its_example() -> None:
    source = FASTAPI_EXAMPLE.read_text(encoding="utf-8")
    quotes = FASTAPI_QUOTE.findall(DOC.read_text(encoding="utf-8"))
    assert len(quotes) >= 3
    for quote in quotes:
        assert quote in source, f"docs/embedding.md quotes code embed_fastapi.py lacks:\n{quote}"


def test_example_stays_small() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 165, "the example is meant to be read in one sitting"
