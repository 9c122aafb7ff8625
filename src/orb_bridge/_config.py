"""Every knob of one orb, in one immutable object.

Both attachments (in-process host and standalone worker) build an :class:`OrbConfig`; nothing
else in the package holds a tunable constant, so tests can shrink timers without patching.
"""

from __future__ import annotations

from typing import Any

import attrs

from .floor import FloorRules
from .speech_config import SpeechConfig


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive")


@attrs.frozen
class OrbConfig:
    """Limits, media format and turn-taking thresholds of one orb. Times are in seconds."""

    #: Orb video size and rate (the browser shows it as the orb's "camera").
    width: int = attrs.field(default=320, validator=_positive)
    height: int = attrs.field(default=240, validator=_positive)
    fps: float = attrs.field(default=15.0, validator=_positive)

    #: Encode the picture (VP8) and the voice (Opus) once per orb for every peer connection
    #: that negotiated those codecs, instead of once per peer (see orb_bridge.encoding).
    share_encoding: bool = True
    video_bitrate: int = attrs.field(default=300_000, validator=_positive)
    #: A keyframe at least this often (besides those receivers ask for).
    keyframe_interval: float = attrs.field(default=3.0, validator=_positive)

    #: The room has had no human for this long: ``ai-orb-shutdown`` ``session_complete``.
    idle_grace: float = attrs.field(default=300.0, validator=_positive)
    #: The orb has lived this long: ``ai-orb-shutdown`` ``timeout``.
    max_lifetime: float = attrs.field(default=2 * 60 * 60.0, validator=_positive)
    #: ``ping`` and ``orb_heartbeat`` period.
    heartbeat_interval: float = attrs.field(default=30.0, validator=_positive)

    #: Voice activity (orb_bridge.hearing): Silero VAD's speech probability per 32 ms frame.
    #: A turn starts after ``vad_on_time`` of frames at or above ``vad_threshold``; while it
    #: goes on, frames at or above ``vad_off_threshold`` still count as speech. ``neural_vad``
    #: False (or no ``brain`` extra) falls back to the level rule of ``vad_on_dbfs`` /
    #: ``vad_off_dbfs``.
    neural_vad: bool = True
    vad_threshold: float = 0.5
    vad_off_threshold: float = 0.35
    vad_on_dbfs: float = -38.0
    vad_off_dbfs: float = -48.0
    vad_on_time: float = attrs.field(default=0.064, validator=_positive)
    #: Non-speech after which the turn *may* be over: speech-to-text starts on what was said
    #: so far and the end-of-turn model is asked (``SpeechPaused``).
    vad_pause_time: float = attrs.field(default=0.1, validator=_positive)
    #: The end-of-turn decision: at each ``(silence, threshold)`` the model (Smart Turn,
    #: orb_bridge.end_of_turn) is asked, and a probability at or above the threshold ends the
    #: turn, unless the words so far read as mid-clause (``end_of_turn.combine``). Later
    #: checks accept less: the longer the quiet, the less the model must be sure. An empty
    #: tuple leaves the decision to ``turn_timeout`` alone.
    #: No verdict before 0.65 s of quiet (round 8 of issue 23: the latency's headroom spent on
    #: the 0.7 s mid-request pauses, which the first checks at 0.2-0.6 s cut; measured on the
    #: design set, 0.2 s → 0.65 s took false cut-offs 13.5 % → 9.6 % and the end of turn p50
    #: 0.45 s → 0.75 s; docs/orb.md, "The end of a turn").
    eot_checks: tuple[tuple[float, float], ...] = ((0.65, 0.5), (0.9, 0.3), (1.2, 0.15))
    #: The words' check ``(silence, threshold)``: a check that only a turn whose early words
    #: read complete can pass (``end_of_turn.combine``, ``need_words``), by the pause's best
    #: verdict so far, at a threshold low enough for a flat but finished reading, which Smart
    #: Turn gives 0.02-0.1 ("I am worried that I will not finish my thesis this year" in
    #: espeak-ng) and would otherwise wait out ``turn_timeout``; fragments mostly get
    #: 0.005-0.015 ("...at work and then", heard as "...and end"). It waits for the words, not
    #: for more quiet: at 0.4 s (0.8 s until round 5 of issue 23) it cut no more fragments on
    #: bench/party.py's design and new sets and ended flat finished requests 0.4 s sooner;
    #: since round 8 at 0.65 s, with the model's first check (docs/orb.md, "The end of a
    #: turn"). Since round 14 its threshold is 0.001: its words must read complete with a mark
    #: Whisper is sure of (0.90 at 0.65 s, orb_bridge.closing_mark.MARK_BARS), and flat
    #: finished readings score under 0.02 ("Should I mention my salary expectations first?"
    #: 0.015 in espeak-ng). ``None``, no ``eot_checks``, or not before ``turn_timeout``: none.
    eot_words_check: tuple[float, float] | None = (0.65, 0.001)
    #: The words' check again, later: for the words whose closing mark the first checks found
    #: too unsure to end a turn on (orb_bridge.closing_mark.MARK_BARS: 0.90 before 0.95 s of
    #: quiet, 0.80 after). At 1.0 s, after a 1.0 s mid-request pause's speaker has resumed
    #: and within the first audio's p90 (round 12 of issue 23, replayed on traces of the seen
    #: sets: about a quarter of the finished requests answered at ~1.1 s instead of ~0.75 s,
    #: and of the fragments cut at the 1.0 s pauses 27 of 68 → 10). ``None``: none.
    eot_late_words_check: tuple[float, float] | None = (1.0, 0.02)
    #: The words' check a last time, after the longest mid-request pause the orb waits
    #: through (1.5 s) and before ``turn_timeout``: words that read complete as written, with
    #: no closing mark or an unsure one (orb_bridge.closing_mark.READ_AS_SAID), end the turn
    #: here whatever the model says; words that read mid-clause wait for the timeout (round
    #: 14 of issue 23). ``None``: none.
    eot_last_words_check: tuple[float, float] | None = (1.6, 0.001)
    #: Non-speech that ends a turn whatever the model says: longer than the mid-request
    #: pauses (up to 1.5 s) that must not end a request.
    turn_timeout: float = attrs.field(default=1.8, validator=_positive)
    #: Speech kept before the onset (the first syllable starts before the detector is sure).
    vad_preroll: float = 0.2
    #: A speaker who talks on is cut into pieces: at their first pause after
    #: ``piece_seconds``, at the latest at ``max_utterance`` (memory and speech-to-text stay
    #: bounded; each piece is transcribed alone).
    piece_seconds: float = attrs.field(default=20.0, validator=_positive)
    max_utterance: float = attrs.field(default=30.0, validator=_positive)
    #: Early speech-to-text runs (at a pause, before the turn is known to be over) per
    #: utterance; with the final run, speech-to-text reads one utterance at most this + 1 times.
    stt_early_runs: int = 3
    #: Utterances shorter than this are noise (a cough, a click) and are dropped.
    min_utterance: float = 0.15

    #: Who has the floor (orb_bridge.floor): hold the voice while a human speaks, talk on
    #: through a backchannel, yield to a barge-in, and do not hear the orb's own echo.
    floor: FloorRules = attrs.field(factory=FloorRules)

    #: Roles whose finished utterances the brain answers in the ``active`` mode even when not
    #: addressed: the coach guides, the AI answers the client (the original system's rule).
    reply_to_roles: tuple[str, ...] = ("client",)
    #: Whom the orb talks to until the server says (``orbMode`` of its ``peer-discovery``,
    #: ``ai-mode``): ``listen``, ``addressed`` or ``active`` (orb_bridge.addressee).
    mode: str = "addressed"
    #: The name the orb answers to (orb_bridge.addressing); also given to speech-to-text as
    #: a hotword, so a bare "Orb," is not heard as "Or,".
    name: str = "Orb"
    #: After ``ai_ask``, the asker's turn ending within this many seconds is addressed.
    ask_window: float = attrs.field(default=10.0, validator=_positive)
    #: At most this many answers per ``reply_period`` seconds, however often it is named.
    max_replies: int = attrs.field(default=6, validator=_positive)
    reply_period: float = attrs.field(default=60.0, validator=_positive)

    #: Capacity (messages) of each of the orb's signaling queues; a full outbox means the link
    #: is stuck, and the orb ends with ``error``.
    queue_size: int = attrs.field(default=256, validator=_positive)
    #: Trickled candidates kept per peer while its offer has not arrived yet.
    max_pending_candidates: int = attrs.field(default=64, validator=_positive)
    #: Bound on closing one peer connection (aiortc's close can stall on a dead transport).
    pc_close_timeout: float = attrs.field(default=5.0, validator=_positive)

    #: Reach the humans through the TURN relay only (aiortc's ``iceTransportPolicy`` "relay"):
    #: the orb's host address never appears in a candidate, and with no TURN credentials or
    #: a refusing TURN server the orb does not connect rather than try a direct path. For
    #: orb-workers that must not be reachable from browsers directly (docs/orb.md).
    ice_relay_only: bool = False

    #: Speech-to-text, language model and transcripts (orb_bridge.speech_config).
    speech: SpeechConfig = attrs.field(factory=SpeechConfig)

    @property
    def decision_checks(self) -> tuple[tuple[float, float, bool], ...]:
        """The end-of-turn checks ``(silence, threshold, needs words)`` in order of silence:
        ``eot_checks`` and the words' check (``SpeechPaused.check`` indexes this)."""
        checks = [(silence, threshold, False) for silence, threshold in self.eot_checks]
        for words in (self.eot_words_check, self.eot_late_words_check,
                      self.eot_last_words_check):
            if checks and words is not None and words[0] < self.turn_timeout:
                checks.append((words[0], words[1], True))
        return tuple(sorted(checks, key=lambda check: check[0]))

    def __attrs_post_init__(self) -> None:
        if self.mode not in ("listen", "addressed", "active"):
            raise ValueError("mode must be listen, addressed or active")
        if not self.name.strip():
            raise ValueError("name must not be empty")
        if self.width % 2 or self.height % 2:
            raise ValueError("width and height must be even (yuv420p)")
        if self.vad_off_dbfs > self.vad_on_dbfs:
            raise ValueError("vad_off_dbfs must not exceed vad_on_dbfs")
        if not 0 < self.vad_off_threshold <= self.vad_threshold <= 1:
            raise ValueError("need 0 < vad_off_threshold <= vad_threshold <= 1")
        if any(silence > self.turn_timeout for silence, _ in self.eot_checks):
            raise ValueError("an end-of-turn check after turn_timeout would never run")
