"""The orb's brain: a small plug-in interface, an offline default, and how a real chain fits.

A brain gets finished utterances (:class:`~orb_bridge.hearing.Utterance`: speaker id, role,
16 kHz mono PCM). For the utterances the orb should answer, :meth:`Brain.respond` yields status
hints (``thinking``, ``processing``) and finally the reply audio; every other utterance is
passed to :meth:`Brain.observe` so a brain can keep the whole conversation as context. The orb
decides *when* to answer (only the roles in ``OrbConfig.reply_to_roles``), handles barge-in by
cancelling ``respond`` (so a brain must tolerate ``CancelledError`` at any ``await``), and owns
the voice; a brain only produces.

Plugging in a real speech-to-text → language model → text-to-speech chain means implementing the
three small protocols below and handing ``SpeechChainBrain(stt, llm, tts)`` to the host or
worker as the brain factory (see docs/orb.md). Speech-to-text runs *before* the brain (the
orb's transcription stage, :mod:`orb_bridge.transcripts`), so ``utterance.text`` already holds
the words. The default :class:`OfflineBrain` answers them without any model (reflective
coaching, :mod:`orb_bridge.coaching`); :class:`orb_bridge.llm_brain.LanguageModelBrain` streams
an OpenAI-compatible model's answer into speech. Nothing here may call a cloud service in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

import attrs

from . import tts
from .audio import WEBRTC_RATE, Audio
from .coaching import Summary, Turn, extractive_summary, reflective_reply
from .hearing import Utterance
from .speech_text import first_breath
from .stt import SpeechToText  # the one speech-to-text protocol (the orb's scribe uses it too)


@attrs.frozen
class StatusHint:
    """Tell the room what the brain is doing (``thinking`` or ``processing``)."""

    status: str


@attrs.frozen
class ReplyAudio:
    """What the orb says (at any rate: the voice sends it at 48 kHz); ``text`` is for logs
    and the transcript."""

    audio: Audio
    text: str = ""
    #: ``time.monotonic()`` when the words of this reply began to exist (a language model's
    #: first token; an offline brain's finished text), for the per-turn figures.
    first_token_at: float | None = None
    #: A piece of a streamed reply: more may follow, and the next one goes on right after
    #: this one's last sample (the orb asks for it while this one plays).
    more: bool = False


BrainOutput = StatusHint | ReplyAudio


class Brain(Protocol):
    def observe(self, utterance: Utterance) -> None:
        """An utterance the orb heard but will not answer (e.g. the coach). Must not block."""

    def respond(self, utterance: Utterance) -> AsyncIterator[BrainOutput]:
        """Answer ``utterance``: yield hints, then (usually) one :class:`ReplyAudio`."""

    async def aclose(self) -> None:
        """Release what the brain holds; called once when the orb ends."""


BrainFactory = Callable[[], Brain]


class PreparedReply(Protocol):
    """A reply begun before its turn was known to be over (orb_bridge.early_reply): the
    model already asked, its first sentence perhaps synthesised, but nothing said and
    nothing remembered until the orb takes it."""

    def outputs(self) -> AsyncIterator[BrainOutput]:
        """The reply, as :meth:`Brain.respond` would yield it. Taking it is what makes the
        turn (and what is then said) part of the brain's conversation."""

    def cancel(self) -> None:
        """Drop it unheard: the model's request closed, its tokens discarded, nothing kept."""


@runtime_checkable
class Prepares(Protocol):
    """A brain that can begin a reply early (optional: a brain without it is asked only at
    the end of the turn). ``prepare`` must not block, and must leave the brain's memory as
    it was (the reply may be dropped)."""

    def prepare(self, utterance: Utterance) -> PreparedReply:
        """Begin the reply to ``utterance`` (its ``text`` set) without saying anything."""


class Summarizer(Protocol):
    """A brain that can also summarise the session (optional: the orb falls back to
    :func:`~orb_bridge.coaching.extractive_summary`)."""

    async def summarize(self, turns: Sequence[Turn]) -> Summary:
        """The summary of the whole session's ``turns`` (both humans' and the orb's)."""


#: What the offline brain says when it heard a turn but has no words for it (no
#: speech-to-text installed): it can only invite the client to go on.
LISTENING_LINE = "I'm listening. Tell me more."


#: Text → speech (a :class:`orb_bridge.voices.Speaker`'s ``speak``: 48 kHz int16).
Speak = Callable[[str], Awaitable[Audio]]
#: Text → the same, in pieces as they are made (a :class:`orb_bridge.voices.Speaker`'s
#: ``stream``).
Stream = Callable[[str], AsyncGenerator[Audio, None]]

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")


