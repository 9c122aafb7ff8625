"""The text rule for whether a turn is addressed to the orb (orb_bridge.addressing)."""

from __future__ import annotations

import pytest

from orb_bridge.addressing import AddressRule, Reason

RULE = AddressRule()

ADDRESSED = [
    ("Orb, what do you think about that?", Reason.VOCATIVE),
    ("Orb, could you sum up what we have talked about so far?", Reason.VOCATIVE),
    ("Could you sum up what we have talked about so far, Orb?", Reason.VOCATIVE),
    ("Could you, Orb, give us a recap?", Reason.VOCATIVE),
    ("Hey Orb, what should I focus on this week?", Reason.GREETING),
    ("Okay orb. Give me three next steps.", Reason.GREETING),
    ("So. Hey, Orb, any thoughts?", Reason.GREETING),
    ("Hey or what do you think?", Reason.MISHEARD_GREETING),  # the name misheard after one
    # round 11: a near miss after a greeting before a request word or set off (the ear then
    # checks it: orb_bridge.opener_name), across a full stop too (fresh9's "Okay Orb, how…")
    ("Okay, or what was the deadline again?", Reason.MISHEARD_GREETING),
    ("Okay. Or how are we doing for time?", Reason.MISHEARD_GREETING),
    ("Hey, Arb, note this one.", Reason.MISHEARD_GREETING),
    ("Or, what do you think?", Reason.MISHEARD_VOCATIVE),
    ("Aub, can you help me with this?", Reason.MISHEARD_VOCATIVE),
    ("Or, recap please.", Reason.MISHEARD_VOCATIVE),
    ("Or, I need a reminder for Friday, can you set one?", Reason.MISHEARD_VOCATIVE),
    ("Orb what do you think we should do", Reason.QUESTION_TO_YOU),
    ("What do you think Orb?", Reason.QUESTION_TO_YOU),
    ("ORB, please summarize.", Reason.VOCATIVE),
    # Found in bench/party.py --addressing (design half): Whisper drops the comma before a
    # closing name, and hears "Hi" as "High".
    ("Please recap the main points Orb", Reason.VOCATIVE),
    ("High Orb, please recap the main points.", Reason.GREETING),
    # fresh5 (Piper): a determiner set off from the name by a comma does not bind it
    ("Do you think I can do this, orb?", Reason.VOCATIVE),
    ("Is that it, Orb?", Reason.VOCATIVE),
    # a short opener before the name, the name set off after it (fresh5's misses' forms)
    ("Thanks Orb, and what about the weekend?", Reason.VOCATIVE),
    ("Thank you Orb, that helps.", Reason.VOCATIVE),
    ("Okay so Orb, what is next?", Reason.VOCATIVE),
    # fresh5's and fresh6's misses: a near miss in mid-sentence after a short opening that
    # asks nothing, before a question's first word or (after a comma) a request verb
    ("Tell me, or what did I miss?", Reason.MISHEARD_MIDDLE),
    ("Sorry, or could you say that again?", Reason.MISHEARD_MIDDLE),
    ("if you can, or note the date for me.", Reason.MISHEARD_MIDDLE),
    ("Just quickly arm how long have we been talking?", Reason.MISHEARD_MIDDLE),
    ("Look, Arb, can we go over the plan again?", Reason.MISHEARD_MIDDLE),
    # a human's "Thanks, or what else could we do?" reads the same: the rule takes it
    ("Thanks, or what else could we do?", Reason.MISHEARD_MIDDLE),
    # fresh7, Piper: a contraction asks as its full form does
    ("So tell me, or what's it out today?", Reason.MISHEARD_MIDDLE),
    ("just to check, or did we agree on Friday?", Reason.MISHEARD_MIDDLE),
    # fresh8: Whisper dropped the comma after the name that follows a short opener; the
    # next word opens a question ("and", "what's", "could") or is a request verb
    ("Thanks Orb and what's the third one?", Reason.VOCATIVE),
    ("Thank you Orb could you save that too?", Reason.VOCATIVE),
    ("Sorry Orb note the date again.", Reason.VOCATIVE),
    # round 15 (fresh14, Piper): the name heard "or" right before one of the orb's jobs
    # (addressing.ORB_JOBS), at the start or after a short opening, whatever the marks
    ("Or tidy that up.", Reason.MISHEARD_JOB),
    ("or note that she is moving in June.", Reason.MISHEARD_JOB),
    ("Or jot it.", Reason.MISHEARD_JOB),
    ("Okay then, or save that.", Reason.MISHEARD_MIDDLE),
    # (after an opening with no comma, "Nice or add that one too?", "find or write it down",
    # taken in rounds 15-16, no longer are: see NOT_ADDRESSED's fresh16 cases)
    # round 15 (fresh14, Piper): a closing near miss after a question asking *what*
    ("How did the talk with her boss go or?", Reason.MISHEARD_CLOSING),
    ("What did I say about my manager? Or?", Reason.MISHEARD_CLOSING),
    ("Who did I say I would call first or?", Reason.MISHEARD_CLOSING),
    # round 16 (fresh15): one short word between the near miss and the job ...
    ("Listen, or just keep the number.", Reason.MISHEARD_MIDDLE),
    ("Fine then, or please note the time for me.", Reason.MISHEARD_MIDDLE),
    ("or noted the time for me.", Reason.MISHEARD_JOB),
    # ... and the job's verb heard with an ending ("Right, Orb, list the options for me.")
    ("Right, or listed options for me.", Reason.MISHEARD_MIDDLE),
]

