"""Sentences for training the end-of-turn prosody model (``orb_bridge.prosody``), and the fit.

Written for this purpose in round 8 of issue 23, and used for nothing else: none of these
appear in the bench's scenario sets (design, held-out, fresh, new, late, unseen6-8), which
stay for measuring. The paused requests are rendered spoken-through (testkit.paused_speech),
the finished ones whole, in the bench's four voices; the model learns how each ends (pitch
relative to the speaker's range, last voiced run, loudness) plus Smart Turn's probability.

    python bench/_prosody_training.py --render-cache DIR   # prints the weight table
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import _repo  # noqa: F401  (testkit on sys.path: bench/_repo.py)
import numpy as np

from orb_bridge import goes_on, prosody

TRAIN_FINISHED = (
    "I want to take a proper break this weekend.",
    "How do I stop checking my email at night?",
    "My manager keeps changing the plan.",
    "Could you help me write a note to my landlord?",
    "I ran my first ten kilometres on Saturday.",
    "What is the best way to start a difficult meeting?",
    "I have been drinking too much coffee lately.",
    "Is it normal to feel nervous before a holiday?",
    "The interview went better than I hoped.",
    "Can we go over my goals for this quarter?",
    "I shouted at my kids this morning.",
    "How should I answer when people ask about my salary?",
    "My aunt is coming to stay for a month.",
    "What can I do about a noisy colleague?",
    "We launched the new website on Monday.",
    "Do you think I should learn to drive?",
    "I would like to read more books this year.",
    "Why do I always say yes to extra work?",
    "The printer in our office never works.",
    "Should I ask my friend for the money back?",
    "I have meditated every morning this month.",
    "Where do I begin with a career change?",
    "Help me plan a quiet evening for myself.",
    "I am bored with my daily routine.",
    "How can I sleep better before big presentations?",
    "I finally cleared out the garage.",
    "What would you do in my position?",
    "My team missed another deadline.",
    "Tell me how to say no politely.",
    "I feel much better than last week.",
    "Can you remind me what we agreed last time?",
    "The children were lovely today.",
    "I need a plan for the next month.",
    "Why does my boss ignore my ideas?",
    "We moved into the new flat yesterday.",
    "I am proud of how I handled that call.",
    "Should I stay in this job for another year?",
    "My phone takes up too much of my day.",
    "Is there a simple way to track my spending?",
    "I want to be kinder to myself.",
)
TRAIN_PAUSED = (
    ("I bought a new bicycle", "so that I can ride to work."),
    ("My father and I disagreed", "about my choice of university."),
    ("I leave the house early", "to avoid the traffic on the bridge."),
    ("I would like to be more confident", "in front of large groups."),
    ("Her presentation was much clearer", "than the one I gave last week."),
    ("I skipped the gym", "because my knee was hurting."),
    ("I heard a podcast", "that made me think about my habits."),
    ("It was my brother's", "car that broke down on the way."),
    ("We argued for hours", "and nobody changed their mind."),
    ("I must", "finish the budget before Friday."),
    ("The worst part of my commute is", "the crowded platform."),
    ("I have a dentist appointment", "on Wednesday at nine."),
    ("I normally drink tea", "in the garden after work."),
    ("I wonder whether", "I should take the offer."),
    ("My cousin asked me to help with", "his move next weekend."),
    ("I have been playing the piano", "since I was a child."),
    ("I feel tired", "when I spend all day on calls."),
    ("My colleague wants me to check", "her report before it goes out."),
    ("Most evenings I think", "about what I could have done better."),
    ("I applied for the course", "but the places were already gone."),
    ("I keep thinking about", "the mistake I made on Monday."),
    ("Our team is happier", "when we finish early on Fridays."),
    ("I want to tell you about my", "plans for the summer."),
    ("I finished the marathon", "even though my legs hurt badly."),
    ("Later this year I am going to", "visit my grandmother in Spain."),
    ("I started painting again", "after a break of ten years."),
    ("My partner cooks dinner", "on most weekdays."),
    ("I sent the email", "without reading it twice."),
    ("I was late again", "because the train was cancelled."),
    ("We need more time", "to finish the first version."),
    ("I talked to my manager", "about working from home."),
    ("I can never remember", "where I put my keys."),
    ("I lost my wallet", "on the way to the station."),
    ("My mother phones me", "every Sunday evening."),
    ("The new software is slower", "than the old system."),
    ("I have been feeling low", "since the start of winter."),
    ("I should probably", "see a doctor about my back."),
    ("I gave the speech", "at my best friend's wedding."),
    ("We are saving up", "for a bigger house."),
    ("I get distracted", "whenever someone walks past my desk."),
)


VOICES = ("espeak", "espeak:en-us+f3:150", "espeak:en-gb-x-rp:175", "piper")
#: The quiet after the speech when Smart Turn is asked (the decision's first check).
FIRST_CHECK = 0.2


def examples(cache: Path | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prosody features, Smart Turn's probability, finished 1 / goes on 0) per rendering."""
    from orb_bridge.audio import Audio
    from orb_bridge.end_of_turn import SmartTurn
    from testkit import paused_speech, voices

    model = SmartTurn(prosody=False)
    rows, probabilities, labels = [], [], []

    def add(pcm: np.ndarray, label: int) -> None:
        padded = np.concatenate([np.zeros(8000, np.int16), pcm,
                                 np.zeros(int(FIRST_CHECK * 16_000), np.int16)])
        rows.append(prosody.features(pcm / 32768.0))
        probabilities.append(model.probability(Audio(padded, 16_000)))
        labels.append(label)

    for text in TRAIN_FINISHED:
        for voice in VOICES:
            add(voices.speak(voice, text), 1)
    for first, rest in TRAIN_PAUSED:
        for voice in VOICES:
            add(paused_speech.cached(voice, first, rest, "spoken-through", cache, False).first, 0)
    return np.array(rows), np.array(probabilities), np.array(labels)