async def spoken_ahead(speak: Speak, lines: Sequence[str]
                       ) -> AsyncGenerator[tuple[str, Audio], None]:
    """Each line with its speech, in order, all synthesised ahead at once (a neural voice's
    pool takes them in order, so the first is ready first and the next is made while the
    first plays). Closing the iterator (barge-in) cancels every sentence not yet yielded."""
    tasks = [asyncio.ensure_future(speak(line)) for line in lines]
    try:
        for line, task in zip(lines, tasks, strict=True):
            yield line, await task
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def streamed(stream: Stream, lines: Sequence[str]
                   ) -> AsyncGenerator[tuple[str, Audio], None]:
    """Each line's pieces in order, as ``(line, piece)`` for a line's first piece and
    ``("", piece)`` for the rest. Pieces are made only when asked for (the conductor asks for
    the next while the last plays), so a barge-in leaves the rest of the reply unmade."""
    for line in lines:
        async with contextlib.aclosing(stream(line)) as pieces:
            text = line
            async for piece in pieces:
                yield text, piece
                text = ""
        if text:  # nothing to hear (no voice left): the words still count as said
            yield text, Audio.silence(0, WEBRTC_RATE)


class OfflineBrain:
    """The default brain without a language model: reflective coaching from the transcript.

    It answers the client's words (``utterance.text``, filled in by speech-to-text) with
    :func:`~orb_bridge.coaching.reflective_reply`: their own words turned toward them and the
    next question. No model, no network. Without speech-to-text it can only say
    :data:`LISTENING_LINE`. ``think_time`` adds a pause before speaking (0: answer at once).
    ``speak`` is the voice (the process's voice chain, :func:`orb_bridge.voices.shared_speaker`,
    when built by :func:`orb_bridge.llm_brain.brain_factory_for`); without one, espeak-ng.
    The reply is said sentence by sentence, the first as soon as its audio exists.
    """

    def __init__(self, think_time: float = 0.0, speak: Speak | None = None,
                 stream: Stream | None = None) -> None:
        """``stream``: a voice that says a line in pieces (a Speaker's ``stream``); when
        given, the reply is streamed piece by piece instead of synthesised line by line."""
        self._think_time = think_time
        self._speak: Speak = speak or tts.speak
        self._stream = stream
        #: The conversation as heard (both humans and its own lines), bounded.
        self.history: deque[Turn] = deque(maxlen=200)

    def observe(self, utterance: Utterance) -> None:
        if utterance.text:
            self.history.append(Turn(utterance.role, utterance.text))

    async def respond(self, utterance: Utterance) -> AsyncIterator[BrainOutput]:
        yield StatusHint("thinking")
        if utterance.text:
            text = reflective_reply(utterance.text, list(self.history))
            self.history.append(Turn(utterance.role, utterance.text))
        else:
            text = LISTENING_LINE
        words_at = time.monotonic()
        if self._think_time > 0:
            await asyncio.sleep(self._think_time)
        self.history.append(Turn("ai", text))
        lines = [line for line in _SENTENCE_SPLIT.split(text.strip()) if line]
        if lines:
            lines[:1] = first_breath(lines[0])  # the first audio as soon as possible
        if self._stream is not None:
            async with contextlib.aclosing(streamed(self._stream, lines)) as pieces:
                async for line, piece in pieces:
                    yield ReplyAudio(piece, line, words_at, more=True)
            return
        async with contextlib.aclosing(spoken_ahead(self._speak, lines)) as spoken:
            async for line, said in spoken:
                yield ReplyAudio(said, line, words_at)

    async def summarize(self, turns: Sequence[Turn]) -> Summary:
        return extractive_summary(turns)

    async def aclose(self) -> None:
        self.history.clear()


# ---------------------------------------------------------------------------------------------
# A real chain. Not used by the tests: it shows where speech-to-text, a language model and a
# text-to-speech engine plug in. Each protocol is one async call, so a local engine (whisper.cpp,
# a llama.cpp server on loopback, Piper) or a remote one fits without touching the orb.


class LanguageModel(Protocol):
    async def reply(self, history: list[tuple[str, str]]) -> str:
        """The orb's next line, given ``(role, text)`` turns, oldest first."""


class TextToSpeech(Protocol):
    async def synthesize(self, text: str) -> Audio:
        """``text`` said, at any rate."""


class SpeechChainBrain:
    """STT → LLM → TTS. Coach turns are transcribed into the history but never answered."""

    def __init__(self, stt: SpeechToText, llm: LanguageModel, tts_engine: TextToSpeech,
                 max_history: int = 40) -> None:
        self._stt = stt
        self._llm = llm
        self._tts = tts_engine
        self._history: list[tuple[str, str]] = []
        self._max_history = max_history
        self._background: set[asyncio.Task[None]] = set()

    def observe(self, utterance: Utterance) -> None:
        task = asyncio.get_running_loop().create_task(self._transcribe_into_history(utterance))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def respond(self, utterance: Utterance) -> AsyncIterator[BrainOutput]:
        yield StatusHint("thinking")
        text = utterance.text or await self._stt.transcribe(utterance.audio)
        if not text.strip():
            return
        self._add(utterance.role, text)
        answer = await self._llm.reply(list(self._history))
        self._add("ai", answer)
        yield StatusHint("processing")
        yield ReplyAudio(await self._tts.synthesize(answer), answer)

    async def aclose(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    async def _transcribe_into_history(self, utterance: Utterance) -> None:
        text = utterance.text or await self._stt.transcribe(utterance.audio)
        if text.strip():
            self._add(utterance.role, text)

    def _add(self, role: str, text: str) -> None:
        self._history.append((role, text))
        del self._history[: -self._max_history]

