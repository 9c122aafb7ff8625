"""Listening again for the orb's name where Whisper dropped it (orb_bridge.name_probe), with
the real tiny.en model on rendered speech."""

from __future__ import annotations

import numpy as np
import pytest

from orb_bridge.addressing import AddressRule
from orb_bridge.audio import HEARING_RATE, Audio
from orb_bridge.encodings_cache import RecentEncodings
from orb_bridge.heard_alone import SetOffWord
from orb_bridge.name_probe import OPENING_SECONDS, NameProbe, opening_audio
from orb_bridge.stt import WhisperStt
from testkit import voices

RULE = AddressRule("Orb")


@pytest.fixture
def engine(probing_whisper: WhisperStt) -> WhisperStt:
    """tests/orb/conftest.py's, loaded once a run: "Orb" as hotword, with its name probe."""
    return probing_whisper


def test_only_a_request_the_rule_does_not_take_is_worth_a_second_listen() -> None:
    probe = NameProbe("Orb")
    assert probe.worth_checking("Can you give me a tip for the morning?")
    assert probe.worth_checking("or could you sum up what we talked about")
    assert not probe.worth_checking("Orb, can you give me a tip?")  # already addressed
    assert not probe.worth_checking("It was busy, I kept putting things off.")  # asks nothing
    assert not probe.worth_checking("or perhaps it is the phone at night.")  # not a request
    assert not probe.worth_checking("")
    assert probe.openings() == ["Orb", "Hey Orb", "Okay Orb", "Ok Orb", "Hi Orb", "Hello Orb"]


def test_only_plain_words_that_may_hide_the_name_are_heard_a_second_time() -> None:
    """A statement is answered on its plain words (no second decode before the reply); a
    near miss, a greeting first, or a request without the name is heard again."""
    probe = NameProbe("Orb")
    assert not probe.may_hide_name("I want to find more time for my family.")
    assert not probe.may_hide_name("It was busy, I kept putting things off.")
    assert probe.may_hide_name("Or could you sum up what we said?")  # near miss
    assert probe.may_hide_name("We talked about sleep, or?")  # a closing near miss
    assert probe.may_hide_name("Hey, all, what do you think?")  # a greeting first
    assert probe.may_hide_name("High or what should I do next?")  # a misheard greeting
    assert probe.may_hide_name("Tell us what you noticed.")  # a request
    assert probe.may_hide_name("on is anything we missed.")  # two edits from the name
    assert probe.may_hide_name("Did I say my goal was...")  # trailing off
    assert not probe.may_hide_name("")
    engine = WhisperStt(hotwords="Orb", name_probe=probe)
    assert engine.may_lack_name("Or could you sum up what we said?")
    assert not engine.may_lack_name("Orb, could you sum up what we said?")  # named already
    assert not engine.may_lack_name("I want to find more time for my family.")


def test_the_openings_are_scored_on_the_first_stretch_of_speech_not_the_pre_roll() -> None:
    """The turn detector's pre-roll of room noise comes before the speech: the crop starts at
    the first voiced frame and holds ``OPENING_SECONDS`` of it, or the whole rest."""
    import numpy as np

    rng = np.random.default_rng(1)
    quiet = (rng.standard_normal(4_800) * 0.002).astype(np.float32)  # 0.3 s at -54 dBFS
    speech = (np.sin(np.arange(48_000) / 9) * 0.3).astype(np.float32)  # 3 s
    crop = opening_audio(np.concatenate([quiet, speech]))
    assert len(crop) == round(OPENING_SECONDS * 16_000)
    assert np.array_equal(crop, speech[: len(crop)])
    short = opening_audio(np.concatenate([quiet, speech[:8_000]]))
    assert np.array_equal(short, speech[:8_000])
    assert np.array_equal(opening_audio(quiet), quiet)  # no voiced frame: from the start


