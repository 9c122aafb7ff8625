"""The orb's parts on their own: picture, voice, turn detection, candidates, speech, link."""

from __future__ import annotations

import asyncio
import io
import shutil
import wave

import attrs
import numpy as np
import pytest
from aiortc import RTCIceCandidate

from orb_bridge import OrbConfig
from orb_bridge.audio import HEARING_RATE, WEBRTC_RATE, Audio
from orb_bridge.hearing import (
    SpeechEnded,
    SpeechPaused,
    SpeechStarted,
    TurnDetector,
    dbfs,
    to_mono_16k,
)
from orb_bridge.media_out import (
    AUDIO_FRAME_SAMPLES,
    FrameGrid,
    OrbAudioTrack,
    OrbPicture,
    OrbVideoTrack,
    Voice,
)
from orb_bridge.peers import END_OF_CANDIDATES, parse_candidate
from orb_bridge.render import OrbRenderer
from orb_bridge.signaling_link import LinkClosed, QueueLink
from orb_bridge.tts import espeak, parse_wav, tone_phrase

from .conftest import on_asyncio

# ------------------------------------------------------------------------------- picture


def lit_pixels(frame: np.ndarray, width: int, height: int) -> int:
    return int(np.count_nonzero(frame[:height] > 40))


def test_renderer_colours_by_status_and_pulses_with_the_voice() -> None:
    renderer = OrbRenderer(320, 240)
    listening = renderer.render("listening", 0.0, 0.0)
    speaking = renderer.render("speaking", 0.0, 0.0)
    assert listening.shape == speaking.shape == (360, 320) and listening.dtype == np.uint8
    # Chroma at the centre differs by status (blue-ish vs green-ish).
    u_centre = 240 * 320 + 60 * 160 + 80
    v_centre = 240 * 320 + 120 * 160 + 60 * 160 + 80
    flat_l, flat_s = listening.ravel(), speaking.ravel()
    assert flat_l[u_centre] > 128 > flat_s[u_centre]  # blue has high U, green low
    assert flat_l[v_centre] < 128 and flat_s[v_centre] < 128
    # A loud voice makes a bigger orb.
    loud = renderer.render("speaking", 1.0, 0.0)
    assert lit_pixels(loud, 320, 240) > 1.5 * lit_pixels(speaking, 320, 240)
    # The corners stay background.
    assert flat_s[0] == 16 and flat_s[240 * 320] == 128


@on_asyncio
async def test_picture_renders_each_frame_once_for_every_track() -> None:
    renderer = OrbRenderer(64, 48)
    calls = []

    def look() -> tuple[str, float]:
        calls.append(1)
        return "listening", 0.0

    picture = OrbPicture(renderer, 50.0, look)
    a, b = OrbVideoTrack(picture), OrbVideoTrack(picture)
    frames_a, frames_b = [], []
    for _ in range(5):
        fa, fb = await asyncio.gather(a.recv(), b.recv())
        frames_a.append(fa)
        frames_b.append(fb)
    assert all(x is y for x, y in zip(frames_a, frames_b, strict=True))
    assert len(calls) == 5
    pts = [f.pts for f in frames_a]
    assert pts == sorted(set(pts)) and frames_a[0].format.name == "yuv420p"
    assert (frames_a[0].width, frames_a[0].height) == (64, 48)


def test_frame_grid_skips_ahead_instead_of_bursting() -> None:
    now = [100.0]
    grid = FrameGrid(0.1, clock=lambda: now[0])
    assert grid.next_index(-1) == 0
    now[0] += 1.05  # a consumer stalled for a second
    assert grid.next_index(0) == 10
    assert grid.next_index(10) == 11


# ------------------------------------------------------------------------------- voice


@on_asyncio
async def test_voice_track_paces_20ms_frames() -> None:
    track = OrbAudioTrack(Voice())
    loop = asyncio.get_running_loop()
    start = loop.time()
    frames = [await track.recv() for _ in range(10)]
    assert loop.time() - start >= 0.15
    assert all(f.samples == AUDIO_FRAME_SAMPLES and f.sample_rate == 48_000 for f in frames)
    assert not any(f.to_ndarray().any() for f in frames)  # silence when quiet
    assert [f.pts for f in frames] == sorted({f.pts for f in frames})


