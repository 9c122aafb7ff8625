"""The floor offline: a human's rendered voice against an orb reply, through the orb's own
:class:`TurnDetector` (Silero VAD behind the :class:`EchoGate`) and :class:`Floor`, on a
simulated clock (the audio's own time, 20 ms steps as the orb's voice and ear run).

Each step the orb sends one 20 ms frame of its reply (unless the floor holds it or the reply
was dropped); the human's microphone gets their own voice plus, optionally, that orb frame
``echo_db`` down after ``echo_delay`` (the echo path); the detector hears the microphone;
a pause's early words are read by real speech-to-text (blocking; its compute time really
passes on the simulated clock before the words reach the floor). Used by tests/orb/test_floor.py
and ``bench/party.py``; test tooling only.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import attrs
import numpy as np
import numpy.typing as npt

from orb_bridge import OrbConfig
from orb_bridge.audio import Audio
from orb_bridge.echo import EchoGate, SentAudio
from orb_bridge.floor import Floor, Move
from orb_bridge.hearing import SpeechEnded, SpeechPaused, SpeechStarted, TurnDetector, dbfs, new_vad

RATE = 16_000
CHUNK = 320  # 20 ms
STEP = CHUNK / RATE
Pcm = npt.NDArray[np.int16]


@attrs.define
class FloorRun:
    """What happened, in audio seconds from the start."""

    moves: list[tuple[float, Move]] = attrs.field(factory=list)
    started: list[float] = attrs.field(factory=list)  # the detector's SpeechStarted
    #: Frames of the reply sent, and when each went out (position -> time).
    sent: list[tuple[float, int]] = attrs.field(factory=list)
    dropped_at: float | None = None
    reply_frames: int = 0
    words: list[str] = attrs.field(factory=list)
    #: Frames the echo gate took for the orb's echo.
    gated: int = 0

    def first(self, move: Move, after: float = 0.0) -> float | None:
        return next((t for t, m in self.moves if m is move and t >= after), None)

    @property
    def positions(self) -> list[int]:
        return [p for _, p in self.sent]

    def silent_between(self, start: float, end: float) -> bool:
        return not any(start <= t < end for t, _ in self.sent)


def speech_spans(pcm: Pcm, floor_dbfs: float = -50.0) -> list[tuple[float, float]]:
    """Where ``pcm`` is voiced (20 ms frames above ``floor_dbfs``, gaps < 0.15 s joined)."""
    spans: list[tuple[float, float]] = []
    for i in range(0, len(pcm) - CHUNK + 1, CHUNK):
        if dbfs(pcm[i:i + CHUNK].astype(np.float32)) > floor_dbfs:
            t = i / RATE
            if spans and t - spans[-1][1] < 0.15:
                spans[-1] = (spans[-1][0], t + STEP)
            else:
                spans.append((t, t + STEP))
    return spans


def simulate(human: Pcm, reply: Pcm, *, reply_at: float, config: OrbConfig | None = None,
             transcribe: Callable[[Audio], str] | None = None, echo_db: float | None = None,
             echo_delay: float = 0.15, gate: bool = True, tail: float = 1.5) -> FloorRun:
    """Run the floor over ``human`` (16 kHz int16, the microphone's own voice) while the orb
    says ``reply`` (16 kHz int16) from ``reply_at`` seconds."""
    cfg = config or OrbConfig()
    now = 0.0
    sent = SentAudio(STEP)

    floor = Floor(cfg.floor)
    vad = new_vad(cfg)
    echo_gate: EchoGate | None = None
    if gate:
        vad = echo_gate = EchoGate(vad, sent, cfg.floor, threshold=cfg.vad_off_threshold,
                                   clock=lambda: now, rate=RATE)
    detector = TurnDetector("human", "coach", cfg, vad,
                            tap=None if echo_gate is None else echo_gate.hear,
                            onset=lambda speaker: carry(floor.onset(speaker, now, 0.032)))
    run = FloorRun(reply_frames=len(reply) // CHUNK + (1 if len(reply) % CHUNK else 0))
    position = 0
    live = True
    echo: deque[npt.NDArray[np.float32]] = deque([np.zeros(CHUNK, np.float32)]
                                                  * max(1, round(echo_delay / STEP)))
    pending: list[tuple[float, int, str]] = []  # (due, pause, words)
    total = max(len(human) / RATE, reply_at + run.reply_frames * STEP) + tail
    steps = int(total / STEP)
    padded = np.zeros(steps * CHUNK, np.float32)
    padded[:min(len(human), len(padded))] = human[:len(padded)]

    def carry(moves: list[Move]) -> None:
        nonlocal live
        for move in moves:
            run.moves.append((now, move))
            if move is Move.YIELD and live and now >= reply_at:
                live = False
                run.dropped_at = now

    for step in range(steps):
        now = (step + 1) * STEP
        out = np.zeros(CHUNK, np.float32)
        if live and now >= reply_at and position < run.reply_frames and not floor.held:
            out[:] = 0
            part = reply[position * CHUNK:(position + 1) * CHUNK].astype(np.float32)
            out[:len(part)] = part
            run.sent.append((now, position))
            position += 1
        sent.sent(step, now - STEP, Audio(out, RATE))
        echo.append(out)
        mic = padded[step * CHUNK:(step + 1) * CHUNK].copy()
        back = echo.popleft()
        if echo_db is not None:
            mic += back * np.float32(10 ** (echo_db / 20))
        for event in detector.feed(Audio(mic, RATE)):
            if isinstance(event, SpeechStarted):
                run.started.append(now)
                carry(floor.started("human", now, 2 * 0.032))
            elif isinstance(event, SpeechPaused):
                if event.check <= 0:
                    carry(floor.paused("human", now, event.silence, event.pause))
                if event.first and transcribe is None and not floor.free:
                    carry(floor.words("human", event.pause, None))
                elif event.first and transcribe is not None and not floor.free:
                    began = time.perf_counter()
                    words = transcribe(event.speech).strip()
                    run.words.append(words)
                    pending.append((now + time.perf_counter() - began, event.pause, words))
            elif isinstance(event, SpeechEnded):
                carry(floor.ended("human"))
        for item in [p for p in pending if p[0] <= now]:
            pending.remove(item)
            carry(floor.words("human", item[1], item[2]))
        carry(floor.tick(now, ["human"] if detector.voicing else []))
    if echo_gate is not None:
        run.gated = echo_gate.gated
    return run
