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
* **Lengths on the audio's clock.** A burst's length is read on the speaker's media clock
  (:class:`SpeakerClock`: the seconds of their audio heard), not on when the orb's loop got
  to it: on a busy machine the frames of a "mm-hmm" are heard late and then all at once, and
  the wall clock made a half-second murmur a second-long barge-in.
* **Its own voice is not a human.** :class:`~orb_bridge.echo.EchoGate` sits in front of
  each human's voice-activity detector: a sound whose waveform matches what the orb sent a
  moment before (and is no louder than that echo can be) is the orb's echo, not speech. A
  microphone with no such evidence is never gated, whatever its level.

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
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from .audio import Audio
    from .hearing import TurnDetector

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
    "question", "what", "why", "how", "when", "where", "who",
    "which", "can", "could", "would", "should", "may", "let", "listen", "think", "mean",
    "don't", "disagree", "wrong", "please", "hey", "pardon", "again", "repeat", "slow",
})
#: Time words ask for the floor only as a burst's opening ("One moment.", "Just a sec."):
#: Whisper tiny.en writes Piper's murmured "Mm-hmm." as "in the moment." or "in a moment.".
_TIME_CUE = re.compile(r"(?:just )?(?:one|a) (?:moment|sec|second)\b")
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def is_backchannel(words: str | None, *, max_words: int = 3) -> bool:
    """Whether a *short* burst's words keep the orb talking: none at all (a cough, a laugh;
    ``None``: no transcript to be had), or at most ``max_words`` words with no
    :data:`INTERRUPTIONS` word among them ("Mm-hmm.", "Yeah, right.", "Okay.", a murmur
    misheard as "make him"). Longer bursts are barge-ins whatever their words."""
    if words is None:
        return True
    found = _WORD.findall(words.lower())
    if any(word in INTERRUPTIONS for word in found) or _TIME_CUE.match(" ".join(found)):
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
    #: A frame the model calls speech holds the voice at once; not confirmed as the start
    #: of a turn (``vad_on_time`` of such frames) within this, the voice plays on.
    onset_wait: float = 0.1
    #: The echo gate (orb_bridge.echo): a human's sound is the orb's echo when it matches
    #: the orb's sent voice (normalised correlation at least ``echo_correlation`` at some
    #: delay up to ``echo_path`` seconds, over the last ``echo_window`` seconds of the
    #: microphone; two different voices stay under ~0.65) and is not ``echo_headroom_db``
    #: louder than that echo can be. Within ``echo_memory`` seconds of such a match (which
    #: measures the echo path's gain), a frame no louder than that will do.
    echo_gate: bool = True
    echo_correlation: float = 0.7
    echo_memory: float = 10.0
    echo_headroom_db: float = 6.0
    #: The longest echo path searched (network both ways, playout and capture buffers).
    echo_path: float = 1.5
    echo_window: float = 0.25


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
    #: Only onsets so far (frames the model called speech), no ``SpeechStarted`` yet; the
    #: latest onset's time; the burst it continues by ``rejoin``, to restore if it was a click.
    tentative: bool = False
    seen: float = 0.0
    rejoined: tuple[float, float] | None = None


