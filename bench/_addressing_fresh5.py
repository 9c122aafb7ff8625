"""The fifth held-out set of whom the orb talks to (``party.py --addressing --set fresh5``).

Written at the start of issue 24's fifth round, before any rule of that round was changed,
and committed unrun; it is run once, after that round's design is frozen. Unlike the earlier
sets (a request in five fixed forms) each addressed turn is its own sentence, with the name
where people put it: opening, closing, in mid-sentence, after "Hey"/"Okay"/"Hi"/"Hello", and
alone before a pause ("Orb. What do you make of this?"); questions and imperatives, in the
coach's and the client's phrasing. The unaddressed lines are near misses of every one of
those: the same sentences without the name, "or maybe", "or" set off at either end, "orbit",
"order", "all right", "absorb", the orb talked about ("I told the orb yesterday").
Written for this project; nothing fetched.
"""

from __future__ import annotations

from typing import Any

#: Requests that name the orb (55): the name in new positions and forms.
FRESH5_ADDRESSED = (
    # opening, bare
    "Orb, what should I write down first?",
    "Orb, can you check the time for us?",
    "Orb, tell me what you heard just now.",
    "Orb, would you sum up the last ten minutes?",
    "Orb, how many goals have I set today?",
    "Orb, please suggest a question I could ask her.",
    # closing
    "What did we decide about Tuesday, Orb?",
    "Can you note that down for me, Orb?",
    "Is that a realistic plan, Orb?",
    "Give us a short summary, Orb.",
    "How would you put that, Orb?",
    "Please read my list back, Orb.",
    # mid-sentence
    "Could you, Orb, write that goal down?",
    "What do you think, Orb, is that enough?",
    "Tell me, Orb, what did I miss?",
    "So, Orb, what is the next step?",
    "Well, Orb, how does that sound to you?",
    "Right, Orb, what comes next?",
    "Now, Orb, can you give us a summary?",
    "Sorry Orb, could you say that again?",
    # "Hey Orb" / "Okay Orb" / "Hi Orb" / "Hello Orb"
    "Hey Orb, how long have we got left?",
    "Hey Orb, can you summarise the coach's advice?",
    "Hey Orb, please write down my three ideas.",
    "Hey Orb, do you have a tip for staying calm?",
    "Hey Orb, read back what I said.",
    "Okay Orb, what are my action items?",
    "Okay Orb, give me one more idea.",
    "Okay Orb, could you repeat the last point?",
    "Okay Orb, which goal should come first?",
    "Okay Orb, note that down.",
    "Hi Orb, what would you suggest here?",
    "Hello Orb, can you hear us?",
    # the name alone, then a pause
    "Orb. What do you make of this?",
    "Orb? Could you help us out here?",
    "Orb. Please list my goals.",
    "Orb? Are you there? Can you sum this up?",
    "Orb... what was my first goal again?",
    # the coach's phrasing
    "Orb, could you summarise what the client has said so far?",
    "Orb, please note the client's goal for this week.",
    "Would you capture that as an action item, Orb?",
    "Orb, what themes have you noticed in this session?",
    "Let us hear from the orb. Orb, what do you think?",
    "Orb, can you give us five minutes' warning before the end?",
    # the client's phrasing
    "Orb, am I being too hard on myself?",
    "Do you think I can do this, Orb?",
    "Help me word this email, Orb.",
    "Orb, what would you say to my manager?",
    "Orb, I need a reminder for Friday, can you set one?",
    # short imperatives
    "Orb, summarise the plan.",
    "Orb, list my next steps.",
    "Remind me of my promise, Orb.",
    "Orb, recap please.",
    "Thanks Orb, and what about the weekend?",
    "Orb, quick question, how much time is left?",
    "Orb, what do you think?",
)
#: Human-to-human lines (52), each said in two voices: near misses of every form above.
FRESH5_UNADDRESSED = (
    # "or" opening or closing, set off or not
    "Or maybe we should stop there.",
    "Or maybe not, I am not sure.",
    "Or, maybe, we could try Thursday.",
    "Or, could we move on to your goals?",
    "Or, how about a shorter list?",
    "Or, tell me more about that.",
    "Or, frankly, I could just leave early.",
    "Would that work for you, or?",
    "Is that too ambitious, or?",
    "Or else we run out of time.",
    "Or something like that.",
    "Or not. It is up to you.",
    "Either this or that, you choose.",
    # orbit, order, absorb, names that begin alike
    "The orbit of my thoughts is always work.",
    "We talked about orbits in class today.",
    "Put them in order of importance.",
    "In order to finish, I need more time.",
    "I ordered the book last night.",
    "The order of the steps matters.",
    "Absorb the feedback first, then act.",
    "Orlando is where my sister lives.",
    "Oregon was lovely last summer.",
    "The orbs in the painting were gold.",
    # the orb talked about
    "I told the orb yesterday that I was tired.",
    "Did the orb write that down?",
    "The orb is listening, right?",
    "My orb at home is a lamp.",
    "Your orb said I should rest.",
    "Our orb keeps good notes.",
    # "all" and greetings without the name
    "All right, let us begin.",
    "All right, what comes next?",
    "All good, thank you.",
    "All of that makes sense.",
    "Oh, I forgot about that.",
    "Okay, what did you decide?",
    "Okay, can you tell me more?",
    "Hey, how are you today?",
    "Hi, can you hear me?",
    "Hello, are you still there?",
    # the addressed sentences' shapes without the name
    "Well, what do you think?",
    "So, what is the next step?",
    "Right, what comes next?",
    "Sorry, can you repeat the last part?",
    "Thanks, and what about the weekend?",
    "Now, can you give me a summary of your week?",
    "Can you summarise your goals for me?",
    "Could you write that down for next time?",
    "What do you think, is that enough?",
    "Tell me, what did you miss?",
    "Please list your next steps.",
    "Remind me of your promise.",
    "Do you think you can do this?",
)


def fresh5_turns(voices: tuple[str, ...]) -> list[dict[str, Any]]:
    """55 addressed turns once each (the voice turning with the sentence) and 52 unaddressed
    lines in two voices each (159 turns), coach and client in turn; numbered from 3000."""
    rows: list[dict[str, Any]] = []
    for k, text in enumerate(FRESH5_ADDRESSED):
        rows.append({"addressed": True, "text": text, "voice": voices[k % len(voices)],
                     "role": "coach" if k % 2 else "client"})
    for k, text in enumerate(FRESH5_UNADDRESSED):
        for j in range(2):
            rows.append({"addressed": False, "text": text,
                         "voice": voices[(k + 2 * j + 1) % len(voices)],
                         "role": "coach" if k % 2 == 0 else "client"})
    for n, row in enumerate(rows):
        row["n"] = 3000 + n
    return rows
