"""The early reply: the language model asked at a pause's words, heard only once the turn is over.

Without it the orb waits for the end-of-turn verdict, then asks the model, then synthesises
the first sentence: the model's time to its first token (and to the end of its first
sentence) is dead air after every verdict. A pause's early words (orb_bridge.transcripts)
are in before the verdict or with it; when they read as a finished request addressed to the
orb (the checks the turn itself gets: words that do not read mid-clause, the same addressing
rule, a conductor free to answer), this stage *drafts* the reply then: the brain's
:meth:`~orb_bridge.brain.Prepares.prepare` asks the model and lets the answer stream in, its
first sentence synthesised. Nothing is played and nothing enters the brain's memory.

The draft's fate, as a table (:data:`FATES`): the turn ends with the same words and is
answered → the conductor takes the draft (:meth:`EarlyReply.take`) and says it; anything else
drops it, its request closed and its tokens discarded, and counts why. The floor
(orb_bridge.floor) and the addressing (orb_bridge.addressee) decide exactly as before: a
draft only replaces the model's request the conductor would have made for the same turn
with the same words, at the same moment it would have started speaking.

What it costs: one request to the model server per draft, dropped ones included (a request
that reads whole at a pause and then goes on, a verdict that the turn is not over, an
unaddressed turn the words misled): docs/orb.md, "The early reply", gives the figures.
The stage is synchronous and clock-free; the pipeline (orb_bridge.pipeline) feeds it typed
events and ticks it while a draft waits, so a speaker heard again drops it within a frame.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import Counter
from collections.abc import Callable

import attrs

from . import figures
from .audio import Audio
from .brain import PreparedReply, Prepares
from .end_of_turn import combine
from .hearing import Utterance

logger = logging.getLogger(__name__)


@attrs.frozen
class PauseWords:
    """A pause's early words are in: what the turn says if it ends at this pause."""

    speaker_id: str
    role: str
    #: The speech the words were read from (the turn ends with exactly this, or not here).
    speech: Audio
    text: str


class Fate(enum.StrEnum):
    """What became of a draft."""

    KEPT = "kept"  # the turn ended with the same words and was answered with it
    RESUMED = "resumed"  # the speaker went on (or someone else spoke)
    CHANGED = "changed"  # the turn ended with other words (a later pause, the name probe)
    NOT_ANSWERED = "not answered"  # the turn ended and was not answered (addressing, floor)
    EXPIRED = "expired"  # nothing came of it within ``max_age`` (a backstop)
    STOPPED = "stopped"  # the orb was paused, muted, hushed, or its human left


#: Every event a draft can meet, and its fate. A draft is never heard unless it is kept.
FATES: dict[str, Fate] = {
    "the turn ends with the same words and is answered": Fate.KEPT,
    "the speaker is heard again, or another human starts": Fate.RESUMED,
    "the turn ends with other words, or a later pause has other words": Fate.CHANGED,
    "the turn ends and is observed, not answered": Fate.NOT_ANSWERED,
    "no end within max_age": Fate.EXPIRED,
    "pause, mute, listen mode, the human leaves, the orb ends": Fate.STOPPED,
}


@attrs.define
class Draft:
    speaker_id: str
    text: str
    reply: PreparedReply
    started_at: float


def same_words(a: str | None, b: str | None) -> bool:
    """The same words, whatever the spacing and case (the turn's final words may be
    re-read, orb_bridge.name_probe: if they changed, the draft answered something else)."""
    return a is not None and b is not None and " ".join(a.lower().split()) == \
        " ".join(b.lower().split())


class EarlyReply:
    """Drafts a reply at a pause's words; hands it to the conductor or drops it."""

    def __init__(self, brain: Prepares, *, answers: Callable[[Utterance], bool],
                 voicing: Callable[[str], bool], clock: Callable[[], float],
                 max_age: float = 10.0) -> None:
        """``answers``: whether the conductor would answer this finished turn now (without
        counting it: the addressing's rule and mode, the conductor free, not paused).
        ``voicing``: whether a speaker is heard speaking right now (their detector)."""
        self._brain = brain
        self._answers = answers
        self._voicing = voicing
        self._clock = clock
        self._max_age = max_age
        self._drafts: dict[str, Draft] = {}
        #: Drafts made, and their fates (``Fate`` values): the cost on the model server.
        self.counts: Counter[str] = Counter()

    @property
    def waiting(self) -> bool:
        return bool(self._drafts)

    def words(self, event: PauseWords) -> None:
        """A pause's words: draft the reply if they read as a finished request the orb
        would answer (a draft of other words for this speaker is dropped)."""
        old = self._drafts.get(event.speaker_id)
        if old is not None:
            if same_words(old.text, event.text):
                return
            self._drop(event.speaker_id, Fate.CHANGED)
        text = event.text.strip()
        if not text or combine(1.0, text, True) is None:
            return  # no words, or they read mid-clause: the turn is not over here
        if self._voicing(event.speaker_id):
            return  # heard again before the words were in (a short pause): it goes on
        utterance = Utterance(event.speaker_id, event.role, event.speech,
                              event.speech.duration, text=text)
        if not self._answers(utterance):
            return
        self._count("drafted")
        logger.debug("early reply drafted for %s: %r", event.speaker_id, text)
        self._drafts[event.speaker_id] = Draft(event.speaker_id, text,
                                               self._brain.prepare(utterance), self._clock())

    def started(self, speaker_id: str) -> None:
        """A human started a turn: every draft waits for a turn that is not over."""
        for speaker in list(self._drafts):
            self._drop(speaker, Fate.RESUMED)

    def tick(self) -> None:
        """Time passes (every audio frame while a draft waits): a speaker heard again, or
        a draft too old, drops it."""
        now = self._clock()
        for speaker, draft in list(self._drafts.items()):
            if self._voicing(speaker):
                self._drop(speaker, Fate.RESUMED)
            elif now - draft.started_at > self._max_age:
                self._drop(speaker, Fate.EXPIRED)

    def take(self, utterance: Utterance) -> PreparedReply | None:
        """The conductor answers ``utterance``: the draft for it, if its words are the
        turn's (``None``: ask the brain now)."""
        draft = self._drafts.pop(utterance.speaker_id, None)
        if draft is None:
            return None
        if not same_words(draft.text, utterance.text):
            self._dropped(draft, Fate.CHANGED)
            return None
        self._count(Fate.KEPT)
        return draft.reply

    def ended(self, speaker_id: str, fate: Fate = Fate.NOT_ANSWERED) -> None:
        """``speaker_id``'s turn ended without being answered (or their draft is moot)."""
        self._drop(speaker_id, fate)

    def stop(self) -> None:
        """Pause, mute, ``listen``, the orb ending: no draft survives."""
        for speaker in list(self._drafts):
            self._drop(speaker, Fate.STOPPED)

    def _drop(self, speaker_id: str, fate: Fate) -> None:
        draft = self._drafts.pop(speaker_id, None)
        if draft is not None:
            self._dropped(draft, fate)

    def _dropped(self, draft: Draft, fate: Fate) -> None:
        draft.reply.cancel()
        self._count(fate)
        logger.debug("early reply for %s dropped (%s)", draft.speaker_id, fate)

    def _count(self, fate: str) -> None:
        self.counts[fate] += 1
        figures.early_reply(str(fate))


async def tick_while_waiting(stage: EarlyReply, period: float = 0.02) -> None:
    """The pipeline's ticker: once a frame while a draft waits (then it ends)."""
    while stage.waiting:
        stage.tick()
        await asyncio.sleep(period)