class Floor:
    """The floor's state: which humans hold it, and whether the orb's voice is held."""

    def __init__(self, rules: FloorRules | None = None, *,
                 busy: Callable[[], bool] = lambda: True) -> None:
        """``busy``: whether the orb says or prepares a reply now. A burst let go while it
        does not is nobody's backchannel: it is not kept from an answer, and its late words
        revise nothing (the reply by then may answer that very turn)."""
        self.rules = rules or FloorRules()
        self._busy = busy
        self._bursts: dict[str, _Burst] = {}
        self.held = False
        self.backchannels = 0
        self.barge_ins = 0
        #: Onsets never confirmed as speech (the voice was held for a frame or so).
        self.clicks = 0
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
    def onset(self, speaker: str, now: float, frame: float = 0.0) -> list[Move]:
        """``speaker``'s model called a frame speech (``frame`` seconds long, ending now)
        while no turn of theirs goes on: hold at once. Not followed by :meth:`started`
        within ``onset_wait``, it was a click: the voice plays on and nothing is counted."""
        burst = self._bursts.get(speaker)
        if burst is None:
            burst = self._begin(speaker, now - frame)
            burst.tentative = True
        if burst.tentative:
            burst.seen = now
        return self._hold()

    def started(self, speaker: str, now: float, onset: float = 0.0) -> list[Move]:
        """``speaker``'s detector says speech (``onset``: how long before ``now`` it began)."""
        burst = self._bursts.get(speaker)
        if burst is None:
            self._begin(speaker, now - onset)
        else:
            burst.tentative = False
            burst.quiet_since = None
        return self._hold()

    def _begin(self, speaker: str, since: float) -> _Burst:
        recent = self._released.pop(speaker, None)
        rejoined = None
        if recent is not None and since - recent[1] <= self.rules.rejoin:
            since, rejoined = recent[0], recent  # "Sorry, ... can I stop you": one burst
        burst = self._bursts[speaker] = _Burst(speaker, since=since, rejoined=rejoined)
        return burst

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
            if self._busy():
                self.backchannels += 1
                self.backchannelled.add(speaker)
                logger.info("backchannel by %s (%r): the orb talks on", speaker, text)
            return self._release()
        return self._barge(burst)

    def ended(self, speaker: str) -> list[Move]:
        """``speaker``'s turn ended (or their connection went): their hold goes."""
        self._bursts.pop(speaker, None)
        return self._release()

    def tick(self, now: float, voicing: Iterable[str] = (),
             clocks: Mapping[str, float] | None = None) -> list[Move]:
        """Time passes. ``voicing``: speakers whose detector hears speech right now (a
        speaker back from a pause holds again). A burst still going after
        ``backchannel_max`` is a barge-in; a short one whose words are late resumes for now.
        ``clocks``: a speaker's own time where it is not ``now`` (their media clock)."""
        def at(speaker: str) -> float:
            return now if clocks is None else clocks.get(speaker, now)

        moves: list[Move] = []
        for speaker, click in list(self._bursts.items()):
            if click.tentative and at(speaker) - click.seen > self.rules.onset_wait:
                del self._bursts[speaker]  # a click: as if nothing was said
                if click.rejoined is not None:
                    self._released[speaker] = click.rejoined
                self.clicks += 1
                moves += self._release()
        for speaker in voicing:
            burst = self._bursts.get(speaker)
            if burst is None or burst.quiet_since is not None:
                moves += self.started(speaker, at(speaker))
        for burst in list(self._bursts.values()):
            if burst.decided or burst.tentative:
                continue
            if (burst.quiet_since is None
                    and at(burst.speaker) - burst.since > self.rules.backchannel_max):
                moves += self._barge(burst)
        for speaker, burst in list(self._bursts.items()):
            if (not burst.decided and burst.quiet_since is not None
                    and at(speaker) - burst.quiet_since
                    > self.rules.words_timeout + 0.1):  # 0.1: the pause itself
                pause = burst.pause
                moves += self.words(speaker, pause, None)  # its length decides, for now
                if speaker in self.backchannelled:  # a backchannel to the orb, for now
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


#: How far (seconds) a speaker's media clock may fall behind the orb's clock: audio that
#: never came (a frozen network) beyond it moves the clock on.
SPEAKER_CLOCK_MOST_BEHIND = 2.0


class SpeakerClock:
    """One speaker's media clock, in the orb's clock's units: it starts at the orb's clock
    and moves on by the seconds of the speaker's audio heard, however late the loop reads
    them (frames queued on a busy machine, then read all at once). The floor compares only a
    speaker's own times, so being behind costs nothing; it is kept within
    :data:`SPEAKER_CLOCK_MOST_BEHIND` so that audio that never comes still lets time pass."""

    def __init__(self, most_behind: float = SPEAKER_CLOCK_MOST_BEHIND) -> None:
        self._most_behind = most_behind
        self._start: float | None = None

    def now(self, clock: float, heard: float) -> float:
        """The media clock, given the orb's ``clock`` and the seconds of audio ``heard``."""
        if self._start is None or self._start + heard < clock - self._most_behind:
            self._start = (clock if self._start is None else clock - self._most_behind) - heard
        return self._start + heard


