"""The command line of ``bench/party.py``: its sets, parts and the knobs each round measured.

Kept apart so that ``party.py`` holds the measuring and this file the options alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from testkit import paused_speech


def party_parser(description: str) -> argparse.ArgumentParser:
    """The parser of ``bench/party.py`` (see its docstring for the sets and parts)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--set", choices=("design", "heldout", "fresh", "new", "late", "unseen6",
                                          "unseen7", "unseen8", "unseen9", "unseen10", "unseen11",
                                          "unseen12", "unseen13",
                                          "fresh4",
                                          "fresh5", "fresh6", "fresh7", "fresh8", "fresh9",
                                          "fresh10", "fresh11", "fresh12", "fresh13", "fresh14",
                                          "fresh15", "fresh16",
                                          "all"),
                        default="all")
    parser.add_argument("--voices", choices=("two", "four"), default="four",
                        help="four: espeak-ng en-us, en-us+f3, en-gb-x-rp and Piper's joe "
                             "(default); two: espeak-ng en-us and Piper (the first round's)")
    parser.add_argument("--part", default="all", choices=("hearing", "floor", "all", "addressed",
                                                          "unaddressed"),
                        help="addressed|unaddressed: with --addressing, that side of the set")
    parser.add_argument("--pause-rendering", choices=paused_speech.RENDERINGS,
                        default="spoken-through",
                        help="how a paused request's first part is said: spoken-through (the "
                             "whole request in one go, cut at the word boundary; the target "
                             "is judged on it, default) or separate (a sentence of its own, "
                             "as in rounds 1-5)")
    parser.add_argument("--render-cache", metavar="DIR", type=Path,
                        help="spoken-through renderings kept here (testkit.paused_speech."
                             "cached); made if missing")
    parser.add_argument("--check-cuts", action="store_true",
                        help="check each spoken-through cut by transcribing its halves, "
                             "trying up to 3 quiet points (a few seconds a request under "
                             "load: best with --render-only, outside the measurement)")
    parser.add_argument("--eot-checks", metavar="S:T,S:T", default=None,
                        help="another schedule of end-of-turn checks (silence:threshold, "
                             "OrbConfig.eot_checks), to measure the trade-off")
    parser.add_argument("--words-check", metavar="S:T", default=None,
                        help="with --eot-checks: the words' check (OrbConfig.eot_words_check)")
    parser.add_argument("--prosody", choices=("on", "off"), default="off",
                        help="hold speech that sounds as if it goes on (orb_bridge.goes_on)")
    parser.add_argument("--render-only", action="store_true",
                        help="with --render-cache: make the set's renderings and stop (run "
                             "it outside the measurement)")
    parser.add_argument("--fixed-timings", action="store_true",
                        help="turns judged at a quiet machine's timings (Smart Turn 50 ms, "
                             "early words 0.3 s) instead of those measured (the first-audio "
                             "figures still add the words and reply measured after the end)")
    parser.add_argument("--only-finished", action="store_true",
                        help="the finished requests alone (no paused ones, sounds or floor)")
    parser.add_argument("--only-paused", action="store_true",
                        help="the paused requests alone (false cut-offs; no finished turns, "
                             "sounds or floor)")
    parser.add_argument("--smoke", action="store_true",
                        help="4 turns and 1 sound, targets not judged (CI)")
    parser.add_argument("--early-reply", choices=("on", "off"), default="on",
                        help="the stand-in model's row (llm_p50) with the orb's early reply "
                             "(asked at a pause's words, taken at the verdict; the default, "
                             "as the orb runs) or without (asked at the verdict)")
    parser.add_argument("--stt-model", default=None, metavar="DIR",
                        help="the hearing part's speech-to-text from this CTranslate2 Whisper "
                             "directory instead of the packaged tiny.en (a larger Whisper "
                             "tried for the early words; the decision is unchanged)")
    parser.add_argument("--addressing", action="store_true",
                        help="whom the orb talks to instead (bench/_addressing.py): "
                             "addressed turns recognised, unaddressed taken as addressed, "
                             "interjections per 10 minutes")
    parser.add_argument("--without-hotword", action="store_true",
                        help="with --addressing: also transcribe each addressed turn with no "
                             "hotword, for the figure without it (slower)")
    parser.add_argument("--rescore", metavar="JSONL",
                        help="with --addressing: judge an earlier run's transcripts again "
                             "with the current rule (no transcribing)")
    return parser
