"""The ninth held-out set of whom the orb talks to (``party.py --addressing --set fresh9``).

Written at the start of issue 24's ninth round, before any rule of that round was changed,
and committed unrun; it is run once, after that round's design is frozen. Same layout as
fresh6 to fresh8 (52 requests in two voices each: 104 addressed turns; 68 human-to-human
lines in three voices each: 204 unaddressed turns; the voices turning with the sentence over
Piper's joe and four espeak-ng variants), new sentences (none in an earlier set). The
addressed turns put the name at the opening, the closing, in mid-sentence, after
"Hey"/"Okay"/"Hi"/"Hello", after a thanks or "Cheers", alone before a pause, and in short
imperatives. The unaddressed lines are hard near misses: other short names set off ("Bob,",
"Rob,", "Tom,", "Ross,") before requests too, "or" set off at a sentence's opening and
closing, "orbit", "orbital", "absorb", "order", the orb talked about in the third person,
contractions, greetings and thanks without the name, and the requests' shapes without it.
Written for this project; nothing fetched.
"""

from __future__ import annotations

from typing import Any

from _addressing_fresh6 import spread_turns

#: Requests that name the orb (52), each said in two voices.
FRESH9_ADDRESSED = (
    # opening, bare
    "Orb, what did I say my biggest worry was?",
    "Orb, could you list the three next steps?",
    "Orb, when is our next session booked?",
    "Orb, how long have I been talking?",
    "Orb, which goal did we drop last month?",
    "Orb, put a reminder in for Thursday.",
    "Orb, is that the same thing I said in May?",
    # closing
    "Who did I say I would call first, Orb?",
    "Could you read that last line again, Orb?",
    "How many actions do we have now, Orb?",
    "What was the name of that course, Orb?",
    "Give us the short version, Orb.",
    "Save that quote for later, Orb.",
    "Does that sound fair to you, Orb?",
    # mid-sentence
    "Well, Orb, what do you make of that?",
    "Before we finish, Orb, can you recap the actions?",
    "Tell me honestly, Orb, am I repeating myself?",
    "Just one thing, Orb, what time did we begin?",
    "For the record, Orb, note that she agreed.",
    "Hang on, Orb, could you go back a step?",
    "One more, Orb, how did I put it last week?",
    "Actually, Orb, what was my first goal?",
    # hotword forms and thanks before the name
    "Hey Orb, what should we look at next?",
    "Hey Orb, remember this for me.",
    "Okay Orb, give me a quick summary.",
    "Okay Orb, how are we doing for time?",
    "Hi Orb, can you hear us both?",
    "Hello Orb, what did we agree last time?",
    "Thanks Orb, and could you add one more?",
    "Thank you Orb, what comes after that?",
    "Cheers Orb, can you read it back?",
    "Great, thanks Orb, what's the next item?",
    # the name alone, then a pause
    "Orb. Could you pick one for me?",
    "Orb? Did you catch that?",
    "Orb. Sum up what she just said.",
    "Orb? How many goals are there?",
    # the coach's phrasing
    "Orb, could you pull out the themes so far?",
    "Orb, list the client's strengths we heard today.",
    "Can you note the commitments she made, Orb?",
    "Orb, what were the client's words about her team?",
    # the client's phrasing
    "Orb, am I expecting too much of myself?",
    "What would be a good first step, Orb?",
    "Orb, help me finish this sentence.",
    "Is that a sensible deadline, Orb?",
    # short imperatives
    "Orb, write it down.",
    "Orb, read it out.",
    "Orb, recap the last bit.",
    "Orb, count them.",
    "Orb, pause there.",
    "Keep that one, Orb.",
    "Orb, go on.",
    "Orb, stop the timer.",
)
#: Human-to-human lines (68), each said in three voices: hard near misses.
FRESH9_UNADDRESSED = (
    # other short names set off, before requests too
    "Bob, could you open the window?",
    "Bob, what time does it start?",
    "Rob, can you hear me all right?",
    "Rob, how did the interview go?",
    "Tom, what do you want to drink?",
    "Tom, could you check the calendar?",
    "Ross, what's the plan for Monday?",
    "Ross, can you send it again?",
    "Bob's car is in the garage again.",
    "I spoke to Rob about it yesterday.",
    "Is that right, Bob?",
    "Thanks Rob, that helps a lot.",
    "Sorry Bob, what did you say?",
    "Hi Tom, good to see you.",
    # "or" set off at a sentence's opening or closing, before requests too
    "Or, what if she says no?",
    "Or, could we push it back a week?",
    "Or, can I bring someone with me?",
    "Or, how about we start smaller?",
    "Or, let's see what happens first.",
    "Or perhaps we just wait and see.",
    "Or you could write to him instead.",
    "Should we stop there, or?",
    "Do you need a break, or?",
    "Walk or drive, which is easier?",
    # orbit, absorb, order and words that begin alike
    "The station stays in orbit for years.",
    "The moon's orbit is not quite round.",
    "I need time to absorb the feedback.",
    "The towels absorb everything.",
    "The order arrived late again.",
    "In order to finish, we need more time.",
    "Orange is my favourite colour.",
    "The orbital road was jammed this morning.",
    "Organising my week helps a lot.",
    "Origami is harder than it looks.",
    # the orb talked about, in the third person
    "The orb said something similar last time.",
    "Did the orb get all of that?",
    "I like how the orb keeps track of things.",
    "Perhaps the orb could check that later.",
    "The little orb in the corner is listening.",
    "An orb of light appeared in the photo.",
    # contractions, "all", "oh", greetings and thanks without the name
    "What's the first step for you then?",
    "That's what I was afraid of.",
    "It's hard to say, really.",
    "All good, what's the next one?",
    "All of it, can you believe that?",
    "Oh, could you hold on a second?",
    "Oh no, I forgot the notes.",
    "Hey, what should we look at next?",
    "Okay, give me a quick summary of your week.",
    "Hi, can you hear me all right now?",
    "Thanks, and could you add one more example?",
    "Cheers, that was really useful.",
    "Great, thanks, what's the next item?",
    "Well, what do you make of that?",
    # the addressed sentences' shapes without the name
    "Before we finish, can you recap your actions?",
    "Tell me honestly, am I repeating myself?",
    "Hang on, could you go back a step?",
    "Actually, what was your first goal?",
    "Who will you call first?",
    "Could you read that last line again?",
    "Give me the short version.",
    "Does that sound fair to you?",
    "Write it down.",
    "Read it out.",
    "Pause there.",
    "Go on.",
    "Is that a sensible deadline?",
    "Am I expecting too much of myself?",
)


def fresh9_turns(voices: tuple[str, ...]) -> list[dict[str, Any]]:
    """52 addressed sentences in two voices (104 turns) and 68 unaddressed lines in three
    voices (204 turns), coach and client in turn; numbered from 7000."""
    return spread_turns(FRESH9_ADDRESSED, FRESH9_UNADDRESSED, voices, 7000)
