"""The coaching words: the language model's system prompt, the offline coach, the summaries.

Pure text in, text out (no I/O, no clock), so every rule here is tested without audio.

Without a language model the orb still answers *what was said*: it takes up the client's own
words (turned from "I"/"my" to "you"/"your") and asks the next question that fits what kind of
thing they said — a goal, a feeling, an obstacle, a question, or anything else. It is reflective
listening, a coaching basic, not conversation; but it is never a fixed rotation of phrases.

The extractive summary (no model) lists the session's key topics (the content words said most,
by both humans) and the client's stated goals in their own words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import attrs

COACH = "coach"
CLIENT = "client"
AI = "ai"

SYSTEM_PROMPT = """\
You are the AI assistant in a live three-way coaching call between a human coach, a client \
and you. You hear both humans; their turns reach you labelled "Coach:" and "Client:". \
The coach leads the session: support the coach's direction, never contradict or replace them. \
You answer only the client. Reply in one to three short spoken sentences, plain words, no \
lists, no markdown, no emojis. Reflect what the client said in their own words when it helps, \
and end with one open question that moves them toward their goal. Never give medical, legal \
or financial advice; suggest they raise such matters with their coach."""

SUMMARY_PROMPT = """\
Summarise the coaching session transcript below for the coach's records. Write three short \
sections with these headings: "Key topics:", "Progress:", "Next steps:". Use the client's own \
words where possible. Plain text, at most 150 words."""


@attrs.frozen
class Turn:
    """One line of the conversation: who (role) said what."""

    role: str
    text: str


@attrs.frozen
class Summary:
    """A session summary; ``method`` is ``llm`` or ``extractive``."""

    text: str
    method: str
    key_topics: tuple[str, ...] = ()
    goals: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# Turning the client's words toward them.

_SWAPS = {
    "i": "you", "i'm": "you're", "im": "you're", "i've": "you've", "i'd": "you'd",
    "i'll": "you'll", "me": "you", "my": "your", "mine": "yours", "myself": "yourself",
    "we": "you", "our": "your", "us": "you",
}
_I_VERB = re.compile(r"\bI (am|was)\b", re.I)
_WORD = re.compile(r"[A-Za-z']+|[^A-Za-z'\s]+|\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

_GOAL = re.compile(r"\b(i|we)\s+(really\s+)?(want|wanna|need|would like|'d like|hope|wish|"
                   r"plan|intend|am going to|'m going to|will|am trying|'m trying|aim)\b|"
                   r"\bmy (goal|aim|plan|dream)\b", re.I)
_FEELING = re.compile(r"\b(feel|feeling|felt|worried|anxious|stressed|afraid|scared|"
                      r"frustrated|overwhelmed|tired|sad|angry|happy|excited|stuck|nervous)\b",
                      re.I)
_OBSTACLE = re.compile(r"\b(can't|cannot|can not|don't know how|struggle|struggling|hard|"
                       r"difficult|problem|never|keep failing|no time|too much)\b", re.I)

#: Words that never make a topic (function words, fillers, everyday verbs).
_STOPWORDS_TEXT = (
    "a able about above actually after again against all also always am an and any are aren't "
    "as at back be because been before being below between bit both but by can can't cannot "
    "come could couldn't day days did didn't do does doesn't doing don't down during each even "
    "evening every feel feeling few find for from further get gets getting give go going gonna "
    "good got great had hadn't has hasn't have haven't having he he'd he'll he's help her here "
    "here's hers herself him himself his hope how how's i i'd i'll i'm i've if in into is isn't "
    "it it's its itself just keep keeps kind know let's like look looks lot lots made make "
    "makes maybe me more morning most moving much mustn't my myself need needs never no nor not "
    "now of off ok okay on once one only or other ought our ours ourselves out over own plan "
    "put really right said same say see seem seems shan't she she'd she'll she's should "
    "shouldn't so some something sort start still stop such sure take takes tell than thank "
    "thanks that that's the their theirs them themselves then there there's these they they'd "
    "they'll they're they've thing things think this those through time times to today told too "
    "try trying under until up us very wanna want wants was wasn't way ways we we'd we'll we're "
    "we've week well were weren't what what's when when's where where's which while who who's "
    "whom why why's will wish with won't would wouldn't yeah yes you you'd you'll you're you've "
    "your yours yourself yourselves "
)
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

_THING = re.compile(r"\b((?:your|the|this|that|his|her|their) [a-z][a-z'-]+)", re.I)


def to_second_person(text: str) -> str:
    """"I want my evenings back" -> "you want your evenings back"."""
    text = _I_VERB.sub(lambda m: "I " + ("are" if m.group(1).lower() == "am" else "were"),
                       text)
    out: list[str] = []
    for token in _WORD.findall(text):
        lower = token.lower()
        swapped = _SWAPS.get(lower)
        out.append(swapped if swapped is not None else token)
    return "".join(out)


def _clean(text: str) -> str:
    return " ".join(text.split()).strip()


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(_clean(text)) if s.strip()]