def test_voice_plays_then_falls_silent_and_stop_is_immediate() -> None:
    now = [10.0]
    voice = Voice(clock=lambda: now[0])
    pcm = (np.sin(np.arange(48_000 // 5) / 10.0) * 10_000).astype(np.int16)  # 200 ms
    voice.play(Audio(pcm, WEBRTC_RATE))  # starts at the next 20 ms slot
    start = voice.grid.index_at(now[0]) + 1
    loud = [bool(np.abs(voice.frame(start + i)[1].to_ndarray()).max() > 1000)
            for i in range(-1, 14)]
    assert loud == [False] + [True] * 10 + [False] * 4
    now[0] += 1.0
    voice.play(Audio(pcm, WEBRTC_RATE))
    now[0] += 0.05
    assert voice.playing and voice.level() > 0.5
    index = voice.grid.index_at(now[0])
    voice.stop()
    assert not voice.frame(index + 1)[1].to_ndarray().any()
    assert voice.level() == 0.0 and not voice.playing


# ------------------------------------------------------------------------------- turns


def chunks(pattern: list[tuple[float, float]]) -> list[np.ndarray]:
    """20 ms chunks of 16 kHz audio: (seconds, dBFS) pieces, -100 meaning digital silence."""
    out = []
    for seconds, level in pattern:
        amplitude = 0.0 if level <= -100 else 32768 * 10 ** (level / 20) * np.sqrt(2)
        for _ in range(round(seconds / 0.02)):
            t = np.arange(320) / HEARING_RATE
            out.append((amplitude * np.sin(2 * np.pi * 200 * t)).astype(np.float32))
    return out


def run(detector: TurnDetector, pattern: list[tuple[float, float]]) -> list[object]:
    events: list[object] = []
    for chunk in chunks(pattern):
        events.extend(detector.feed(Audio(chunk, HEARING_RATE)))
    return events


def test_decoded_audio_is_mixed_down_to_16k_mono() -> None:
    import av

    t = np.arange(960) / 48_000
    left = (np.sin(2 * np.pi * 300 * t) * 10_000).astype(np.int16)
    right = (left // 2).astype(np.int16)
    packed = np.stack([left, right], axis=1).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(packed, format="s16", layout="stereo")
    frame.sample_rate = 48_000
    heard = to_mono_16k(frame)
    assert heard.rate == HEARING_RATE
    mono = heard.samples
    expected = ((left.astype(np.float64) + right) / 2).reshape(-1, 3).mean(axis=1)
    assert mono.shape == (320,) and mono.dtype == np.float32
    assert np.allclose(mono, expected, atol=0.5)
    rms = np.sqrt(np.mean(expected**2))
    assert abs(dbfs(mono) - 20 * np.log10(rms / 32768)) < 0.1


def test_mixdown_is_exactly_the_integer_sum_of_each_group() -> None:
    """The fast path (plane bytes, float32 product) gives the very values of an int32 sum
    of every 3 instants of every channel, full scale included, mono and stereo."""
    import av

    rng = np.random.default_rng(7)
    for layout, channels in (("stereo", 2), ("mono", 1)):
        for pcm in (np.clip(rng.normal(0, 20000, (1, 960 * channels)), -32768, 32767),
                    np.full((1, 961 * channels), -32768)):
            frame = av.AudioFrame.from_ndarray(pcm.astype(np.int16), format="s16",
                                               layout=layout)
            frame.sample_rate = 48_000
            flat = frame.to_ndarray().reshape(-1)
            group = 3 * channels
            sums = flat[: len(flat) - len(flat) % group].reshape(-1, group).sum(
                axis=1, dtype=np.int32)
            expected = sums.astype(np.float32) * np.float32(1.0 / group)
            assert np.array_equal(to_mono_16k(frame).samples, expected)


#: The level rule (the fallback without the brain extra) with its old 0.6 s hang-over.
LEVEL = OrbConfig(neural_vad=False, eot_checks=(), turn_timeout=0.6)


def test_turn_detector_joins_syllables_and_splits_at_pauses() -> None:
    cfg = LEVEL
    det = TurnDetector("client-1", "client", cfg)
    syllables = [(0.2, -20.0), (0.1, -90.0)] * 4
    events = run(det, [(0.5, -90.0), *syllables, (1.0, -90.0), *syllables, (1.0, -90.0)])
    kinds = [type(e).__name__ for e in events]
    # Each turn pauses (vad_pause_time of quiet) before it ends (turn_timeout).
    assert kinds == ["SpeechStarted", "SpeechPaused", "SpeechEnded"] * 2
    utterance = events[2].utterance  # type: ignore[attr-defined]
    paused = events[1]
    assert isinstance(paused, SpeechPaused) and paused.speech.same(utterance.speech)
    assert utterance.speaker_id == "client-1" and utterance.role == "client"
    assert utterance.audio.rate == 16_000
    assert 1.2 < utterance.duration < 2.2 and 0.7 < utterance.voiced < 1.3


def test_turn_detector_ignores_clicks_and_holds_between_thresholds() -> None:
    cfg = LEVEL
    det = TurnDetector("coach-1", "coach", cfg)
    assert run(det, [(0.02, -10.0), (0.5, -90.0)]) == []  # shorter than vad_on_time
    # Between the thresholds (-43 dBFS): not loud enough to start...
    assert run(det, [(1.0, -43.0)]) == []
    # ...but not quiet enough to end a turn already going.
    events = run(det, [(0.3, -20.0), (1.5, -43.0)])
    assert [type(e) for e in events] == [SpeechStarted]
    assert [type(e) for e in run(det, [(0.7, -90.0)])] == [SpeechPaused, SpeechEnded]


def test_a_pause_that_goes_on_talking_is_superseded() -> None:
    det = TurnDetector("client-1", "client", LEVEL)
    events = run(det, [(0.5, -20.0), (0.4, -90.0), (0.5, -20.0), (0.7, -90.0)])
    assert [type(e).__name__ for e in events] == [
        "SpeechStarted", "SpeechPaused", "SpeechPaused", "SpeechEnded"]
    first, last, ended = events[1], events[2], events[3]
    assert len(first.audio) < len(last.audio)  # type: ignore[attr-defined]
    assert last.speech.same(ended.utterance.speech)  # type: ignore[attr-defined]


def test_turn_detector_cuts_long_speech_to_bound_memory() -> None:
    cfg = attrs.evolve(LEVEL, max_utterance=1.0, piece_seconds=1.0)
    det = TurnDetector("client-1", "client", cfg)
    events = run(det, [(3.1, -20.0)])
    ended = [e for e in events if isinstance(e, SpeechEnded)]
    assert len(ended) == 3 and all(e.utterance.duration <= 1.25 for e in ended)
    assert not any(e.utterance.final for e in ended)  # pieces: the talker goes on


# ------------------------------------------------------------------------------- candidates


def test_candidates_from_browsers_and_end_of_candidates() -> None:
    line = "candidate:1 1 udp 2122260223 192.168.1.5 54321 typ host generation 0"
    cand = parse_candidate({"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0})
    assert isinstance(cand, RTCIceCandidate)
    assert (cand.ip, cand.port, cand.type, cand.sdpMid) == ("192.168.1.5", 54321, "host", "0")
    bare = parse_candidate(line)
    assert isinstance(bare, RTCIceCandidate) and bare.sdpMLineIndex == 0
    for end in (None, "", {"candidate": ""}, {"candidate": None, "sdpMid": "0"}):
        assert parse_candidate(end) is END_OF_CANDIDATES
    for bad in ({"candidate": "candidate:garbage"}, 42, {"candidate": 7}):
        with pytest.raises(ValueError):
            parse_candidate(bad)


# ------------------------------------------------------------------------------- speech


def test_parse_wav_reads_streamed_headers() -> None:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(np.arange(100, dtype="<i2").tobytes())
    data = bytearray(buf.getvalue())
    data[40:44] = b"\xff\xff\xff\x7f"  # espeak-ng --stdout writes a placeholder data size
    said = parse_wav(bytes(data))
    assert said.rate == 22050 and list(said.samples[:3]) == [0, 1, 2] and len(said) == 100


def test_tone_phrase_is_audible() -> None:
    said = tone_phrase(4)
    assert said.duration > 0.6 and np.abs(said.int16()).max() > 5000


@on_asyncio
async def test_espeak_ng_speaks() -> None:
    assert shutil.which("espeak-ng"), "espeak-ng missing: apt-get install -y espeak-ng"
    said = await espeak("Hello there.")
    assert said.rate == WEBRTC_RATE and said.duration > 0.3
    assert np.sqrt(np.mean(said.int16().astype(np.float64) ** 2)) > 300


# ------------------------------------------------------------------------------- link


@on_asyncio
async def test_queue_link_is_bounded_and_closes_both_ways() -> None:
    link = QueueLink(2)
    await link.send("a")
    await link.send("b")
    blocked = asyncio.ensure_future(link.send("c"))
    await asyncio.sleep(0.01)
    assert not blocked.done()  # full: the orb waits, nothing is dropped
    assert await link.next_outgoing() == "a"
    await asyncio.wait_for(blocked, 1)
    await link.deliver("hello")
    assert await link.recv() == "hello"
    waiting = asyncio.ensure_future(link.recv())
    await asyncio.sleep(0.01)
    link.far_closed()
    with pytest.raises(LinkClosed):
        await asyncio.wait_for(waiting, 1)
    with pytest.raises(LinkClosed):
        await link.send("late")
    assert [await link.next_outgoing() for _ in range(3)] == ["b", "c", None]


class BrokenRenderer(OrbRenderer):
    def render(self, status: str, level: float, t: float) -> np.ndarray:
        raise ZeroDivisionError("bug in the renderer")


@on_asyncio
async def test_a_failing_track_reports_to_the_orb_instead_of_dying_quietly() -> None:
    from aiortc.mediastreams import MediaStreamError

    failures: list[BaseException] = []
    picture = OrbPicture(BrokenRenderer(64, 48), 50.0, lambda: ("ready", 0.0))
    picture.on_failure = failures.append
    with pytest.raises(MediaStreamError):
        await OrbVideoTrack(picture).recv()
    assert len(failures) == 1 and isinstance(failures[0], ZeroDivisionError)