NOT_ADDRESSED = [
    # fresh16 (after round 16): with no comma before it, a near miss before one of the orb's
    # jobs joins two actions, or stands where a lost possessive was: people's talk
    ("keep it or put it back your choice.", Reason.NOT_NAMED),
    ("show that printed or save it in the file.", Reason.NOT_NAMED),
    ("video or save the last session.", Reason.NOT_NAMED),
    # a near miss in mid-sentence after a clause that asks, or as a tag, is not a vocative
    ("Shall we stop, or what do you think?", Reason.NOT_NAMED),
    ("Right, or what?", Reason.NOT_NAMED),
    ("You can call or write, either works.", Reason.NOT_NAMED),
    ("Coffee or tea before we start?", Reason.NOT_NAMED),
    ("So orb stands for what exactly?", Reason.TALKED_ABOUT),  # not set off after
    ("Or maybe we should try again tomorrow.", Reason.NOT_NAMED),
    ("Or, maybe not.", Reason.NOT_NAMED),
    ("The orbit of the moon is elliptical.", Reason.NOT_NAMED),
    ("I told the orb yesterday that I was stuck.", Reason.TALKED_ABOUT),
    ("Do you think the orb is listening?", Reason.TALKED_ABOUT),
    ("What do you think about that Orb idea", Reason.TALKED_ABOUT),
    ("Can you tell Orb to wait?", Reason.TALKED_ABOUT),
    ("My manager keeps adding work to my plate.", Reason.NOT_NAMED),
    ("How did that make you feel?", Reason.NOT_NAMED),
    ("Orbital mechanics is hard.", Reason.NOT_NAMED),
    ("", Reason.NOT_NAMED),
    ("...", Reason.NOT_NAMED),
    ("Hey, what do you think?", Reason.NOT_NAMED),
    ("All, what do you think?", Reason.NOT_NAMED),
    ("I really like Orb", Reason.TALKED_ABOUT),
    ("High or low, which one is it?", Reason.NOT_NAMED),
    # fresh set (espeak-ng): a human's set-off "Or," with a request word later in a statement
    ("Or, honestly, I can just say no.", Reason.NOT_NAMED),
    ("Or, I could ask my sister to help.", Reason.NOT_NAMED),
    # the name after a short opener, no pause mark, and no question or request after it
    ("So orb could be a good name for it.", Reason.TALKED_ABOUT),
    ("And orb and moon were the words she used.", Reason.TALKED_ABOUT),
    # round 11 (fresh10): a near miss after a greeting with neither a pause mark nor a
    # request word after it is a human's "or"
    ("Okay, or we could just leave it for now.", Reason.NOT_NAMED),
    ("Okay, or we can just leave it for now", Reason.NOT_NAMED),
    # the ear's mark (addressing.EAR_BREAK): heard as "or", by no rule the name
    ("Okay — or what about the next one?", Reason.NOT_NAMED),
    ("Thanks — or what else could we do?", Reason.NOT_NAMED),
    # round 13 (fresh12, espeak-ng): a near miss in mid-sentence before "do you…" offers the
    # other person a choice; "…, or did we agree on Friday?" (fresh8) stays the name
    ("Just check, or do you already know?", Reason.NOT_NAMED),
    ("just to check or do you already know?", Reason.NOT_NAMED),
    # round 15: a near miss before a word that is no job of the orb's stays a person's "or"
    # (seen sets' unaddressed transcripts: "or let them…", "or have him…", "or watch…"), and
    # the orb's jobs need something after them ("Or note." is too little to go on)
    ("or let them make me nervous.", Reason.NOT_NAMED),
    ("or have him out a short walk first.", Reason.NOT_NAMED),
    ("Or tell him directly.", Reason.NOT_NAMED),
    ("Or note.", Reason.NOT_NAMED),
    # ...and a person's closing "or" offers the other side of a yes-or-no question
    ("Shall we take five or?", Reason.NOT_NAMED),
    ("Is that all for today, or?", Reason.NOT_NAMED),
    ("Should we stop there? Or?", Reason.NOT_NAMED),
    ("What colour were the orbs?", Reason.NOT_NAMED),
    ("What about it, or?", Reason.NOT_NAMED),
    ("How about Tuesday instead, or?", Reason.NOT_NAMED),
    ("Right then, or right now, which is better?", Reason.NOT_NAMED),
    ("Sure, or at least I think so.", Reason.NOT_NAMED),
    # round 16 (fresh15, en-us's "Does the orb keep notes of this?"): a near miss after a
    # determiner or possessive is a noun's place, not a vocative's
    ("That's the arm keep, no, some is.", Reason.NOT_NAMED),
    ("Now the arb keeps it.", Reason.NOT_NAMED),
    # a filler before the job needs the near miss set off ("Listen, or just keep…"): a
    # person's "or just start again" (seen sets, espeak) is not the name; nor a gerund
    ("the summer or just start again.", Reason.NOT_NAMED),
    ("Or just write it down.", Reason.NOT_NAMED),
    ("Or keeping it short for now.", Reason.NOT_NAMED),
]


@pytest.mark.parametrize(("text", "reason"), ADDRESSED)
def test_addressed(text: str, reason: Reason) -> None:
    verdict = RULE.judge(text)
    assert verdict.addressed, (text, verdict)
    assert verdict.reason is reason, (text, verdict)


@pytest.mark.parametrize(("text", "reason"), NOT_ADDRESSED)
def test_not_addressed(text: str, reason: Reason) -> None:
    verdict = RULE.judge(text)
    assert not verdict.addressed, (text, verdict)
    assert verdict.reason is reason, (text, verdict)


def test_another_name() -> None:
    rule = AddressRule(name="Nova", misheard=frozenset({"nover"}))
    assert rule.judge("Nova, what's next?").addressed
    assert rule.judge("Nover, what's next?").addressed
    assert rule.judge("Hey Noba, any ideas?").addressed  # one edit away after a greeting
    assert not rule.judge("Orb, what's next?").addressed
    assert not rule.judge("The nova was bright.").addressed


def test_garbage_never_raises() -> None:
    for text in ["\x00\x01", "🙂 orb 🙂?", "orb" * 2000, "?" * 500, "Orb" + ",," * 100]:
        RULE.judge(text)
