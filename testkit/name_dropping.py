"""A speech-to-text double whose plain words lose the orb's name and whose second listen finds it.

Whisper tiny.en writes a bare "Orb, could you…" as "Or could you…"; the orb listens again
for the name (``listen_for_name``) where that can change what it does. Tests of when that
second listen runs, and of what it returns being what is published, need both answers fixed
and every listen counted: that is all this does. Test tooling only.
"""

from __future__ import annotations

from orb_bridge.audio import Audio

PLAIN = "Or could you sum up?"
NAMED = "Orb, could you sum up?"


class NameDroppingStt:
    """``transcribe`` gives :data:`PLAIN`; ``listen_for_name`` gives :data:`NAMED` and notes
    the words it was handed in ``listened``."""

    def __init__(self) -> None:
        self.listened: list[str] = []

    async def transcribe(self, audio: Audio) -> str:
        return PLAIN

    async def listen_for_name(self, audio: Audio, text: str) -> str:
        self.listened.append(text)
        return NAMED