def _clip_words(text: str, limit: int) -> str:
    words = text.split()
    return " ".join(words[:limit])


def _core_clause(sentence: str) -> str:
    """The part of a sentence worth reflecting: no trailing punctuation, a filler opening
    ("well, so, um") dropped, at most 16 words."""
    body = sentence.rstrip(".!?… ").strip()
    body = re.sub(r"^(well|so|um+|uh+|okay|ok|yeah|and|but)\b[, ]*", "", body, flags=re.I)
    return _clip_words(body, 16)


_TOPIC_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
#: Punctuation that ends a clause: a topic phrase never spans one.
_CLAUSE = re.compile(r"[^,;:.!?()\n]+")
#: Nor does it join two clauses: "family and start" is no topic.
_CONJUNCTION = re.compile(r"\b(?:and|but|so|because|or)\b", re.IGNORECASE)


def _content(word: str) -> bool:
    return len(word) >= 3 and word.lower().strip("'-") not in STOPWORDS


#: Words a topic phrase neither starts nor ends with ("my family", not "family and").
_FUNCTION_WORDS = frozenset({
    "a", "an", "the", "and", "or", "but", "so", "to", "of", "in", "on", "at", "for", "with",
    "from", "by", "about", "as", "into", "than", "then", "i", "you", "he", "she", "it", "we",
    "they", "me", "him", "her", "us", "them", "my", "your", "his", "its", "our", "their", "is",
    "are", "was", "were", "be", "been", "am", "do", "does", "did", "have", "has", "had",
    "that", "this", "these", "those", "not", "no", "just", "very", "really",
})


def _edge(word: str) -> bool:
    return word.lower() not in _FUNCTION_WORDS


def key_topics(turns: Sequence[Turn], limit: int = 5) -> tuple[str, ...]:
    """Phrases of 2-5 words the humans said, verbatim, that carry their most repeated words.

    A topic a coach can read back ("more time for my family", "stuck at work") says more than
    single words ("family, stuck, work"), and quoting the transcript word for word means the
    summary never puts words in anyone's mouth. A candidate is a run of 2-5 words inside one
    clause that starts and ends with a content word; it scores by how often it was said, then
    by how often its content words were said (per word, so long phrases gain nothing by
    length), then by who said it first. Chosen phrases share no content word.
    """
    freq: Counter[str] = Counter()
    clauses: list[tuple[str, list[re.Match[str]]]] = []
    for turn in turns:
        if turn.role == AI:
            continue
        for clause in (part for piece in _CLAUSE.findall(turn.text)
                       for part in _CONJUNCTION.split(piece)):
            words = list(_TOPIC_WORD.finditer(clause))
            clauses.append((clause, words))
            freq.update(w.group().lower() for w in words if _content(w.group()))
    said: Counter[str] = Counter()
    first: dict[str, tuple[str, int, frozenset[str]]] = {}
    for clause, words in clauses:
        for i, start in enumerate(words):
            if not _edge(start.group()):
                continue
            for n in range(2, 6):
                if i + n > len(words):
                    break
                end = words[i + n - 1]
                if not _edge(end.group()) or not any(_content(w.group())
                                                    for w in words[i:i + n]):
                    continue
                phrase = clause[start.start():end.end()]
                key = " ".join(w.group().lower() for w in words[i:i + n])
                said[key] += 1
                if key not in first:
                    content = frozenset(w.group().lower() for w in words[i:i + n]
                                        if _content(w.group()))
                    weight = sum(freq[w] for w in content) * 100 // n
                    first[key] = (phrase, weight, content)
    order = {key: rank for rank, key in enumerate(first)}
    ranked = sorted(first, key=lambda k: (-said[k], -first[k][1], order[k]))
    chosen: list[str] = []
    used: set[str] = set()
    for key in ranked:
        phrase, _weight, content = first[key]
        if content & used:
            continue
        chosen.append(phrase)
        used |= content
        if len(chosen) == limit:
            break
    return tuple(chosen)


