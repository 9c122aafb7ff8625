"""The last chance for the orb's name (orb_bridge.name_at_ends): a set-off word at a turn's
ends heard alone, with the real tiny.en model on rendered speech for the two sides."""

from __future__ import annotations

import subprocess

import pytest

from orb_bridge import tts
from orb_bridge.addressing import AddressRule
from orb_bridge.audio import HEARING_RATE, Audio
from orb_bridge.name_at_ends import opening_worth_hearing, with_name_inside, with_name_last
from orb_bridge.name_probe import NameProbe
from orb_bridge.stt import WhisperStt
from testkit import voices

RULE = AddressRule("Orb")
PROBE = NameProbe("Orb")


def test_a_closing_word_heard_as_the_name_takes_its_place_or_follows() -> None:
    # what Whisper made of a closing "Orb" (fresh6): a couple of edits from it, replaced
    assert with_name_last(PROBE, "And let's let you know this arm.") == \
        "And let's let you know this, Orb."
    assert with_name_last(PROBE, "right that one down for.") == "right that one down, Orb."
    # any other last word stays
    assert with_name_last(PROBE, "And he thought some of this is...") == \
        "And he thought some of this is, Orb."
    assert with_name_last(PROBE, "I got the right track?") == "I got the right track, Orb?"
    for text in ("right that one down for.", "I got the right track?"):
        assert RULE.judge(with_name_last(PROBE, text)).addressed


def test_a_name_heard_in_mid_sentence_goes_after_the_first_comma() -> None:
    assert with_name_inside(PROBE, "honestly, what do you make of it?") == \
        "honestly, Orb, what do you make of it?"
    assert with_name_inside(PROBE, "what do you make of it?") == \
        "Orb, what do you make of it?"
    assert RULE.judge(with_name_inside(PROBE, "Okay, so, what was my first point?")).addressed


def test_only_a_short_or_empty_turn_that_does_not_name_the_orb_has_its_opening_heard() -> None:
    assert opening_worth_hearing(PROBE, "Keep going.")
    assert opening_worth_hearing(PROBE, "")
    assert not opening_worth_hearing(PROBE, "Orb, keep going.")
    assert not opening_worth_hearing(PROBE, "I want to find more time for my family.")


@pytest.fixture
def engine(probing_whisper: WhisperStt) -> WhisperStt:
    """tests/orb/conftest.py's, loaded once a run: "Orb" as hotword, with its name probe."""
    return probing_whisper


def _espeak(text: str) -> Audio:
    wav = subprocess.run(["espeak-ng", "--stdout", "-v", "en-us", "-s", "165", text],
                         check=True, capture_output=True, timeout=20).stdout
    return Audio(voices.trim(tts.parse_wav(wav).at(HEARING_RATE).int16()), HEARING_RATE)


def test_a_short_command_after_the_name_is_addressed_and_without_it_is_not(
        engine: WhisperStt) -> None:
    """fresh6: espeak-ng's "Orb, next question." is plainly "our next question." (no reason
    to listen again in the words); its set-off opening heard alone is the name. The same
    command without the name has no set-off opening and stays a human's."""
    named = _espeak("Orb, next question.")
    assert RULE.judge(engine.name_first(named, engine.transcribe_blocking(
        named, probe=False))).addressed
    plain = _espeak("Next question.")
    assert not RULE.judge(engine.name_first(plain, engine.transcribe_blocking(
        plain, probe=False))).addressed


@pytest.mark.parametrize(("voice", "text", "plain", "hinted", "overwrote"), [
    # fresh13's false turn (Piper): the plain words had someone else's name at the end, the
    # hotword's decoding wrote the orb's over it; heard alone, the closing word is no "Orb"
    ("espeak:en-us:165", "Could you write that one down, Bob?",
     "Could you write that one down, Bob?", "Could you write that one down, Orb?", True),
    ("espeak:en-gb-x-rp:175", "Can you keep that for next time, Bob?",
     "Can you keep that for next time, Bob?", "Can you keep that for next time, Orb?", True),
    # a said "Orb" the plain words wrote as a name (fresh5-13, en-gb-x-rp and en-us): heard
    # alone, the name; the hotword's words stand
    ("espeak:en-gb-x-rp:175", "Write the date down for me, Orb.",
     "Right to the date town for me, Bob.", "Right to the date town for me Orb", False),
    ("espeak:en-us:165", "What is the next step, Orb?",
     "What is the next step, Arum?", "What is the next step, Orb?", False),
])
def test_the_hotword_does_not_write_the_name_over_someone_elses(
        engine: WhisperStt, voice: str, text: str, plain: str, hinted: str,
        overwrote: bool) -> None:
    """Round 14: where the hotword's decoding ends on the name in place of another name the
    plain words had ("…, Bob?"), the closing word is heard alone, and the name stands only
    if it is the name there (:attr:`SetOffWord.is_the_name`)."""
    from orb_bridge.name_at_ends import overwrites_a_name

    audio = Audio(voices.speak(voice, text), HEARING_RATE).unit_floats()
    assert overwrites_a_name(PROBE, engine._load(), audio, "en", plain, hinted) is overwrote


def test_only_a_closing_name_written_over_another_is_heard_again() -> None:
    """Nothing to hear (no model needed) where the plain words did not end on a name that
    is neither the orb's nor a near miss of it, or the hotword's words do not end on it."""
    from orb_bridge.name_at_ends import closing_name_overwritten

    assert closing_name_overwritten(PROBE, "Could you write that down, Bob?",
                                    "Could you write that down, Orb?")
    assert closing_name_overwritten(PROBE, "Hi, what is next, Arum?", "Hi, what is next Orb")
    assert not closing_name_overwritten(PROBE, "Keep that one for...", "Keep that one, Orb.")
    assert not closing_name_overwritten(PROBE, "How far did we get? Or", "How far, Orb?")
    assert not closing_name_overwritten(PROBE, "Note it, Arb.", "Note it, Orb.")  # near miss
    assert not closing_name_overwritten(PROBE, "Bob, note it.", "Orb, note it.")  # not last
    assert not closing_name_overwritten(PROBE, "Could you, Bob?", "Could you, Bob?")
    assert not closing_name_overwritten(PROBE, "Bob?", "Orb?")  # a single word
