"""The twelfth held-out set of whom the orb talks to (``party.py --addressing --set fresh12``).

Written at the start of issue 24's twelfth round, before any rule of that round was changed,
and committed unrun (not rendered either); it is run once, after that round's design is
frozen. Same layout as fresh6 to fresh11 (52 requests in two voices each: 104 addressed
turns; 68 human-to-human lines in three voices each: 204 unaddressed turns; the voices turning
with the sentence over Piper's joe and four espeak-ng variants), new sentences (none in an
earlier set). This round is about recall, so the addressed turns lean on fresh11's misses: the
bare "Orb," opening (many of them), the name after two- or three-word openers ("To be fair,
Orb, ...", "In your view, Orb, ..."), the closing name after a word that may swallow it
("... for later, Orb?"). The unaddressed lines keep precision in view: "Or, ..." set off and
said by a person, "or" after the same two- and three-word openers, other short names in the
name's places, "Orbison"-like words, the orb in the third person and the requests' shapes
without the name. Written for this project; nothing fetched.
"""

from __future__ import annotations

from typing import Any

from _addressing_fresh6 import spread_turns

#: Requests that name the orb (52), each said in two voices.
FRESH12_ADDRESSED = (
    # opening, bare (fresh11's commonest miss)
    "Orb, what did he promise last time?",
    "Orb, note that she wants more time.",
    "Orb, what was the deadline again?",
    "Orb, could you list my excuses?",
    "Orb, how did the first call end?",
    "Orb, what were her exact words?",
    "Orb, note down the new plan.",
    "Orb, did we agree on a date?",
    "Orb, what else is on my list?",
    "Orb, can you tell me the time left?",
    "Orb, what did I decide about work?",
    "Orb, which step should come next?",
    # the name after a two- or three-word opener
    "To be honest, Orb, what did you make of it?",
    "In your opinion, Orb, am I rushing this?",
    "For the notes, Orb, she said yes.",
    "Just to check, Orb, did I say Tuesday?",
    "Out of curiosity, Orb, how many goals are open?",
    "By the way, Orb, what time is it?",
    "On that point, Orb, what did I say before?",
    "As a reminder, Orb, note the budget.",
    "If you could, Orb, read the plan back.",
    "Quick question, Orb, when do we finish?",
    "Last thing, Orb, what is my homework?",
    "In short, Orb, what did we agree?",
    # an acknowledgement before the name
    "Okay then, Orb, what comes next?",
    "Thank you, Orb, that helps.",
    "Fine, Orb, write it down.",
    "Right then, Orb, sum up the hour.",
    # closing, after a word that may swallow the name
    "Could you keep that for later, Orb?",
    "Can you put that in the notes, Orb?",
    "What did we say about money, Orb?",
    "Would you read that back for me, Orb?",
    "Is there anything else for now, Orb?",
    "How long have we been sitting here, Orb?",
    "Note that down for the record, Orb.",
    "What is the next step, Orb?",
    # mid-sentence
    "So tell me, Orb, was that fair?",
    "And now, Orb, what do you think?",
    "Remember this, Orb, she starts Monday.",
    # hotword forms
    "Hey Orb, what was the last goal?",
    "Okay Orb, list the open points.",
    "Hi Orb, what did we promise?",
    # the name alone, then a pause
    "Orb. What was the first thing I said?",
    "Orb? Could you keep track of that?",
    # the coach's phrasing
    "Orb, write down what she just described.",
    "Orb, how often has she mentioned her sister?",
    # the client's phrasing
    "Orb, was I too harsh just now?",
    "Orb, what do you make of my plan?",
    # short imperatives
    "Orb, continue.",
    "Orb, jot it.",
    "Orb, summarise.",
    "Save it, Orb.",
)
#: Human-to-human lines (68), each said in three voices: hard near misses.
FRESH12_UNADDRESSED = (
    # "Or, ..." set off and said by a person
    "Or, could you talk to him first?",
    "Or, what if we moved it to Thursday?",
    "Or, should I just call her?",
    "Or, how about a shorter meeting?",
    "Or, did you mean the other one?",
    "Or, we could leave it as it is.",
    "Or, is that too much for one week?",
    "Or, you could ask your manager.",
    # "or" after two- and three-word openers
    "To be honest, or at least to be fair, it was hard.",
    "In your opinion, or in hers, was it fair?",
    "For the notes, or just for us?",
    "By the way, or before I forget, she called.",
    "Just to check, or do you already know?",
    "In short, or in long, it did not work.",
    "On that point, or the other one, I agree.",
    "Quick question, or maybe two.",
    "One thing, or maybe three things, bother me.",
    "Okay then, or should we stop?",
    # "or" closing or mid-sentence where the name could be
    "Could we keep that for later, or?",
    "Is that everything for now, or?",
    "Is it this week or next?",
    "Tea or coffee, which do you want?",
    "Is it him or her who decides?",
    "Was it Monday or Tuesday?",
    # other short names where the name would be
    "Rob, what did he promise last time?",
    "Tom, could you list my excuses?",
    "To be honest, Bob, what did you make of it?",
    "By the way, Rob, what time is it?",
    "Could you keep that for later, Bob?",
    "Ross, note down the new plan.",
    "Thank you, Rob, that helps.",
    "Oz, what was the deadline again?",
    # orb-like words
    "Orbison had a very high voice.",
    "The satellite went into orbit in May.",
    "The sponge will absorb most of it.",
    "He ordered a coffee and left.",
    "An orchestra played in the park.",
    "She painted small orbs of light.",
    "The ore was shipped by train.",
    "Oregon is a long way from here.",
    # the orb talked about, in the third person
    "I think the orb missed that.",
    "Maybe the orb can sum it up later.",
    "What did the orb write about me?",
    "The orb was quiet the whole time.",
    "Let's not ask the orb this one.",
    # acknowledgements and openers without the name
    "To be honest, what did you make of it?",
    "In your opinion, am I rushing this?",
    "By the way, what time is it?",
    "Just to check, did I say Tuesday?",
    "Out of curiosity, how many goals are open?",
    "Quick question, when do we finish?",
    "Thank you, that helps.",
    "Okay then, what comes next?",
    "Fine, write it down.",
    # the addressed sentences' shapes without the name
    "What did he promise last time?",
    "Could you keep that for later?",
    "Can you put that in your notes?",
    "What did we say about money?",
    "How long have we been sitting here?",
    "What is the next step?",
    "So tell me, was that fair?",
    "And now, what do you think?",
    "Jot it.",
    "Continue.",
    "Save it.",
    "Summarise it for me.",
    "Was I too harsh just now?",
    "What do you make of my plan?",
)


def fresh12_turns(voices: tuple[str, ...]) -> list[dict[str, Any]]:
    """52 addressed sentences in two voices (104 turns) and 68 unaddressed lines in three
    voices (204 turns), coach and client in turn; numbered from 10000."""
    return spread_turns(FRESH12_ADDRESSED, FRESH12_UNADDRESSED, voices, 10000)