def stated_goals(turns: Sequence[Turn], limit: int = 5) -> tuple[str, ...]:
    """The client's sentences that state a goal, in their own words."""
    goals: list[str] = []
    for turn in turns:
        if turn.role != CLIENT:
            continue
        for sentence in _sentences(turn.text):
            if _GOAL.search(sentence) and sentence not in goals:
                goals.append(sentence)
    return tuple(goals[:limit])


def reflective_reply(text: str, history: Sequence[Turn] = ()) -> str:
    """The offline coach's answer to the client's ``text``: their words, then a question.

    The question fits what they said (goal, feeling, obstacle, question, anything else) and
    points at the conversation's main topic once there is one; ``history`` is everything said
    before, oldest first.
    """
    sentences = _sentences(text)
    if not sentences:
        return "I'm listening. Tell me more."
    # The sentence that carries the most: a goal, else a feeling, else the longest.
    chosen = next((s for s in sentences if _GOAL.search(s)), None) \
        or next((s for s in sentences if _FEELING.search(s)), None) \
        or max(sentences, key=lambda s: len(s.split()))
    clause = _core_clause(chosen)
    if not clause:
        return "I'm listening. Tell me more."
    mirrored = to_second_person(clause)
    things = [m for m in _THING.findall(mirrored)
              if m.split(" ", 1)[1].lower() not in STOPWORDS]
    thing = _lower_first(things[0]) if things else None
    if chosen.rstrip().endswith("?"):
        return (f"You're asking {_lower_first(mirrored)}. What do you think the answer "
                "might be for you?")
    if _GOAL.search(chosen):
        return (f"So {_lower_first(mirrored)}. What would be one small first step you "
                "could take this week?")
    if _FEELING.search(chosen):
        return (f"It sounds like {_lower_first(mirrored)}. What is behind that feeling "
                "for you?")
    if _OBSTACLE.search(chosen):
        return (f"I hear that {_lower_first(mirrored)}. What has helped you, even a little, "
                "when it went better?")
    about = f"about {thing}" if thing else "about that"
    return f"You said {_lower_first(mirrored)}. What matters most to you {about}?"


def _lower_first(text: str) -> str:
    if not text:
        return text
    first = text.split(" ", 1)[0]
    if first.isupper() and len(first) > 1:  # an acronym
        return text
    return text[0].lower() + text[1:]


def extractive_summary(turns: Sequence[Turn]) -> Summary:
    """Key topics and the client's stated goals, without a model."""
    topics = key_topics(turns)
    goals = stated_goals(turns)
    lines = ["Key topics: " + (", ".join(topics) if topics else "none recorded")]
    if goals:
        lines.append("Client's stated goals:")
        lines.extend(f"- {goal}" for goal in goals)
    else:
        lines.append("Client's stated goals: none stated")
    said = sum(1 for t in turns if t.role != AI)
    lines.append(f"Turns transcribed: {said} by the humans, "
                 f"{sum(1 for t in turns if t.role == AI)} by the assistant.")
    return Summary("\n".join(lines), "extractive", topics, goals)


def label(role: str) -> str:
    """How a role is named to the language model."""
    return {COACH: "Coach", CLIENT: "Client", AI: "Assistant"}.get(role, role.capitalize())


def transcript_text(turns: Sequence[Turn]) -> str:
    return "\n".join(f"{label(t.role)}: {t.text}" for t in turns)
