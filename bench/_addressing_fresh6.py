"""The sixth held-out set of whom the orb talks to (``party.py --addressing --set fresh6``).

Written at the start of issue 24's sixth round, before any rule of that round was changed,
and committed unrun; it is run once, after that round's design is frozen. Same shape as
fresh5 (each addressed turn its own sentence, the name where people put it: opening, closing,
in mid-sentence, after a greeting or a thanks, alone before a pause; short imperatives), but
bigger: 52 requests in two voices each (104 addressed turns) and 68 human-to-human lines in
three voices each (204 unaddressed turns), the voices turning with the sentence over Piper's
joe and four espeak-ng variants. The unaddressed lines are near misses: "or maybe", "or" set
off at either end and before a request ("Or, could you..."), "orbit", "order", "absorb", "all
right", the orb talked about ("I told the orb yesterday"), the requests' shapes without the
name. Written for this project; nothing fetched.
"""

from __future__ import annotations

from typing import Any

#: Requests that name the orb (52), each said in two voices.
FRESH6_ADDRESSED = (
    # opening, bare
    "Orb, what was the second thing she said?",
    "Orb, could you jot down that deadline?",
    "Orb, remind us what the goal for March was.",
    "Orb, is there a pattern in what I keep saying?",
    "Orb, give me two options for tomorrow.",
    "Orb, how would you phrase that more kindly?",
    "Orb, where did we leave off last week?",
    # closing
    "What is on my list so far, Orb?",
    "Can you keep track of the time, Orb?",
    "Would you add that to the notes, Orb?",
    "Which of those ideas is strongest, Orb?",
    "Tell us what you noticed, Orb.",
    "Write that one down, Orb.",
    "Any thoughts on this, Orb?",
    # mid-sentence
    "And you, Orb, what would you add?",
    "Now tell me, Orb, did I say that right?",
    "Look, Orb, can we go over the plan again?",
    "Honestly, Orb, what do you make of it?",
    "Okay so, Orb, what was my first point?",
    "Before we stop, Orb, can you recap the goals?",
    "If you can, Orb, note the date for me.",
    "Just quickly, Orb, how long have we been talking?",
    # greetings and thanks before the name
    "Hey Orb, what did I promise to do by Monday?",
    "Hey Orb, keep a note of that.",
    "Okay Orb, what should I ask him next?",
    "Okay Orb, summary please.",
    "Hi Orb, could you help with a plan?",
    "Hello Orb, are you taking notes?",
    "Thanks Orb, can you go on?",
    "Thank you Orb, and what else?",
    "Sorry Orb, what was that last part?",
    "Right Orb, what have we got so far?",
    # the name alone, then a pause
    "Orb. Can you give me a hand?",
    "Orb? What did you hear there?",
    "Orb. Write this down, please.",
    "Orb? Is now a good time to wrap up?",
    # the coach's phrasing
    "Orb, please capture the client's three commitments.",
    "Orb, can you read back the action items before we close?",
    "Could you draw out the main theme for us, Orb?",
    "Orb, what questions have we not covered yet?",
    # the client's phrasing
    "Orb, do you think I am overthinking this?",
    "What should I say to my team, Orb?",
    "Orb, help me find the right words.",
    "Am I on the right track, Orb?",
    # short imperatives
    "Orb, note that.",
    "Orb, read it back.",
    "Orb, sum it up.",
    "Orb, go ahead.",
    "Orb, next question.",
    "Save that, Orb.",
    "Orb, keep going.",
    "Orb, your turn.",
)
#: Human-to-human lines (68), each said in three voices: near misses of every form above.
FRESH6_UNADDRESSED = (
    # "or" opening, closing or set off, before requests too
    "Or maybe we leave it until Friday.",
    "Or maybe you are right after all.",
    "Or, could you tell me what happened next?",
    "Or, would you rather start with the budget?",
    "Or, can we look at the harder one first?",
    "Or, what about asking your manager?",
    "Or, let me put it another way.",
    "Or, honestly, we could skip that part.",
    "Or we could meet earlier next time.",
    "Or perhaps that is asking too much.",
    "Was that the real reason, or?",
    "Do you want to keep going, or?",
    "Shall we stop here, or?",
    "Coffee or tea before we start?",
    "Is it this week or next week?",
    "You can call or write, either works.",
    # orbit, order, absorb, words that begin alike
    "The satellite stays in orbit for years.",
    "His whole life orbits around the job.",
    "Let us sort these in order first.",
    "In order to change, you need support.",
    "I placed an order for new shoes.",
    "Everything is out of order today.",
    "It takes time to absorb all of this.",
    "The sponge will absorb the water.",
    "Orchestras practise for months.",
    "The orchard behind the house is big.",
    "Organise the list by priority.",
    "Ordinary days matter too.",
    # the orb talked about
    "I told the orb yesterday how nervous I was.",
    "Has the orb been recording all this?",
    "The orb gave a good summary last time.",
    "I think the orb missed that part.",
    "Let the orb keep listening for now.",
    "We can ask the orb later.",
    "That orb on the shelf was a gift.",
    "The glowing orb in the film scared me.",
    # "all", "oh", greetings and thanks without the name
    "All right, shall we begin?",
    "All right, can you tell me about your week?",
    "All set, let us move on.",
    "All in all, a good session.",
    "Oh, could you say that again?",
    "Oh well, it happens.",
    "Okay, let us write that down.",
    "Okay, summary please.",
    "Hey, what did you promise to do by Monday?",
    "Hello, are you taking notes?",
    "Thanks, can you go on?",
    "Thank you, and what else?",
    "Sorry, what was that last part?",
    "Right, what have we got so far?",
    # the addressed sentences' shapes without the name
    "And you, what would you add?",
    "Now tell me, did I say that right?",
    "Look, can we go over the plan again?",
    "Honestly, what do you make of it?",
    "Before we stop, can you recap your goals?",
    "Just quickly, how long have you been there?",
    "What is on your list so far?",
    "Can you keep track of your spending?",
    "Which of those ideas is strongest?",
    "Write that one down.",
    "Any thoughts on this?",
    "Note that.",
    "Read it back.",
    "Sum it up for me.",
    "Go ahead.",
    "Keep going.",
    "Your turn.",
    "Am I on the right track?",
)


def fresh6_turns(voices: tuple[str, ...]) -> list[dict[str, Any]]:
    """52 addressed sentences in two voices (104 turns) and 68 unaddressed lines in three
    voices (204 turns), coach and client in turn; numbered from 4000."""
    return spread_turns(FRESH6_ADDRESSED, FRESH6_UNADDRESSED, voices, 4000)


def spread_turns(addressed: tuple[str, ...], unaddressed: tuple[str, ...],
                 voices: tuple[str, ...], first: int) -> list[dict[str, Any]]:
    """Each addressed sentence in two voices and each unaddressed line in three, coach and
    client in turn, numbered from ``first``: the layout of fresh6 and the sets after it."""
    rows: list[dict[str, Any]] = []
    for k, text in enumerate(addressed):
        for j in range(2):
            rows.append({"addressed": True, "text": text,
                         "voice": voices[(k + 2 * j) % len(voices)],
                         "role": "coach" if (k + j) % 2 else "client"})
    for k, text in enumerate(unaddressed):
        for j in range(3):
            rows.append({"addressed": False, "text": text,
                         "voice": voices[(k + 2 * j + 1) % len(voices)],
                         "role": "coach" if (k + j) % 2 == 0 else "client"})
    for n, row in enumerate(rows):
        row["n"] = first + n
    return rows
