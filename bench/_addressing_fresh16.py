"""The sixteenth held-out set of whom the orb talks to (``party.py --addressing --set fresh16``).

Written at the start of issue 24's sixteenth round, before any rule of that round was
changed, and committed unrun (not rendered either); it is run once, after that round's design
is frozen. Same layout as fresh6 to fresh15 (52 requests in two voices each: 104 addressed
turns; 68 human-to-human lines in three voices each: 204 unaddressed turns; the voices turning
with the sentence over Piper's joe and four espeak-ng variants), new sentences (none in an
earlier set, checked by script). The hard kinds met so far keep their share: the bare "Orb,"
opening (before a question and before one of the orb's jobs), the name after two- and
three-word phrases and after one word, the closing ", Orb?", on the addressed side; a
person's "Or," opening, "or" after the same phrases, "or" closing a question, "or" joining
two actions as people say it ("…, or write it down", "keep it or put it back"), the orb
after a determiner ("the orb", "your orb"), other short names near the end ("…, Bob?") and
where the name opens, orb-like words, the orb in the third person and the requests' shapes
without the name, on the other. Written for this project; nothing fetched.
"""

from __future__ import annotations

from typing import Any

from _addressing_fresh6 import spread_turns

#: Requests that name the orb (52), each said in two voices.
FRESH16_ADDRESSED = (
    # opening, bare
    "Orb, what did he say about the move?",
    "Orb, how long did we spend on her job?",
    "Orb, note that she starts on the ninth.",
    "Orb, which goal came first today?",
    "Orb, when did we last talk about money?",
    "Orb, read me the three actions.",
    "Orb, who wanted to call the school?",
    "Orb, how many points are still open?",
    "Orb, add the dentist to the list.",
    "Orb, what was his second idea?",
    "Orb, is there anything we skipped?",
    "Orb, keep a note of her new number.",
    # the name after a two- or three-word opener
    "Before we move on, Orb, what did I agree to?",
    "Coming back to that, Orb, how many weeks was it?",
    "While I think of it, Orb, save the address.",
    "For what it is worth, Orb, she was right.",
    "Looking at the time, Orb, how long is left?",
    "If you can, Orb, list what we decided.",
    "Just to check, Orb, who is calling whom?",
    "All right, Orb, sum up this part.",
    "Every so often, Orb, remind me to breathe.",
    "One more thing, Orb, when does he fly?",
    "Before we finish, Orb, read back the plan.",
    "Out of interest, Orb, did she name a price?",
    # an acknowledgement before the name
    "Good, Orb, write that down.",
    "Okay, Orb, what is the next item?",
    "Sure, Orb, note the second option.",
    "Perfect, Orb, save that one too.",
    # closing
    "Which day did he pick, Orb?",
    "How did the meeting with her team go, Orb?",
    "Can you note the time, Orb?",
    "What was the name of the course, Orb?",
    "How many calls did I make this week, Orb?",
    "Was it Tuesday or Thursday, Orb?",
    "Please keep that for later, Orb.",
    "Who was going to book the room, Orb?",
    # mid-sentence
    "Hang on, Orb, what was the figure?",
    "So tell me, Orb, was I clear enough?",
    "Look, Orb, please write down both dates.",
    # hotword forms
    "Hey Orb, what did we agree on Monday?",
    "Okay Orb, what did she bring up first?",
    "Hi Orb, could you read that once more?",
    # the name alone, then a pause
    "Orb. What was the last thing she said?",
    "Orb? Can you list the next steps?",
    # the coach's phrasing
    "Orb, how often has she cancelled so far?",
    "Orb, sum up his week in two lines.",
    # the client's phrasing
    "Orb, was I fair to her just now?",
    "Orb, did that sound rude?",
    # short imperatives
    "Orb, go on with it.",
    "Orb, mark that.",
    "Orb, save it.",
    "Note that, Orb.",
)
#: Human-to-human lines (68), each said in three voices: hard near misses.
FRESH16_UNADDRESSED = (
    # "Or, ..." set off and said by a person
    "Or, what did he say about the move?",
    "Or, how long would that take?",
    "Or, should she ask her brother?",
    "Or, we leave it until spring.",
    "Or, what if he changes his mind?",
    "Or, is that too soon?",
    "Or, when would suit you better?",
    "Or, could we ask his mother instead?",
    # "or" after two- and three-word openers
    "Before we move on, or before we stop, drink some water.",
    "Coming back to that, or not, it is up to you.",
    "If you can, or if you want to, call him.",
    "All right, or all wrong, we will see.",
    "Just to check, or just to worry?",
    "One more thing, or maybe two.",
    "Okay, or not quite okay?",
    "Sure, or as sure as I can be.",
    # "or" joining two actions, as people say it
    "You could call her, or write her a letter.",
    "Keep it or put it back, your choice.",
    "Should I print it or save it as a file?",
    "We can talk now or leave it for later.",
    "Either note it down or forget about it.",
    "Then just phone, or write it down for him.",
    # "or" closing or mid-sentence where the name could be
    "Was it Tuesday or Thursday?",
    "Can you note the time, or?",
    "Is that the whole list, or?",
    "Was it the bus or the train?",
    "Do we stop here or go on?",
    "Rice or pasta, which one tonight?",
    # the orb after a determiner, or talked about
    "Does the orb write everything down?",
    "I wonder if the orb keeps a list.",
    "Did your orb save the last session?",
    "The orb notes things for us, I think.",
    "Ask the orb later, it is fine.",
    "Maybe the orb heard my phone ring.",
    # other short names where the name would be
    "Bob, what did he say about the move?",
    "Rob, add the dentist to the list.",
    "Before we finish, Tom, read back the plan.",
    "All right, Ross, sum up this part.",
    "Can you note the time, Bob?",
    "Which day did he pick, Rob?",
    "What was the name of the course, Tom?",
    "Look, Oz, please write down both dates.",
    # orb-like words
    "The new satellite reached orbit on Tuesday.",
    "The sponge absorbs the spill quickly.",
    "In order to rest, she took a week off.",
    "He played the horn in the orchestra.",
    "A small orb of light hung over the lake.",
    "It felt like an ordinary morning.",
    "Or we could just leave it there.",
    # acknowledgements and openers without the name
    "Coming back to that, how many weeks was it?",
    "Looking at the time, how long is left?",
    "If you can, list what we decided.",
    "All right, sum up this part.",
    "Good, write that down.",
    "Okay, what is the next item?",
    "Perfect, save that one too.",
    # the addressed sentences' shapes without the name
    "Which day did he pick?",
    "How did the meeting with her team go?",
    "What was the name of the course?",
    "How many calls did I make this week?",
    "Who was going to book the room?",
    "Hang on, what was the figure?",
    "So tell me, was I clear enough?",
    "Go on with it.",
    "Mark that.",
    "Save the file.",
    "Was I fair to her just now?",
    "Did that sound rude?",
)


def fresh16_turns(voices: tuple[str, ...]) -> list[dict[str, Any]]:
    """52 addressed sentences in two voices (104 turns) and 68 unaddressed lines in three
    voices (204 turns), coach and client in turn; numbered from 14000."""
    return spread_turns(FRESH16_ADDRESSED, FRESH16_UNADDRESSED, voices, 14000)
