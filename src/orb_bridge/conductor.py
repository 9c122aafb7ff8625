"""Turn-taking: the orb's status cycle, who it answers, barge-in and pause.

The rules, in one place:

* ``ready`` once joined; ``listening`` as soon as it hears a human's audio.
* A finished turn of a role in ``reply_to_roles`` (the client) goes to the brain:
  ``thinking`` (or whatever the brain hints), then ``speaking`` while the reply plays, then
  ``listening``. Other roles' utterances (the coach), and the pieces of a long turn still
  going on, are only observed.
* Every answered turn's figures (orb_bridge.figures) are recorded when its reply ends.
* Humans always have the floor. Without the floor stage (orb_bridge.floor), any human
  starting to speak while the orb thinks or speaks cancels the reply and silences the voice
  at the next 20 ms audio frame (barge-in). With it (the default), the floor holds the voice
  while a human speaks and calls :meth:`Conductor.barge_in` only for a real interruption.
* ``ai_control`` ``pause``: silent, ``paused``, utterances only observed; ``resume``:
  ``listening``. ``mute``/``unmute`` silence replies without changing the status.

An exception from the brain is not handled here: it ends :meth:`Conductor.run`, which the
session turns into ``ai-orb-shutdown`` with reason ``error``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

from . import figures
from .addressee import Addressee
from .brain import Brain, BrainOutput, ReplyAudio, StatusHint
from .early_reply import EarlyReply
from .hearing import SpeechEnded, SpeechPaused, SpeechStarted, TurnEvent, Utterance
from .media_out import Voice

logger = logging.getLogger(__name__)

_MAX_WAITING = 4
#: Seconds before a streamed piece ends that the brain is asked for the next one: enough for
#: the voice to make a piece while other rooms' pieces wait in its pool too.
_FOLLOW_LEAD = 1.0


class OrbStatus(enum.StrEnum):
    """The orb's ``ai_status`` values (docs/protocol.md); a ``str``, so it goes on the wire
    as is."""

    READY = "ready"
    LISTENING = "listening"
    THINKING = "thinking"
    PROCESSING = "processing"
    SPEAKING = "speaking"
    PAUSED = "paused"


class Conductor:
    def __init__(
        self,
        brain: Brain,
        voice: Voice,
        publish: Callable[[OrbStatus], None],
        *,
        reply_to_roles: tuple[str, ...],
        min_utterance: float,
        on_spoken: Callable[[str, float, float], None] | None = None,
        addressee: Addressee | None = None,
    ) -> None:
        """``on_spoken(text, started_at, ended_at)``: after each reply (finished or cut off by
        barge-in), what the orb actually said and when (Unix seconds), for its transcript.
        ``addressee``: the stage deciding which finished turns are answered (the mode, the
        name, ``ai_ask``); without one, the turns of ``reply_to_roles`` are."""
        self._brain = brain
        self._voice = voice
        self._publish = publish
        self._reply_to_roles = reply_to_roles
        self._min_utterance = min_utterance
        self.addressee = addressee
        self.status = OrbStatus.READY
        self.paused = False
        self.muted = False
        self.replies = 0
        self.barge_ins = 0
        #: ``time.monotonic()`` of the latest barge-in (the voice is silent from the next frame).
        self.barge_in_at: float | None = None
        #: Turns to answer, each with whether the language model is to judge it first.
        self._waiting: deque[tuple[Utterance, bool]] = deque(maxlen=_MAX_WAITING)
        self._wakeup = asyncio.Event()
        self._reply: asyncio.Task[None] | None = None
        self._on_spoken = on_spoken
        self._spoken: list[str] = []
        self._spoken_from: float | None = None
        self._times: figures.TurnTimes | None = None
        #: The last piece said was a streamed one (``ReplyAudio.more``): the next follows it.
        self._following = False
        #: The figures of the latest answered turn (tests and benches read them).
        self.last_times: figures.TurnTimes | None = None
        #: The early reply (orb_bridge.early_reply), set by the pipeline: replies drafted
        #: at a pause's words, taken here when their turn is answered.
        self.early: EarlyReply | None = None

    @property
    def brain(self) -> Brain:
        return self._brain

    # ---------------------------------------------------------------- inputs (synchronous)
    def joined(self) -> None:
        self._set(OrbStatus.PAUSED if self.paused else OrbStatus.READY)

    def hearing_started(self) -> None:
        if self.status == OrbStatus.READY:
            self._set(OrbStatus.LISTENING)

    def on_turn(self, event: TurnEvent) -> None:
        if isinstance(event, SpeechPaused):
            return  # for speech-to-text only: the turn is not over yet
        if isinstance(event, SpeechStarted):
            self.barge_in(event.speaker_id)
            return
        self._finished(event)

    def barge_in(self, speaker_id: str) -> None:
        """A human took the turn: drop the reply under way, if any (what was said stays
        said in the orb's transcript)."""
        if self._reply is not None and not self._reply.done():
            logger.info("barge-in by %s", speaker_id)
            self.barge_ins += 1
            self.barge_in_at = time.monotonic()
            self._interrupt()

    @property
    def replying(self) -> bool:
        """A reply under way (thought, spoken or held) or a turn waiting for one."""
        return bool(self._waiting) or (self._reply is not None and not self._reply.done())

    def would_answer(self, utterance: Utterance) -> bool:
        """Whether this finished turn would be answered if it ended now, decided by nothing
        (the early reply drafts only then): not paused or muted, no reply under way or
        waiting, and the addressing's rule and mode say yes."""
        if (self.paused or self.muted or not utterance.final or self._waiting
                or (self._reply is not None and not self._reply.done())
                or utterance.voiced < self._min_utterance):
            return False
        if self.addressee is not None:
            return self.addressee.would_answer(utterance)
        return utterance.role in self._reply_to_roles

    def on_control(self, action: str) -> None:
        if action in ("pause", "mute"):
            self._drop_drafts()
        if action == "pause":
            self.paused = True
            self._interrupt()
            self._waiting.clear()
            self._set(OrbStatus.PAUSED)
        elif action == "resume":
            self.paused = False
            self._set(OrbStatus.LISTENING)
        elif action == "mute":
            self.muted = True
            self._interrupt()
        elif action == "unmute":
            self.muted = False
        else:
            logger.info("ignoring ai_control action %r", action)

    # ---------------------------------------------------------------- the reply loop
    async def run(self) -> None:
        """Answer waiting utterances one at a time, until cancelled."""
        while True:
            while not self._waiting:
                self._wakeup.clear()
                await self._wakeup.wait()
            utterance, to_judge = self._waiting.popleft()
            observe_only = self.paused or self.muted
            if to_judge and self.addressee is not None and not observe_only:
                observe_only = not (await self.addressee.judged(utterance)).answer
            if observe_only or self.paused or self.muted:
                self._brain.observe(utterance)
                if self.early is not None:
                    self.early.ended(utterance.speaker_id)
                continue
            self._reply = asyncio.get_running_loop().create_task(
                self._answer(utterance), name=f"reply-to-{utterance.speaker_id}")
            try:
                await self._reply
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
                # Only the reply was cancelled (barge-in, pause): carry on listening.
            finally:
                self._reply = None

    def _finished(self, event: SpeechEnded) -> None:
        utterance = event.utterance
        if utterance.voiced < self._min_utterance:
            if self.early is not None:
                self.early.ended(utterance.speaker_id)
            return
        answers, to_judge = (False, False) if (self.paused or self.muted
                                               or not utterance.final) \
            else self._answers(utterance)
        if not answers and not to_judge:
            if self.early is not None:
                self.early.ended(utterance.speaker_id)
            self._brain.observe(utterance)
            figures.heard(utterance.ended_by, "observed" if utterance.final else "piece")
            return
        self._waiting.append((utterance, to_judge))
        self._wakeup.set()

    def _answers(self, utterance: Utterance) -> tuple[bool, bool]:
        """Whether to answer the turn, and whether the language model is to judge it first."""
        if self.addressee is not None:
            decision = self.addressee.decide(utterance)
            return decision.answer, decision.to_judge
        return utterance.role in self._reply_to_roles, False

    def hush(self) -> None:
        """Stop the reply being spoken and forget waiting turns (the mode became ``listen``)."""
        self._drop_drafts()
        self._interrupt()
        self._waiting.clear()

    def _drop_drafts(self) -> None:
        if self.early is not None:
            self.early.stop()

    async def _answer(self, utterance: Utterance) -> None:
        self._spoken, self._spoken_from = [], None
        self._following = False
        self._times = _times_of(utterance)
        try:
            outputs = self._outputs(utterance)
            try:
                async for output in outputs:
                    if isinstance(output, StatusHint):
                        self._hint(output.status)
                    elif isinstance(output, ReplyAudio):
                        await self._say(output)
                if self._following:  # a streamed reply's last piece: let it finish
                    await self._until_left(0.0)
            finally:
                # Closed at once on barge-in, so a brain's queued sentences are dropped now
                # rather than when the garbage collector finds the generator.
                close = getattr(outputs, "aclose", None)
                if close is not None:
                    await close()
        finally:
            times, self._times = self._times, None
            if times is not None and times.first_synth is not None:
                if times.first_sent is None:
                    times.first_sent = self._voice.first_sent_at
                self.last_times = times
                figures.record(times)
            self._voice.stop()
            if not self.paused:
                self._set(OrbStatus.LISTENING)
            if self._spoken and self._spoken_from is not None and self._on_spoken is not None:
                self._on_spoken(" ".join(self._spoken), self._spoken_from, time.time())

    def _outputs(self, utterance: Utterance) -> AsyncIterator[BrainOutput]:
        """The reply: the one drafted at the pause's words if it is this turn's (its model
        already asked, its first sentence perhaps made), else the brain asked now."""
        drafted = None if self.early is None else self.early.take(utterance)
        if drafted is not None:
            logger.info("answering %s with the reply drafted at its pause",
                        utterance.speaker_id)
            return drafted.outputs()
        return self._brain.respond(utterance)

    async def _say(self, reply: ReplyAudio) -> None:
        if len(reply.audio) == 0:
            # Nothing to hear (no voice left, or nothing sayable): the words still count as
            # said, so the transcript carries the reply as text.
            if reply.text.strip():
                self._spoken_from = self._spoken_from or time.time()
                self._spoken.append(reply.text.strip())
            return
        times = self._times
        if times is not None and times.first_synth is None:
            times.first_synth = time.monotonic()
            times.first_token = reply.first_token_at
        self._voice.play(reply.audio, follow=self._following)
        self._following = reply.more
        if self._spoken_from is None:
            self._spoken_from = time.time()
            self.replies += 1
        if reply.text:
            self._spoken.append(reply.text.strip())
        self._set(OrbStatus.SPEAKING)
        # A streamed piece (``more``): the next is asked for while this one still plays, so
        # it can follow without a gap; asked no earlier, so a barge-in wastes little voice.
        # Time left is longer while the floor holds the voice, so the wait looks again.
        lead = _FOLLOW_LEAD if reply.more else 0.0
        await self._until_left(lead)
        if times is not None and times.first_sent is None:
            times.first_sent = self._voice.first_sent_at

    async def _until_left(self, lead: float) -> None:
        """Wait until at most ``lead`` seconds of the voice's current reply are left to send
        (a held voice keeps its time left, so this waits through a pause)."""
        while (left := self._voice.time_left()) > lead:
            await asyncio.sleep(max(left - lead, 0.001))

    def _interrupt(self) -> None:
        self._voice.stop()
        if self._reply is not None and not self._reply.done():
            self._reply.cancel()

    def _hint(self, status: str) -> None:
        """A brain's status hint; one that is not an ``ai_status`` value is a plug-in's
        mistake, logged, never sent (and never the end of the orb)."""
        try:
            self._set(OrbStatus(status))
        except ValueError:
            logger.warning("brain hinted an unknown status %r; ignored", status)

    def _set(self, status: OrbStatus) -> None:
        if status != self.status:
            self.status = status
            self._publish(status)


def _times_of(utterance: Utterance) -> figures.TurnTimes | None:
    """The figures of a turn about to be answered (``None``: not stamped by a pipeline)."""
    if utterance.heard_at is None:
        return None
    return figures.TurnTimes(
        utterance.speaker_id, speech_end=utterance.heard_at - utterance.silence_after,
        end_of_turn=utterance.heard_at, ended_by=utterance.ended_by,
        probability=utterance.probability, transcript=utterance.transcribed_at)