def test_a_set_off_word_is_the_name_when_far_likelier_than_its_near_miss() -> None:
    """Heard alone, a human's "Or," still scores the name at 0.06-0.17 (the hotword), but
    "Or" higher; a said name scores many times "Or" (design half, docs/orb.md)."""
    assert SetOffWord("opening", name=0.41, near=0.022).is_the_name
    assert SetOffWord("closing", name=0.82, near=0.06).is_the_name
    assert not SetOffWord("opening", name=0.13, near=0.23).is_the_name  # piper "Or, could"
    assert not SetOffWord("opening", name=0.086, near=0.029).is_the_name  # 2.9 times
    assert not SetOffWord("closing", name=0.01, near=0.0001).is_the_name  # unlikely anyway


def test_a_set_off_word_likelier_another_short_name_is_not_the_name() -> None:
    """Given the orb's name as a hotword, Whisper writes "Rob, …" and "Bob, …" as "Orb, …";
    heard alone, other names (and " M" for espeak-ng's "Bob") keep some of the weight. The
    orb's own name heard alone scored 15 times its rivals or more (fresh5-7)."""
    assert SetOffWord("opening", name=0.108, near=0.005, rival=0.007).is_the_name  # en-gb
    assert not SetOffWord("opening", name=0.279, near=0.003, rival=0.063).is_the_name  # Bob
    assert not SetOffWord("opening", name=0.091, near=0.004, rival=0.29).is_the_name  # Rob
    assert SetOffWord("opening", name=0.091, near=0.004, rival=0.29).is_the_near_miss


def test_a_strong_opening_name_needs_less_over_its_near_miss() -> None:
    """Piper's own "Orb," heard alone scores 0.19-0.53, only 1.6-3 times "Or"; a human's
    set-off "Or," at most 0.122 (fresh6-7). At a closing the 3.5 times still hold."""
    assert SetOffWord("opening", name=0.192, near=0.065).is_the_name
    assert SetOffWord("opening", name=0.371, near=0.235).is_the_name
    assert not SetOffWord("opening", name=0.122, near=0.048).is_the_name  # human "Or,"
    assert not SetOffWord("closing", name=0.371, near=0.235).is_the_name


def test_a_rule_three_or_is_kept_only_when_the_ear_confirms_the_name() -> None:
    """A human's "Or, could you try it…" heard alone: the name 0.059, "Or" 0.042 (fresh7):
    likelier the name, yet not the name; its comma goes."""
    assert not SetOffWord("opening", name=0.059, near=0.042, rival=0.028).confirms_the_name
    assert SetOffWord("opening", name=0.815, near=0.008, rival=0.003).confirms_the_name


def test_only_a_set_off_near_miss_vetoes_a_bare_opening_name() -> None:
    """A set-off "Or," vetoes the bare name the opening probe finds; the "Okay" of an
    "Okay Orb, ..." heard alone is neither name nor near miss and must not."""
    assert SetOffWord("opening", name=0.13, near=0.23).is_the_near_miss  # piper "Or, could"
    assert not SetOffWord("opening", name=0.002, near=0.004).is_the_near_miss  # "Okay"
    assert not SetOffWord("opening", name=0.41, near=0.022).is_the_near_miss  # the name


def test_a_set_off_word_that_loses_to_another_name_vetoes_a_bare_opening_name() -> None:
    """fresh8: a set-off "Bob," that Whisper dropped, heard alone the name 0.29 against the
    rivals 0.07 (espeak-ng en-us) and 0.18 against 0.04 (Piper): not the name (under 8
    times the rivals), and so not left for the 1.2 s probe to write "Orb," in either. The
    orb's own name heard alone scored at least 15 times its rivals (fresh5-7)."""
    assert SetOffWord("opening", name=0.29, near=0.004, rival=0.07).is_the_near_miss
    assert SetOffWord("opening", name=0.18, near=0.003, rival=0.04).is_the_near_miss
    assert not SetOffWord("opening", name=0.108, near=0.005, rival=0.007).is_the_near_miss
    # no name at all: the "Okay" of en-gb-x-rp's "Okay Orb, what have I been avoiding?"
    assert not SetOffWord("opening", name=0.0025, near=0.0033, rival=0.019).is_the_near_miss


