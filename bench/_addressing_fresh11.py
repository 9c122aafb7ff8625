"""The eleventh held-out set of whom the orb talks to (``party.py --addressing --set fresh11``).

Written at the start of issue 24's eleventh round, before any rule of that round was changed,
and committed unrun (not rendered either); it is run once, after that round's design is
frozen. Same layout as fresh6 to fresh10 (52 requests in two voices each: 104 addressed
turns; 68 human-to-human lines in three voices each: 204 unaddressed turns; the voices turning
with the sentence over Piper's joe and four espeak-ng variants), new sentences (none in an
earlier set). This round is about precision, so the unaddressed lines lean on fresh10's false
turns: an acknowledgement set off before "or" ("Okay, or ...", "Right, or maybe ..."), a rival
name set off at the opening that Whisper may drop ("Bob, can you ..."), "Or, could you ..."
set off, "Orbison"-like words, "can you save/say" without the name; also "orb"-like words,
the orb in the third person and the requests' shapes without the name. The addressed turns
keep fresh10's misses in view: the bare "Orb," opening, the name after an opener or in
mid-sentence, the closing name, hotword forms and short imperatives. Written for this
project; nothing fetched.
"""

from __future__ import annotations

from typing import Any

from _addressing_fresh6 import spread_turns

#: Requests that name the orb (52), each said in two voices.
FRESH11_ADDRESSED = (
    # opening, bare
    "Orb, which session was the hardest one?",
    "Orb, how many times did I say sorry?",
    "Orb, what did she say about the move?",
    "Orb, could you read back my three words?",
    "Orb, when did we last talk about sleep?",
    "Orb, give me the two main points.",
    "Orb, is that on the list already?",
    "Orb, remind me what the homework was.",
    # an acknowledgement or opener before the name
    "Okay, Orb, could you write that down?",
    "Right, Orb, what did we leave out?",
    "Thanks, Orb, how long have we got?",
    "Great, Orb, can you repeat the last goal?",
    "Cheers, Orb, what was my score last week?",
    "Well then, Orb, what would you suggest?",
    "Alright, Orb, can you sum that up?",
    "Sure, Orb, add it to the notes.",
    "Good, Orb, which one comes first?",
    "So then, Orb, how did I do?",
    # closing
    "What was the second thing she said, Orb?",
    "Could you save that for later, Orb?",
    "How many goals do I have now, Orb?",
    "Which week did we start this, Orb?",
    "Write the date down for me, Orb.",
    "Did I miss anything important, Orb?",
    "Can you say that once more, Orb?",
    # mid-sentence
    "To be fair, Orb, did I actually say that?",
    "Out of interest, Orb, how long was my answer?",
    "Before we stop, Orb, what are the next steps?",
    "One more thing, Orb, note the new date.",
    "In your view, Orb, is this goal too big?",
    "For the record, Orb, write that I agreed.",
    "Honestly, Orb, was I clear enough?",
    # hotword forms
    "Hey Orb, could you read the notes back?",
    "Okay Orb, what is on the agenda?",
    "Hi Orb, can you start a new list?",
    "Hello Orb, what did we cover so far?",
    # the name alone, then a pause
    "Orb. Can you list the open questions?",
    "Orb? What did I just promise?",
    "Orb. Write that one down.",
    # the coach's phrasing
    "Orb, note what worries her most this week.",
    "Could you track her progress on this, Orb?",
    "Orb, which goals did she drop?",
    # the client's phrasing
    "Orb, do you think I'm ready for this?",
    "What should I say to him, Orb?",
    "Orb, help me find a better word.",
    # short imperatives
    "Orb, keep talking.",
    "Orb, stop there.",
    "Orb, write it.",
    "Orb, read it.",
    "Orb, undo that.",
    "Keep it, Orb.",
    "Orb, recap.",
)
#: Human-to-human lines (68), each said in three voices: hard near misses.
FRESH11_UNADDRESSED = (
    # an acknowledgement set off before "or"
    "Okay, or we could try it next week.",
    "Right, or maybe we should just ask her.",
    "Sure, or you could write it down yourself.",
    "Alright, or we leave it until Friday.",
    "Fine, or let's just skip that part.",
    "Yes, or should we wait a bit?",
    "Good, or at least good enough for now.",
    "Thanks, or I mean, thank you both.",
    "Well, or we could start with the easy one.",
    "Okay, or what about the other option?",
    # a rival name set off, which Whisper may drop
    "Bob, can you read the list out?",
    "Rob, could you note that for me?",
    "Tom, what did you think of it?",
    "Bob, how long have we got left?",
    "Okay, Bob, can you sum that up?",
    "Thanks, Rob, could you save that for later?",
    "Right, Ross, what was the second point?",
    "Tell me, Bob, did I miss anything?",
    # "or" set off at the opening or closing
    "Or, could we just ask him?",
    "Or, can you think of a better way?",
    "Or, would Monday work better?",
    "Or, what about doing it later?",
    "Could we stop here, or?",
    "Or perhaps we try the long version.",
    # orb-like words
    "Roy Orbison sang that song, didn't he?",
    "My uncle loved Orbison records.",
    "The moon's orbit is not a circle.",
    "She works in orbital mechanics.",
    "Paper towels absorb the water fast.",
    "The orbs on the tree were glass.",
    "We had an orchid on the desk.",
    "The order came two days late.",
    "I felt like an orphan at that school.",
    "Orville was the name of the duck.",
    # "can you save" and "can you say" without the name
    "Perfect, can you save me a seat?",
    "Can you say that in plain words?",
    "Great, can you save the rest for tomorrow?",
    "Can you say no to your boss?",
    "So can you save money this month?",
    # the orb talked about, in the third person
    "The orb wrote everything down, I think.",
    "Did the orb hear what you said?",
    "I'm not sure the orb understood that.",
    "Ask the orb later, not now.",
    "That orb thing keeps blinking.",
    "We could let the orb sum it up.",
    # acknowledgements and greetings without the name
    "Okay, could you write that down?",
    "Right, what did we leave out?",
    "Thanks, how long have we got?",
    "Alright, can you sum that up for me?",
    "Sure, add it to your notes.",
    "Well then, what would you suggest?",
    "Great, can you repeat your last goal?",
    "Hello, what did you cover so far?",
    # the addressed sentences' shapes without the name
    "Before we stop, what are the next steps?",
    "To be fair, did you actually say that?",
    "Out of interest, how long was my answer?",
    "In your view, is this goal too big?",
    "Honestly, was I clear enough?",
    "Which week did we start this?",
    "Did I miss anything important?",
    "What should I say to him?",
    "How many goals do you have now?",
    "Write the date down.",
    "Carry on then.",
    "Stop there.",
    "Keep it.",
    "Undo that.",
    "Read it.",
)


def fresh11_turns(voices: tuple[str, ...]) -> list[dict[str, Any]]:
    """52 addressed sentences in two voices (104 turns) and 68 unaddressed lines in three
    voices (204 turns), coach and client in turn; numbered from 9000."""
    return spread_turns(FRESH11_ADDRESSED, FRESH11_UNADDRESSED, voices, 9000)