class FloorStage:
    """The floor in the live orb: feeds :class:`Floor` from the turn events and every 20 ms,
    and carries out its moves on the voice (hold/release) and the conductor (barge-in)."""

    def __init__(self, floor: Floor, *, hold: Callable[[bool], None],
                 barge_in: Callable[[str], None],
                 early_words: Callable[[str, Audio], Awaitable[str | None]] | None,
                 spawn: Callable[..., object],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.floor = floor
        self._hold = hold
        self._barge_in = barge_in
        self._early_words = early_words
        self._spawn = spawn
        self._clock = clock
        self._detectors: dict[str, TurnDetector] = {}
        self._speaker_clocks: dict[str, SpeakerClock] = {}
        self._ticking = False
        #: ``clock()`` of the latest hold and release (tests and figures read them).
        self.held_at: float | None = None
        #: ``clock()`` of the latest holds (a few dozen), for "the first hold after t".
        self.holds: deque[float] = deque(maxlen=32)
        self.released_at: float | None = None

    def watch(self, detector: TurnDetector) -> None:
        self._detectors[detector.speaker_id] = detector
        if not self._ticking:
            self._ticking = True
            self._spawn(self._tick_forever(), "orb-floor")

    def forget(self, detector: TurnDetector) -> None:
        if self._detectors.get(detector.speaker_id) is detector:
            del self._detectors[detector.speaker_id]
            self._speaker_clocks.pop(detector.speaker_id, None)
            self._carry(self.floor.ended(detector.speaker_id), detector.speaker_id)

    def onset(self, speaker: str) -> None:
        from .hearing import VAD_FRAME_SECONDS

        if speaker in self._detectors:
            self._carry(self.floor.onset(speaker, self._now(speaker), VAD_FRAME_SECONDS),
                        speaker)

    def started(self, speaker: str) -> None:
        from .hearing import VAD_FRAME_SECONDS

        self._carry(self.floor.started(speaker, self._now(speaker), 2 * VAD_FRAME_SECONDS),
                    speaker)

    def paused(self, speaker: str, silence: float, pause: int, speech: Audio,
               first: bool) -> None:
        self._carry(self.floor.paused(speaker, self._now(speaker), silence, pause), speaker)
        if not first or self.floor.free:
            return
        if self._early_words is None:  # no speech-to-text: the burst's length decides
            self._carry(self.floor.words(speaker, pause, None), speaker)
        else:
            self._spawn(self._words(speaker, pause, speech), f"floor-words-{speaker}")

    def ended(self, speaker: str) -> None:
        self._carry(self.floor.ended(speaker), speaker)

    async def _words(self, speaker: str, pause: int, speech: Audio) -> None:
        assert self._early_words is not None
        try:  # bounded: speech-to-text has its own bounds; this is a backstop
            text = await asyncio.wait_for(self._early_words(speaker, speech), 10.0)
        except TimeoutError:
            return
        except Exception:  # speech-to-text failed: the burst's length decides
            logger.exception("early words for the floor failed")
            text = None
        self._carry(self.floor.words(speaker, pause, text), speaker)

    def _now(self, speaker: str) -> float:
        """``speaker``'s media clock (:class:`SpeakerClock`); the orb's clock for a speaker
        not watched."""
        detector = self._detectors.get(speaker)
        if detector is None:
            return self._clock()
        clock = self._speaker_clocks.setdefault(speaker, SpeakerClock())
        return clock.now(self._clock(), detector.heard)

    def tick(self) -> None:
        """One tick of the floor (every 20 ms), each speaker's bursts on their own clock."""
        voicing = [s for s, d in self._detectors.items() if d.voicing]
        clocks = {s: self._now(s) for s in self._detectors}
        self._carry(self.floor.tick(self._clock(), voicing, clocks), "")

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(0.02)
            self.tick()

    def _carry(self, moves: list[Move], speaker: str) -> None:
        for move in moves:
            if move is Move.HOLD:
                self.held_at = self._clock()
                self.holds.append(self.held_at)
                self._hold(True)
            elif move is Move.RELEASE:
                self.released_at = self._clock()
                self._hold(False)
            else:
                self._barge_in(self.floor.yielded_to or speaker)