def test_a_set_off_word_heard_without_the_hotword_as_another_name_is_not_the_name() -> None:
    """Round 11 (fresh10, Piper): a dropped "Bob," heard alone with the hotword is "Orb"
    (0.20) beating its rivals (0.018) eightfold; without the hotword it is "Bob" (0.15-0.30).
    The orb's own name scored at most 0.021 for other names there."""
    bob = SetOffWord("opening", name=0.197, near=0.002, rival=0.018, rival_unhinted=0.27)
    assert not bob.is_the_name and bob.is_the_near_miss
    orb = SetOffWord("opening", name=0.302, near=0.031, rival=0.003, rival_unhinted=0.021)
    assert orb.is_the_name and not orb.is_the_near_miss


@pytest.mark.parametrize(("voice", "text"), [
    # round 11 (fresh10's false turns): "Bob," dropped by Whisper, heard alone "Orb" with
    # the hotword; "Roy Orbison", whose "Orb" the 1.2 s probe heard as a bare name
    ("piper-steady", "Bob, can you check how long we have left?"),
    ("espeak:en-gb-x-rp:175", "Roy Orbison was my dad's favourite."),
    # a human's "Okay, or what if…": Whisper's "Okay, or what…" reads as a misheard name
    # after a greeting; heard after the "Okay,", the name is all but impossible
    ("piper-steady", "Okay, or what if we wait a week?"),
])
def test_a_name_the_sound_does_not_bear_out_is_not_written_in(engine: WhisperStt, voice: str,
                                                               text: str) -> None:
    pcm = Audio(voices.speak(voice, text), HEARING_RATE)
    heard = engine.transcribe_blocking(pcm)
    assert not RULE.judge(heard).addressed, heard


def test_a_name_after_a_greeting_that_whisper_wrote_as_or_is_kept(engine: WhisperStt) -> None:
    """Piper's "Okay, Orb, …" comes back "Ok, or what was…": after "Okay," the name still
    scores 0.018-0.045, far over a human's "or" (under 0.001)."""
    pcm = Audio(voices.speak("piper-steady", "Okay, Orb, what was the deadline again?"),
                HEARING_RATE)
    heard = engine.transcribe_blocking(pcm)
    assert RULE.judge(heard).addressed, heard


def test_a_closing_name_takes_the_place_of_its_near_miss() -> None:
    probe = NameProbe("Orb")
    assert probe.with_closing_name("is there anything we missed or?") == \
        "is there anything we missed, Orb?"
    assert probe.with_closing_name("What should we do about sleep?") == \
        "What should we do about sleep, Orb?"
    assert probe.with_closing_name("Is there anything we missed or...") == \
        "Is there anything we missed, Orb?"
    assert probe.with_closing_name("Please recap the main points") == \
        "Please recap the main points, Orb?"  # a request
    assert RULE.judge(probe.with_closing_name("What did I say my goal was, all?")).addressed
    assert probe.with_closing_name("I could use a desktop question for my manager, all.") == \
        "I could use a desktop question for my manager, Orb."  # "all" is replaced
    assert probe.with_closing_name("How would I go to go cancer net? Or...") == \
        "How would I go to go cancer net, Orb?"


def test_the_name_is_listened_for_on_whichever_words_may_hide_it() -> None:
    """The hotword's decoding first, else the plain one, when it is a request the rule does
    not take or closes with a set-off near miss ("…, all."); collapsed plain words always;
    never when the hotword brought the name back."""
    probe = NameProbe("Orb")
    plain, hinted = "Could I go to go cancer net? Or...", "Hotwood and Goldcoaster now Orb"
    assert probe.to_hear_again(plain, hinted, collapsed=False) == plain
    # fresh4's own words ("How would…? Or...") the rule takes since round 15: nothing to check
    assert probe.to_hear_again("How would I go to go cancer net? Or...", hinted, False) is None
    assert probe.to_hear_again("Can you sum up?", "can you sum up", False) == "can you sum up"
    assert probe.to_hear_again("x", "I could use a question, all.", False) == \
        "I could use a question, all."
    assert probe.to_hear_again("or", "I'll use a guest", collapsed=True) == "I'll use a guest"
    assert probe.to_hear_again("or", "I'll use a guest", collapsed=False) is None
    assert probe.to_hear_again("Or can you?", "Orb, can you sum up?", False) is None
    assert probe.to_hear_again("It was busy.", "It was busy.", False) is None
    assert probe.closes_with_near_miss("Should we stop here, or?")
    assert not probe.closes_with_near_miss("That is all.")  # not set off
    assert probe.asks_after_name("Okay Orb, could you sum up")
    assert probe.asks_after_name("Orb, recap please")
    assert not probe.asks_after_name("Orb, I am tired")