def columns(features: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """The model's inputs in ``goes_on.WEIGHTS`` order."""
    level = features[:, 0]
    slope = np.clip(features[:, 1], -goes_on.SLOPE_LIMIT, goes_on.SLOPE_LIMIT)
    p = np.clip(probabilities, 1e-3, 1 - 1e-3)
    return np.column_stack([level, np.abs(level), slope, np.abs(slope), features[:, 3],
                            np.log(p / (1 - p))])


def fit(x: np.ndarray, y: np.ndarray, ridge: float = 1.0,
        steps: int = 3000) -> tuple[np.ndarray, float]:
    """Logistic regression by gradient descent on standardised inputs (a small ridge), the
    weights given back in the raw inputs' units."""
    mean, scale = x.mean(0), x.std(0) + 1e-9
    z = (x - mean) / scale
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        q = 1 / (1 + np.exp(-(z @ w + b)))
        w -= 0.5 * (z.T @ (q - y) / len(y) + ridge * w / len(y))
        b -= 0.5 * float((q - y).mean())
    return w / scale, b - float((w * mean / scale).sum())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--render-cache", type=Path, default=None)
    parser.add_argument("--held-finished", type=float, default=0.08,
                        help="the share of training finished requests the threshold holds")
    args = parser.parse_args()
    features, probabilities, labels = examples(args.render_cache)
    x = columns(features, probabilities)
    w, b = fit(x, labels.astype(np.float64))
    q = 1 / (1 + np.exp(-(x @ w + b)))
    hold = float(np.quantile(q[labels == 1], args.held_finished))
    names = [name for name, _ in goes_on.WEIGHTS]
    print(json.dumps({"weights": dict(zip(names, np.round(w, 4).tolist(), strict=True)),
                      "bias": round(b, 4), "hold_below": round(hold, 4),
                      "finished_held": float((q[labels == 1] < hold).mean()),
                      "paused_held": float((q[labels == 0] < hold).mean())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
