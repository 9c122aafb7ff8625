"""Who has the floor: the orb yields it like a person (issue 25).

A listener's "mm-hmm" is not a request to stop, and a sentence is. The rules, in one place:

* **Never over a human.** While any human's voice-activity detector says speech, the orb's
  voice is *held*: a reply that is ready waits, one that plays is paused at the next 20 ms
  frame (the position is kept).
* **Pause, then decide.** A held burst of speech is decided at its first pause (the
  detector's ``SpeechPaused``, 0.1 s of quiet) from its length and its early words:
  at most :attr:`FloorRules.backchannel_max` seconds long and words that are a backchannel
  (:func:`is_backchannel`: none at all, as a cough or a laugh, or a few with no interruption
  cue) is a *backchannel*: the hold is released and the reply resumes where it paused.
  Speech still going on after ``backchannel_max``, or a short burst with an interruption cue
  ("Wait."), is a *barge-in*: the reply is dropped and the human has the turn.
* **Resume in time, revise late.** Words not back within ``words_timeout`` (speech-to-text
  on a busy machine): a short burst resumes the reply on its length alone; should its words
  then carry an interruption cue, the reply is dropped when they arrive.
* **Its own voice is not a human.** :class:`EchoGate` sits in front of each human's
  voice-activity detector: while the orb talks, a frame no louder than the orb's voice comes
  back in that microphone (learnt per human, at least ``echo_margin_db`` under the orb) is
  its echo, not speech.

:class:`Floor` is pure (time is an argument), so the same object runs live (:class:`FloorStage`
drives it every 20 ms on the orb loop) and offline on a simulated clock (tests, bench/party.py).
It never touches audio or tasks itself: it returns :class:`Move` values its caller carries out.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Protocol

import attrs
import numpy as np

if TYPE_CHECKING:
    from .hearing import Samples, SpeechProbability, TurnDetector

logger = logging.getLogger(__name__)

#: Words a listener says to keep the speaker going (lower case, without punctuation).
BACKCHANNELS: frozenset[str] = frozenset({
    "mm", "mmm", "mhm", "mm-hmm", "mmhmm", "mm-hm", "hmm", "hm", "uh-huh", "uhhuh", "uh", "huh",
    "um", "ah", "oh", "aha", "yeah", "yep", "yes", "yup", "ya", "right", "okay", "ok", "sure",
    "i", "see", "got", "it", "true", "cool", "nice", "wow", "alright", "all", "fine", "exactly",
    "totally", "indeed", "absolutely", "ha", "haha", "hahaha", "ha-ha", "uh-uh",
})
#: Words that make even a short burst a real interruption ("Wait.", "Hold on.", "Sorry,
#: no.", "Can I...?"): a short request nearly always carries one. Speech-to-text writes a
#: murmur as words that are in neither list (Whisper tiny.en hears "Mhm" as "Make him"), so in
#: a short burst those other words alone do not take the turn.
INTERRUPTIONS: frozenset[str] = frozenset({
    "stop", "wait", "hold", "hang", "no", "nope", "not", "sorry", "but", "excuse", "actually",
    "sec", "second", "moment", "question", "what", "why", "how", "when", "where", "who",
    "which", "can", "could", "would", "should", "may", "let", "listen", "think", "mean",
    "don't", "disagree", "wrong", "please", "hey", "pardon", "again", "repeat", "slow",
})
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def is_backchannel(words: str | None, *, max_words: int = 3) -> bool:
    """Whether a *short* burst's words keep the orb talking: none at all (a cough, a laugh;
    ``None``: no transcript to be had), or at most ``max_words`` words with no
    :data:`INTERRUPTIONS` word among them ("Mm-hmm.", "Yeah, right.", "Okay.", a murmur
    misheard as "make him"). Longer bursts are barge-ins whatever their words."""
    if words is None:
        return True
    found = _WORD.findall(words.lower())
    if any(word in INTERRUPTIONS for word in found):
        return False
    return len(found) <= max_words or all(word in BACKCHANNELS for word in found)


@attrs.frozen
class FloorRules:
    """The floor's knobs (seconds, dB)."""

    #: Turn the rules off: any speech stops the orb at once, as before issue 25.
    enabled: bool = True
    #: Longest burst that can still be a backchannel (from its first voiced frame).
    backchannel_max: float = 0.8
    max_words: int = 3
    #: Speech this soon after a burst let go on its length alone (no words, or late) continues
    #: that burst (its length counts from the first): "Sorry, ... can I stop you" is one
    #: burst. A burst whose words said backchannel ("Yeah, ... right") is not continued.
    rejoin: float = 0.6
    #: The early words of a held burst not back this long after its pause: resume on its
    #: length, and drop the reply should the words, once there, be an interruption. With
    #: the pause (0.1 s) longer than a comma's pause mid-sentence (~0.3 s in Piper's voice),
    #: and short enough that a resume reaches the listener within 0.5 s of the burst's end.
    words_timeout: float = 0.25
    #: The echo gate (:class:`EchoGate`): a human's frame at most the learnt echo level plus
    #: ``echo_headroom_db``, and at least ``echo_margin_db`` under the orb's loudest voice
    #: frame of the last ``echo_window`` seconds, is the orb's echo (0 dB margin: gate off).
    echo_margin_db: float = 12.0
    echo_headroom_db: float = 14.0
    #: The longest echo path expected (network both ways, playout and capture buffers).
    echo_path: float = 0.4
    echo_window: float = 0.8


