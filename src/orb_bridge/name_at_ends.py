"""The last chance for the orb's name: a word set off at a short turn's start or any turn's
end, heard alone, whatever the words around it.

The name probe (orb_bridge.name_probe) listens again only where the plain words give a
reason: a near miss of the name, a question, a request word. Whisper tiny.en sometimes
rewrites a vocative so thoroughly that no such reason is left: "Write that one down, Orb."
comes back "right that one down for.", "Tell us what you noticed, Orb." as "And let's let
you know this arm.", "Orb, keep going." as "Keep going." and "Orb, could you jot down that
deadline?" as nothing at all (fresh6, espeak-ng and Piper). The sound still sets the name off:
a short stretch with a pause between it and the rest. Here such a stretch is heard alone
(one encoder pass on a crop of under a second), as the probe hears set-off words, and taken
for the name only by the probe's own test (:attr:`SetOffWord.is_the_name`: the name at least
3.5 times as likely as "Or" and 0.05 likely); a human's "…, or?" or "Or, let me…" is likelier
"Or" heard alone. The opening is listened to only on a short turn (a command after the name)
or one whose words vanished, where a lost name is likeliest and the plain words cannot be
judged otherwise; the end on any turn, since a closing name is said after whatever the
request was.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import set_off_words
from .addressing import REQUEST_WORDS, edit_distance, tokenize
from .heard_alone import SetOffWord, Where
from .name_probe import NameProbe
from .opener_name import greeted_near_miss_checked, with_name_after_opener
from .phrase_name import with_name_after_phrase

#: A turn of at most this many words (plain) is a short command whose opening is heard alone.
SHORT_TURN_WORDS = 4
#: A longer turn's set-off opening is the name only when heard alone it is this likely and
#: this many times as likely as "Or": "Orb, quick question, how much time is left?" heard as
#: "quick question how much…" scored 0.6 and 31 times (fresh5); a human's "Or, let me put it
#: another way." 0.05-0.11 and 1.2 times (fresh6).
LONG_TURN_FLOOR = 0.3
LONG_TURN_RATIO = 10.0
#: At most this many short stretches set off in mid-sentence are heard alone in a turn that
#: asks (one encoder pass each): "Honestly, Orb, what do you make of it?" heard as
#: "honestly, what do you make of it?".
MAX_MIDDLE = 2
#: A last word at most this many edits from the name is what Whisper made of it ("arm",
#: "for"), replaced by the name; another last word stays and the name follows it.
CLOSING_EDITS = 2

Samples = np.ndarray[Any, np.dtype[np.float32]]


def heard_alone(probe: NameProbe, model: Any, audio: Samples, language: str | None,
                span: set_off_words.Span, where: Where) -> SetOffWord:
    """The stretch ``span`` of ``audio`` heard alone: how likely it is the name, and "Or"."""
    return probe.hear_alone(model, audio, language, span, where)


def opening_worth_hearing(probe: NameProbe, text: str) -> bool:
    """Whether a turn whose plain words do not name the orb is short enough (or empty) for
    its set-off opening to be heard alone."""
    return not probe.names_the_orb(text) and len(text.split()) <= SHORT_TURN_WORDS


def with_name_last(probe: NameProbe, text: str) -> str:
    """``text`` closing on the name as a vocative: a last word a couple of edits from the name
    ("arm", "for", "orb") becomes it, any other stays ("…this is awesome, Orb.")."""
    body = text.rstrip().rstrip(".?!… ")
    words = body.split()
    key = probe.name.lower()
    if words and len(words) > 1 and edit_distance(
            words[-1].strip(",;:").lower(), key) <= CLOSING_EDITS:
        body = body[: body.rfind(words[-1])]
    body = body.rstrip(" ,;:.?!…")
    mark = "?" if "?" in tokenize(text) else "."
    return f"{body}, {probe.name}{mark}" if body else f"{probe.name}{mark}"


def name_at_ends(probe: NameProbe, model: Any, audio: Samples, language: str | None,
                 text: str, decode_after: Any) -> str:
    """``text``, or its words with the name where a set-off word at the turn's end (any
    turn) or start (a short or empty turn: :func:`opening_worth_hearing`), heard alone, is
    the name. ``decode_after(opening)``: the turn decoded again with ``opening`` first.
    Words the rule takes only on a set-off "Or," (rule 3), wherever they came from (the
    hotword's decoding too), are first checked by ear (:meth:`NameProbe.near_miss_checked`):
    a human's "Or, what if…" loses its mark unless the word heard alone is the name; a
    near miss after a greeting ("Okay, or what about…") is heard after the greeting
    (orb_bridge.opener_name.greeted_near_miss_checked). Words
    opening with a thanks or acknowledgement ("Cheers! Can you…") are first asked whether
    the name came right after it (orb_bridge.opener_name)."""
    if probe.rests_on_near_miss(text):
        text = probe.near_miss_checked(model, audio, language, text)
    text = greeted_near_miss_checked(probe, model, audio, language, text)
    if probe.names_the_orb(text):
        return text
    after_opener = with_name_after_opener(probe, model, audio, language, text, decode_after)
    if after_opener != text:
        return after_opener
    after_phrase = with_name_after_phrase(probe, model, audio, language, text, decode_after)
    if after_phrase != text:
        return after_phrase
    span = set_off_words.opening_word(audio)
    if span is not None:
        word = heard_alone(probe, model, audio, language, span, "opening")
        if word.is_the_name and (opening_worth_hearing(probe, text) or (
                word.name >= LONG_TURN_FLOOR and word.name >= LONG_TURN_RATIO * word.near)):
            again: str = decode_after(probe.name)
            if probe.names_the_orb(again):
                return again
    span = set_off_words.closing_word(audio)
    if text and span is not None and heard_alone(probe, model, audio, language, span,
                                                 "closing").is_the_name:
        return with_name_last(probe, text)
    if text and _asks(text):
        for span in set_off_words.middle_words(audio)[:MAX_MIDDLE]:
            if heard_alone(probe, model, audio, language, span, "middle").is_the_name:
                return with_name_inside(probe, text)
    return text


def _asks(text: str) -> bool:
    tokens = tokenize(text)
    return "?" in tokens or any(t in REQUEST_WORDS for t in tokens)


def with_name_inside(probe: NameProbe, text: str) -> str:
    """``text`` with the name as a vocative after its first comma ("honestly, Orb, what do
    you…"), or first when it has none: where the stretch was is not known in the words."""
    head, comma, rest = text.partition(",")
    if not comma:
        return f"{probe.name}, {text}"
    return f"{head}, {probe.name},{rest}"


def closing_name_overwritten(probe: NameProbe, plain: str, hinted: str) -> bool:
    """Whether the hotword's decoding (``hinted``) ends on the name where the plain words
    ended on another capitalised word, neither the name nor a near miss of it: a name
    Whisper heard ("…down, Bob?", "…for me, Bob.", "…next step, Arum?")."""
    said, heard = plain.split(), hinted.split()
    if len(said) < 2 or not heard:
        return False
    last, name = said[-1].strip(_EDGES), probe.name.lower()
    return (last[:1].isupper() and last.lower() != name and not probe.is_near_miss(last)
            and heard[-1].strip(_EDGES).lower() == name)


#: What Whisper writes around a word: stripped before a closing word is compared.
_EDGES = ".,!?;:…'\""


def overwrites_a_name(probe: NameProbe, model: Any, audio: Samples, language: str | None,
                      plain: str, hinted: str) -> bool:
    """Whether the hotword wrote the orb's name over someone else's at the turn's end: the
    plain words closed on another name (:func:`closing_name_overwritten`) and the set-off
    closing word, heard alone, is not the name (:attr:`SetOffWord.is_the_name`). Piper's
    "Could you write that one down, Bob?" came back "…, Orb?" with the hotword (fresh13), its
    "Bob" heard alone the name 0.002, the rivals 0.15; en-gb-x-rp's said "…for me, Orb.",
    plainly "…for me, Bob.", scores the name 0.27, the rivals 0.008. Only such turns pay the
    one encoder pass on the crop; with no set-off closing word, the hotword's words stand."""
    if not closing_name_overwritten(probe, plain, hinted):
        return False
    span = set_off_words.closing_word(audio)
    return span is not None and not heard_alone(probe, model, audio, language, span,
                                                "closing").is_the_name
