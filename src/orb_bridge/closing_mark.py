"""How sure Whisper is of a pause's closing mark: a fragment that only reads whole.

At a pause the orb reads the words so far (``end_of_turn.sounds_unfinished``): a transcript
that ends on "to", "my" or a comma is mid-clause. But a speaker who stops after "I signed up
for a pottery class" and goes on "on Thursday evenings" has said words that read whole, and
Whisper tiny.en writes its full stop after them. What differs is how sure it is of that mark.
Whisper decodes with the audio in view, and a voice that stops mid-sentence (no final fall, no
lengthened last word) leaves the mark less likely than a finished sentence does. On the
design set the probability of a closing mark (full stop, question or exclamation mark) right
after the words separated finished requests from fragments cut at a pause with an area under
the curve of 0.98 over four voices (fragments 0.3-0.85, finished requests mostly 0.9-0.97); on
the held-out sets whose fragments read whole, 0.88 (bench/orb-rounds.md, the hearing's
eleventh round).

So a pause's words whose closing mark Whisper gives less than :data:`SURE_AT` are read as
trailing off: the decision sees them with an ellipsis (:func:`as_decided`), which the word rule
reads as mid-clause, and only a longer quiet (``turn_timeout``) ends such a turn. The
transcript keeps Whisper's words as written. The probability is read off the transcription's
own decoding (:class:`RecordingDecoder` keeps each step's distribution): nothing is decoded
again.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np

from .audio import Audio

#: A closing mark less likely than this after a pause's words: they trail off.
SURE_AT = 0.80
#: How sure of the closing mark a check must find Whisper, by the check's quiet: ``(from
#: silence, bar)`` in order of silence (round 12 of issue 23). An early check ends a turn
#: only on a mark Whisper is very sure of; a less sure one waits for a later check, so the
#: least sure finished requests and most fragments that read whole wait longer.
MARK_BARS: tuple[tuple[float, float], ...] = ((0.0, 0.90), (0.95, SURE_AT))
#: From this much quiet on, past the longest mid-request pause the orb must wait through
#: (1.5 s), the words are read as Whisper wrote them, and words it wrote with no closing mark
#: at all are read as closed (:meth:`HeardAtPause.decided_at`): what only trailed off for lack
#: of a sure mark ends the turn at the last words' check (``OrbConfig.eot_last_words_check``)
#: rather than waiting out ``turn_timeout``; words that read mid-clause by themselves ("...to
#: think about", "...and then") still wait (round 14 of issue 23, first tried in round 13:
#: flat espeak-ng readings of finished requests often have no mark or an unsure one).
READ_AS_SAID = 1.55
#: The marks that close a sentence (one of them ends the words this module weighs).
CLOSING_MARKS = (".", "?", "!")
#: What an unsure closing mark becomes for the decision (the word rule reads it as open).
TRAILING = "..."


def weighable(text: str) -> bool:
    """Whether ``text`` ends on one closing mark (not an ellipsis) after some words: the only
    words whose mark is weighed (words without one already read mid-clause)."""
    stripped = text.rstrip()
    return (stripped.endswith(CLOSING_MARKS) and not stripped.endswith("..")
            and len(stripped.rstrip("".join(CLOSING_MARKS)).strip()) > 0)


def bar_at(silence: float) -> float:
    """The closing mark's bar for a check at ``silence`` seconds of quiet (:data:`MARK_BARS`;
    :data:`SURE_AT` before the first; none, 0, from :data:`READ_AS_SAID`)."""
    if silence + 1e-9 >= READ_AS_SAID:
        return 0.0
    bar = SURE_AT
    for start, value in MARK_BARS:
        if silence + 1e-9 >= start:
            bar = value
    return bar


def closed(text: str) -> str:
    """``text`` with a full stop when Whisper wrote its last word with no mark after it (the
    words as :data:`READ_AS_SAID` reads them); a comma, a dash or an ellipsis stays."""
    stripped = text.rstrip()
    if stripped and (stripped[-1].isalnum() or stripped[-1] in "'\""):
        return stripped + "."
    return stripped


def as_decided(text: str, probability: float | None, sure_at: float = SURE_AT) -> str:
    """The words as the end-of-turn decision reads them: with :data:`TRAILING` for their
    closing mark when Whisper gave it less than ``sure_at`` (``None``: not weighed)."""
    if probability is None or probability >= sure_at or not weighable(text):
        return text
    return text.rstrip().rstrip("".join(CLOSING_MARKS)).rstrip() + TRAILING


class RecordingDecoder:
    """A CTranslate2 Whisper model whose ``generate`` also keeps, per thread, the greedy
    decoding's tokens and each step's distribution (``return_logits_vocab``): the plain
    transcription at a pause then says how likely its closing mark was, without a second
    pass of the decoder (a forced pass cost as much again, ~0.2 s of CPU here)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._last = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("return_logits_vocab", True)
        results = self._inner.generate(*args, **kwargs)
        first = results[0] if len(results) == 1 else None
        self._last.decoded = None if first is None or not first.logits else \
            (list(first.sequences_ids[0]), first.logits[0])
        return results

    def last_decoded(self) -> tuple[list[int], Any] | None:
        """This thread's last single decoding: its tokens and their steps' logits."""
        decoded: tuple[list[int], Any] | None = getattr(self._last, "decoded", None)
        return decoded


