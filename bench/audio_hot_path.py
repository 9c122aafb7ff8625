"""Per-frame cost of the orb's two media hot paths, in microseconds per 20 ms frame.

* ``hear``: one human's decoded aiortc frame (48 kHz stereo s16) mixed down to 16 kHz
  (``to_mono_16k``) and fed to the turn detector (the level rule, so the figure is the
  pipeline's own cost, not Silero's), as :class:`orb_bridge.hearing.Ear` does 50 times a
  second per human; half the frames speech-like, half quiet.
* ``send``: the orb's voice making its shared 20 ms frame (``Voice.frame``, which also
  records it for the echo gate) while a reply plays, 50 times a second per orb.
* ``silent``: a silent orb's shared Opus packet per 20 ms slot (``SharedOpus.packet``: the
  frame, then the encode, or since the sixth round of issue 23 the encoder's own silence
  packet again), 50 times a second per orb, most of an orb's life.

Issue 23 made :class:`orb_bridge.audio.Audio` cross these stage boundaries (an object per
frame); this measures what that costs. To compare two checkouts, run it with each one's
``src`` first on ``PYTHONPATH``: it works with the bare-array signatures from before.

    flock /tmp/bench.lock nice -n -15 python bench/audio_hot_path.py --rounds 7
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import _repo  # noqa: F401  (testkit on sys.path: bench/_repo.py)
import av
import numpy as np

from orb_bridge import OrbConfig
from orb_bridge.encoding import SharedOpus
from orb_bridge.hearing import LevelVad, TurnDetector, to_mono_16k
from orb_bridge.media_out import AUDIO_FRAME_SAMPLES, Voice

try:
    from orb_bridge.audio import WEBRTC_RATE, Audio
except ImportError:  # a checkout from before the Audio type
    Audio = None  # type: ignore[assignment,misc]
    WEBRTC_RATE = 48_000


def _frames(count: int) -> list[av.AudioFrame]:
    rng = np.random.default_rng(1)
    out = []
    for i in range(count):
        t = np.arange(960) / 48_000
        level = 8000.0 if (i // 25) % 2 == 0 else 0.0  # 0.5 s speech-like, 0.5 s quiet
        mono = level * np.sin(2 * np.pi * 180 * t) + rng.normal(0, 30, 960)
        stereo = np.stack([mono, mono], axis=1).reshape(1, -1).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
        frame.sample_rate = 48_000
        out.append(frame)
    return out


def hear(frames: list[av.AudioFrame]) -> float:
    cfg = OrbConfig(neural_vad=False, eot_checks=())
    detector = TurnDetector("h", "client", cfg, LevelVad(cfg))
    started = time.perf_counter()
    for frame in frames:
        detector.feed(to_mono_16k(frame))
    return (time.perf_counter() - started) / len(frames) * 1e6


def send(count: int) -> float:
    now = [0.0]
    voice = Voice(clock=lambda: now[0])
    pcm = (np.sin(np.arange(count * AUDIO_FRAME_SAMPLES) / 9) * 8000).astype(np.int16)
    voice.play(Audio(pcm, WEBRTC_RATE) if Audio is not None else pcm)  # type: ignore[arg-type]
    first = voice.grid.index_at(now[0]) + 1
    started = time.perf_counter()
    for i in range(count):
        now[0] = voice.grid.due(first + i)
        voice.frame(first + i)
    return (time.perf_counter() - started) / count * 1e6


def silent(count: int) -> float:
    now = [0.0]
    voice = Voice(clock=lambda: now[0])
    opus = SharedOpus(voice)
    started = time.perf_counter()
    for i in range(count):
        now[0] = voice.grid.due(i)
        opus.packet(i)
    return (time.perf_counter() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--frames", type=int, default=3000, help="20 ms frames per round")
    parser.add_argument("--smoke", action="store_true", help="one short round")
    args = parser.parse_args()
    rounds, count = (1, 100) if args.smoke else (args.rounds, args.frames)
    frames = _frames(count)
    hear(frames[:100])  # warm
    send(100)
    silent(100)
    results: dict[str, Any] = {"hear_us": [], "send_us": [], "silent_us": []}
    for _ in range(rounds):
        results["hear_us"].append(round(hear(frames), 2))
        results["send_us"].append(round(send(count), 2))
        results["silent_us"].append(round(silent(count), 2))
    print(json.dumps({"bench": "audio-hot-path", "audio_type": Audio is not None,
                      "frames": count, "rounds": rounds,
                      "hear_us_median": statistics.median(results["hear_us"]),
                      "send_us_median": statistics.median(results["send_us"]),
                      "silent_us_median": statistics.median(results["silent_us"]), **results}))


if __name__ == "__main__":
    main()
