"""Listening again for the orb's name where Whisper dropped it.

Whisper tiny.en often writes a bare "Orb," opening a request as "Or" or leaves it out ("Can
you give me a tip…"), and sometimes drops a whole "Okay Orb": its language prior outweighs
the sound. The transcript then names no one, and the text rule (``orb_bridge.addressing``)
rightly cannot call the turn addressed. But the model's own opinion of the audio is still
there: the probability it gives the name as the first words, given the sound. Measured over
rendered turns (``bench/party.py --addressing``), a request that opened with the name keeps
that probability in the thousandths even when greedy decoding chose another word, while a
turn that never said it ("Or maybe…", "Can you tell me…") stays around a ten-thousandth.

So for a turn that asks something and that the rule does not take as addressed, the probe
scores a few openings — the name, and each greeting followed by it — on the turn's first
1.2 s of speech (one encoder pass, a few decoder steps), and when the best is likely enough
the caller decodes again, on the whole turn, with that opening written first. Only the
opening's own stretch of audio is scored: on the whole turn, the words after it pull
Whisper's language prior toward a human's "Or what…" or "Can you…" (misheard requests that
opened with the name mostly scored 2-5 times higher on their first 1.2 s than on the whole
turn; design half of the bench, docs/orb.md). The transcript then
reads "Orb, can you…", and the text rule decides as for any other turn: the probe never
decides by itself.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
import numpy as np

from . import set_off_words
from .addressing import GREETINGS as ADDRESS_GREETINGS
from .addressing import (
    MISHEARD_GREETINGS,
    PAUSE_MARKS,
    REQUEST_WORDS,
    AddressRule,
    Reason,
    edit_distance,
    tokenize,
)
from .heard_alone import SetOffWord, Where
from .set_off_words import Span

#: Openings scored before the name: the greetings of the text rule's rule 1.
GREETINGS = ("Hey", "Okay", "Ok", "Hi", "Hello")
#: A plain transcript opening with one of these may have lost the name after it.
_GREETING_WORDS = frozenset(g.lower() for g in GREETINGS) | ADDRESS_GREETINGS
#: Words Whisper writes for a closing name set off by a comma, besides the name's near
#: misses ("or"): "…start tomorrow, all." (fresh4, espeak-ng).
CLOSING_NEAR_MISSES = frozenset({"all"})
#: The probability of an opening with the name above which it is written first. Chosen on
#: the design half of the bench's turns (docs/orb.md, "How the name is heard").
THRESHOLD = 0.003
#: How much of the turn's speech, from its first voiced sample, the openings are scored on:
#: room for a slow "Okay Orb" (0.75 s at 150 words per minute) and the vocal fry after it.
OPENING_SECONDS = 1.2
#: A 10 ms frame whose peak reaches this (full scale 1) is speech's first: above the
#: pre-roll's room noise, below any voiced onset (-40 dBFS).
_ONSET_PEAK = 0.01
_RATE = 16_000
#: Other people's short names a set-off opening word may be instead of the orb's, and the
#: first letters Whisper writes for a name it has not made out (" M" for espeak-ng's "Bob,"):
#: the rivals a set-off word is scored against besides the near miss ("Or"). Whisper tiny.en,
#: given the orb's name as its hotword, writes "Rob, …" and "Bob, …" as "Orb, …" (fresh7).
RIVAL_NAMES = ("Rob", "Bob", "Mob", "Mom", "Rub", "Rory", "Ron", "Robert", "Bobby", "Robbie",
               "Robb", "Bo")
RIVAL_LETTERS = ("M", "B", "R")
#: Words Whisper writes for a name set off in mid-sentence that are not near misses of it
#: ("Sorry, all, could you repeat that?", espeak-ng en-gb, fresh7): listened to by ear only
#: when set off by commas on both sides, and written as the name only if heard as it.
MIDDLE_SET_OFF = frozenset({"all", "arm", "arb"})

#: A bare name opening the first 1.2 s is taken only when at least this fraction as likely
#: as its near miss there ("Or"): espeak-ng's misheard "Orb," scored 0.08-4.4 times "Or", a
#: human's "Or is that too optimistic?" that passed the threshold 0.012 (design half).
OPENING_NEAR_RATIO = 0.05

#: A bare name the opening probe finds is a word of its own only when, with it forced, a pause
#: mark (:data:`MARKS_AFTER_NAME`) is at least this likely next: a said "Orb," opening a
#: request scored 0.33-0.69 (design and fresh10 turns, Piper and espeak-ng); "Roy Orbison…",
#: whose "Orb" runs on into "ison", far less (fresh10, en-gb-x-rp: " is" 0.46, "ison" 0.06).
NAME_MARKS_AFTER = 0.1
MARKS_AFTER_NAME = (",", ".", "?", "!", "...", ";", ":")

#: At most this many words set off in mid-sentence are heard alone (one encoder pass each).
MAX_MIDDLE_WORDS = 3
_WORD = re.compile(r"[\w']+")
_OPENING_MARK = re.compile(r"^(\W*[\w']+)\s*[^\w\s]+\s*")


@attrs.frozen
class Opening:
    """The likeliest opening with the name, and its probability given the audio."""

    text: str
    probability: float


class NameProbe:
    """Scores openings with ``name`` on an utterance; ``worth_checking`` says when to."""

    def __init__(self, name: str, *, threshold: float = THRESHOLD) -> None:
        self.name = name
        self.threshold = threshold
        self._rule = AddressRule(name)

    def names_the_orb(self, text: str) -> bool:
        """Whether ``text`` addresses the orb by the text rule (orb_bridge.addressing)."""
        return bool(text) and self._rule.judge(text).addressed

    def may_hide_name(self, text: str) -> bool:
        """Whether plain words that do not name the orb may still have lost its name: a near
        miss of it anywhere ("Or, could you…", "…sum up, or?"), a greeting first ("Hey,
        all…"), a first word two edits from it, a question or trailing-off ending, or a turn
        :meth:`worth_checking`. Only such turns are heard a second time
        (orb_bridge.stt), so a plain statement ("I want to find more time…") pays no second
        decode before its answer."""
        first = text.split()[0].strip(".,!?;:'\"").lower() if text.split() else ""
        return (self._rule.mentions_name(text) or first in _GREETING_WORDS
                or self.closes_with_near_miss(text)
                or first in MISHEARD_GREETINGS or self.worth_checking(text)
                # a first word two edits from the name ("on is anything we missed"), or a
                # question or trailing-off ending, where a closing name may have gone
                or (bool(first) and edit_distance(first, self.name.lower()) <= 2)
                or text.rstrip().endswith(("?", "...", "…")))

    def worth_checking(self, text: str) -> bool:
        """A question, or a turn opening with a request word, that the text rule does not
        take as addressed: where a lost name would have made the turn addressed. Turns that
        only contain a request word ("Or perhaps it is the phone") are not listened to
        again: a human's "or" scores close to the name there."""
        return (bool(text) and self._rule.opens_a_request(text)
                and not self._rule.judge(text).addressed)

    def closes_with_near_miss(self, text: str) -> bool:
        """Whether the words end with a near miss of the name set off by a pause mark, or
        with "all" (how Whisper writes a closing "…, Orb." it does not hear as the name):
        "Tell me one habit to start tomorrow, all." A human's "…, or?" is one too; the
        word heard alone decides (:meth:`set_off_words`)."""
        tokens = tokenize(text)
        words = [i for i, t in enumerate(tokens) if t not in PAUSE_MARKS]
        if len(words) < 2 or words[-1] == 0 or tokens[words[-1] - 1] not in PAUSE_MARKS:
            return False
        last = tokens[words[-1]]
        return last in CLOSING_NEAR_MISSES or self._rule.mentions_name(last)

    def rests_on_near_miss(self, text: str) -> bool:
        """Whether the rule takes ``text`` only as a misheard opening name (rule 3: "Or, can
        we…"), which a human's set-off "Or," also is: such words are checked by ear."""
        return bool(text) and self._rule.judge(text).reason is Reason.MISHEARD_VOCATIVE

    def rests_on_greeted_near_miss(self, text: str) -> bool:
        """Whether the rule takes ``text`` only as a near miss after a greeting ("Okay, or
        what was…": rule 1, misheard), which a human's "Okay, or what about…" also is:
        such words are checked by ear (orb_bridge.opener_name)."""
        return bool(text) and self._rule.judge(text).reason is Reason.MISHEARD_GREETING

    def is_near_miss(self, word: str) -> bool:
        """Whether ``word`` (its marks aside) is a near miss of the name, not the name."""
        key = word.strip(".,!?;:'\"").lower()
        return key != self._key and self._rule.mentions_name(key)

    def near_miss_checked(self, model: Any, audio: np.ndarray[Any, np.dtype[np.float32]],
                          language: str | None, text: str) -> str:
        """Words that :meth:`rests_on_near_miss`, checked by ear: without their set-off mark
        unless the opening word heard alone is the name (:attr:`SetOffWord.
        confirms_the_name`); kept when no word is set off at the opening (nothing to hear)."""
        opening = [word for word in self.set_off_words(model, audio, language)
                   if word.where == "opening"]
        return self.without_set_off_opening(text) if opening and \
            not opening[0].confirms_the_name else text

    def without_set_off_opening(self, text: str) -> str:
        """``text`` with the pause mark after its first word taken out ("Or, can we…" ->
        "Or can we…"): the set-off word was heard as the near miss, not the name."""
        return _OPENING_MARK.sub(r"\1 ", text, count=1)

    def has_middle_near_miss(self, text: str) -> bool:
        """Whether a word after the first is a near miss of the name, not the name, or one
        of :data:`MIDDLE_SET_OFF` set off by commas on both sides: where a name said in
        mid-sentence may have gone ("Sorry, or could you…", "Sorry, all, could you…")."""
        return bool(self._middle_candidates(text))

    def _middle_candidates(self, text: str) -> list[re.Match[str]]:
        def set_off(m: re.Match[str]) -> bool:
            return text[: m.start()].rstrip().endswith(",") and \
                text[m.end():].lstrip().startswith(",")

        return [m for m in list(_WORD.finditer(text))[1:]
                if (self._rule.mentions_name(m.group()) and m.group().lower() != self._key)
                or (m.group().lower() in MIDDLE_SET_OFF and set_off(m))]

    def with_middle_name(self, text: str) -> str:
        """``text`` with its first near miss after the first word written as the name set
        off by commas ("Sorry, or could you…" -> "Sorry, Orb, could you…"); a near miss
        that opens a sentence keeps its full stop before it."""
        for match in self._middle_candidates(text)[:1]:
            before = text[: match.start()].rstrip(" ,;:")
            after = text[match.end():].lstrip(" ,;:")
            joint = " " if before.endswith((".", "?", "!")) else ", "
            return f"{before}{joint}{self.name}, {after}"
        return text

    @property
    def _key(self) -> str:
        return self.name.lower()

    def asks_after_name(self, text: str) -> bool:
        """Whether the words, past a leading greeting and name, ask something: a question
        mark, or a request word next ("Okay Orb, could you…", "Orb, recap please"). A turn
        written again from words that had collapsed ("or", "Okay.") is taken only then."""
        tokens = tokenize(text)
        if "?" in tokens:
            return True
        words = [t for t in tokens if t not in PAUSE_MARKS]
        while words and (words[0] in _GREETING_WORDS or self._rule.mentions_name(words[0])):
            words = words[1:]
        return bool(words) and words[0] in REQUEST_WORDS

    def to_hear_again(self, plain: str, hinted: str, collapsed: bool) -> str | None:
        """Which words of a turn the name is listened for on, or None: the decoding with the
        hotword (``hinted``) or else the plain one, whichever is a request the rule does not
        take (:meth:`worth_checking`) or closes with a set-off near miss; with the plain
        words ``collapsed`` (far fewer than the audio's length holds: "or", "Okay."), the
        hotword's words, whatever they are. The hotword's decoding sometimes asks nothing
        where the plain one did ("Hotwood and Goldcoaster now Orb")."""
        if self.names_the_orb(hinted) and not collapsed:
            return None  # the hotword brought the name back
        for text in (hinted, plain):
            if self.worth_checking(text) or (self.closes_with_near_miss(text)
                                             and not self.names_the_orb(text)):
                return text
        if collapsed:
            return hinted
        words = plain.split()
        if len(words) >= 3 and self._rule.mentions_name(words[0].strip(".,!?;:")):
            return plain  # "or summer right in the clan." (fresh5's "Orb, summarise…")
        return None

    def set_off_words(self, model: Any, audio: np.ndarray[Any, np.dtype[np.float32]],
                      language: str | None, *, middle: bool = False) -> list[SetOffWord]:
        """The turn's words set off by a pause at its start and its end
        (orb_bridge.set_off_words), each heard alone: Whisper's probability that it is the
        name, and that it is a near miss of it, as the first word of the crop. Alone, the
        short stretch is not pulled toward the words after it ("Or could you…"). With
        ``middle``, also the first few words set off in mid-sentence."""
        found = []
        ends: list[tuple[Where, set_off_words.Span | None]] = [
            ("opening", set_off_words.opening_word(audio)),
            ("closing", set_off_words.closing_word(audio))]
        if middle:
            ends += [("middle", span) for span in
                     set_off_words.middle_words(audio)[:MAX_MIDDLE_WORDS]]
        for where, span in ends:
            if span is not None:
                found.append(self.hear_alone(model, audio, language, span, where))
        return found

    def hear_alone(self, model: Any, audio: np.ndarray[Any, np.dtype[np.float32]],
                   language: str | None, span: Span, where: Where) -> SetOffWord:
        """The stretch ``span`` heard alone (:meth:`scored`); an opening one also without the
        hotword, for another person's name (:attr:`SetOffWord.rival_unhinted`: with the
        hotword, Whisper hears a dropped "Bob," as "Orb")."""
        tokenizer = self._tokenizer(model, language)
        crop = set_off_words.crop(audio, span)
        encoded = _encode(model, crop, whole=len(crop) == len(audio))
        word = self.scored(where, _distributions(model, encoded, self._prompt(tokenizer),
                                                 [])[0], tokenizer)
        if where != "opening":
            return word
        unhinted = _distributions(model, encoded, [*tokenizer.sot_sequence,
                                                   tokenizer.no_timestamps], [])[0]
        return attrs.evolve(word, rival_unhinted=self._rival_sum(unhinted, tokenizer,
                                                                 letters=False))

    def scored(self, where: Where, first: np.ndarray[Any, np.dtype[np.float64]],
               tokenizer: Any) -> SetOffWord:
        """A set-off word from Whisper's first-token distribution on it heard alone."""
        return SetOffWord(where, self._sum(first, tokenizer, self._name_forms()),
                          self._sum(first, tokenizer, self._near_forms()),
                          self._rival_sum(first, tokenizer, letters=True))

    def with_closing_name(self, text: str) -> str:
        """``text`` ending with the name as a vocative, in place of a closing near miss of it
        ("…anything we missed or?" -> "…anything we missed, Orb?"), its question mark
        kept."""
        body = text.rstrip().rstrip(".?!…")
        words = body.split()
        if words and (self._rule.mentions_name(words[-1])
                      or words[-1].lower() in CLOSING_NEAR_MISSES):
            body = body[: body.rstrip(",;:").rfind(words[-1])]
        body = body.rstrip(" ,;:.?!…")
        mark = "?" if text.rstrip().endswith("?") or self._rule.opens_a_request(text) else "."
        return f"{body}, {self.name}{mark}" if body else f"{self.name}{mark}"

    def _name_forms(self) -> list[str]:
        return [" " + self.name, " " + self.name.lower()]

    def _near_forms(self) -> list[str]:
        """The near misses scored against the name: the name without its last letter
        ("Or"), as Whisper most often writes a bare "Orb"."""
        stem = self.name[:-1]
        return [" " + stem, " " + stem.lower()] if len(stem) >= 2 else []

    def _rival_forms(self, *, letters: bool) -> list[str]:
        """Other people's short names (and, with ``letters``, the first letters Whisper
        writes for a name it has not made out), never the orb's own name or its near miss."""
        own = {self.name.lower(), self.name[:-1].lower()}
        words = [n for n in RIVAL_NAMES if n.lower() not in own]
        if letters:
            words += list(RIVAL_LETTERS)
        return [" " + w for w in words]

    def _sum(self, first: np.ndarray[Any, np.dtype[np.float64]], tokenizer: Any,
             forms: list[str]) -> float:
        """The probability of the forms whose first token is a whole word of theirs: a
        name of several tokens is scored on its first (a bound)."""
        tokens = {tokenizer.encode(form)[0] for form in forms}
        return float(sum(first[token] for token in tokens))

    def _rival_sum(self, first: np.ndarray[Any, np.dtype[np.float64]], tokenizer: Any, *,
                   letters: bool) -> float:
        """:meth:`_sum` of the rivals (:meth:`_rival_forms`) but for a first token they share
        with the name or its near miss ("Or" of "Orla"): that token is theirs."""
        own = {tokenizer.encode(f)[0] for f in self._name_forms() + self._near_forms()}
        tokens = {tokenizer.encode(f)[0] for f in self._rival_forms(letters=letters)} - own
        return float(sum(first[token] for token in tokens))

    def _tokenizer(self, model: Any, language: str | None) -> Any:
        from faster_whisper.tokenizer import Tokenizer

        return Tokenizer(model.hf_tokenizer, model.model.is_multilingual,
                         task="transcribe", language=language or "en")

    def _prompt(self, tokenizer: Any) -> list[int]:
        """The prompt the transcription had: the name as its hotword, then the task."""
        return [tokenizer.sot_prev, *tokenizer.encode(" " + self.name),
                *tokenizer.sot_sequence, tokenizer.no_timestamps]

    def openings(self) -> list[str]:
        return [self.name, *(f"{greeting} {self.name}" for greeting in GREETINGS)]

    def best_opening(self, model: Any, audio: np.ndarray[Any, np.dtype[np.float32]],
                     language: str | None) -> Opening:
        """The likeliest opening (``model``: a faster-whisper ``WhisperModel``), scored on
        the first :data:`OPENING_SECONDS` of speech (:func:`opening_audio`). An opening
        whose first word is already under the threshold is given that word's probability,
        a bound: the whole opening is less likely still."""
        tokenizer = self._tokenizer(model, language)
        crop = opening_audio(audio)
        encoded = _encode(model, crop, whole=len(crop) == len(audio))
        prompt = self._prompt(tokenizer)
        best = Opening("", 0.0)
        first = _distributions(model, encoded, prompt, [])[0]
        for text in self.openings():
            tokens = tokenizer.encode(" " + text)
            probability = float(first[tokens[0]])
            # The first word bounds the whole opening's probability: most turns need no
            # more than this one decoder step (and " Orb" is one token).
            if len(tokens) > 1 and probability >= self.threshold:
                steps = _distributions(model, encoded, prompt, tokens[:-1])
                for position, token in enumerate(tokens[1:], 1):
                    probability *= float(steps[position][token])
            if text == self.name and (
                    self._sum(first, tokenizer, self._name_forms())
                    < OPENING_NEAR_RATIO * self._sum(first, tokenizer, self._near_forms())
                    or self._sum(first, tokenizer, self._name_forms())
                    < self._rival_sum(first, tokenizer, letters=False)):
                continue  # far likelier a human's "Or…", or likelier another's name ("Rob")
            if text == self.name and probability >= self.threshold and \
                    self._marks_after(model, encoded, prompt, tokens, tokenizer) \
                    < NAME_MARKS_AFTER:
                continue  # a longer word opens with the name's sound ("Roy Orbison")
            if probability > best.probability:
                best = Opening(text, probability)
        return best

    def _marks_after(self, model: Any, encoded: Any, prompt: list[int],
                     name: list[int], tokenizer: Any) -> float:
        """How likely a pause mark is right after ``name`` forced on the opening: where the
        name is a word said by itself, not the start of a longer one."""
        after = _distributions(model, encoded, prompt, name)[len(name)]
        return self._sum(after, tokenizer, list(MARKS_AFTER_NAME))


def opening_audio(audio: np.ndarray[Any, np.dtype[np.float32]],
                  seconds: float = OPENING_SECONDS) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The first ``seconds`` (:data:`OPENING_SECONDS`) of ``audio`` from its first voiced
    10 ms frame: an utterance carries the turn detector's pre-roll of quiet before the
    speech."""
    frame = _RATE // 100
    whole = len(audio) // frame * frame
    peaks = np.abs(audio[:whole]).reshape(-1, frame).max(axis=1) if whole else np.zeros(0)
    voiced = np.flatnonzero(peaks >= _ONSET_PEAK)
    start = int(voiced[0]) * frame if len(voiced) else 0
    return audio[start:start + round(seconds * _RATE)]


def _encode(model: Any, audio: np.ndarray[Any, np.dtype[np.float32]], *,
            whole: bool = False) -> Any:
    """Whisper's encoding of ``audio`` padded to its 30 s window. A crop that is the ``whole``
    turn (a short turn's opening) is framed as faster-whisper's own transcription frames it,
    its last feature frame dropped (``content_frames``): it is then the transcription's
    window, and its encoding is reused (orb_bridge.encodings_cache), not computed again.
    Shorter crops keep their last frame: the thresholds were chosen on those scores, and
    without it en-gb-x-rp's set-off "Orb," heard alone fell under 8 times the rivals (0.10
    to 0.076 against 0.010, fresh12, round 13)."""
    extractor = model.feature_extractor
    features = extractor(audio)
    kept = features.shape[-1] - 1 if whole else features.shape[-1]
    features = features[:, : min(extractor.nb_max_frames, kept)]
    features = np.pad(features, ((0, 0), (0, extractor.nb_max_frames - features.shape[-1])))
    return model.encode(features)


def _distributions(model: Any, encoded: Any, prompt: list[int], forced: list[int]
                   ) -> list[np.ndarray[Any, np.dtype[np.float64]]]:
    """The next-token distributions after the prompt, at each of the ``forced`` tokens'
    positions and the one after them (CTranslate2 returns the logits of forced tokens).
    ``max_length`` counts the prompt but its first token: the length of prompt and forced
    tokens gives the forced ones and one more."""
    result = model.model.generate(encoded, [prompt + forced], beam_size=1,
                                  max_length=len(prompt) + len(forced),
                                  return_logits_vocab=True)[0]
    out = []
    for logits in result.logits[0][: len(forced) + 1]:
        values = np.asarray(logits, dtype=np.float64).ravel()
        weights = np.exp(values - values.max())
        out.append(weights / weights.sum())
    return out
