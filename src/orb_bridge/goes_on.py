"""Does the speech sound as if it goes on? A small logistic model over how it ends.

Smart Turn gives fragments a voice says mid-sentence 0.8-0.98 ("We worked all weekend |
and the client ..."), and their words read whole, so neither the model nor the word rule
(``end_of_turn.sounds_unfinished``) can hold them. How the last half second is said can: a
finished request ends low in the speaker's range and fading (or, a question, high and
rising), a clause that goes on stays level in the middle of it (``orb_bridge.prosody``).

The weights were fitted on sentences written for training only (``bench/_prosody_training.py``,
none of the bench's scenario sets), rendered in the bench's four synthetic voices, and the
threshold holds 8 % of those finished requests; they are kept here as a table, so nothing is
downloaded. A held turn gets no verdict from the model, so only the quiet (``turn_timeout``,
1.8 s: longer than the 1.5 s mid-request pauses we accept) ends it.

**Off by default** (``SmartTurn(prosody=False)``; ``bench/party.py --prosody on``), because
measured it does not pay: these features tell fragments from finished requests where Smart
Turn already does (on the design set, end pitch alone separates them with an area under the
curve of 0.93-0.99 per espeak-ng voice), but among the fragments Smart Turn gives ≥ 0.5, the
ones that are cut, they separate poorly (0.7-0.8), since Smart Turn reads intonation too. On
the design set the hold cut 6 of 52 fragments instead of 7 and left 7 finished requests to the
timeout instead of 4 (first orb audio p90 1.87 s; target 1.2 s). docs/orb.md, round 8.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from .prosody import end_features

#: ``(feature, weight)``: the end's pitch relative to the speaker's range (and its size, so
#: a fall and a question's rise both read finished), the pitch slope over the last 0.4 s (and
#: its size), the loudness slope, and Smart Turn's log-odds.
WEIGHTS = (
    ("end_level", -1.6604),
    ("abs_end_level", 3.0197),
    ("end_slope", 0.2952),
    ("abs_end_slope", -0.0002),
    ("energy_slope", -0.6711),
    ("smart_turn_logit", 0.0427),
)
BIAS = -1.2438
#: Below this P(finished) the speech goes on (8 % of the training set's finished requests).
HOLD_BELOW = 0.2925
#: A slope beyond this (range per second) is a tracking error, not intonation.
SLOPE_LIMIT = 10.0


def finished_probability(features: npt.NDArray[np.float64], smart_turn: float) -> float:
    """P(finished) from ``prosody.features`` (its :data:`prosody.NAMES` order) and Smart
    Turn's probability."""
    level, slope, energy = float(features[0]), float(features[1]), float(features[3])
    slope = max(-SLOPE_LIMIT, min(SLOPE_LIMIT, slope))
    p = min(max(smart_turn, 1e-3), 1 - 1e-3)
    values = {"end_level": level, "abs_end_level": abs(level), "end_slope": slope,
              "abs_end_slope": abs(slope), "energy_slope": energy,
              "smart_turn_logit": math.log(p / (1 - p))}
    z = BIAS + sum(weight * values[name] for name, weight in WEIGHTS)
    return 1 / (1 + math.exp(-z))


def goes_on(samples: npt.NDArray[np.floating], smart_turn: float) -> bool:
    """Whether 16 kHz unit-scale speech (with any trailing quiet) sounds as if it goes on."""
    return finished_probability(end_features(samples), smart_turn) < HOLD_BELOW
