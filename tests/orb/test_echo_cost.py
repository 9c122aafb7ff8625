"""What the echo gate costs: it compares a microphone with the orb's voice only when the orb
has said something an echo could still carry (issue 23: the orb loop's CPU per talking room).

The orb's voice hands every 20 ms slot to :class:`SentAudio`, silence too, so "the orb sent a
frame lately" is always true; the correlation (an FFT over 1.75 s, 1-2.5 ms a frame) ran for
every speech frame of every human, in every room, whether or not the orb had spoken. Here the
real Silero model hears a real (espeak-ng) sentence through the gate.
"""

from __future__ import annotations

import numpy as np

from orb_bridge import OrbConfig
from orb_bridge.audio import Audio
from orb_bridge.echo import EchoGate, SentAudio, _decimate
from orb_bridge.vad import FRAME_SAMPLES, SileroStream
from testkit import voices

RATE = 16_000
STEP = FRAME_SAMPLES / RATE


def hear(talk: np.ndarray, orb: np.ndarray) -> EchoGate:
    """Feed ``talk`` (the microphone) through a gate while the orb sends ``orb`` (both 16 kHz,
    frame by frame on one clock); returns the gate."""
    cfg = OrbConfig()
    now = 0.0
    sent = SentAudio(STEP)
    gate = EchoGate(SileroStream(), sent, cfg.floor, threshold=cfg.vad_off_threshold,
                    clock=lambda: now, rate=RATE)
    frames = max(len(talk), len(orb)) // FRAME_SAMPLES
    for i in range(frames):
        now = (i + 1) * STEP
        out = orb[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES].astype(np.float32)
        out = np.pad(out, (0, FRAME_SAMPLES - len(out)))
        sent.sent(i, now - STEP, Audio(out, RATE))
        mic = talk[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES].astype(np.float32)
        heard = Audio(np.pad(mic, (0, FRAME_SAMPLES - len(mic))), RATE)
        gate.hear(heard)
        gate.feed(heard)
    return gate


def test_a_human_speaking_while_the_orb_sends_silence_costs_no_comparison() -> None:
    talk = np.concatenate([voices.silence(0.5), voices.espeak(
        "I would like to start running again in the mornings.")])
    gate = hear(talk, np.zeros(len(talk), np.int16))
    assert gate.checked == 0, f"{gate.checked} comparisons with an orb that said nothing"
    assert gate.gated == 0


def test_the_gate_still_compares_within_an_echos_reach_of_the_orbs_voice() -> None:
    """The orb speaks, then is silent; the human starts 0.5 s after it stopped (within the
    1.75 s an echo can last: compared) and talks on past that (no longer compared)."""
    reply = voices.espeak("That sounds important to you.")
    orb = np.concatenate([reply, np.zeros(6 * RATE, np.int16)])
    talk = np.concatenate([np.zeros(len(reply) + RATE // 2, np.int16), voices.espeak(
        "My manager keeps moving the deadlines and I feel stressed about it all.")])
    gate = hear(talk, orb)
    cfg = OrbConfig().floor
    reach = cfg.echo_path + cfg.echo_window + 0.1  # the last loud frame's end, plus margin
    most = int((reach - 0.5) / STEP) + 1
    assert 0 < gate.checked <= most, (gate.checked, most)


def test_decimation_gives_the_very_values_of_a_float32_mean() -> None:
    """The comparison's decimation (every frame of every human) is numpy's float32 mean of
    each group, bit for bit, at both of its factors (16 and 48 kHz to 8 kHz)."""
    rng = np.random.default_rng(3)
    for factor in (2, 6):
        for dtype in (np.float32, np.int16):
            samples = (rng.normal(0, 9000, 961)).astype(dtype)
            flat = samples.astype(np.float32)
            usable = len(flat) - len(flat) % factor
            expected = flat[:usable].reshape(-1, factor).mean(axis=1, dtype=np.float32)
            assert np.array_equal(_decimate(samples, factor), expected)
