"""Per-turn figures: where the time of an answered turn goes, as a log line and histograms.

For every turn the orb answers it notes, on one monotonic clock, the end of the speaker's
speech (the voice-activity detector's last speech frame), the end-of-turn decision, the final
transcript, the language model's first token, the first synthesised audio and the first
audio frame sent. :class:`TurnTimes` turns them into stage durations measured from the end of
speech; :func:`record` logs one line per turn (logger ``orb_bridge.figures``, INFO) and adds
them to the process's histograms, which ``trio-server``'s ``/metrics`` (in-process orbs) and
``orb-worker --metrics-port`` export as ``orb_turn_stage_seconds{stage=...}``.

The histograms are process-wide and thread-safe (prometheus_client); nothing here waits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import attrs
from prometheus_client import Counter, Histogram
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

#: The stages, in the order they happen, each measured from the end of speech.
STAGES = ("end_of_turn", "transcript", "first_token", "first_synth", "first_sent")
_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0, 5.0)

_STAGE_SECONDS = Histogram(
    "orb_turn_stage_seconds",
    "Seconds from the end of the speaker's speech to each stage of an answered turn.",
    ["stage"], buckets=_BUCKETS, registry=None)
_TURNS = Counter("orb_turns", "Turns the orb heard, by what ended them and what became of "
                 "them.", ["ended_by", "outcome"], registry=None)
_STT_LOST = Counter("orb_stt_lost", "Utterances that could not be transcribed (speech-to-text "
                    "busy or failed).", registry=None)
_EARLY = Counter("orb_early_replies", "Replies drafted at a pause's words (orb_bridge."
                 "early_reply), by fate: drafted, then kept or why dropped unheard (each "
                 "draft is one request to the model server).", ["fate"], registry=None)


@attrs.define
class TurnTimes:
    """The moments of one turn (``time.monotonic()``); ``None``: not reached."""

    speaker_id: str
    speech_end: float
    end_of_turn: float
    ended_by: str = "timeout"
    probability: float | None = None
    transcript: float | None = None
    first_token: float | None = None
    first_synth: float | None = None
    first_sent: float | None = None

    def stages(self) -> dict[str, float]:
        """Seconds from the end of speech to each stage reached."""
        out: dict[str, float] = {}
        for stage in STAGES:
            moment = getattr(self, stage)
            if moment is not None:
                out[stage] = round(moment - self.speech_end, 3)
        return out

    def line(self) -> str:
        stages = " ".join(f"{k}={v:.3f}" for k, v in self.stages().items())
        p = "" if self.probability is None else f" p={self.probability:.2f}"
        return f"turn of {self.speaker_id}: ended_by={self.ended_by}{p} {stages}"


def record(times: TurnTimes) -> None:
    """One answered turn: the log line and the histograms."""
    logger.info("%s", times.line())
    for stage, seconds in times.stages().items():
        _STAGE_SECONDS.labels(stage).observe(max(0.0, seconds))
    _TURNS.labels(times.ended_by, "answered").inc()


def heard(ended_by: str, outcome: str) -> None:
    """A turn that was not answered (``observed``, ``no_words``, ``piece``)."""
    _TURNS.labels(ended_by, outcome).inc()


def stt_lost() -> None:
    _STT_LOST.inc()


def early_reply(fate: str) -> None:
    """A reply drafted early (``drafted``), or what became of it (``kept``, ``resumed``...)."""
    _EARLY.labels(fate).inc()


class FiguresCollector(Collector):
    """The process's turn figures, for a Prometheus registry (``/metrics``)."""

    def collect(self) -> Iterator[Any]:
        for metric in (_STAGE_SECONDS, _TURNS, _STT_LOST, _EARLY):
            yield from metric.collect()