class Move(enum.Enum):
    """What the floor asks of the orb's voice and reply."""

    HOLD = "hold"  #: pause the voice (or keep a ready reply waiting)
    RELEASE = "release"  #: nobody talks any more: play on from where it paused
    YIELD = "yield"  #: a barge-in: drop the reply, the human has the turn


@attrs.define
class _Burst:
    speaker: str
    since: float  # when the speaker's speech started (audio time of its first voiced frame)
    quiet_since: float | None = None  # in a pause since then (waiting for words)
    pause: int = 0  # the detector's pause serial of that pause
    decided: bool = False  # a barge-in already: the hold stays until the speech ends


class Floor:
    """The floor's state: which humans hold it, and whether the orb's voice is held."""

    def __init__(self, rules: FloorRules | None = None) -> None:
        self.rules = rules or FloorRules()
        self._bursts: dict[str, _Burst] = {}
        self.held = False
        self.backchannels = 0
        self.barge_ins = 0
        #: The speaker of the latest barge-in (whom a ``YIELD`` yields to).
        self.yielded_to = ""
        #: Speakers whose latest burst was a backchannel (their turn is observed, not
        #: answered); cleared when they start a burst that is not.
        self.backchannelled: set[str] = set()
        #: speaker -> pause of a burst resumed on its length while its words were late.
        self._provisional: dict[str, int] = {}
        #: speaker -> (start, end) of their latest burst let go on its length alone.
        self._released: dict[str, tuple[float, float]] = {}

    @property
    def free(self) -> bool:
        """No human is speaking: the orb may start."""
        return not self._bursts

    # ---------------------------------------------------------------- inputs
    def started(self, speaker: str, now: float, onset: float = 0.0) -> list[Move]:
        """``speaker``'s detector says speech (``onset``: how long before ``now`` it began)."""
        burst = self._bursts.get(speaker)
        if burst is None:
            since = now - onset
            recent = self._released.pop(speaker, None)
            if recent is not None and since - recent[1] <= self.rules.rejoin:
                since = recent[0]  # "Sorry, ... can I stop you": one burst, not two
            self._bursts[speaker] = _Burst(speaker, since=since)
        else:
            burst.quiet_since = None
        return self._hold()

    def paused(self, speaker: str, now: float, silence: float, pause: int) -> list[Move]:
        """``speaker`` went quiet ``silence`` seconds ago (the detector's pause ``pause``)."""
        burst = self._bursts.get(speaker)
        if burst is None or burst.decided:
            return []
        burst.quiet_since = now - silence
        burst.pause = pause
        if burst.quiet_since - burst.since > self.rules.backchannel_max:
            return self._barge(burst)
        return []

    def words(self, speaker: str, pause: int, text: str | None) -> list[Move]:
        """The early words of ``speaker``'s pause ``pause`` (``None``: none to be had)."""
        if self._provisional.get(speaker) == pause:  # resumed on its length: revise?
            del self._provisional[speaker]
            if is_backchannel(text, max_words=self.rules.max_words):
                return []
            logger.info("late words of %s (%r): a barge-in after all", speaker, text)
            self.barge_ins += 1
            self.backchannels -= 1
            self.yielded_to = speaker
            self.backchannelled.discard(speaker)
            return [Move.YIELD]
        burst = self._bursts.get(speaker)
        if burst is None or burst.decided or burst.quiet_since is None or burst.pause != pause:
            return []  # decided already, or they spoke on: this pause is not the decision
        if is_backchannel(text, max_words=self.rules.max_words):
            del self._bursts[speaker]
            if text is None:  # let go on its length alone: speech right after continues it
                self._released[speaker] = (burst.since, burst.quiet_since)
            self.backchannels += 1
            self.backchannelled.add(speaker)
            logger.info("backchannel by %s (%r): the orb talks on", speaker, text)
            return self._release()
        return self._barge(burst)

    def ended(self, speaker: str) -> list[Move]:
        """``speaker``'s turn ended (or their connection went): their hold goes."""
        self._bursts.pop(speaker, None)
        return self._release()

    def tick(self, now: float, voicing: Iterable[str] = ()) -> list[Move]:
        """Time passes. ``voicing``: speakers whose detector hears speech right now (a
        speaker back from a pause holds again). A burst still going after
        ``backchannel_max`` is a barge-in; a short one whose words are late resumes for now."""
        moves: list[Move] = []
        for speaker in voicing:
            burst = self._bursts.get(speaker)
            if burst is None or burst.quiet_since is not None:
                moves += self.started(speaker, now)
        for burst in list(self._bursts.values()):
            if burst.decided:
                continue
            if burst.quiet_since is None and now - burst.since > self.rules.backchannel_max:
                moves += self._barge(burst)
        for speaker, burst in list(self._bursts.items()):
            if (not burst.decided and burst.quiet_since is not None
                    and now - burst.quiet_since
                    > self.rules.words_timeout + 0.1):  # 0.1: the pause itself
                pause = burst.pause
                moves += self.words(speaker, pause, None)  # its length decides, for now
                self._provisional[speaker] = pause
        return moves

    # ---------------------------------------------------------------- moves
    def _hold(self) -> list[Move]:
        if self.held:
            return []
        self.held = True
        return [Move.HOLD]

    def _release(self) -> list[Move]:
        if not self.held or self._bursts:
            return []
        self.held = False
        return [Move.RELEASE]

    def _barge(self, burst: _Burst) -> list[Move]:
        burst.decided = True
        self.barge_ins += 1
        self.yielded_to = burst.speaker
        self.backchannelled.discard(burst.speaker)
        return [Move.YIELD]


