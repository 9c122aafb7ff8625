"""The floor's part of bench/party.py (``--part floor``): a reply of the orb and one human
sound into it (a backchannel, a cough, a short or whole barge-in), through the floor on the
simulated clock (testkit.floor_sim), and the figures issue 25 asks for. Also the two helpers
the other parts share: which items a set takes, and a percentile."""

from __future__ import annotations

import json
import statistics
from typing import Any

import _repo  # noqa: F401  (testkit on sys.path: bench/_repo.py)
import numpy as np
from _party_sets import FINISHED

from orb_bridge import OrbConfig
from orb_bridge.floor import Move
from orb_bridge.stt import WhisperStt
from testkit import voices
from testkit.floor_sim import simulate, speech_spans

BACKCHANNEL_TEXTS = ("Mm-hmm.", "Yeah.", "Right.", "Okay.", "Uh-huh.", "I see.", "Yeah, right.",
                     "Sure.", "Got it.", "Oh.", "Ha ha.", "Mhm.", "cough", "cough")
SHORT_BARGE_INS = ("Wait, stop.", "Hold on a second.", "Sorry, no.", "Can I ask something?")
ORB_REPLIES = (
    "That sounds like a lot to carry at once. What would make this week feel a little "
    "lighter for you, if you could change just one thing about it?",
    "It seems that saying yes matters to you, and it costs you your evenings. When did "
    "saying no last go well for you, and what made it possible?",
    "You want a clear plan by Friday. What is the first small step you could take tomorrow "
    "morning, before your inbox takes over the day?",
)
INTO = (0.8, 1.6)  # the human's sound this far into the reply
REACTION = 0.3  # talk-over inside this window after a human starts is the pause's latency
FLOOR_TARGETS = {"paused_p90": 0.3, "talked_through": 0.9, "honoured": 0.98,
                 "talk_over_per_10min": 0.3}


def cough(seed: int) -> np.ndarray:
    """A cough: two throat bursts, noise under a fast-decaying envelope (0.3-0.5 s)."""
    rng = np.random.default_rng(seed)
    parts = []
    for length in (0.12 + 0.03 * (seed % 3), 0.18 + 0.02 * (seed % 4)):
        n = round(length * 16_000)
        burst = np.convolve(rng.standard_normal(n), np.ones(6) / 6, mode="same")
        parts += [burst * np.exp(-np.linspace(0, 6, n)) * 9000, np.zeros(800)]
    return np.concatenate(parts).astype(np.int16)


def floor_run(kind: str, voice: str, text: str, into: float, reply: str, seed: int,
              stt: WhisperStt, cfg: OrbConfig) -> dict[str, Any]:
    """One reply and one human sound into it, through the floor on the simulated clock."""
    sound = cough(seed) if text == "cough" else voices.speak(voice, text)
    reply_at = 0.5
    onset = reply_at + into
    human = np.zeros(round((onset + len(sound) / 16_000 + 8.0) * 16_000), np.int16)
    human[round(onset * 16_000):round(onset * 16_000) + len(sound)] = sound
    run = simulate(human, voices.espeak(reply), reply_at=reply_at, config=cfg,
                   transcribe=stt.transcribe_blocking)
    spans = speech_spans(human)
    held = run.first(Move.HOLD, onset - 0.05)
    released = run.first(Move.RELEASE, held) if held is not None else None
    end = spans[-1][1] if spans else onset
    talk_over = sum(0.02 for t, _ in run.sent for a, b in spans if a + REACTION <= t < b)
    whole = run.dropped_at is None and run.positions == list(range(run.reply_frames))
    return {"kind": kind, "voice": voice, "text": text, "into": into,
            "seconds": round(len(sound) / 16_000, 2),
            "paused": None if held is None else round(held - onset, 3),
            "resumed": None if released is None or run.dropped_at is not None
            else round(released - end, 3),
            "dropped": run.dropped_at is not None,
            "dropped_after": None if run.dropped_at is None else round(run.dropped_at - onset, 3),
            "whole": whole, "talk_over": round(talk_over, 3), "words": run.words,
            "sim_seconds": round(len(human) / 16_000, 1)}


def floor_bench(which: str, stt: WhisperStt, cfg: OrbConfig, smoke: bool) -> dict[str, Any]:
    names = ("espeak", "piper")
    backs = chosen(BACKCHANNEL_TEXTS, which)
    barges = chosen(FINISHED + SHORT_BARGE_INS, which)
    if smoke:
        backs, barges = backs[:1], barges[:1]
    rows = []
    for i, text in backs:
        for v in (names if text != "cough" else ("-",)):
            for into in INTO:
                rows.append(floor_run("backchannel", v, text, into,
                                      ORB_REPLIES[i % len(ORB_REPLIES)], i, stt, cfg))
    for i, text in barges:
        for v in names:
            rows.append(floor_run("barge-in", v, text, INTO[i % 2],
                                  ORB_REPLIES[i % len(ORB_REPLIES)], i, stt, cfg))
    for row in rows:
        print(json.dumps({"bench": "party-floor", **row}), flush=True)
    back = [r for r in rows if r["kind"] == "backchannel"]
    barge = [r for r in rows if r["kind"] == "barge-in"]
    paused = [r["paused"] for r in rows if r["paused"] is not None and r["text"] != "cough"]
    resumed = [r["resumed"] for r in back if r["resumed"] is not None]
    simulated = sum(r["sim_seconds"] for r in rows)
    summary = {
        "bench": "party-floor-summary", "set": which, "backchannels": len(back),
        "barge_ins": len(barge),
        "paused_p50": round(statistics.median(paused), 3) if paused else None,
        "paused_p90": round(percentile(paused, 0.9), 3),
        "speech_not_paused": sum(1 for r in rows if r["paused"] is None
                                 and r["text"] != "cough"),
        "talked_through": round(sum(r["whole"] for r in back) / max(1, len(back)), 3),
        "resumed_p50": round(statistics.median(resumed), 3) if resumed else None,
        "resumed_p90": round(percentile(resumed, 0.9), 3),
        "honoured": round(sum(r["dropped"] for r in barge) / max(1, len(barge)), 3),
        "dropped_after_p90": round(percentile([r["dropped_after"] for r in barge
                                               if r["dropped_after"] is not None], 0.9), 3),
        "talk_over_s": round(sum(r["talk_over"] for r in rows), 3),
        "talk_over_per_10min": round(600 * sum(r["talk_over"] for r in rows)
                                     / max(1.0, simulated), 3),
        "simulated_s": round(simulated, 1),
    }
    summary["ok"] = (summary["paused_p90"] <= FLOOR_TARGETS["paused_p90"]
                     and summary["talked_through"] >= FLOOR_TARGETS["talked_through"]
                     and summary["honoured"] >= FLOOR_TARGETS["honoured"]
                     and summary["talk_over_per_10min"] <= FLOOR_TARGETS["talk_over_per_10min"])
    print(json.dumps(summary), flush=True)
    return summary


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def chosen(items: tuple[Any, ...], which: str) -> list[tuple[int, Any]]:
    picked = list(enumerate(items))
    if which == "design":
        return [(i, x) for i, x in picked if i % 2 == 0]
    if which == "heldout":
        return [(i, x) for i, x in picked if i % 2 == 1]
    return picked
