"""The orb's brain with a language model: STT text in, a streamed answer out as speech.

The stages stream into each other (docs/orb.md, "The brain's seams"): the client's words
(already transcribed) and the conversation so far go to the model as a chat, both humans'
turns labelled by role under a coaching system prompt; the answer streams back, is cut into
sentences, and each sentence is synthesised and handed to the voice while the model is still
writing the next. The first sentence is heard long before the answer is complete.

One producer task per reply (:class:`LanguageModelReply`) reads the stream and synthesises
sentences ahead into a queue; ``respond`` yields them to the conductor as it is ready for them.
Barge-in cancels ``respond``: its ``finally`` cancels the producer, which closes the HTTP
connection, so the model server stops working on an answer nobody will hear. ``prepare``
starts the same reply early, at a pause's words (orb_bridge.early_reply): nothing of it is
said or remembered unless the orb takes it once the turn is over.

A model that fails — down, refusing, too slow, an error status, a malformed stream — costs
one reply: the orb says :data:`~orb_bridge.speech_config.FALLBACK_LINE` (if it had not started
speaking yet), logs the cause, and goes back to listening. Nothing of it can stop the orb.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from pathlib import Path

from . import tts
from .audio import WEBRTC_RATE, Audio
from .brain import (
    LISTENING_LINE,
    BrainOutput,
    OfflineBrain,
    ReplyAudio,
    Speak,
    StatusHint,
    Stream,
)
from .coaching import (
    AI,
    COACH,
    SUMMARY_PROMPT,
    SYSTEM_PROMPT,
    Summary,
    Turn,
    extractive_summary,
    key_topics,
    label,
    stated_goals,
    transcript_text,
)
from .hearing import Utterance
from .llm import ChatClient, LlmError, sentences
from .speech_config import SpeechConfig
from .speech_text import first_breath
from .voices import check_voice, shared_speaker

logger = logging.getLogger(__name__)

#: Turns of history sent with each request (the newest); the system prompt always goes.
MAX_HISTORY = 40

#: A piece of the answer ready to say: its text ("" for a sentence's later pieces), its
#: audio, and whether it is a streamed piece (the next follows without a gap).
Piece = tuple[str, Audio, bool]


async def espeak_speech(text: str) -> Audio:
    """espeak-ng alone (tests and embedders that want the cheap voice)."""
    return await tts.speak(text)


def load_system_prompt(path: str | None) -> str:
    """The coaching prompt, or the text of ``path`` when one is given (read once)."""
    if path is None:
        return SYSTEM_PROMPT
    text = Path(path).read_text(encoding="utf-8").strip()
    if not text:
        raise ValueError(f"system prompt file {path} is empty")
    return text


class LanguageModelBrain:
    """Answers the client through an OpenAI-compatible chat model, streamed into speech."""

    def __init__(self, config: SpeechConfig, *, speak: Speak | None = None,
                 client: ChatClient | None = None) -> None:
        self.client = client or ChatClient(config)
        self._system = load_system_prompt(config.system_prompt_file)
        self._fallback = config.fallback_line
        self._speak = speak or _default_speech(config)
        #: The voice in pieces (the process's voice chain); ``None`` with a ``speak`` given.
        self._stream: Stream | None = None if speak is not None \
            else shared_speaker(config).stream
        self._max_chars = config.max_reply_chars
        #: ``time.monotonic()`` of the current reply's first token (``None``: none yet).
        self.first_token_at: float | None = None
        self.history: deque[Turn] = deque(maxlen=MAX_HISTORY)
        self.failures = 0
        self.last_error: str | None = None

    # ---------------------------------------------------------------- Brain
    def observe(self, utterance: Utterance) -> None:
        if utterance.text:
            self.history.append(Turn(utterance.role, utterance.text))

    async def respond(self, utterance: Utterance) -> AsyncIterator[BrainOutput]:
        reply = self.prepare(utterance)
        async with contextlib.aclosing(reply.outputs()) as outputs:
            async for output in outputs:
                yield output

    def prepare(self, utterance: Utterance) -> LanguageModelReply:
        """Ask the model now and let its answer stream in (the first sentence synthesised),
        without saying or remembering anything until :meth:`LanguageModelReply.outputs` is
        taken (orb_bridge.early_reply asks at a pause's words, before the turn is over)."""
        return LanguageModelReply(self, utterance)

    async def summarize(self, turns: Sequence[Turn]) -> Summary:
        """Key topics, progress and next steps, written by the model."""
        if not turns:
            return extractive_summary(turns)
        messages = [{"role": "system", "content": SUMMARY_PROMPT},
                    {"role": "user", "content": transcript_text(turns)}]
        text = (await self.client.complete(messages, max_tokens=400)).strip()
        if not text:
            raise LlmError("the model wrote an empty summary")
        return Summary(text, "llm", key_topics(turns), stated_goals(turns))

    async def aclose(self) -> None:
        self.history.clear()

    # ---------------------------------------------------------------- parts
    def messages(self, answering: Turn | None = None) -> list[dict[str, str]]:
        """The chat: the system prompt, then the history; the orb's own lines are the
        ``assistant``'s, each human's a ``user`` message labelled with its role. A coach's
        line is marked as meant for the client, unless it is ``answering``: the turn the
        addressing stage found addressed to the orb (a coach asking it to sum up)."""
        out = [{"role": "system", "content": self._system}]
        turns = list(self.history)
        if answering is not None and not any(turn is answering for turn in turns):
            turns.append(answering)  # a reply prepared early: not remembered yet
        for turn in turns:
            if turn.role == AI:
                out.append({"role": "assistant", "content": turn.text})
            else:
                note = ""
                if turn.role == COACH:
                    note = (" (to you)" if turn is answering
                            else " (to the client; do not answer this)")
                out.append({"role": "user", "content": f"{label(turn.role)}{note}: {turn.text}"})
        return out

    async def _produce(self, messages: list[dict[str, str]],
                       ready: asyncio.Queue[Piece | LlmError | None],
                       ahead: asyncio.Semaphore, reply: LanguageModelReply) -> None:
        budget = self._max_chars
        first = True
        try:
            async with contextlib.aclosing(
                    sentences(self._timed(self.client.stream(messages), reply),
                              first_clause=True)) as said:
                async for sentence in said:
                    if len(sentence) > budget:
                        # The reply length cap: a runaway answer ends here (and closing the
                        # stream tells the model server to stop writing it).
                        logger.info("reply cut at %d characters", self._max_chars)
                        break
                    budget -= len(sentence)
                    # The reply's first sentence in two breaths when long: the first audio
                    # comes sooner (speech_text.first_breath; a first clause cut while the
                    # model was still writing, llm.sentences, is short enough already).
                    pieces = first_breath(sentence) if first else [sentence]
                    first = False
                    for piece in pieces:
                        await self._say(piece, ready, ahead, reply)
        except LlmError as exc:
            ready.put_nowait(exc)
        except Exception as exc:  # a bug in a stage must not end the orb: one lost reply
            logger.exception("the language model reply failed")
            ready.put_nowait(LlmError(f"unexpected failure: {exc!r}"))
        finally:
            ready.put_nowait(None)

    async def _say(self, piece: str, ready: asyncio.Queue[Piece | LlmError | None],
                   ahead: asyncio.Semaphore, reply: LanguageModelReply) -> None:
        """``piece`` into ``ready``: whole from ``speak``, or streamed from the voice, each
        of its pieces made once the one before was taken (``ahead``)."""
        if self._stream is None:
            ready.put_nowait((piece, await self._speak(piece), False))
            reply.made()
            return
        text = piece
        async with contextlib.aclosing(self._stream(piece)) as made:
            while True:
                await ahead.acquire()
                try:
                    chunk = await anext(made)
                except StopAsyncIteration:
                    ahead.release()
                    break
                except BaseException:
                    ahead.release()
                    raise
                ready.put_nowait((text, chunk, True))
                reply.made()
                text = ""
        if text:  # nothing to hear (no voice left): the words still count as said
            ready.put_nowait((text, Audio.silence(0, WEBRTC_RATE), False))

    async def _timed(self, pieces: AsyncIterator[str],
                     reply: LanguageModelReply) -> AsyncIterator[str]:
        """The model's pieces, noting when the first one came (the per-turn figures). Closing
        this closes the model's stream too, so a cut reply stops the server writing it."""
        async with contextlib.aclosing(pieces):  # type: ignore[type-var]
            async for piece in pieces:
                if reply.first_token_at is None:
                    reply.first_token_at = self.first_token_at = time.monotonic()
                yield piece

    def _failed(self, error: LlmError) -> None:
        self.failures += 1
        self.last_error = str(error)
        logger.warning("language model failed, saying the fallback line: %s", error)


class LanguageModelReply:
    """One answer of a :class:`LanguageModelBrain`: the model asked and its answer streaming
    into speech from the moment it is made, said and remembered only once :meth:`outputs`
    is taken (:class:`~orb_bridge.brain.PreparedReply`).

    One producer task reads the stream and synthesises sentences ahead into a queue, one
    streamed piece ahead of the one the orb asked for, no more: a reply dropped before it is
    taken (:meth:`cancel`) or cut by a barge-in leaves the rest unsynthesised, and closing
    the producer closes the HTTP connection, so the model server stops writing it."""

    def __init__(self, brain: LanguageModelBrain, utterance: Utterance) -> None:
        self._brain = brain
        self._asked = Turn(utterance.role, utterance.text) if utterance.text else None
        #: ``time.monotonic()`` of this answer's start, first token and first synthesised
        #: audio (``None``: none yet).
        self.started_at = time.monotonic()
        self.first_token_at: float | None = None
        self.first_audio_at: float | None = None
        self._ready: asyncio.Queue[Piece | LlmError | None] = asyncio.Queue()
        self._ahead = asyncio.Semaphore(1)
        self._producer: asyncio.Task[None] | None = None
        if self._asked is not None:
            brain.first_token_at = None
            self._producer = asyncio.get_running_loop().create_task(
                brain._produce(brain.messages(answering=self._asked), self._ready,
                               self._ahead, self), name="llm-reply")

    def made(self) -> None:
        """A piece of the answer is synthesised and waiting."""
        if self.first_audio_at is None:
            self.first_audio_at = time.monotonic()

    def cancel(self) -> None:
        if self._producer is not None:
            self._producer.cancel()

    async def outputs(self) -> AsyncGenerator[BrainOutput, None]:
        brain = self._brain
        yield StatusHint("thinking")
        if self._asked is None:  # no speech-to-text: nothing to ask the model about
            yield ReplyAudio(await brain._speak(LISTENING_LINE), LISTENING_LINE)
            return
        brain.history.append(self._asked)
        said: list[str] = []
        try:
            while (item := await self._ready.get()) is not None:
                if isinstance(item, LlmError):
                    brain._failed(item)
                    if not said:
                        yield ReplyAudio(await brain._speak(brain._fallback), brain._fallback)
                    break
                text, audio, more = item
                if more:
                    self._ahead.release()
                if text:
                    said.append(text)
                yield ReplyAudio(audio, text, self.first_token_at, more=more)
        finally:
            self.cancel()
            if self._producer is not None:
                await asyncio.gather(self._producer, return_exceptions=True)
            if said:  # what was actually said (all of it, or up to the barge-in)
                brain.history.append(Turn(AI, " ".join(said)))


def _default_speech(config: SpeechConfig) -> Speak:
    """The process's voice chain (orb_bridge.voices): remote → Piper → espeak-ng → none."""
    return shared_speaker(config).speak


def brain_factory_for(config: SpeechConfig) -> Callable[[], LanguageModelBrain | OfflineBrain]:
    """The brain ``config`` asks for: the language model when ``llm_url`` is set, else the
    offline reflective coach."""
    speaker = check_voice(config)  # a voice named but missing fails at start, not mid-call
    if config.llm_url is not None:
        load_system_prompt(config.system_prompt_file)  # a bad file fails at start, not mid-call
        return lambda: LanguageModelBrain(config)
    return lambda: OfflineBrain(speak=speaker.speak, stream=speaker.stream)