class VoiceReference(Protocol):
    """What the orb has said lately, by send time (the echo gate's reference)."""

    def loudest(self, window: float) -> float:
        """The loudest orb voice frame (dBFS) of the last ``window`` seconds."""

    def talking(self, since: float, until: float) -> float:
        """Seconds of orb voice (frames above -60 dBFS) sent between ``since`` and
        ``until``."""


class LevelHistory:
    """A :class:`VoiceReference` over ``(send time, dBFS)`` pairs of the orb's frames."""

    def __init__(self, frames: Iterable[tuple[float, float]] | Callable[
                 [], Iterable[tuple[float, float]]], clock: Callable[[], float],
                 frame_seconds: float = 0.02) -> None:
        self._frames = frames
        self._clock = clock
        self._frame = frame_seconds

    def _all(self) -> Iterable[tuple[float, float]]:
        return self._frames() if callable(self._frames) else self._frames

    def loudest(self, window: float) -> float:
        since = self._clock() - window
        return max((lvl for at, lvl in self._all() if at >= since), default=-100.0)

    def talking(self, since: float, until: float) -> float:
        return self._frame * sum(1 for at, lvl in self._all()
                                 if since < at <= until and lvl > -60.0)


class EchoGate:
    """A human's voice-activity detector that does not hear the orb's own voice.

    Wraps the detector's :class:`~orb_bridge.hearing.SpeechProbability`. While the orb talks,
    each frame's level is compared with the loudest frame the orb sent in the last ``window``
    seconds (the echo path: network, the human's playout and capture). How loud the orb comes
    back in *this* microphone is learnt over the last ten seconds or so of the orb's talk:
    when most of those frames were too quiet to reach the model, there is no echo to speak
    of (a good canceller); else the median of that difference (some -30 dB with a poor
    canceller leaving the orb 20 dB down), learnt only while no human holds the floor.
    A frame no louder than that plus
    ``echo_headroom_db`` (and never more than ``echo_margin_db`` under the orb) scores 0: it
    can only be the orb's voice coming back. A human talking over the orb is as loud as it,
    or near, and passes; with a good canceller even their soft sounds do. The wrapped model
    still reads every frame, so its recurrent state stays continuous.
    """

    def __init__(self, inner: SpeechProbability, reference: VoiceReference,
                 rules: FloorRules, clock: Callable[[], float] = time.monotonic,
                 held: Callable[[], bool] = lambda: False) -> None:
        """``held``: whether the floor holds the orb now (a human speaks: nothing to learn
        about the echo from their frames)."""
        self._inner = inner
        self._held = held
        self._reference = reference
        self._last_fed: float | None = None
        self._rules = rules
        self._clock = clock
        self._relative: deque[float] = deque(maxlen=300)  # ~10 s of 32 ms frames
        self.gated = 0

    @property
    def echo_db(self) -> float | None:
        """How loud the orb comes back in this microphone, relative to what it sent."""
        if len(self._relative) < 3:  # a tenth of a second of the orb's talk
            return None
        heard = [v for v in self._relative if v > -100.0]
        if len(heard) < len(self._relative) / 2:
            return -100.0  # mostly below the noise floor: no echo to speak of
        return float(np.median(heard))

    def feed(self, samples: Samples) -> list[float]:
        from .hearing import dbfs

        probabilities = self._inner.feed(samples)
        rules = self._rules
        if rules.echo_margin_db <= 0 or not probabilities:
            return probabilities
        now = self._clock()
        last, self._last_fed = self._last_fed, now
        if last is None:
            last = now - 3.0  # a microphone quiet since it came: as if heard quiet 3 s
        if now - last > 0.1:
            # Frames too quiet to reach the detector's model were skipped: while the orb
            # talked, its echo in this microphone was below the noise floor.
            # (Not the last echo path's worth: its echo may be on its way still.)
            unheard = round(self._reference.talking(last, now - rules.echo_path) / 0.032)
            self._relative.extend([-100.0] * min(unheard, self._relative.maxlen or 0))
        orb = self._reference.loudest(rules.echo_window)
        if orb <= -60.0:  # the orb is not talking: nothing to take for its echo
            return probabilities
        relative = dbfs(samples) - orb
        if not self._held():
            self._relative.append(relative)
        threshold = -rules.echo_margin_db
        learnt = self.echo_db
        if learnt is not None:
            threshold = min(threshold, learnt + rules.echo_headroom_db)
        if relative <= threshold and max(probabilities) > 0.0:
            self.gated += 1
            return [0.0] * len(probabilities)
        return probabilities