def test_a_name_in_mid_sentence_takes_the_place_of_its_near_miss() -> None:
    """fresh5's misses: a vocative between pauses written as "or"; only a near miss after
    the first word is listened for there, and it is written set off, as the rule expects."""
    probe = NameProbe("Orb")
    assert probe.has_middle_near_miss("Sorry, or could you say that again?")
    assert probe.has_middle_near_miss("Let us hear from the arm. Or what do you think?")
    assert not probe.has_middle_near_miss("Or, could we move on?")  # the opening's place
    assert not probe.has_middle_near_miss("What do you think?")
    assert not probe.has_middle_near_miss("Thanks all, that is it.")  # not set off
    cases = {
        "Sorry, or could you say that again?": "Sorry, Orb, could you say that again?",
        "well or how does that sound to you?": "well, Orb, how does that sound to you?",
        "Let us hear from the arm. Or what do you think?":
            "Let us hear from the arm. Orb, what do you think?",
        "Tell me, or, what did I miss?": "Tell me, Orb, what did I miss?",
        # fresh7, espeak-ng en-gb: "all" set off by commas, listened to by ear
        "Sorry, all, could you repeat that?": "Sorry, Orb, could you repeat that?",
    }
    for heard, written in cases.items():
        assert probe.with_middle_name(heard) == written
        assert RULE.judge(written).addressed
    assert probe.with_middle_name("What do you think?") == "What do you think?"


def test_a_turn_taken_on_a_set_off_near_miss_alone_is_checked_by_ear() -> None:
    """Rule 3 takes "Or, can we…" as a misheard name; a human says it too (fresh5,
    espeak-ng en-us+f3: heard alone, "Or" 0.046, the name 0.037). Such words are heard
    again, and without their comma when the set-off word is likelier the near miss."""
    probe = NameProbe("Orb")
    assert probe.rests_on_near_miss("Or, can we move on to your goals?")
    assert not probe.rests_on_near_miss("Orb, can we move on?")
    assert not probe.rests_on_near_miss("Hey or, can we move on?")  # a greeting pins it
    assert not probe.rests_on_near_miss("Or maybe later.")
    assert probe.without_set_off_opening("Or, can we move on to your goals?") == \
        "Or can we move on to your goals?"
    assert not RULE.judge(probe.without_set_off_opening("Or, can we move on?")).addressed
    assert SetOffWord("opening", name=0.0366, near=0.0462).heard_as_near_miss
    assert not SetOffWord("opening", name=0.1564, near=0.0077).heard_as_near_miss  # design


def test_plain_words_opening_with_a_near_miss_are_heard_again() -> None:
    """fresh5's "Orb, summarise the plan." heard "or summer right in the clan.": no
    question, no request word, yet its first word may be the name."""
    probe = NameProbe("Orb")
    plain = "or summer right in the clan."
    assert probe.to_hear_again(plain, plain, collapsed=False) == plain
    assert probe.to_hear_again("or", "or", collapsed=False) is None  # nothing after it


def test_a_window_heard_again_is_encoded_once() -> None:
    """The second hearing decodes the same 30 s window: the encoder's work is reused."""
    import numpy as np

    calls: list[int] = []
    encode = RecentEncodings(lambda features: calls.append(1) or features.sum(), size=2)
    a, b, c = (np.full((80, 30), v, np.float32) for v in (1, 2, 3))
    assert encode(a) == encode(a.copy()) == 2400
    assert len(calls) == 1 and encode.hits == 1
    encode(b), encode(c), encode(a)  # a fell out of the two kept
    assert len(calls) == 4


