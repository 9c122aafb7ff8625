"""Text made sayable: what a language model writes is not always what a voice can speak.

Models write emoji, links, markdown, code and now and then a phrase in another script, and a
runaway answer can be thousands of characters long. Handed to a voice as they are, a URL is
spelled out character by character for ten seconds, an emoji is read as its Unicode name or
crashes a phonemiser, and 4,000 characters take half a minute of CPU. :func:`speakable` turns
any text into what the orb should say instead: links become "a link", code is left out, symbols
and scripts the (English) voice cannot pronounce are dropped, markdown marks vanish, and the
result is capped at a sentence or word boundary. The words still reach the transcript as the
model wrote them; only the voice gets the cleaned text.

Pure text in, text out: no I/O, no clock, never raises on any ``str``.
"""

from __future__ import annotations

import re
import unicodedata

#: Characters of one reply the orb says at most (about 20 s of speech); the rest is dropped.
MAX_REPLY_CHARS = 300

_FENCED = re.compile(r"```.*?(```|$)", re.S)
_INLINE_CODE = re.compile(r"`([^`\n]*)`")
_URL = re.compile(r"\b(?:https?://|ftp://|www\.)\S+", re.I)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_MARKDOWN = re.compile(r"(^|\s)(#{1,6}|>+|[-*+]|\d+[.)])\s+", re.M)
_EMPHASIS = re.compile(r"[*_~]{1,3}")
_SPACES = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
#: Punctuation a voice uses for its melody and pauses; everything else that is not a letter,
#: digit or space is dropped.
_KEEP_PUNCT = frozenset(".,;:!?'\"()-%$€£&/")


def speakable(text: str, max_chars: int = MAX_REPLY_CHARS) -> str:
    """What the voice should say for ``text`` ("" when there is nothing to say)."""
    text = unicodedata.normalize("NFKC", text)
    text = _FENCED.sub(" ", text)
    text = _INLINE_CODE.sub(lambda m: m.group(1) if _short_words(m.group(1)) else " ", text)
    text = _URL.sub(" a link ", text)
    text = _EMAIL.sub(" an email address ", text)
    text = _MARKDOWN.sub(r"\1", text)
    text = _EMPHASIS.sub("", text)
    text = "".join(_keep(ch) for ch in text)
    text = _SPACES.sub(" ", text).strip()
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    text = re.sub(r"([.,;:!?])(?:\s*[.,;:!?])+", r"\1", text)
    if not re.search(r"[^\W_]", text):
        return ""
    return _cap(text, max_chars)


#: Words before which a long first sentence may be cut, and the span the cut must fall in.
_BREATH_BEFORE = frozenset(["and", "but", "so", "because", "that", "which", "when", "while",
                            "if", "or", "then"])
_BREATH_MIN, _BREATH_MAX = 4, 10


def first_breath(sentence: str) -> list[str]:
    """A reply's first sentence as one or two pieces, the first short enough to be said soon.

    A neural voice makes a sentence in one piece, in about a tenth of its length: a 16-word
    opening would keep the client waiting ~0.4 s more than a 6-word one. So a long first
    sentence is cut where a speaker might breathe — after a comma, or before a conjunction
    (``and``, ``but``, ``that`` ...) — between its 4th and 10th word; the second piece is
    made while the first plays. No such place: the sentence stays whole (never mid-phrase).
    """
    words = sentence.split()
    if len(words) <= _BREATH_MAX:
        return [sentence]
    for i in range(_BREATH_MIN, min(_BREATH_MAX, len(words) - 3) + 1):
        if words[i - 1].endswith((",", ";", ":")) or words[i].lower() in _BREATH_BEFORE:
            return [" ".join(words[:i]), " ".join(words[i:])]
    return [sentence]


#: A clause mark that ends a word: a comma, semicolon or colon, then a space or the end of
#: the text so far (a letter before it, so "1,000" is not cut).
_CLAUSE_MARK = re.compile(r"[^\W\d_][,;:][\"')\]]*(?=\s|$)")


def first_clause_end(text: str) -> int | None:
    """Where a reply's first clause may be cut while the model is still writing its first
    sentence (``None``: not yet, or nowhere): right after a clause mark that ends its 4th to
    10th word, the span :func:`first_breath` cuts in. Said as soon as it is complete, the
    clause's synthesis does not wait for the rest of the sentence's tokens (0.1-0.2 s at 30
    tokens a second); a first sentence without such a mark is said whole, as before."""
    for mark in _CLAUSE_MARK.finditer(text):
        words = len(text[: mark.end()].split())
        if words > _BREATH_MAX:
            return None
        if words >= _BREATH_MIN:
            return mark.end()
    return None


def _short_words(code: str) -> bool:
    """Inline code worth saying: a short name or phrase, not an expression."""
    return len(code) <= 30 and re.fullmatch(r"[\w .'-]+", code) is not None


def _keep(ch: str) -> str:
    if ch.isspace():
        return " "
    if ch in _KEEP_PUNCT:
        return ch
    category = unicodedata.category(ch)
    if category == "Nd":
        return ch if ch.isascii() else " "
    if category[0] == "L":
        # The voices are English: Latin letters (accented ones too) are said, other
        # scripts would be spelled as character names or skipped by the phonemiser.
        return ch if unicodedata.name(ch, "").startswith("LATIN") else " "
    if category == "Pd":
        return "-"
    if category in {"Pi", "Pf"}:
        return "'"
    return " "


def _cap(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= max_chars // 2:
        return head[: ends[-1]]
    cut = head.rfind(" ")
    return (head[:cut] if cut > 0 else head).rstrip(" ,;:-") + "."