class FloorStage:
    """The floor in the live orb: feeds :class:`Floor` from the turn events and every 20 ms,
    and carries out its moves on the voice (hold/release) and the conductor (barge-in)."""

    def __init__(self, floor: Floor, *, hold: Callable[[bool], None],
                 barge_in: Callable[[str], None],
                 early_words: Callable[[str, bytes], Awaitable[str | None]] | None,
                 spawn: Callable[..., object],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.floor = floor
        self._hold = hold
        self._barge_in = barge_in
        self._early_words = early_words
        self._spawn = spawn
        self._clock = clock
        self._detectors: dict[str, TurnDetector] = {}
        self._ticking = False
        #: ``clock()`` of the latest hold and release (tests and figures read them).
        self.held_at: float | None = None
        self.released_at: float | None = None

    def watch(self, detector: TurnDetector) -> None:
        self._detectors[detector.speaker_id] = detector
        if not self._ticking:
            self._ticking = True
            self._spawn(self._tick_forever(), "orb-floor")

    def forget(self, detector: TurnDetector) -> None:
        if self._detectors.get(detector.speaker_id) is detector:
            del self._detectors[detector.speaker_id]
            self._carry(self.floor.ended(detector.speaker_id), detector.speaker_id)

    def started(self, speaker: str) -> None:
        from .hearing import VAD_FRAME_SECONDS

        self._carry(self.floor.started(speaker, self._clock(), 2 * VAD_FRAME_SECONDS), speaker)

    def paused(self, speaker: str, silence: float, pause: int, speech_pcm: bytes,
               first: bool) -> None:
        self._carry(self.floor.paused(speaker, self._clock(), silence, pause), speaker)
        if not first or self.floor.free:
            return
        if self._early_words is None:  # no speech-to-text: the burst's length decides
            self._carry(self.floor.words(speaker, pause, None), speaker)
        else:
            self._spawn(self._words(speaker, pause, speech_pcm), f"floor-words-{speaker}")

    def ended(self, speaker: str) -> None:
        self._carry(self.floor.ended(speaker), speaker)

    async def _words(self, speaker: str, pause: int, speech_pcm: bytes) -> None:
        assert self._early_words is not None
        try:  # bounded: speech-to-text has its own bounds; this is a backstop
            text = await asyncio.wait_for(self._early_words(speaker, speech_pcm), 10.0)
        except TimeoutError:
            return
        except Exception:  # speech-to-text failed: the burst's length decides
            logger.exception("early words for the floor failed")
            text = None
        self._carry(self.floor.words(speaker, pause, text), speaker)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(0.02)
            voicing = [s for s, d in self._detectors.items() if d.voicing]
            self._carry(self.floor.tick(self._clock(), voicing), "")

    def _carry(self, moves: list[Move], speaker: str) -> None:
        for move in moves:
            if move is Move.HOLD:
                self.held_at = self._clock()
                self._hold(True)
            elif move is Move.RELEASE:
                self.released_at = self._clock()
                self._hold(False)
            else:
                self._barge_in(self.floor.yielded_to or speaker)