@pytest.mark.parametrize(("voice", "text"), [
    ("espeak:en-gb-x-rp:175", "Orb, can you give me a tip for the mornings?"),  # dropped
    ("piper-steady", "Orb, could you sum up what we have talked about so far?"),  # "Or"
    ("espeak:en-us+m3:185", "Is there anything we missed, Orb?"),  # closing, "or?"
    ("espeak:en-gb-x-rp:175", "Okay Orb, what have I been avoiding?"),  # "Okay" set off
    # (fresh4's "How would a good coach answer that, Orb?", heard "How would I go to go
    # cancer net? Or...", left this list in round 16: since round 15 the rule takes the
    # plain words themselves, a closing near miss after a wh-question; the probe's choice
    # for such words is in test_the_name_is_listened_for_on_whichever_words_may_hide_it)
    # the plain words collapsed to "or"
    ("espeak:en-us+f3:150", "Orb, could you suggest a question for my manager?"),
    # a closing name heard as "all." in words that ask nothing ("I could use a desktop…")
    ("espeak:en-gb-x-rp:175", "Could you suggest a question for my manager, Orb?"),
    # tenth round: the name after a thanks or acknowledgement (orb_bridge.opener_name):
    # heard as "Cheers!" alone (the rest collapsed) and "Cheers, Barb! Can you…"
    ("espeak:en-us:165", "Cheers, Orb, what was the last point?"),
    ("espeak:en-us:165", "Cheers Orb, can you read it back?"),
    ("espeak:en-gb-x-rp:175", "Cheers, Orb, what was the last point?"),
])
def test_a_name_whisper_dropped_or_misheard_is_heard_again(engine: WhisperStt, voice: str,
                                                           text: str) -> None:
    """The plain words do not address the orb; heard alone, the word set off at the start
    or the end is the name, and the transcript names it, so the turn is addressed."""
    pcm = Audio(voices.speak(voice, text), HEARING_RATE)
    plain = engine.transcribe_blocking(pcm, probe=False)
    assert not RULE.judge(plain).addressed, plain  # what the probe is for
    heard = engine.transcribe_blocking(pcm)
    assert "orb" in heard.lower(), heard
    assert RULE.judge(heard).addressed, heard
    assert engine.name_first(pcm, plain) == heard


@pytest.mark.parametrize(("voice", "text"), [
    ("piper-steady", "Or what about Sundays?"),
    ("espeak", "Or could we talk about work first?"),
    ("piper-steady", "Or, could you ask your manager first?"),
    ("piper-steady", "Should we stop here, or?"),
    ("espeak:en-us+f3:150", "Is that enough for today, or?"),  # a closing near miss
    # other names, heard alone likelier "Orb" than "Or" with the hotword (fresh7)
    ("espeak:en-us:165", "Bob, could you send me the notes?"),
    ("piper-steady", "Rob, what did you think of it?"),
])
def test_a_request_between_humans_keeps_its_words(engine: WhisperStt, voice: str,
                                                  text: str) -> None:
    """Turns that ask something and never name the orb, some with a near miss set off by a
    pause: no word heard alone is the name, the opening stays under the threshold, the
    transcript is not rewritten, and the turn is not addressed. Piper renders steadily here
    (the same audio every run): its usual renderings differ run to run."""
    pcm = Audio(voices.speak(voice, text), HEARING_RATE)
    plain = engine.transcribe_blocking(pcm, probe=False)
    assert engine.name_probe is not None and engine.name_probe.worth_checking(plain), plain
    words = engine.name_probe.set_off_words(engine._load(), pcm.unit_floats(), "en")
    assert not any(word.is_the_name for word in words), words
    heard = engine.transcribe_blocking(pcm)
    assert heard == plain
    assert not RULE.judge(heard).addressed


