"""What the orb writes down about a call: each utterance's words, and the summary at the end.

Speech-to-text sits between hearing and the conductor: a finished utterance is transcribed
(off the media path, :class:`~orb_bridge.transcripts.Scribe`), published as ``ai_transcript``
when transcripts are on, and only then handed to the conductor, so the brain answers words.
When the humans have all left, and again when the orb ends, everything said is summarised
into one ``ai_summary`` — never with transcripts off, as a summary is conversation content.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from signaling_core.wire import ai_summary

from ._config import OrbConfig
from .brain import Brain
from .hearing import TurnEvent, Utterance
from .stt import shared_engine
from .transcripts import Scribe, Transcript, TranscriptBook, summarize

Spawn = Callable[[Coroutine[Any, Any, None], str], "asyncio.Task[None]"]


class Minutes:
    def __init__(self, config: OrbConfig, brain: Brain, *, session_id: str, user_id: str,
                 post: Callable[[dict[str, Any]], None], joined: Callable[[], bool],
                 deliver: Callable[[TurnEvent], None], spawn: Spawn,
                 name_matters: Callable[[Utterance], bool] | None = None) -> None:
        """``post`` sends a message (once the orb has ``joined``); ``deliver`` hands an
        utterance (with its words) to the conductor; ``spawn`` starts a task the session
        owns; ``name_matters`` tells the scribe where listening again for the orb's name
        can change the turn's fate (:class:`~orb_bridge.transcripts.Scribe`)."""
        self._joined = joined
        self._cfg = config
        self._brain = brain
        self._session_id = session_id
        self._user_id = user_id
        self._post = post
        self._spawn = spawn
        self.book = TranscriptBook()
        stt = shared_engine(config.speech)
        #: None: no speech-to-text (turns reach the conductor without words).
        self.scribe = None if stt is None else Scribe(
            stt, session_id=session_id, book=self.book,
            publish=self._publish if config.speech.transcripts else None,
            deliver=deliver, spawn=spawn, min_utterance=config.min_utterance,
            name_matters=name_matters)
        self._summarized = 0  # the book's version the last ai_summary covered
        self._summary_task: asyncio.Task[None] | None = None

    @property
    def publishes_transcripts(self) -> bool:
        return self.scribe is not None and self._cfg.speech.transcripts

    def _publish(self, line: Transcript) -> None:
        self._post(line.message())

    def on_spoken(self, text: str, started_at: float, ended_at: float) -> None:
        """The orb said ``text`` (what it actually said, if it was interrupted)."""
        if self.scribe is not None:
            self.scribe.said(self._user_id, text, started_at, ended_at)

    def summary_soon(self) -> None:
        """The humans have all left: write the summary now (again later if they return)."""
        if self._summary_task is None or self._summary_task.done():
            self._summary_task = self._spawn(self.send_summary(), "orb-summary")

    async def send_summary(self, *, final: bool = False) -> None:
        """``ai_summary`` of everything said, if anything new was said since the last one.

        At the orb's end the language model gets less time: the host bounds the whole finish.
        """
        version = self.book.version
        if not self.publishes_transcripts or not self._joined() \
                or version <= self._summarized:
            return
        timeout = self._cfg.speech.summary_timeout
        summary = await summarize(self._brain, self.book.turns(),
                                  min(timeout, 5.0) if final else timeout)
        self._summarized = version
        self._post(ai_summary(self._session_id, summary.text, summary.method,
                              summary.key_topics, summary.goals))
