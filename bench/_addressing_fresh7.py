"""The seventh held-out set of whom the orb talks to (``party.py --addressing --set fresh7``).

Written at the start of issue 24's seventh round, before any rule of that round was changed,
and committed unrun; it is run once, after that round's design is frozen. Same kind of mix as
fresh6 (each addressed turn its own sentence, the name where people put it: opening, closing,
in mid-sentence, after a greeting or a thanks, alone before a pause; short imperatives), with
new sentences: 52 requests in two voices each (104 addressed turns) and 68 human-to-human
lines in three voices each (204 unaddressed turns), the voices turning with the sentence over
Piper's joe and four espeak-ng variants. The unaddressed lines are near misses: "or maybe",
"or" set off at either end and before a request, "orbit", "order", "absorb", "all right",
the orb talked about, other people's names, the requests' shapes without the name. Written
for this project; nothing fetched.
"""

from __future__ import annotations

from typing import Any

from _addressing_fresh6 import spread_turns

#: Requests that name the orb (52), each said in two voices.
FRESH7_ADDRESSED = (
    # opening, bare
    "Orb, what did we agree on about the budget?",
    "Orb, can you list the three options again?",
    "Orb, how long did I say the project would take?",
    "Orb, would you note that for next time?",
    "Orb, what was her main worry?",
    "Orb, tell me what I said about sleep.",
    "Orb, is that consistent with last week?",
    # closing
    "What did I say my deadline was, Orb?",
    "Could you summarise that last bit, Orb?",
    "How many goals do we have now, Orb?",
    "Is there anything we forgot, Orb?",
    "Remind me of the first step, Orb.",
    "Put that on the list, Orb.",
    "What do you reckon, Orb?",
    # mid-sentence
    "So tell me, Orb, what stood out today?",
    "Well, Orb, how did that sound to you?",
    "Right then, Orb, can you read the list?",
    "Actually, Orb, could you check the time?",
    "And now, Orb, what should we focus on?",
    "Before I forget, Orb, write down the date.",
    "Just to check, Orb, did I mention my sister?",
    "One more thing, Orb, how many sessions are left?",
    # greetings and thanks before the name
    "Hey Orb, what time did we start?",
    "Hey Orb, jot that down.",
    "Okay Orb, give us a recap.",
    "Okay Orb, what comes next?",
    "Hi Orb, can you help me plan the week?",
    "Hello Orb, did you catch that?",
    "Thanks Orb, and what about the second one?",
    "Thank you Orb, can you keep that?",
    "Sorry Orb, could you repeat that?",
    "Right Orb, where are we now?",
    # the name alone, then a pause
    "Orb. What do you think of that?",
    "Orb? Can you hear me?",
    "Orb. Save this for later, please.",
    "Orb? How are we doing on time?",
    # the coach's phrasing
    "Orb, please list what the client wants to change.",
    "Orb, could you sum up the session so far?",
    "Can you pull out the key decisions for us, Orb?",
    "Orb, what has the client committed to?",
    # the client's phrasing
    "Orb, am I being too hard on myself?",
    "How should I start that conversation, Orb?",
    "Orb, give me a first sentence for the email.",
    "Does that plan make sense, Orb?",
    # short imperatives
    "Orb, write that.",
    "Orb, say it again.",
    "Orb, wrap it up.",
    "Orb, carry on.",
    "Orb, list them.",
    "Keep that, Orb.",
    "Orb, remind me.",
    "Orb, over to you.",
)
#: Human-to-human lines (68), each said in three voices: near misses of every form above.
FRESH7_UNADDRESSED = (
    # "or" opening, closing or set off, before requests too
    "Or maybe we should ask your coach.",
    "Or maybe it was the week before.",
    "Or, could you try it the other way?",
    "Or, would it help to write it down?",
    "Or, can you think of another example?",
    "Or, what if you said no?",
    "Or, let us come back to that later.",
    "Or, to be fair, it was not your fault.",
    "Or we could stop for a minute.",
    "Or else the deadline slips again.",
    "Is that what you meant, or?",
    "Should we write it down, or?",
    "Are you happy with that, or?",
    "Morning or evening, which suits you?",
    "Was it Tuesday or Wednesday?",
    "You can stay or go, it is up to you.",
    # orbit, order, absorb, words that begin alike
    "The moon takes a month to orbit the earth.",
    "We are in the orbit of a big company.",
    "Put the tasks in order of importance.",
    "In order to finish, we need one more week.",
    "The order came late again.",
    "The lift is out of order.",
    "Let that absorb for a day or two.",
    "These towels absorb a lot.",
    "Orange is her favourite colour.",
    "The organ played at the wedding.",
    "Oregon is where my brother lives.",
    "An ordeal like that takes time to heal.",
    # the orb talked about
    "I asked the orb about this last week.",
    "Did the orb write any of that down?",
    "The orb said something useful earlier.",
    "Maybe the orb can help us later.",
    "I do not think the orb heard you.",
    "The orb keeps a list, I believe.",
    "She bought a crystal orb at the market.",
    "The orb on the lamp is cracked.",
    # other names, "all", "oh", greetings and thanks without the name
    "Rob, what did you think of it?",
    "Bob, could you send me the notes?",
    "Thanks Tom, that helps.",
    "Hey Anna, how was your week?",
    "All right, let us start with your goals.",
    "All right, could you tell me more?",
    "All done, shall we wrap up?",
    "Oh, can you say more about that?",
    "Oh no, I forgot the file.",
    "Okay, let us note that.",
    "Okay, give me a recap.",
    "Hey, what time did we start?",
    "Hello, did you catch that?",
    "Thanks, and what about the second one?",
    "Sorry, could you repeat that?",
    "Right, where are we now?",
    # the addressed sentences' shapes without the name
    "So tell me, what stood out today?",
    "Well, how did that sound to you?",
    "Actually, could you check your calendar?",
    "Before I forget, write down the date.",
    "One more thing, how many sessions are left?",
    "What did you say your deadline was?",
    "Is there anything we forgot?",
    "Put that on your list.",
    "What do you reckon?",
    "Write that.",
    "Say it again.",
    "Wrap it up.",
    "Carry on.",
    "Over to you.",
    "Does that plan make sense to you?",
    "How should I start that conversation?",
)


def fresh7_turns(voices: tuple[str, ...]) -> list[dict[str, Any]]:
    """52 addressed sentences in two voices (104 turns) and 68 unaddressed lines in three
    voices (204 turns), coach and client in turn; numbered from 5000."""
    return spread_turns(FRESH7_ADDRESSED, FRESH7_UNADDRESSED, voices, 5000)
