"""The synthetic humans (testkit.synthetic_media) take the orb's DTX as a browser does
(issue 26): a silent orb sends a packet every 400 ms, its RTP time jumping the rest.

* The stall meter counts an audio gap only by how much it outlasts what the sender's clock
  skipped: DTX is not a stall, a frozen sender still is.
* A recording (what the human heard) has the skipped time as silence.
* The speaker does not take a late frame of silence for an underrun.
"""

from __future__ import annotations

import fractions

import av
import numpy as np
import pytest

from testkit.synthetic_media import FRAME, PLAYOUT, RATE, PeerMedia, Speaker


def frame_at(slot: int, value: int = 0) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(np.full((1, 2 * FRAME), value, np.int16),
                                       format="s16", layout="stereo")
    frame.sample_rate = RATE
    frame.pts = 12_345 + slot * FRAME  # an RTP clock's random origin
    frame.time_base = fractions.Fraction(1, RATE)
    return frame


def test_dtx_gaps_are_not_stalls_and_are_heard_as_silence() -> None:
    media = PeerMedia()
    media.recording = []
    media.start_measuring(now=0.0)
    slots = [0, 1, 2, 3, 23, 43, 63, 64, 65]  # 20 ms apart, then DTX 400 ms apart, then speech
    for slot in slots:
        media.audio_received(frame_at(slot, 100 if slot >= 63 else 0), now=slot * 0.02)
    assert media.audio_dtx_seen
    assert media.audio_frames == len(slots)
    # The stream's length by the sender's clock, skipped time included (66 slots of 20 ms).
    assert media.audio_seconds == pytest.approx(66 * FRAME / RATE)
    assert media.longest_stall(now=65 * 0.02) == pytest.approx(0.02, abs=1e-6)
    heard = np.concatenate(media.recording)
    assert len(heard) == 66 * FRAME  # every skipped slot is there, as silence
    assert not np.any(heard[: 63 * FRAME]) and np.all(heard[63 * FRAME :] == 100)
    # A gap still open counts beyond the DTX cadence: 1 s without a packet is 0.6 s stalled.
    assert media.longest_stall(now=65 * 0.02 + 1.0) == pytest.approx(0.6, abs=1e-6)


def test_a_frozen_sender_is_still_a_stall() -> None:
    media = PeerMedia()
    media.start_measuring(now=0.0)
    for slot in range(5):
        media.audio_received(frame_at(slot), now=slot * 0.02)
    # 0.5 s with no packet, then the sender's backlog in a burst: its clock skipped nothing.
    for slot in range(5, 30):
        media.audio_received(frame_at(slot), now=0.58 + (slot - 5) * 0.001)
    assert not media.audio_dtx_seen
    assert media.longest_stall(now=0.61) == pytest.approx(0.5, abs=1e-6)


def test_a_late_frame_of_silence_is_no_underrun_but_a_late_voice_is() -> None:
    speaker = Speaker()
    silence = np.zeros(FRAME, np.float32)
    speaker.received(silence, 0, 0.0)
    speaker.played(PLAYOUT + 0.5, FRAME)  # the microphone has captured 0.52 s
    speaker.received(silence, 5 * FRAME, 0.5)  # released late by a receiver's buffer
    assert speaker.underruns == 0 and speaker.delay == pytest.approx(PLAYOUT)
    speaker.received(np.ones(FRAME, np.float32), 10 * FRAME, 0.55)
    assert speaker.underruns == 1
