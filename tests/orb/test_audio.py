"""orb_bridge.audio: the one audio type the orb's stages hand each other."""

from __future__ import annotations

import numpy as np
import pytest

from orb_bridge.audio import HEARING_RATE, WEBRTC_RATE, Audio


def _tone(seconds: float, rate: int, hz: float = 440.0) -> Audio:
    t = np.arange(round(seconds * rate)) / rate
    return Audio((8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16), rate)


def test_bytes_round_trip_and_duration() -> None:
    audio = Audio(np.array([0, 1, -1, 32767, -32768], np.int16), HEARING_RATE)
    again = Audio.from_bytes(audio.to_bytes() + b"\x01", HEARING_RATE)  # odd byte dropped
    assert again.same(audio) and not again.same(Audio(again.samples, WEBRTC_RATE))
    assert audio.duration == pytest.approx(5 / HEARING_RATE) and len(audio) == 5


def test_floats_and_int16_conversions_keep_the_int16_scale() -> None:
    floats = Audio(np.array([0.4, -1.6, 40000.0, -40000.0], np.float32), HEARING_RATE)
    assert floats.int16().tolist() == [0, -2, 32767, -32768]
    assert floats.floats() is floats.samples
    assert Audio(np.array([16384, -32768], np.int16), 8000).unit_floats().tolist() == [0.5, -1.0]


def test_not_mono_or_no_rate_is_refused() -> None:
    with pytest.raises(ValueError):
        Audio(np.zeros((2, 4), np.int16), HEARING_RATE)
    with pytest.raises(ValueError):
        Audio(np.zeros(4, np.int16), 0)


def test_at_resamples_only_when_the_rate_differs() -> None:
    tone = _tone(0.5, 22_050)
    assert tone.at(22_050) is tone
    sent = tone.at(WEBRTC_RATE)
    assert sent.rate == WEBRTC_RATE and len(sent) == round(len(tone) * WEBRTC_RATE / 22_050)
    assert sent.samples.dtype == np.int16
    # The same tone, not a different sound: its level is kept.
    assert np.sqrt(np.mean(sent.floats() ** 2)) == pytest.approx(
        np.sqrt(np.mean(tone.floats() ** 2)), rel=0.02)
    assert len(Audio.silence(0, 22_050).at(WEBRTC_RATE)) == 0


def test_slicing_by_seconds_and_joining() -> None:
    audio = Audio(np.arange(1600, dtype=np.int16), HEARING_RATE)  # 0.1 s
    assert audio.between(0.05).samples[0] == 800
    assert len(audio.between(0.01, 0.02)) == 160
    assert len(audio.between(-0.01)) == 160
    assert len(audio.without_last(0.025)) == 1200
    assert audio.without_last(0.0) is audio and audio.without_last(1.0) is audio
    joined = Audio.join([audio, Audio.silence(0.1, HEARING_RATE)], HEARING_RATE)
    assert joined.duration == pytest.approx(0.2) and joined.samples[-1] == 0
    assert len(Audio.join([], WEBRTC_RATE)) == 0
    with pytest.raises(ValueError):
        Audio.join([audio, Audio.silence(0.1, WEBRTC_RATE)], HEARING_RATE)