def test_opener_words_are_read_off_the_start_of_the_words() -> None:
    from orb_bridge.opener_name import opener_head

    assert opener_head("Cheers! Can you read it back?") == "Cheers!"
    assert opener_head("Great, thanks. What's next?") == "Great, thanks."
    assert opener_head("right arm. What time is it?") == "right"
    assert opener_head("Can you read it back?") is None
    assert opener_head("") is None


@pytest.mark.parametrize(("voice", "text"), [
    ("espeak:en-us:165", "Great, thanks, what's the next item?"),
    ("espeak:en-us+m3:185", "Thanks, and could you add one more example?"),
    ("espeak:en-us+f3:150", "Great, thanks, what's the next item?"),
])
def test_an_acknowledgement_before_a_request_between_humans_is_no_name(
        engine: WhisperStt, voice: str, text: str) -> None:
    """After a human's "Thanks, …" the name is all but impossible given the sound (under
    0.001 on the design turns): the opening is not written again with the name."""
    from orb_bridge.opener_name import NAME_FLOOR, name_after, opener_head

    pcm = Audio(voices.speak(voice, text), HEARING_RATE)
    plain = engine.transcribe_blocking(pcm, probe=False)
    head = opener_head(plain)
    assert head is not None and engine.name_probe is not None, plain
    word = name_after(engine.name_probe, engine._load(), pcm.unit_floats(), "en", head)
    assert word.name < NAME_FLOOR / 10, word
    heard = engine.transcribe_blocking(pcm)
    assert not RULE.judge(heard).addressed, heard


def test_the_scribe_listens_for_the_name_on_a_turns_final_words_only() -> None:
    """Early runs at a pause give words only; the finished turn's words go through
    ``listen_for_name`` once, and what it returns is what is published and delivered."""
    import asyncio

    from orb_bridge.hearing import SpeechEnded, Utterance
    from orb_bridge.transcripts import Scribe, TranscriptBook
    from testkit.name_dropping import NameDroppingStt

    async def scenario() -> tuple[NameDroppingStt, list[str], list[str]]:
        stt, published, delivered = NameDroppingStt(), [], []
        tasks: list[asyncio.Task[None]] = []
        scribe = Scribe(stt, session_id="s", book=TranscriptBook(),
                        publish=lambda line: published.append(line.text),
                        deliver=lambda event: delivered.append(
                            event.utterance.text if isinstance(event, SpeechEnded) else ""),
                        spawn=lambda coro, name: tasks.append(asyncio.ensure_future(coro)),
                        min_utterance=0.1)
        scribe.heard(Utterance("client-1", "client", Audio(np.ones(16_000, np.int16), HEARING_RATE),
                               1.0))
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        return stt, published, delivered

    stt, published, delivered = asyncio.run(scenario())
    assert stt.listened == ["Or could you sum up?"]
    assert published == delivered == ["Orb, could you sum up?"]


def test_a_short_phrase_before_the_place_of_a_lost_name_is_read_off_the_words() -> None:
    """Twelfth round (orb_bridge.phrase_name): the words before a near miss or the name run
    on ("in your view or is…"), or before a comma and a request, at most three of them; never
    a lone acknowledgement (orb_bridge.opener_name's), a greeting, another person's name, a
    near miss opening the turn or a phrase ending on a determiner ("Ask the orb…")."""
    from orb_bridge.phrase_name import phrase_head

    probe = NameProbe("Orb")
    assert phrase_head(probe, "in your view or is this goal too big?") == "in your view"
    assert phrase_head(probe, "Out of interest, how long was my answer?") == "Out of interest"
    assert phrase_head(probe, "for the record orb right next time.") is None  # the name said
    assert phrase_head(probe, "The little or in the corner is listening.") is None  # article
    assert phrase_head(probe, "Honestly, was I clear enough?") is None  # one word: opener_name
    assert phrase_head(probe, "and, or is that too early to say?") is None  # a joiner, "or"
    assert phrase_head(probe, "Okay, or we could try it next week.") is None  # acknowledgement
    assert phrase_head(probe, "Okay then, or should we stop?") is None  # a greeting in it
    assert phrase_head(probe, "Right, Tom, how many are left?") is None  # one stretch only
    assert phrase_head(probe, "Tell me, Bob, did I miss anything?") is None  # another's name
    assert phrase_head(probe, "Ask the orb later, not now.") is None  # talked about
    assert phrase_head(probe, "I asked me orb out in a ton Tuesday.") is None  # a clause
    assert phrase_head(probe, "Or, could you ask her?") is None  # the set-off checks' case
    assert phrase_head(probe, "Is it this week or next?") is None  # four words before "or"
    assert phrase_head(probe, "It was busy, I kept putting things off.") is None  # no request
    assert phrase_head(probe, "To be fair, Orb, did I say that?") is None  # named already
    assert phrase_head(probe, "Okay — or what about the other option?") is None  # the ear's


