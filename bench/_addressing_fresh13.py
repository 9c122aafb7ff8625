"""The thirteenth held-out set of whom the orb talks to (``party.py --addressing --set fresh13``).

Written at the start of issue 24's thirteenth round, before any rule of that round was
changed, and committed unrun (not rendered either); it is run once, after that round's design
is frozen. Same layout as fresh6 to fresh12 (52 requests in two voices each: 104 addressed
turns; 68 human-to-human lines in three voices each: 204 unaddressed turns; the voices turning
with the sentence over Piper's joe and four espeak-ng variants), new sentences (none in an
earlier set). This round is about the false side (fresh12's false turns were a person's "or"
after a short opener and a set-off "Or,"), so the unaddressed lines lean on those: "Or,"
opening a person's question, "or" after two- and three-word openers, "or" before a closing
question mark, other short names where the name goes, orb-like words, the orb in the third
person and the requests' shapes without the name. The addressed turns keep recall in view with
the same places for the name: the bare opening, after an opener, closing, mid-sentence, the
hotwords, the name alone and short imperatives. Written for this project; nothing fetched.
"""

from __future__ import annotations

from typing import Any

from _addressing_fresh6 import spread_turns

#: Requests that name the orb (52), each said in two voices.
FRESH13_ADDRESSED = (
    # opening, bare
    "Orb, how many sessions have we had?",
    "Orb, mark that as her first win.",
    "Orb, who brought up the move?",
    "Orb, give me the three main points.",
    "Orb, when did she start the new job?",
    "Orb, what was my answer to that?",
    "Orb, add the gym to my goals.",
    "Orb, did I mention my brother today?",
    "Orb, how much time do we have?",
    "Orb, remind me what we said in May.",
    "Orb, what is still open from last week?",
    "Orb, keep a note of the names.",
    # the name after a two- or three-word opener
    "Before we stop, Orb, what did we cover?",
    "Just quickly, Orb, how long was that?",
    "For my sake, Orb, repeat the last goal.",
    "If possible, Orb, list what she agreed to.",
    "Going back, Orb, what did I say about sleep?",
    "To sum up, Orb, what are the actions?",
    "One more thing, Orb, note the price.",
    "Speaking of which, Orb, when is the review?",
    "All in all, Orb, how did I do?",
    "Honestly though, Orb, was that clear?",
    "At this point, Orb, what would you suggest?",
    "With that in mind, Orb, what is left?",
    # an acknowledgement before the name
    "Great, Orb, put that down.",
    "Alright, Orb, what do we have so far?",
    "Thanks a lot, Orb, that was useful.",
    "Good, Orb, now read the list.",
    # closing
    "Did she say yes or no, Orb?",
    "What did I promise my wife, Orb?",
    "Could you write that one down, Orb?",
    "How many goals have we set, Orb?",
    "When is our next call, Orb?",
    "Who was the third person we mentioned, Orb?",
    "Please add that to the summary, Orb.",
    "What was the word she used, Orb?",
    # mid-sentence
    "Tell me, Orb, is that realistic?",
    "Now then, Orb, what is your view?",
    "Listen, Orb, keep that private.",
    # hotword forms
    "Hey Orb, how many minutes are left?",
    "Okay Orb, what was the first goal?",
    "Hello Orb, what did I miss?",
    # the name alone, then a pause
    "Orb. Please sum up the last ten minutes.",
    "Orb? What did we decide about the car?",
    # the coach's phrasing
    "Orb, how many times did she say maybe?",
    "Orb, list the reasons she gave for waiting.",
    # the client's phrasing
    "Orb, am I being unfair to him?",
    "Orb, what would you do in my place?",
    # short imperatives
    "Orb, tally them.",
    "Orb, log that.",
    "Orb, proceed.",
    "File that, Orb.",
)
#: Human-to-human lines (68), each said in three voices: hard near misses.
FRESH13_UNADDRESSED = (
    # "Or, ..." set off and said by a person
    "Or, when did she start the new job?",
    "Or, how many sessions have we had?",
    "Or, would Friday suit you better?",
    "Or, what about asking your sister?",
    "Or, do you want to skip that part?",
    "Or, maybe we try it for a month.",
    "Or, who else could help you with it?",
    "Or, can it wait until next time?",
    # "or" after two- and three-word openers
    "Before we stop, or after, we can decide.",
    "Just quickly, or is this a long one?",
    "For my sake, or for yours, let it go.",
    "If possible, or if not, tell me soon.",
    "Going back, or going forward, which is it?",
    "To sum up, or to start again?",
    "All in all, or mostly, it went well.",
    "At this point, or a bit later, we could break.",
    "Speaking of which, or whom, who called?",
    "Great, or maybe just good, I think.",
    # "or" closing or mid-sentence where the name could be
    "Did she say yes or no?",
    "Should we write that down, or?",
    "Is that all for today, or?",
    "Was it your mother or your aunt?",
    "Do you want to stop now or later?",
    "Red or blue, which did you pick?",
    # other short names where the name would be
    "Rob, how many sessions have we had?",
    "Bob, give me the three main points.",
    "Before we stop, Tom, what did we cover?",
    "Just quickly, Rob, how long was that?",
    "Could you write that one down, Bob?",
    "When is our next call, Ross?",
    "Thanks a lot, Rob, that was useful.",
    "Tell me, Oz, is that realistic?",
    # orb-like words
    "The moon takes a month to orbit us.",
    "She was absorbed in her book all day.",
    "Order the boxes before Friday.",
    "The orchard behind the house is gone.",
    "His orbit of friends is small.",
    "A glass orb sat on the shelf.",
    "The ordinary plan was fine.",
    "Or else we lose the deposit.",
    # the orb talked about, in the third person
    "Does the orb keep all our notes?",
    "I wonder what the orb made of that.",
    "The orb can stay quiet for now.",
    "Did the orb catch her name?",
    "We can check with the orb at the end.",
    # acknowledgements and openers without the name
    "Before we stop, what did we cover?",
    "Just quickly, how long was that?",
    "To sum up, what are the actions?",
    "One more thing, note the price.",
    "All in all, how did I do?",
    "Alright, what do we have so far?",
    "Great, put that down.",
    "Good, now read the list.",
    "Thanks a lot, that was useful.",
    # the addressed sentences' shapes without the name
    "How many sessions have we had?",
    "When did she start the new job?",
    "Could you write that one down?",
    "How many goals have we set?",
    "When is our next call?",
    "What was the word she used?",
    "Tell me, is that realistic?",
    "Now then, what is your view?",
    "Tally them.",
    "Log that.",
    "Proceed.",
    "File that.",
    "Am I being unfair to him?",
    "What would you do in my place?",
)


def fresh13_turns(voices: tuple[str, ...]) -> list[dict[str, Any]]:
    """52 addressed sentences in two voices (104 turns) and 68 unaddressed lines in three
    voices (204 turns), coach and client in turn; numbered from 11000."""
    return spread_turns(FRESH13_ADDRESSED, FRESH13_UNADDRESSED, voices, 11000)
