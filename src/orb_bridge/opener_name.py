"""The orb's name after an acknowledgement: "Cheers, Orb, can you read it back?"

People often open a request to the orb with a word of thanks or acknowledgement before its
name: "Cheers, Orb, …", "Great, Orb, …", "Thanks Orb, and could you…", "Right, Orb, …".
Whisper tiny.en keeps the opener but loses the short name after it: "Cheers! Can you read it
back?", "Cheers!" alone (the rest collapsed), "Thanks for, and could you…", "right arm. What
time is it out?" (fresh9 and the tenth round's design turns, espeak-ng and Piper). The name
probe's 1.2 s openings (orb_bridge.name_probe) score only the name and greetings first, and
the set-off words are not heard alone when the opener and the name run together.

So where the plain words open with such a word (:data:`OPENERS`, at most
:data:`MAX_OPENER_WORDS` of them), the model is asked what comes next *given that opening as
it wrote it*: the opening words are forced on the first :data:`OPENER_SECONDS` of speech and
the next token's distribution is read, the name against its near miss ("or") and other short
names, as for a word heard alone (orb_bridge.heard_alone). A said name scored 0.14-0.94 there
(design turns); a human's "Thanks, and could you…", "Great, thanks. What's…" scored under
0.001. Only when the name wins (:attr:`SetOffWord.is_the_name` and at least
:data:`NAME_FLOOR`) is the turn decoded again with "<opener>, Orb," written first, and the
text rule decides on those words as on any other: this module never decides by itself.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from .addressing import EAR_BREAK, GREETINGS
from .heard_alone import SetOffWord
from .name_probe import NameProbe, _distributions, _encode, opening_audio

#: Words of thanks or acknowledgement that open a request before the name (lower case).
OPENERS = frozenset({
    "cheers", "great", "thanks", "thank", "you", "okay", "ok", "right", "so", "well", "good",
    "perfect", "lovely", "alright", "now", "sorry", "oh", "fine", "sure", "cool", "nice",
    "brilliant", "actually", "excellent", "wonderful", "yes", "yeah", "ah", "hmm",
})
#: At most this many opener words before the name ("Great, thanks Orb, …").
MAX_OPENER_WORDS = 3
#: How much of the turn's speech, from its first voiced sample, the opening is scored on:
#: room for two slow opener words and the name.
OPENER_SECONDS = 2.0
#: A near miss after a greeting ("Okay, or what was…") stays the name unless, with the words
#: before it forced, the name is under this and "or" likelier: the said name scored
#: 0.0044-0.79 there (Piper's "Okay, Orb," the lowest; design turns and fresh8-10), a
#: human's "Okay, or we could…"/"Okay, or what if…" 0.0000-0.0003 (seven renderings).
GREETED_NAME_FLOOR = 0.001
#: The words before such a near miss are checked only when this few (the greeting and
#: what opens the turn before it: "So, hey, or…"), all on the first :data:`OPENER_SECONDS`.
MAX_GREETED_HEAD_WORDS = 3
#: The name after the opening must be at least this likely (besides beating "or" and other
#: names as :attr:`SetOffWord.is_the_name` asks): said names scored 0.14 and more.
NAME_FLOOR = 0.1

Samples = np.ndarray[Any, np.dtype[np.float32]]
_MARKS = ".,!?;:"
_WORD = re.compile(r"[\w']+")


def opener_head(text: str) -> str | None:
    """The words of ``text`` that open it and are all :data:`OPENERS` (at most
    :data:`MAX_OPENER_WORDS`), as written, or None: "Cheers! Can you…" -> "Cheers!"."""
    words = text.split()
    count = 0
    while count < min(len(words), MAX_OPENER_WORDS) and \
            words[count].strip(_MARKS).lower() in OPENERS:
        count += 1
    return " ".join(words[:count]) or None


def name_after(probe: NameProbe, model: Any, audio: Samples, language: str | None,
               head: str, seconds: float = OPENER_SECONDS) -> SetOffWord:
    """How likely the name (and "or", and other names) is right after ``head``, with
    ``head`` forced on the first ``seconds`` (:data:`OPENER_SECONDS`) of speech."""
    tokenizer = probe._tokenizer(model, language)
    forced = tokenizer.encode(" " + head)
    crop = opening_audio(audio, seconds)
    after = _distributions(model, _encode(model, crop, whole=len(crop) == len(audio)),
                           probe._prompt(tokenizer), forced)[-1]
    return probe.scored("middle", after, tokenizer)


def with_name_after_opener(probe: NameProbe, model: Any, audio: Samples,
                           language: str | None, text: str,
                           decode_after: Callable[[str], str]) -> str:
    """``text``, or the turn decoded again with "<opener>, <name>," first when ``text``
    opens with opener words and the name is likely right after them (:func:`name_after`).
    ``decode_after(opening)``: the turn decoded again with ``opening`` first."""
    head = opener_head(text)
    if head is None or probe.names_the_orb(text):
        return text
    word = name_after(probe, model, audio, language, head)
    if not (word.is_the_name and word.name >= NAME_FLOOR):
        return text
    again = decode_after(f"{head.rstrip(_MARKS)}, {probe.name}")
    return again if probe.names_the_orb(again) else text


def greeted_near_miss_checked(probe: NameProbe, model: Any, audio: Samples,
                              language: str | None, text: str) -> str:
    """``text``, or, where the rule takes it only on a near miss after a greeting ("Okay, or
    what about the other option?": :meth:`NameProbe.rests_on_greeted_near_miss`) and the
    ear, with the words before it forced, hears "or" and all but never the name
    (:data:`GREETED_NAME_FLOOR`), the words with the ear's mark before the near miss
    ("Okay — or what about…", orb_bridge.addressing.EAR_BREAK), which no rule reads as the
    name. Whisper's "Okay, or" is the same for a human's "or" and a said "Orb"; the sound
    after "Okay" is not (fresh10)."""
    if not probe.rests_on_greeted_near_miss(text):
        return text
    words = list(_WORD.finditer(text))
    for before, word in itertools.pairwise(words):
        if before.group().lower() in GREETINGS and probe.is_near_miss(word.group()):
            head = text[: word.start()].rstrip()
            if len(head.split()) > MAX_GREETED_HEAD_WORDS:
                return text
            heard = name_after(probe, model, audio, language, head)
            if heard.name < GREETED_NAME_FLOOR and heard.near > heard.name:
                return f"{head.rstrip(_MARKS + ' ')} {EAR_BREAK} {text[word.start():]}"
            return text
    return text
