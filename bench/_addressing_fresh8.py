"""The eighth held-out set of whom the orb talks to (``party.py --addressing --set fresh8``).

Written at the start of issue 24's eighth round, before any rule of that round was changed,
and committed unrun; it is run once, after that round's design is frozen. Same layout as
fresh6 and fresh7 (52 requests in two voices each: 104 addressed turns; 68 human-to-human
lines in three voices each: 204 unaddressed turns; the voices turning with the sentence over
Piper's joe and four espeak-ng variants), new sentences. The addressed turns put the name at
the opening, the closing, in mid-sentence, after "Hey"/"Okay"/"Hi" (the hotword forms), after
a thanks, alone before a pause, and in short imperatives. The unaddressed lines are hard
near misses: other short names set off ("Rob,", "Bob,", "Rory,", "Orla,", "Rob's"), "or"
set off at a sentence's opening and closing (before requests too), "orbit", "absorb",
"order", the orb talked about, contractions ("what's", "that's") and the requests' shapes
without the name. Written for this project; nothing fetched.
"""

from __future__ import annotations

from typing import Any

from _addressing_fresh6 import spread_turns

#: Requests that name the orb (52), each said in two voices.
FRESH8_ADDRESSED = (
    # opening, bare
    "Orb, what's the next step for me?",
    "Orb, could you read back my goals?",
    "Orb, how many times did I mention work?",
    "Orb, which option did we pick?",
    "Orb, where did we leave the plan last time?",
    "Orb, make a note of the new date.",
    "Orb, does that match what I said before?",
    # closing
    "What's on the list so far, Orb?",
    "Can you tell us how long we have left, Orb?",
    "Which of those ideas did I like best, Orb?",
    "Did I promise anything this week, Orb?",
    "Read me the second point, Orb.",
    "Add that to the summary, Orb.",
    "What would you suggest, Orb?",
    # mid-sentence
    "So, Orb, what's your view on this?",
    "Okay then, Orb, can you count the tasks?",
    "Listen, Orb, could you write this down?",
    "Now, Orb, what did she say about money?",
    "If you don't mind, Orb, recap the morning.",
    "Quick question, Orb, when did we start?",
    "By the way, Orb, is the timer still running?",
    "Last thing, Orb, what should I read tonight?",
    # hotword forms and thanks before the name
    "Hey Orb, what's our main goal today?",
    "Hey Orb, note this one.",
    "Okay Orb, sum up the last ten minutes.",
    "Okay Orb, what did I forget?",
    "Hi Orb, could you read the plan out?",
    "Hello Orb, are you still with us?",
    "Thanks Orb, and what's the third one?",
    "Thank you Orb, could you save that too?",
    "Excuse me Orb, what was that number?",
    "Right Orb, what's left to cover?",
    # the name alone, then a pause
    "Orb. What's your take on that?",
    "Orb? Are you listening?",
    "Orb. Write that down for us, please.",
    "Orb? What time is it now?",
    # the coach's phrasing
    "Orb, please pull out the client's three goals.",
    "Orb, could you summarise the actions we agreed?",
    "Can you list what the client is worried about, Orb?",
    "Orb, what did the client say about her manager?",
    # the client's phrasing
    "Orb, do you think I'm ready for the interview?",
    "How do I say no politely, Orb?",
    "Orb, help me word the first line.",
    "Is this goal realistic, Orb?",
    # short imperatives
    "Orb, note it.",
    "Orb, spell it out.",
    "Orb, sum up.",
    "Orb, start the list.",
    "Orb, repeat that.",
    "Hold that thought, Orb.",
    "Orb, help us.",
    "Orb, check the time.",
)
#: Human-to-human lines (68), each said in three voices: hard near misses.
FRESH8_UNADDRESSED = (
    # other short names set off, before requests too
    "Rob, what's your plan for the weekend?",
    "Rob, could you pass me the pen?",
    "Bob, can you read that back to me?",
    "Bob, what did your manager say?",
    "Rory, how was the trip?",
    "Rory, could you call me later?",
    "Orla, what's the name of that book?",
    "Orla, can you send the link?",
    "Rob's idea was better, I think.",
    "Rob's sister starts next week.",
    "What do you think, Rob?",
    "Thanks Bob, that's really kind.",
    "Sorry Rory, could you say that again?",
    "Hey Rob, are you still there?",
    # "or" set off at a sentence's opening or closing, before requests too
    "Or, what's the worst that could happen?",
    "Or, could you ask for more time?",
    "Or, can we move it to Friday?",
    "Or, how about a short walk first?",
    "Or, let's just try it and see.",
    "Or maybe you could ask her directly.",
    "Or we leave it until next month.",
    "Do you want to call her, or?",
    "Shall we take five, or?",
    "Tea or coffee, what would you like?",
    # orbit, absorb, order and words that begin alike
    "Mars has two moons in orbit around it.",
    "He's in her orbit now, for better or worse.",
    "It takes a while to absorb all that.",
    "Sponges absorb the water quickly.",
    "Let's put them in order first.",
    "I'd order the big one next time.",
    "Orchids need very little water.",
    "The orchestra was brilliant last night.",
    "Ordinary life can feel heavy.",
    "Oral exams make me nervous.",
    # the orb talked about
    "I think the orb wrote that down already.",
    "Has the orb said anything about it?",
    "The orb's summary was a bit long.",
    "We could ask the orb at the end.",
    "That orb on the screen keeps glowing.",
    "My daughter drew a glowing orb.",
    # contractions, "all", "oh", greetings and thanks without the name
    "What's the next step for you?",
    "What's on your list so far?",
    "That's a good point, actually.",
    "It's been a long week.",
    "All right, what's next?",
    "All of them, could you check?",
    "Oh, what's that noise?",
    "Oh well, let's move on.",
    "Hey, what's our main goal today?",
    "Okay, sum up the last ten minutes for me.",
    "Hi, could you read the plan out?",
    "Thanks, and what's the third one?",
    "Excuse me, what was that number?",
    "Right, what's left to cover?",
    # the addressed sentences' shapes without the name
    "So, what's your view on this?",
    "Listen, could you write this down?",
    "Now, what did she say about money?",
    "Quick question, when did we start?",
    "By the way, is the timer still running?",
    "Which of those ideas did you like best?",
    "Did you promise anything this week?",
    "Read me the second point.",
    "What would you suggest?",
    "Note it.",
    "Spell it out.",
    "Start the list.",
    "Check the time.",
    "Is this goal realistic?",
)


def fresh8_turns(voices: tuple[str, ...]) -> list[dict[str, Any]]:
    """52 addressed sentences in two voices (104 turns) and 68 unaddressed lines in three
    voices (204 turns), coach and client in turn; numbered from 6000."""
    return spread_turns(FRESH8_ADDRESSED, FRESH8_UNADDRESSED, voices, 6000)
