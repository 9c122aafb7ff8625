"""The fifteenth held-out set of whom the orb talks to (``party.py --addressing --set fresh15``).

Written at the start of issue 24's fifteenth round, before any rule of that round was
changed, and committed unrun (not rendered either); it is run once, after that round's design
is frozen. Same layout as fresh6 to fresh14 (52 requests in two voices each: 104 addressed
turns; 68 human-to-human lines in three voices each: 204 unaddressed turns; the voices turning
with the sentence over Piper's joe and four espeak-ng variants), new sentences (none in an
earlier set, checked by script). The hard kinds met so far keep their share: the bare "Orb,"
opening, the name after two- and three-word phrases and after one word, the closing ", Orb?",
on the addressed side; a person's "Or," opening, "or" after the same phrases, "or" closing a
question, other short names near the end ("…, Bob?") and where the name opens, orb-like words,
the orb in the third person and the requests' shapes without the name, on the other. Written
for this project; nothing fetched.
"""

from __future__ import annotations

from typing import Any

from _addressing_fresh6 import spread_turns

#: Requests that name the orb (52), each said in two voices.
FRESH15_ADDRESSED = (
    # opening, bare
    "Orb, what did she say about her sister?",
    "Orb, how many times did we mention sleep?",
    "Orb, note that the move is in August.",
    "Orb, which task did we push back?",
    "Orb, when is his first review?",
    "Orb, read back what I just promised.",
    "Orb, who brought up the night classes?",
    "Orb, how much time is left today?",
    "Orb, put the car repair on the list.",
    "Orb, what did we settle about holidays?",
    "Orb, is anything still unclear?",
    "Orb, write down the second date.",
    # the name after a two- or three-word opener
    "Before I forget, Orb, we meet on Friday.",
    "Going back a bit, Orb, what was her reason?",
    "On a related note, Orb, how many did we close?",
    "For the record, Orb, he agreed.",
    "Thinking about it, Orb, what should we try first?",
    "If that works, Orb, mark the second one too.",
    "Just to be sure, Orb, what did she promise?",
    "Alright then, Orb, sum up the hour.",
    "Now and then, Orb, how did I sound?",
    "One last thing, Orb, when is the deadline?",
    "Before we stop, Orb, read out the actions.",
    "By the way, Orb, did he mention a date?",
    # an acknowledgement before the name
    "Fine then, Orb, keep that.",
    "Great, Orb, what is still missing?",
    "Right, Orb, list the options for me.",
    "Cool, Orb, add the last one as well.",
    # closing
    "Which week did we choose, Orb?",
    "How did the call with his landlord go, Orb?",
    "Could you save that for Monday, Orb?",
    "What was the name of the clinic, Orb?",
    "How many items are left on the list, Orb?",
    "Did I say March or May, Orb?",
    "Please repeat the last point, Orb.",
    "What did he want to drop, Orb?",
    # mid-sentence
    "Quick check, Orb, how long was that?",
    "So be honest, Orb, does it make sense?",
    "Listen, Orb, just keep the number.",
    # hotword forms
    "Hey Orb, what were his two worries?",
    "Okay Orb, what did we open with?",
    "Hi Orb, can you wrap this up?",
    # the name alone, then a pause
    "Orb. What did she ask me before?",
    "Orb? Could you read the plan back?",
    # the coach's phrasing
    "Orb, how many sessions has he had so far?",
    "Orb, sum up her progress in one line.",
    # the client's phrasing
    "Orb, am I being too hard on him?",
    "Orb, did I explain that properly?",
    # short imperatives
    "Orb, press on.",
    "Orb, clean that up.",
    "Orb, log it.",
    "Pin that, Orb.",
)
#: Human-to-human lines (68), each said in three voices: hard near misses.
FRESH15_UNADDRESSED = (
    # "Or, ..." set off and said by a person
    "Or, what did she say about her sister?",
    "Or, which task did we push back?",
    "Or, is Friday better for him?",
    "Or, should we call the landlord?",
    "Or, how about a smaller step?",
    "Or, we could try it next month.",
    "Or, what if she says no again?",
    "Or, is that asking too much?",
    # "or" after two- and three-word openers
    "Before I forget, or before you do, call her.",
    "Going back a bit, or a lot, it was fine.",
    "On a related note, or not, we are late.",
    "If that works, or if it fails, we learn.",
    "Alright then, or alright now, let us go.",
    "Just to be sure, or to be safe?",
    "One last thing, or two at most, then home.",
    "By the way, or by the book?",
    "Great, or good enough, I suppose.",
    "Right, or at least it seems so.",
    # "or" closing or mid-sentence where the name could be
    "Did I say March or May?",
    "Could you save that for Monday, or?",
    "Are we done with this part, or?",
    "Was it the clinic or the pharmacy?",
    "Shall we go on or take a break?",
    "Walk or drive, which do you prefer?",
    # other short names where the name would be
    "Bob, what did she say about her sister?",
    "Rob, note that the move is in August.",
    "On a related note, Tom, how many did we close?",
    "Alright then, Ross, sum up the hour.",
    "Could you save that for Monday, Bob?",
    "Which week did we choose, Rob?",
    "What was the name of the clinic, Tom?",
    "Listen, Oz, just keep the number.",
    # orb-like words
    "The moon stays in orbit around the earth.",
    "The towel absorbed all the water.",
    "In order to finish, we need a plan.",
    "My daughter plays in the orchestra.",
    "He likes to orbit around the problem.",
    "The lamp had a glass orb on top.",
    "It was an ordinary kind of week.",
    "Or we could just stop here.",
    # the orb talked about, in the third person
    "Does the orb keep notes of this?",
    "I think the orb heard that wrong.",
    "Let the orb read the list at the end.",
    "Has the orb written anything down?",
    "We can ask the orb once we finish.",
    # acknowledgements and openers without the name
    "Going back a bit, what was her reason?",
    "On a related note, how many did we close?",
    "Thinking about it, what should we try first?",
    "If that works, mark the second one too.",
    "Alright then, sum up the hour.",
    "Fine then, keep that.",
    "Great, what is still missing?",
    "Right, list the options for me.",
    "Cool, add the last one as well.",
    # the addressed sentences' shapes without the name
    "Which week did we choose?",
    "How did the call with his landlord go?",
    "Could you save that for Monday?",
    "What was the name of the clinic?",
    "How many items are left on the list?",
    "What did he want to drop?",
    "Quick check, how long was that?",
    "So be honest, does it make sense?",
    "Press on.",
    "Clean that up.",
    "Log it.",
    "Pin that.",
    "Am I being too hard on him?",
    "Did I explain that properly?",
)


def fresh15_turns(voices: tuple[str, ...]) -> list[dict[str, Any]]:
    """52 addressed sentences in two voices (104 turns) and 68 unaddressed lines in three
    voices (204 turns), coach and client in turn; numbered from 13000."""
    return spread_turns(FRESH15_ADDRESSED, FRESH15_UNADDRESSED, voices, 13000)
