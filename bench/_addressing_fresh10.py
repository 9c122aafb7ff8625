"""The tenth held-out set of whom the orb talks to (``party.py --addressing --set fresh10``).

Written at the start of issue 24's tenth round, before any rule of that round was changed,
and committed unrun; it is run once, after that round's design is frozen. Same layout as
fresh6 to fresh9 (52 requests in two voices each: 104 addressed turns; 68 human-to-human
lines in three voices each: 204 unaddressed turns; the voices turning with the sentence over
Piper's joe and four espeak-ng variants), new sentences (none in an earlier set). The
addressed turns lean on fresh9's misses: a thanks or acknowledgement word set off before the
name ("Cheers, Orb, ...", "Great, Orb, ...", "Right, Orb, ..."), a bare "Orb," at the
opening, the name at the closing and in mid-sentence; also "Hey"/"Okay" forms, the name
alone before a pause, short imperatives. The unaddressed lines are hard near misses: the same
acknowledgement words set off before "or" and before other short names ("Cheers, Rob,"),
"or" set off at either end before requests, "orb"-like words ("orbit", "adsorb", "Orbison",
"orchard", "ordeal"), the orb talked about in the third person, and the requests' shapes
without the name. Written for this project; nothing fetched.
"""

from __future__ import annotations

from typing import Any

from _addressing_fresh6 import spread_turns

#: Requests that name the orb (52), each said in two voices.
FRESH10_ADDRESSED = (
    # opening, bare
    "Orb, what was the first thing I wrote down?",
    "Orb, can you check how long we have left?",
    "Orb, which of my goals is closest to done?",
    "Orb, tell me what I promised myself.",
    "Orb, how often did I mention my brother?",
    "Orb, what did we decide about the gym?",
    "Orb, do you have the list from before?",
    # a thanks or acknowledgement word set off before the name
    "Cheers, Orb, could you send me the notes?",
    "Great, Orb, what should we cover next?",
    "Thanks, Orb, can you add that to the list?",
    "Right, Orb, how many points are left?",
    "Okay, Orb, what was the deadline again?",
    "Good, Orb, now read back the second goal.",
    "Perfect, Orb, can you save that for me?",
    "Lovely, Orb, what comes after that one?",
    "Well, Orb, is there anything we missed?",
    "So, Orb, what do you think she should try?",
    # closing
    "What did I say about my manager, Orb?",
    "Can you list the options we have, Orb?",
    "How far did we get last time, Orb?",
    "Which one did she choose in the end, Orb?",
    "Put that on the action list, Orb.",
    "Give me a one line summary, Orb.",
    "Is that a realistic goal, Orb?",
    # mid-sentence
    "Quick question, Orb, how long was that pause?",
    "If you can, Orb, keep a note of that.",
    "Be honest, Orb, was that a clear answer?",
    "Just to check, Orb, did we agree on Friday?",
    "Between us, Orb, what is she avoiding?",
    "While we wait, Orb, could you count the actions?",
    "Now then, Orb, where were we?",
    # hotword forms
    "Hey Orb, what is the plan for today?",
    "Okay Orb, list the three priorities.",
    "Hi Orb, did you get all of that?",
    "Thanks Orb, could you keep that one?",
    # the name alone, then a pause
    "Orb. What did she just agree to?",
    "Orb? Are you still with us?",
    "Orb. Read the last goal back to me.",
    # the coach's phrasing
    "Orb, note the client's main worry for today.",
    "Can you capture what she committed to, Orb?",
    "Orb, which themes came up more than once?",
    # the client's phrasing
    "Orb, am I being too hard on myself?",
    "What would you try first, Orb?",
    "Orb, help me say this more clearly.",
    # short imperatives
    "Orb, note that.",
    "Orb, say it again.",
    "Orb, scratch that.",
    "Orb, sum up.",
    "Orb, next one.",
    "Add it, Orb.",
    "Orb, hold on.",
    "Orb, list them.",
)
#: Human-to-human lines (68), each said in three voices: hard near misses.
FRESH10_UNADDRESSED = (
    # acknowledgement words set off before "or" and other short names
    "Cheers, or should I say thank you very much.",
    "Great, or at least better than last week.",
    "Right, or was it the other way round?",
    "Okay, or we could just leave it for now.",
    "Thanks, or is that too early to say?",
    "Well, or maybe not, who knows.",
    "Cheers, Rob, could you send me the notes?",
    "Great, Bob, what should we cover next?",
    "Right, Tom, how many points are left?",
    "Thanks, Ross, can you add that to the list?",
    "Okay, Rob, what was the deadline again?",
    "So, Bob, what do you think she should try?",
    # other short names at the opening, closing and mid-sentence
    "Rob, what was the first thing you wrote down?",
    "Bob, can you check how long we have left?",
    "What did you say about your manager, Rob?",
    "Is that a realistic goal, Bob?",
    "Be honest, Tom, was that a clear answer?",
    "Just to check, Ross, did we agree on Friday?",
    # "or" set off at a sentence's opening or closing, before requests too
    "Or, what if the meeting runs over?",
    "Or, could you ask her directly?",
    "Or, how about a shorter list?",
    "Or, should we leave it there?",
    "Or not, it's up to you.",
    "Or else we start again on Monday.",
    "Shall we carry on, or?",
    "Is that enough for today, or?",
    "Tea or coffee, what would you like?",
    "Sooner or later she will ask.",
    # orb-like words
    "The satellite went out of orbit.",
    "Roy Orbison was my dad's favourite.",
    "Carbon can adsorb a lot of gas.",
    "We walked through the orchard on Sunday.",
    "The whole move was an ordeal.",
    "The orchestra played far too loud.",
    "I ordered the wrong size again.",
    "It was an ordinary week, really.",
    "Her orbit of friends is quite small.",
    "The sponge will absorb the spill.",
    # the orb talked about, in the third person
    "The orb will probably summarise it later.",
    "Has the orb been listening all along?",
    "I asked the orb about that on Tuesday.",
    "Maybe the orb can keep the list.",
    "That orb on the screen looks a bit odd.",
    "My daughter calls it the orb thing.",
    # acknowledgements and greetings without the name
    "Cheers, could you send me the notes?",
    "Great, what should we cover next?",
    "Thanks, can you add that to your list?",
    "Right, how many points are left?",
    "Okay, what was the deadline again?",
    "Good, now read back your second goal.",
    "Perfect, can you save some for me?",
    "Lovely, what comes after that one?",
    "So, what do you think you should try?",
    "Hey, what is the plan for today?",
    "Hi, did you get all of that?",
    # the addressed sentences' shapes without the name
    "Quick question, how long was that pause?",
    "If you can, keep a note of that.",
    "Between us, what is she avoiding?",
    "Now then, where were we?",
    "What did I say about my manager?",
    "Can you list the options we have?",
    "How far did we get last time?",
    "Put that on your action list.",
    "What would you try first?",
    "Note that.",
    "Say it again.",
    "Scratch that.",
    "Hold on.",
)


def fresh10_turns(voices: tuple[str, ...]) -> list[dict[str, Any]]:
    """52 addressed sentences in two voices (104 turns) and 68 unaddressed lines in three
    voices (204 turns), coach and client in turn; numbered from 8000."""
    return spread_turns(FRESH10_ADDRESSED, FRESH10_UNADDRESSED, voices, 8000)
