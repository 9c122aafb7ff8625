"""The orb's name after a short opening phrase: "To be fair, Orb, did I actually say that?"

People often open a request with a phrase of two or three words before the name: "In your
view, Orb, …", "For the record, Orb, …", "Out of interest, Orb, …". Whisper tiny.en keeps the
phrase and loses the short name after it, or writes it as "or": "in your view or is this
goal too big?", "Out of interest, how long was my answer?" (fresh11, Piper and espeak-ng).
The thanks and acknowledgements of orb_bridge.opener_name are single words from a list; a
phrase is any short stretch of words before the place where the name would be.

So where the plain words (which name no one) open with two or three words followed either
by a near miss of the name ("in your view or is…") or by a comma and a
request ("Out of interest, how long…"), the phrase is forced, as Whisper wrote it, on the
first :data:`PHRASE_SECONDS` of speech, and the next token is scored
(orb_bridge.opener_name.name_after). A said name scored 0.0095-0.80 there in espeak-ng's
voices and 0.0000-0.096 in Piper's (about half of Piper's under the floor: still lost);
people's words after the same phrases without the name at most 0.0001, and a person's "or"
after an acknowledgement ("Okay, or we could…", "Right, or maybe…", "Well, or…") at most
0.0009 (design and fresh8-11 sentences, Piper and espeak-ng: docs/orb.md). Whisper's "or"
itself is likelier than the name there for a said name too (Piper's "Orb" after a phrase
sounds like it), so unlike a word heard alone the name need not beat it: only be at least
:data:`PHRASE_NAME_FLOOR` likely and likelier than other short names. The turn is then
decoded again with "<phrase>, Orb," written first, and the text rule decides on those words
as on any other: this module never decides by itself. Round 13: where the near miss is not
followed by a request ("in your opinion, or in hers, was it fair?", fresh12) the name must be
ten times likelier (:func:`name_floor`), and a near miss before "do you…" (a choice offered)
is never heard for the name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from .addressing import (
    ASKING_AFTER,
    DETERMINERS,
    EAR_BREAK,
    GREETINGS,
    IMPERATIVES_AFTER,
    OFFERS_AFTER,
    QUESTION_OPENERS,
    REQUEST_WORDS,
    edit_distance,
)
from .name_probe import RIVAL_NAMES, NameProbe
from .opener_name import OPENERS, name_after

#: At most this many words before the name's place ("Out of interest", "To be fair"), and
#: at least this few: a single word before "or" is an acknowledgement or a joiner, whose "or"
#: a person says ("Thanks, or is that too early…", heard "and, or is…": the name 0.005 after
#: "and,", fresh10, espeak-ng), left to orb_bridge.opener_name's stricter checks.
MAX_PHRASE_WORDS = 3
MIN_PHRASE_WORDS = 2
#: How much of the turn's speech the phrase and the name are scored on: a slow three-word
#: phrase, its pause and the name (espeak-ng en-us+f3 at 150 words a minute: about 1.8 s).
PHRASE_SECONDS = 2.5
#: The name after the phrase must be at least this likely (and likelier than other short
#: names): said names scored 0.003 and more, but for a few of Piper's (0.0000-0.0024: lost);
#: people's "or" after an acknowledgement at most 0.0009, people's next words after a phrase
#: without the name at most 0.0001 (design and fresh8-11 sentences).
PHRASE_NAME_FLOOR = 0.003
#: The floor where no request follows the near miss (:func:`name_floor`, round 13): a
#: person's "or in hers" scored 0.012 after its phrase, said names heard "or be like…" 0.048
#: and 0.13 (fresh11-12, espeak-ng); "in short, or in long" 0.0015, "or at least" 0.0000.
PHRASE_NAME_FLOOR_ALONE = 0.03

Samples = np.ndarray[Any, np.dtype[np.float32]]
_WORD = re.compile(r"[\w']+")
#: Words after the phrase's comma that open a request: where a dropped name would have sat.
_ASKS = ASKING_AFTER | QUESTION_OPENERS | IMPERATIVES_AFTER | REQUEST_WORDS
#: Words a phrase is never made of: a greeting, a name of someone else, a determiner last
#: ("Ask the orb…" talks about it).
_NOT_IN_PHRASE = GREETINGS | {name.lower() for name in RIVAL_NAMES}
#: Words a phrase never opens with (nor with a determiner): a subject makes it a clause that
#: talks about someone, not a phrase before a vocative ("I asked the orb about that on
#: Tuesday." heard "I asked me orb out in a ton Tuesday.": the name 0.004 after "I asked me,",
#: fresh10, espeak-ng), and so does an article ("The little orb in the corner…": 0.94, the
#: orb's name said, but not to it; fresh9, Piper).
SUBJECTS = frozenset({"i", "we", "you", "he", "she", "they", "it", "i'm", "we're", "you're",
                      "he's", "she's", "they're", "it's", "i've", "we've", "i'd", "we'd"})


def phrase_head(probe: NameProbe, text: str) -> str | None:
    """The short phrase of ``text`` before the place a name may have been lost, as written,
    or None: the words before a near miss (never the name itself: the ear would only confirm
    that the word was said, not to whom), or before a comma followed by
    a request word, two or three of them (:data:`MIN_PHRASE_WORDS`, :data:`MAX_PHRASE_WORDS`),
    not all acknowledgements
    (orb_bridge.opener_name's), none a greeting, another's name or a near miss, the first no
    subject (:data:`SUBJECTS`) or determiner, the last no determiner."""
    if EAR_BREAK in text or probe.names_the_orb(text):
        return None
    words = list(_WORD.finditer(text))
    for index, word in enumerate(words[: MAX_PHRASE_WORDS + 1]):
        key = word.group().lower()
        if index == 0:
            if probe.is_near_miss(key) or key == probe.name.lower():
                return None  # "Or, …" opening: the set-off checks' (orb_bridge.name_probe)
            continue
        head_words = [w.group().lower() for w in words[:index]]
        between = text[words[index - 1].end(): word.start()]
        named_here = probe.is_near_miss(key)
        asks_after_comma = "," in between and key in _ASKS
        if not (named_here or asks_after_comma):
            if any(mark in between for mark in ",.?!;:"):
                return None
            continue
        if named_here and index + 1 < len(words) and \
                words[index + 1].group().lower() in OFFERS_AFTER:
            return None  # "Just check, or do you already know?": a choice offered
        if len(head_words) < MIN_PHRASE_WORDS or head_words[0] in SUBJECTS | DETERMINERS or \
                all(w in OPENERS for w in head_words) or \
                head_words[-1] in DETERMINERS or \
                any(w in _NOT_IN_PHRASE or probe.is_near_miss(w) for w in head_words):
            return None
        return text[: words[index - 1].end()]
    return None


def name_floor(probe: NameProbe, text: str, head: str) -> float:
    """How likely the name after ``head`` (:func:`phrase_head` of ``text``) must be:
    :data:`PHRASE_NAME_FLOOR` where a request follows the place of the name (a comma and a
    request word, or a near miss and then a request or a question's first word: "in your
    view or is…"; a word one edit from a request verb, mangled with the name: "one more
    thing, or not to do date." for "…, Orb, note the new date.", or cut short (:func:`_cut`);
    or nothing, a closing name),
    else :data:`PHRASE_NAME_FLOOR_ALONE`: a person's "or" goes on with the other choice ("in
    your opinion, or in hers, was it fair?", the name 0.012 after that phrase, fresh12,
    espeak-ng), a said name heard "or" then a mangled word scored more ("be fair, or be
    like, …" for "To be fair, Orb, did I…": 0.048 and 0.13, fresh11, espeak-ng)."""
    after = [w.group().lower() for w in _WORD.finditer(text[len(head):])]
    if not after or not probe.is_near_miss(after[0]) or len(after) == 1:
        return PHRASE_NAME_FLOOR
    word = after[1]
    if word in _ASKS or any(len(verb) >= 4 and (edit_distance(word, verb) <= 1 or _cut(word, verb))
                            for verb in IMPERATIVES_AFTER):
        return PHRASE_NAME_FLOOR
    return PHRASE_NAME_FLOOR_ALONE


def _cut(word: str, verb: str) -> bool:
    """Whether ``word`` is ``verb`` with its last letter or two run into the next word, as
    Whisper writes a verb after a name it heard as "or" ("one more thing or no surprise." for
    "…, Orb, note the price.", fresh13, espeak-ng; the name 0.0034): no subject ("he"), which
    opens a person's clause after "or"."""
    return len(word) >= 2 and word not in SUBJECTS and verb.startswith(word) and \
        len(verb) - len(word) <= 2


def with_name_after_phrase(probe: NameProbe, model: Any, audio: Samples, language: str | None,
                           text: str, decode_after: Callable[[str], str]) -> str:
    """``text``, or the turn decoded again with "<phrase>, <name>," first when ``text``
    opens with a short phrase (:func:`phrase_head`) after which the name is likely enough
    (:func:`name_floor`, likelier than other short names). ``decode_after(opening)``:
    the turn decoded again with ``opening`` first."""
    head = phrase_head(probe, text)
    if head is None:
        return text
    heard = name_after(probe, model, audio, language, head + ",", PHRASE_SECONDS)
    if heard.name < name_floor(probe, text, head) or heard.name <= heard.rival:
        return text
    again = decode_after(f"{head.rstrip(',')}, {probe.name}")
    return again if probe.names_the_orb(again) else text