@pytest.mark.parametrize(("voice", "text"), [
    # fresh11's miss (seen since): "be fair, or be like, truly same."; "to be fair or be back
    # to the same mat." before round 12
    ("espeak:en-gb-x-rp:175", "To be fair, Orb, did I actually say that?"),
    ("espeak:en-us+f3:150", "To be fair, Orb, did I actually say that?"),
])
def test_a_name_lost_after_a_short_opening_phrase_is_heard_again(
        engine: WhisperStt, voice: str, text: str) -> None:
    """Round 12 (orb_bridge.phrase_name): the phrase Whisper kept, forced on the opening,
    makes the name likely next; the turn is decoded again with the name after the phrase."""
    from orb_bridge.phrase_name import phrase_head

    pcm = Audio(voices.speak(voice, text), HEARING_RATE)
    plain = engine.transcribe_blocking(pcm, probe=False)
    assert not RULE.judge(plain).addressed, plain  # what the ear is for
    assert engine.name_probe is not None and phrase_head(engine.name_probe, plain), plain
    heard = engine.transcribe_blocking(pcm)
    assert RULE.judge(heard).addressed, heard
    assert heard.lower().startswith(phrase_head(engine.name_probe, plain).lower()), heard


@pytest.mark.parametrize(("voice", "text"), [
    ("piper-steady", "To be fair, did you actually say that?"),
    ("espeak:en-us+f3:150", "Out of interest, how long was my answer?"),
])
def test_a_short_opening_phrase_before_a_request_between_humans_is_no_name(
        engine: WhisperStt, voice: str, text: str) -> None:
    """After a person's phrase the name is all but impossible given the sound (at most 0.0001
    on the seen sets' turns, the floor 0.003): the words are not written again."""
    from orb_bridge.opener_name import name_after
    from orb_bridge.phrase_name import PHRASE_NAME_FLOOR, PHRASE_SECONDS, phrase_head

    pcm = Audio(voices.speak(voice, text), HEARING_RATE)
    assert engine.name_probe is not None
    head = phrase_head(engine.name_probe, text)  # the phrase as said
    assert head is not None, text
    word = name_after(engine.name_probe, engine._load(), pcm.unit_floats(), "en", head + ",",
                      PHRASE_SECONDS)
    assert word.name < PHRASE_NAME_FLOOR / 10, word
    heard = engine.transcribe_blocking(pcm)
    assert not RULE.judge(heard).addressed, heard


def test_the_probe_of_a_whole_turn_reuses_the_transcriptions_encoding(
        engine: WhisperStt) -> None:
    """Round 13: a turn shorter than the opening's crop is probed whole; the probe frames its
    window as faster-whisper's transcription does (the last feature frame dropped), so the
    encoder cache hands it the transcription's encoding: no second encoder pass."""
    pcm = Audio(voices.speak("espeak:en-us:165", "Orb, note it."), HEARING_RATE)
    audio = pcm.unit_floats()
    assert len(opening_audio(audio)) == len(audio)  # the crop is the whole turn
    model = engine._load()
    engine.transcribe_blocking(pcm, probe=False)
    passes, reused = model.encode.misses, model.encode.hits
    assert engine.name_probe is not None
    engine.name_probe.best_opening(model, audio, "en")
    assert (model.encode.misses - passes, model.encode.hits - reused) == (0, 1)


