"""The transcription stage: finished utterances → words → ``ai_transcript`` and the brain.

It sits between hearing and turn-taking. A human's finished utterance is handed to
speech-to-text (off the loop, :mod:`orb_bridge.stt`); when the words come back they are
published as ``ai_transcript`` (unless transcripts are off), kept in the session's
:class:`TranscriptBook` (for the summary), and only then delivered to the conductor, carrying
its text, as the turn the brain reads and perhaps answers. An utterance with no words (noise,
a cough, a click) stops here: no transcript, no reply. The orb's own replies enter the same
book and are published the same way, with its own id and role ``ai``.

Speech-to-text starts early: when a speaker pauses (``SpeechPaused``, ``vad_pause_time``
of non-speech) the words so far go to speech-to-text at once; if the turn then ends without
another word, that transcription is the turn's, already done or under way, so the reply waits
for the end-of-turn decision rather than for the decision plus the transcription. A speaker
who goes on talking makes it moot (a later pause, or the end, starts afresh); the pipeline
asks for at most ``OrbConfig.stt_early_runs`` early runs per utterance, so one utterance is
never read more than that plus once.

Speech-to-text failing (refused because too many wait, or an engine error) loses that one
transcript: counted (``lost``, the ``orb_stt_lost`` metric) and logged; the orb carries on.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

import attrs

from signaling_core.wire import MAX_TRANSCRIPT_CHARS, TranscriptLine, ai_transcript

from . import figures
from .audio import Audio
from .closing_mark import HeardAtPause, WeighsClosingMark
from .coaching import Summary, Turn, extractive_summary
from .hearing import SpeechEnded, SpeechPaused, TurnEvent, Utterance
from .stt import ListensForName, SpeechToText, SttBusy

logger = logging.getLogger(__name__)

#: Lines kept for the summary; older ones are dropped (an orb may run for hours).
MAX_BOOK = 2000


@attrs.frozen
class Transcript(TranscriptLine):
    """One finished utterance in words; times are Unix seconds (the orb's wall clock).

    The record's fields are the wire vocabulary's (:class:`signaling_core.wire.TranscriptLine`).
    """

    def message(self) -> dict[str, Any]:
        """The ``ai_transcript`` message (docs/protocol.md): the text cut to what the core
        takes, times to the millisecond."""
        return ai_transcript(attrs.evolve(
            self, text=self.text[:MAX_TRANSCRIPT_CHARS],
            started_at=round(self.started_at, 3), ended_at=round(self.ended_at, 3)))


class TranscriptBook:
    """What was said in this session, in order, bounded."""

    def __init__(self) -> None:
        self.lines: deque[Transcript] = deque(maxlen=MAX_BOOK)
        #: Bumped on every line; a summary remembers the version it covered.
        self.version = 0

    def add(self, line: Transcript) -> None:
        self.lines.append(line)
        self.version += 1

    def turns(self) -> list[Turn]:
        return [Turn(t.speaker_role, t.text) for t in self.lines]


Spawn = Callable[[Coroutine[Any, Any, None], str], object]


class Scribe:
    """Transcribes each human's finished utterances, publishes them, and hands them on."""

    def __init__(
        self,
        stt: SpeechToText,
        *,
        session_id: str,
        book: TranscriptBook,
        publish: Callable[[Transcript], None] | None,
        deliver: Callable[[TurnEvent], None],
        spawn: Spawn,
        min_utterance: float,
        clock: Callable[[], float] = time.time,
        name_matters: Callable[[Utterance], bool] | None = None,
    ) -> None:
        """``name_matters``: whether the orb's name in this finished turn could change what
        the orb does with it (``None``: always). Where it cannot (a turn the orb answers
        anyway, or never answers), the second listen for the name is skipped: it costs about
        as much CPU again as the words themselves (0.5-0.7 s a turn)."""
        self._stt = stt
        self._name_matters = name_matters
        self._session_id = session_id
        self.book = book
        self._publish = publish
        #: Where a transcribed utterance goes (the pipeline sets it to its own stage).
        self.deliver = deliver
        self._spawn = spawn
        self._min_utterance = min_utterance
        self._clock = clock
        self._ids = itertools.count(1)
        #: speaker -> (the audio of their latest pause, its transcription under way)
        self._early: dict[str, tuple[Audio, asyncio.Future[HeardAtPause]]] = {}
        self.early_used = 0
        #: Speech-to-text runs asked for (early and final): non-speech must cost none.
        self.runs = 0
        self.transcribed = 0
        self.empty = 0
        self.lost = 0
        #: Finished turns whose second listen for the name was skipped (``name_matters``).
        self.name_listens_skipped = 0

    def next_id(self) -> str:
        return f"{self._session_id}-{next(self._ids)}"

    def paused(self, event: SpeechPaused) -> None:
        """A speaker paused: transcribe what they said so far, in case the turn is over."""
        old = self._early.pop(event.speaker_id, None)
        if old is not None:
            old[1].cancel()
        speech = event.speech
        self.runs += 1
        future = asyncio.ensure_future(self._words_at_pause(speech))
        future.add_done_callback(_quietly)
        self._early[event.speaker_id] = (speech, future)

    async def _words_at_pause(self, speech: Audio) -> HeardAtPause:
        if isinstance(self._stt, WeighsClosingMark):
            return await self._stt.words_at_pause(speech)
        return HeardAtPause.plain(await self._stt.transcribe(speech))

    async def early_text(self, speaker_id: str, speech: Audio) -> str | None:
        """The words of ``speaker_id``'s early transcription of exactly ``speech`` (waiting
        for it if it is under way), or ``None`` when there is none or it failed."""
        heard = await self._early_heard(speaker_id, speech)
        return None if heard is None else heard.text.strip()

    async def early_decided(self, speaker_id: str, speech: Audio,
                            silence: float | None = None) -> str | None:
        """:meth:`early_text` as the end-of-turn decision reads it (orb_bridge.closing_mark:
        an unsure closing mark trails off; ``silence``: as the check at that quiet reads it,
        ``HeardAtPause.decided_at``)."""
        heard = await self._early_heard(speaker_id, speech)
        return None if heard is None else _reading(heard, silence)

    async def _early_heard(self, speaker_id: str, speech: Audio) -> HeardAtPause | None:
        early = self._early.get(speaker_id)
        if early is None or not early[0].same(speech):
            return None
        try:
            return await asyncio.shield(early[1])
        except (asyncio.CancelledError, Exception):
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            return None

    def early_decided_now(self, speaker_id: str, speech: Audio,
                          silence: float | None = None) -> str | None:
        """:meth:`early_decided` if the transcription has already finished (``None``: none,
        under way, or failed): what the end-of-turn stage reads before it spends a decision
        on the model."""
        early = self._early.get(speaker_id)
        if early is None or not early[0].same(speech) or not early[1].done() \
                or early[1].cancelled() or early[1].exception() is not None:
            return None
        return _reading(early[1].result(), silence)

    def close(self) -> None:
        """Cancel the early transcriptions still under way (the orb is ending)."""
        for _speech, future in self._early.values():
            future.cancel()
        self._early.clear()

    def heard(self, utterance: Utterance) -> None:
        """A finished utterance (from the media path: returns at once)."""
        early = self._early.pop(utterance.speaker_id, None)
        if utterance.voiced < self._min_utterance:
            if early is not None:
                early[1].cancel()
            return  # a click: the conductor would drop it too
        ended_at = self._clock() - utterance.silence_after
        started_at = ended_at - max(0.0, utterance.duration - utterance.silence_after)
        if early is not None and not early[0].same(utterance.speech):
            early[1].cancel()  # they spoke again after that pause: it is not this turn
            early = None
        self._spawn(self._transcribe(utterance, started_at, ended_at,
                                     None if early is None else early[1]),
                    f"stt-{utterance.speaker_id}")

    def said(self, speaker_id: str, text: str, started_at: float, ended_at: float) -> None:
        """The orb said ``text``: into the book, and published like a human's words."""
        if text.strip():
            self._record(Transcript(self.next_id(), speaker_id, "ai", text.strip(),
                                    started_at, ended_at))

    async def _transcribe(self, utterance: Utterance, started_at: float, ended_at: float,
                          early: asyncio.Future[HeardAtPause] | None = None) -> None:
        try:
            text: str | None = None
            if early is not None:
                try:
                    text = (await early).text.strip()
                    self.early_used += 1
                except SttBusy:  # the early one was refused: this one may get through
                    text = None
            if text is None:
                self.runs += 1
                text = (await self._stt.transcribe(utterance.speech)).strip()
            if text and isinstance(self._stt, ListensForName):
                if self._name_matters is None or self._name_matters(utterance):
                    # The turn's final words: listen again for a name Whisper dropped.
                    text = (await self._stt.listen_for_name(utterance.speech, text)).strip()
                else:
                    self.name_listens_skipped += 1
        except SttBusy as exc:
            self.lost += 1
            figures.stt_lost()
            logger.warning("no transcript for %s: speech-to-text is busy (%s)",
                           utterance.speaker_id, exc)
            return
        except Exception:
            self.lost += 1
            figures.stt_lost()
            logger.exception("speech-to-text failed for %s", utterance.speaker_id)
            return
        if not text:
            self.empty += 1
            figures.heard(utterance.ended_by, "no_words")
            logger.debug("utterance of %s had no words", utterance.speaker_id)
            return
        self.transcribed += 1
        self._record(Transcript(self.next_id(), utterance.speaker_id, utterance.role, text,
                                started_at, ended_at))
        self.deliver(SpeechEnded(attrs.evolve(utterance, text=text)))

    def _record(self, line: Transcript) -> None:
        self.book.add(line)
        if self._publish is not None:
            self._publish(line)


def _quietly(future: asyncio.Future[HeardAtPause]) -> None:
    """An early transcription nobody awaits any more: retrieve its outcome, say nothing."""
    if not future.cancelled():
        future.exception()


async def summarize(brain: object, turns: list[Turn], timeout: float) -> Summary:
    """The brain's summary of ``turns`` within ``timeout``, else the extractive one.

    A brain without ``summarize`` (see :class:`orb_bridge.brain.Summarizer`), or one that
    fails or runs out of time (logged), gets the extractive summary: the session always has
    one.
    """
    method = getattr(brain, "summarize", None)
    if method is not None:
        try:
            async with asyncio.timeout(timeout):
                result = await method(turns)
            if isinstance(result, Summary) and result.text.strip():
                return result
            logger.warning("the brain's summary was empty; writing the extractive one")
        except TimeoutError:
            logger.warning("the brain's summary took over %.1f s; writing the extractive one",
                           timeout)
        except Exception:
            logger.exception("the brain's summary failed; writing the extractive one")
    return extractive_summary(turns)


def _reading(heard: HeardAtPause, silence: float | None) -> str:
    """``heard`` as the decision reads it, at a check of ``silence`` or, ``None``, at all."""
    return (heard.decided if silence is None else heard.decided_at(silence)).strip()
