"""The fourteenth held-out set of whom the orb talks to (``party.py --addressing --set fresh14``).

Written at the start of issue 24's fourteenth round, before any rule of that round was
changed, and committed unrun (not rendered either); it is run once, after that round's design
is frozen. Same layout as fresh6 to fresh13 (52 requests in two voices each: 104 addressed
turns; 68 human-to-human lines in three voices each: 204 unaddressed turns; the voices turning
with the sentence over Piper's joe and four espeak-ng variants), new sentences (none in an
earlier set). The hard kinds met so far keep their share: the bare "Orb," opening, the name
after two- and three-word phrases, the closing ", Orb?", on the addressed side; a person's
"Or," opening, "or" after the same phrases, "or" closing a question, other short names near
the end ("…, Bob?") and where the name opens, orb-like words, the orb in the third person and
the requests' shapes without the name, on the other. Written for this project; nothing fetched.
"""

from __future__ import annotations

from typing import Any

from _addressing_fresh6 import spread_turns

#: Requests that name the orb (52), each said in two voices.
FRESH14_ADDRESSED = (
    # opening, bare
    "Orb, what did he say about the lease?",
    "Orb, how often did I mention money?",
    "Orb, note that she is moving in June.",
    "Orb, which goal did we drop?",
    "Orb, when is her next exam?",
    "Orb, read back my last sentence.",
    "Orb, who suggested the coach swap?",
    "Orb, how long have we been going?",
    "Orb, put the budget on the list.",
    "Orb, what did we agree about weekends?",
    "Orb, is there anything we missed?",
    "Orb, write down the new deadline.",
    # the name after a two- or three-word opener
    "Just so you know, Orb, we start late next week.",
    "Coming back to it, Orb, what was the plan?",
    "On that note, Orb, how many are left?",
    "For the notes, Orb, she said no.",
    "Looking ahead, Orb, what comes next?",
    "In that case, Orb, mark it as done.",
    "As a reminder, Orb, what did I commit to?",
    "Right then, Orb, give me a summary.",
    "Out of curiosity, Orb, how long did I talk?",
    "Last question, Orb, when do we meet?",
    "While we wait, Orb, read out the goals.",
    "By any chance, Orb, did she name the firm?",
    # an acknowledgement before the name
    "Okay then, Orb, save that.",
    "Perfect, Orb, what else is open?",
    "Sure, Orb, list them for me.",
    "Nice, Orb, add that one too.",
    # closing
    "Which day did we pick, Orb?",
    "How did the talk with her boss go, Orb?",
    "Can you keep that for next time, Orb?",
    "What was the name of the school, Orb?",
    "How many steps are on the plan, Orb?",
    "Did I say Tuesday or Thursday, Orb?",
    "Please read that part again, Orb.",
    "What did she want to change, Orb?",
    # mid-sentence
    "Quick one, Orb, what time is it?",
    "So tell us, Orb, does that add up?",
    "Look, Orb, just note the date.",
    # hotword forms
    "Hey Orb, what were her three options?",
    "Okay Orb, how did we start today?",
    "Hi Orb, can you sum this up?",
    # the name alone, then a pause
    "Orb. What was the last thing I said?",
    "Orb? Could you list the next steps?",
    # the coach's phrasing
    "Orb, how many goals did she meet this month?",
    "Orb, summarise her worries in two lines.",
    # the client's phrasing
    "Orb, am I asking too much of myself?",
    "Orb, was I clear enough just now?",
    # short imperatives
    "Orb, move along.",
    "Orb, tidy that up.",
    "Orb, store it.",
    "Jot that, Orb.",
)
#: Human-to-human lines (68), each said in three voices: hard near misses.
FRESH14_UNADDRESSED = (
    # "Or, ..." set off and said by a person
    "Or, what did he say about the lease?",
    "Or, which goal did we drop?",
    "Or, is Monday easier for you?",
    "Or, should we ask your manager?",
    "Or, how about a shorter plan?",
    "Or, we could leave it for now.",
    "Or, what if he turns it down?",
    "Or, is that too much to ask?",
    # "or" after two- and three-word openers
    "Coming back to it, or not, your call.",
    "On that note, or another one, we stop.",
    "Looking ahead, or looking back, it was hard.",
    "In that case, or in any case, we wait.",
    "Right then, or right now, which is better?",
    "Out of curiosity, or out of worry?",
    "Last question, or maybe two, then we stop.",
    "By any chance, or by design?",
    "Perfect, or close enough, I would say.",
    "Sure, or at least I think so.",
    # "or" closing or mid-sentence where the name could be
    "Did I say Tuesday or Thursday?",
    "Can you keep that for next time, or?",
    "Are we finished for today, or?",
    "Was it the school or the club?",
    "Shall we start now or wait?",
    "Tea or coffee, what do you want?",
    # other short names where the name would be
    "Bob, what did he say about the lease?",
    "Rob, note that she is moving in June.",
    "On that note, Tom, how many are left?",
    "Right then, Ross, give me a summary.",
    "Can you keep that for next time, Bob?",
    "Which day did we pick, Rob?",
    "What was the name of the school, Tom?",
    "Look, Oz, just note the date.",
    # orb-like words
    "The satellite went into orbit last night.",
    "Sound is absorbed by the carpet.",
    "In order to win, we need more time.",
    "The orchestra played until late.",
    "She was in her own little orbit.",
    "Her earrings had a small orb on each.",
    "Nothing out of the ordinary happened.",
    "Or we could just go home.",
    # the orb talked about, in the third person
    "Does the orb write down everything?",
    "I think the orb missed that last bit.",
    "Let the orb finish its summary later.",
    "Has the orb said anything today?",
    "We can ask the orb after the break.",
    # acknowledgements and openers without the name
    "Coming back to it, what was the plan?",
    "On that note, how many are left?",
    "Looking ahead, what comes next?",
    "In that case, mark it as done.",
    "Right then, give me a summary.",
    "Okay then, save that.",
    "Perfect, what else is open?",
    "Sure, list them for me.",
    "Nice, add that one too.",
    # the addressed sentences' shapes without the name
    "Which day did we pick?",
    "How did the talk with her boss go?",
    "Can you keep that for next time?",
    "What was the name of the school?",
    "How many steps are on the plan?",
    "What did she want to change?",
    "Quick one, what time is it?",
    "So tell us, does that add up?",
    "Move along.",
    "Tidy that up.",
    "Store it.",
    "Jot that.",
    "Am I asking too much of myself?",
    "Was I clear enough just now?",
)


def fresh14_turns(voices: tuple[str, ...]) -> list[dict[str, Any]]:
    """52 addressed sentences in two voices (104 turns) and 68 unaddressed lines in three
    voices (204 turns), coach and client in turn; numbered from 12000."""
    return spread_turns(FRESH14_ADDRESSED, FRESH14_UNADDRESSED, voices, 12000)