def test_a_near_miss_after_a_phrase_needs_a_likelier_name_where_no_request_follows() -> None:
    """Round 13 (fresh12's false turns, seen since): after a phrase, a person's "or" goes on
    with the other choice ("in your opinion, or in hers, …"): the name must be ten times as
    likely there; a name is followed by what is asked of the orb ("in your view or is…"), a
    verb Whisper mangled with it ("…, or not to do date." for "…, Orb, note the new date"),
    or nothing (a closing name). "…, or do you already know?" offers a choice: no name."""
    from orb_bridge.phrase_name import (
        PHRASE_NAME_FLOOR,
        PHRASE_NAME_FLOOR_ALONE,
        name_floor,
        phrase_head,
    )

    probe = NameProbe("Orb")
    assert phrase_head(probe, "Just check, or do you already know?") is None
    for text, floor in [("in your opinion, or in first, one is fair.", PHRASE_NAME_FLOOR_ALONE),
                        ("be fair, or be like, truly same.", PHRASE_NAME_FLOOR_ALONE),
                        ("in your view or is this goal too big?", PHRASE_NAME_FLOOR),
                        ("Tell me honestly, or am I repeating myself?", PHRASE_NAME_FLOOR),
                        ("one more thing, or not to do date.", PHRASE_NAME_FLOOR),
                        ("Keep that one or...", PHRASE_NAME_FLOOR),
                        ("Out of interest, how long was my answer?", PHRASE_NAME_FLOOR)]:
        head = phrase_head(probe, text)
        assert head is not None, text
        assert name_floor(probe, text, head) == floor, text


@pytest.mark.parametrize(("voice", "text"), [
    # fresh12's false turns (espeak-ng, the same audio every run): the phrase rule's "Orb"
    # after "in your opinion," and the text rule's mid-sentence near miss before "do you"
    ("espeak:en-us:165", "In your opinion, or in hers, was it fair?"),
    ("espeak:en-us+m3:185", "Just to check, or do you already know?"),
])
def test_a_persons_or_after_a_phrase_is_not_taken_for_the_name(
        engine: WhisperStt, voice: str, text: str) -> None:
    pcm = Audio(voices.speak(voice, text), HEARING_RATE)
    heard = engine.transcribe_blocking(pcm)
    assert not RULE.judge(heard).addressed, heard


def test_a_request_verb_cut_short_after_the_near_miss_keeps_the_lower_floor() -> None:
    """Round 14 (fresh13, seen since): "One more thing, Orb, note the price." heard "one more
    thing or no surprise.": "no" is "note" cut short, a request after the name's place; a
    subject after "or" ("or he said…") opens a person's clause, as before."""
    from orb_bridge.phrase_name import (
        PHRASE_NAME_FLOOR,
        PHRASE_NAME_FLOOR_ALONE,
        name_floor,
        phrase_head,
    )

    probe = NameProbe("Orb")
    for text, floor in [("one more thing or no surprise.", PHRASE_NAME_FLOOR),
                        ("all in all, or rea the list", PHRASE_NAME_FLOOR),
                        ("in the end, or he said it was fine.", PHRASE_NAME_FLOOR_ALONE),
                        ("in your opinion, or in first, one is fair.", PHRASE_NAME_FLOOR_ALONE),
                        ("all in all, or mostly, it went well.", PHRASE_NAME_FLOOR_ALONE)]:
        head = phrase_head(probe, text)
        assert head is not None, text
        assert name_floor(probe, text, head) == floor, text


def test_a_name_heard_or_before_a_cut_verb_after_a_phrase_is_heard_again(
        engine: WhisperStt) -> None:
    """fresh13's miss (espeak-ng en-us+m3, the same audio every run): the name after "one
    more thing" scored 0.0034, over the floor for a request following, under the other."""
    pcm = Audio(voices.speak("espeak:en-us+m3:185", "One more thing, Orb, note the price."),
                HEARING_RATE)
    heard = engine.transcribe_blocking(pcm)
    assert RULE.judge(heard).addressed, heard