def closing_mark_probability(model: Any, text: str, language: str | None) -> float | None:
    """P(a closing mark | the audio, the words before it, and that a token other than the
    end of text follows them), at the step where this thread's
    last decoding wrote ``text``'s closing mark (``model.model`` a :class:`RecordingDecoder`).
    ``None`` when ``text`` is not :func:`weighable` or its last token is not a closing mark."""
    decoder = model.model
    decoded = decoder.last_decoded() if isinstance(decoder, RecordingDecoder) else None
    if decoded is None or not weighable(text):
        return None
    from faster_whisper.tokenizer import Tokenizer

    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual,
                          task="transcribe", language=language or "en")
    tokens, logits = decoded
    marks = {tokenizer.encode(mark)[0] for mark in CLOSING_MARKS}
    while tokens and tokens[-1] >= tokenizer.eot:  # the end of text and other specials
        tokens = tokens[:-1]
    if not tokens or tokens[-1] not in marks or len(logits) < len(tokens):
        return None
    values = np.asarray(logits[len(tokens) - 1], dtype=np.float64).ravel()
    weights = np.exp(values - values.max())
    # Among the words that could follow (the end of text and the other special tokens
    # aside): a finished sentence may also end with no mark at all, which says nothing of
    # how it was said, and only blurs the mark's share.
    weights[tokenizer.eot:] = 0.0
    return float(sum(weights[token] for token in marks) / weights.sum())


@attrs.frozen
class HeardAtPause:
    """A pause's words as written (the transcript, the early reply's draft) and as the
    end-of-turn decision reads them (:func:`as_decided`)."""

    text: str
    decided: str
    #: How sure Whisper was of the closing mark (:func:`closing_mark_probability`; ``None``:
    #: not weighed).
    mark: float | None = None

    def decided_at(self, silence: float) -> str:
        """The words as the check at ``silence`` seconds of quiet reads them: the closing
        mark weighed against that check's bar (:func:`bar_at`); from :data:`READ_AS_SAID` on,
        as written, closed (:func:`closed`)."""
        if silence + 1e-9 >= READ_AS_SAID:
            return closed(self.text)
        if self.mark is None:
            return self.decided
        return as_decided(self.text, self.mark, bar_at(silence))

    @classmethod
    def plain(cls, text: str) -> HeardAtPause:
        """Words whose closing mark was not weighed (a transcriber without Whisper's
        decoder): the decision reads them as written."""
        return cls(text, text)


@runtime_checkable
class WeighsClosingMark(Protocol):
    """A transcriber that weighs a pause's closing mark (orb_bridge.stt.WhisperStt)."""

    async def words_at_pause(self, audio: Audio) -> HeardAtPause:
        """A pause's words, and how the end-of-turn decision reads them."""
