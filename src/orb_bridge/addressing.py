"""Whether a human's turn is addressed to the orb, from its transcript alone.

In a three-way call most speech is between the humans; the orb must answer only what is meant
for it (issue 24's ``addressed`` mode). This module is the text rule, pure and deterministic so
that rates over many rendered turns can be computed offline; the speech-to-text side helps it
by being given the name as a hotword, and a language model, when one is configured, may be
asked on top. What counts as addressing (docs/orb.md, "Whom the orb talks to"):

1. **A greeting with the name**: "hey Orb", "okay Orb", "hi Orb", "hello Orb" at the start of a
   clause. The name may be misheard here (see below) when, in the same sentence, the near
   miss is set off after or comes right before a request word ("Hey or what do you think?");
   the ear then checks it (orb_bridge.opener_name): "Okay, or we could…" is a human's "or".
2. **The name as a vocative**: at the start of the turn followed by a pause mark ("Orb, what do
   you think?"), or at the end after one ("…so far, Orb?"), or set off by pause marks in the
   middle ("Could you, Orb, sum up?"), or after a short opener ("Thanks Orb, and…"; its
   comma may be lost before a request verb, or in a question before "and"/"but" or a
   question's first word: "Thanks Orb and what's…").
3. **A misheard name where only a vocative fits**: Whisper hears a bare "Orb," as "Or," or
   "Aub,"; such a near-miss (one edit away, or a known mishearing) counts only at the start
   of the turn, followed by a pause mark, in a question or a request: a question mark, or a
   request word right after it. "Or, maybe not." and "Or, honestly, I can just say no." (a
   request word later, in a statement) are not addressed; "Or, could you sum up?" is. In
   mid-sentence, a near miss (or "arm") after a short opening that asks nothing, right
   before a question's first word or, after a comma, a request verb: "Tell me, or what did
   I miss?", "If you can, or note the date for me." ("Shall we stop, or what do you
   think?", a tag "Right, or what?" and a choice offered "Just to check, or do you
   already know?" are not).
4. **The name closing a request** even without its pause mark ("Please recap the main
   points Orb": Whisper often drops that comma), and a misheard greeting before the name
   itself ("High Orb").
5. **The name with a question put to "you"**, the name at the start or the end of a clause
   without a pause mark ("Orb what do you think", "What do you think Orb?"). Inside a clause
   it is talked about: "What do you think about that Orb idea", "Can you tell Orb to wait?".

Never addressed: the name right after an article or a possessive ("I told the orb yesterday",
"your orb"; not across a pause mark: "Can I do this, Orb?"), the name inside another word
("orbit"), and a near-miss outside rule 3's position ("or maybe").
"""

from __future__ import annotations

import enum
import re

import attrs

#: Words that open a greeting which names the one greeted next (rule 1).
GREETINGS = frozenset({"hey", "hi", "hello", "okay", "ok", "yo", "excuse"})
#: What Whisper hears for a greeting: counts only with the name itself after it ("High Orb").
MISHEARD_GREETINGS = frozenset({"high"})
#: Words that may open a clause before a vocative name set off after it ("Thanks Orb, …",
#: "Okay so Orb, …"): the name itself only, never a near miss.
OPENERS = frozenset({"thanks", "thank", "you", "sorry", "well", "so", "right", "now", "and",
                     "but", "oh", "okay", "ok", "please"})
#: Words before the name that make it a thing talked about, not someone talked to.
DETERMINERS = frozenset({"the", "a", "an", "this", "that", "my", "your", "our", "their",
                         "his", "her", "its", "whose", "which", "any", "every", "no"})
#: Words that make a turn a request when no question mark is there (rule 3).
REQUEST_WORDS = frozenset({
    "can", "could", "would", "will", "what", "how", "why", "who", "where", "when", "which",
    "please", "tell", "give", "sum", "summarize", "summarise", "recap", "help", "explain",
    "say", "remind", "suggest", "do", "does", "is", "are", "should", "list", "read",
    *("what's", "how's", "where's", "who's", "when's", "why's"),
})
#: Words that open a question: a clause they open is not a short opener before a vocative
#: ("Shall we stop, or what do you think?" offers a choice, names no one).
QUESTION_OPENERS = frozenset({"is", "are", "was", "were", "am", "do", "does", "did", "shall",
                              "should", "can", "could", "would", "will", "have", "has"})
#: Words that, right after a near miss in mid-sentence, make it a vocative before a question
#: (rule 3's mid-sentence form: "Tell me, or what did I miss?").
ASKING_AFTER = frozenset({"what", "how", "why", "who", "where", "when", "which", "could",
                          "can", "would", "will", "did", "do", "please", "what's", "how's",
                          "where's", "who's", "when's", "why's"})
#: Words that, right after a near miss, make it a person's "or" offering the other human a
#: choice ("Just to check, or do you already know?", fresh12, espeak-ng): not a vocative
#: before a question. No named request of the seen sets came back "…, or do…".
OFFERS_AFTER = frozenset({"do", "does"})
#: Verbs that, right after a near miss set off by a comma, make it a vocative before a
#: request ("If you can, or note the date for me.").
IMPERATIVES_AFTER = frozenset({"note", "tell", "give", "write", "read", "list", "sum",
                               "recap", "remind", "keep", "save", "help", "say", "explain",
                               "jot", "summarise", "summarize"})
#: The orb's own jobs (notes kept, lists, summaries, read-backs): a near miss of the name
#: right before one of them, at the turn's start or after a short opening (rule 3's
#: misheard forms), is the name whatever marks Whisper wrote ("or note that she is moving in
#: June.", "Nice or add that one too?" for Piper's "Orb, note…", "Nice, Orb, add…",
#: fresh14). Over every stored transcript of the seen sets (design, held-out, fresh,
#: fresh4-14: 2421 turns, 1585 of them unaddressed) a near miss before one of them came
#: only in named requests; people's "or" went on with "we", "maybe", "what", "let", "have",
#: "cut", "watch" and the like. Verbs people offer each other ("or tell him", "or give it a
#: week", "or try…") are left out on purpose.
ORB_JOBS = frozenset({"note", "jot", "write", "list", "read", "count", "tidy", "add", "log",
                      "sum", "summarise", "summarize", "recap", "repeat", "record", "mark",
                      "store", "start", "make", "put", "save", "keep"})
#: Words a person puts between the name and the job ("Listen, Orb, just keep the number.",
#: heard "Listen, or just keep the number.", fresh15): one of them may stand between a near
#: miss and one of :data:`ORB_JOBS` (round 16).
JOB_FILLERS = frozenset({"just", "please", "also", "now", "quickly"})
#: Determiners and possessives: a near miss right after one stands where a noun does ("the
#: orb keeps notes", heard "That's the arm keep, no, …", fresh15), not a vocative (round 16).
NOUN_BEFORE = frozenset({"the", "a", "an", "this", "that", "my", "your", "our", "their",
                         "his", "her", "its"})
#: The first words of a question asking *what*, not *whether*: a near miss closing such a
#: question is the name ("How did the talk with her boss go or?" for Piper's "…, Orb?",
#: fresh14). A person's closing "…, or?" offers the other side of a yes-or-no question
#: ("Shall we take five, or?", "Is that all for today, or?"); over the seen sets' stored
#: transcripts every closing "or" after a question's first word of these was a named request
#: (seven turns) and every one after "shall", "is", "should", "do", "could we" a person's.
WH_WORDS = frozenset({"what", "how", "why", "who", "where", "when", "which", "what's",
                      "how's", "where's", "who's", "when's", "why's"})
#: Words that join a new clause after a vocative whose comma was dropped ("Thanks Orb and
#: what's the third one?").
CLAUSE_JOINERS = frozenset({"and", "but"})
#: What Whisper writes for a name in mid-sentence besides its near misses ("Just quickly arm
#: how long…", fresh6): counts only in the mid-sentence vocative's place.
MIDDLE_MISHEARD = frozenset({"arm", "arb"})
#: Pause marks that set a vocative off.
PAUSE_MARKS = frozenset({",", ".", "!", "?", ";", ":", "-", "—", "…"})
#: The mark the ear writes before a near miss it heard as the word itself, not the name
#: (orb_bridge.opener_name: "Okay — or what about…"): no rule reads a near miss after it as
#: the name. Whisper tiny.en does not write it.
EAR_BREAK = "—"
#: Words that make an opening a clause of its own, whose "or" joins two choices ("You can
#: call or write, either works."): no vocative follows them.
_SUBJECTS = frozenset({"i", "we", "you", "he", "she", "they", "it"})
_TOKEN = re.compile(r"[\w']+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """The turn's words and pause marks, lower-cased, in order."""
    return [t.lower() for t in _TOKEN.findall(text)]


class Reason(enum.Enum):
    """Why a turn was judged as it was: logged with the turn, and counted by the bench."""

    GREETING = "greeting"
    MISHEARD_GREETING = "misheard-greeting"
    VOCATIVE = "vocative"
    MISHEARD_VOCATIVE = "misheard-vocative"
    MISHEARD_MIDDLE = "misheard-middle"
    MISHEARD_JOB = "misheard-job"
    MISHEARD_CLOSING = "misheard-closing"
    QUESTION_TO_YOU = "question-to-you"
    TALKED_ABOUT = "talked-about"
    NOT_NAMED = "not-named"


@attrs.frozen
class Verdict:
    addressed: bool
    reason: Reason


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance; the words compared here are a few letters long."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def clause_start_of(tokens: list[str], index: int) -> bool:
    """Whether token ``index`` opens a clause (first, or after a pause mark)."""
    return index == 0 or tokens[index - 1] in PAUSE_MARKS


def _opened_by(tokens: list[str], index: int) -> bool:
    """Whether the words of token ``index``'s clause before it are all :data:`OPENERS`
    (at most three: "okay so", "thank you")."""
    start = index
    while start > 0 and tokens[start - 1] not in PAUSE_MARKS:
        start -= 1
    return 0 < index - start <= 3 and all(t in OPENERS for t in tokens[start:index])


def _opens_next_clause(tokens: list[str], index: int) -> bool:
    """Whether token ``index`` opens a clause of its own after a name whose comma Whisper
    dropped ("Thanks Orb and what's…", "Sorry Orb note the date"): a request verb
    (:data:`IMPERATIVES_AFTER`), or, in a question, a joining "and"/"but" or a question's
    first word (:data:`ASKING_AFTER`). "So orb could be a good name" asks nothing."""
    if index >= len(tokens):
        return False
    word = tokens[index]
    return word in IMPERATIVES_AFTER or (
        "?" in tokens[index:] and (word in ASKING_AFTER or word in CLAUSE_JOINERS))


def _job_stems(word: str) -> set[str]:
    """The word and what it may be with an ending taken off ("listed", "notes", "saved"):
    Whisper hears "list the" as "listed" (round 16). Not "-ing": "or keeping it short" is
    a person's gerund, not a request."""
    stems = {word}
    if word.endswith("s"):
        stems.add(word[:-1])
    if word.endswith("ed"):
        stems.update({word[:-2], word[:-1]})
    return stems


def job_ahead(rest: list[str], filler: bool) -> bool:
    """Whether the words after a near miss (pause marks dropped) open with one of the orb's
    jobs, with a word after the verb, its ending aside ("or tidy that up", "or listed
    options for me"); with ``filler`` (the near miss set off by a comma before it) also
    after one of :data:`JOB_FILLERS` ("Listen, or just keep the number."): a person's "or
    just start again", with no comma, is not taken (round 16)."""
    if filler and len(rest) >= 3 and rest[0] in JOB_FILLERS:
        rest = rest[1:]
    return len(rest) >= 2 and bool(_job_stems(rest[0]) & ORB_JOBS)


@attrs.frozen
class AddressRule:
    """The rule for one orb name; ``misheard`` adds known mishearings of it (lower case)."""

    name: str = "Orb"
    misheard: frozenset[str] = attrs.field(
        default=frozenset({"or", "orb's", "orbs", "aub", "orv", "orbe", "awb", "ob"}),
        converter=frozenset)

    @property
    def _key(self) -> str:
        return self.name.lower()

    def _near(self, word: str) -> bool:
        """A word that may be the name misheard (rule 3's candidates)."""
        if word == self._key or word in self.misheard:
            return True
        return len(self._key) >= 3 and edit_distance(word, self._key) <= 1 and word.isalpha()

    def mentions_name(self, text: str) -> bool:
        """Whether the name, or a near miss of it (rule 3's candidates), is in the turn."""
        return any(self._near(t.lower()) for t in _TOKEN.findall(text)
                   if t not in PAUSE_MARKS)

    def opens_a_request(self, text: str) -> bool:
        """Whether the turn is a question, or opens with a request word once a leading
        near miss of the name is set aside ("Can you…", "or please recap…"); "Or perhaps it
        is…" is neither. Where the name may have been lost (orb_bridge.name_probe)."""
        tokens = [t.lower() for t in _TOKEN.findall(text)]
        if "?" in tokens:
            return True
        words = [t for t in tokens if t not in PAUSE_MARKS]
        if words and self._near(words[0]):
            words = words[1:]
        return bool(words) and words[0] in REQUEST_WORDS

    def _greeted_near_miss(self, tokens: list[str], greeting: int, index: int) -> bool:
        """Rule 1 with a near miss (``index``) after the greeting (``greeting``): set off
        after it or right before a request word ("Hey, or, what…", "Okay, or what was…");
        "Okay, or we could just leave it." reads as a human's "or" (fresh10). Not after
        the ear's mark (:data:`EAR_BREAK`): what the words leave open the ear decides
        (orb_bridge.opener_name.greeted_near_miss_checked)."""
        if EAR_BREAK in tokens[greeting + 1:index]:
            return False
        after = tokens[index + 1] if index + 1 < len(tokens) else None
        return after is not None and (after in PAUSE_MARKS or after in REQUEST_WORDS
                                      or after in IMPERATIVES_AFTER)

    def _middle_vocative(self, tokens: list[str], index: int) -> bool:
        """Rule 3 in mid-sentence: the near miss at ``index`` after a short opening of at
        most three words that asks nothing ("Tell me,", "Sorry,", "Just quickly"), and
        right before a question's first word ("…, or what did I miss?") or, set off by a
        comma, before a request verb ("If you can, or note the date for me.")."""
        word = tokens[index]
        if not (self._near(word) or word in MIDDLE_MISHEARD) or index + 1 >= len(tokens) \
                or tokens[index - 1] == EAR_BREAK:
            return False
        start = index
        while start > 0 and tokens[start - 1] not in (".", "?", "!"):
            start -= 1
        opening = [t for t in tokens[start:index] if t not in PAUSE_MARKS]
        if not 1 <= len(opening) <= 3 or opening[0] in QUESTION_OPENERS or \
                self._near(opening[0]):
            return False
        rest = tokens[index + 1:]
        set_off = rest[0] == ","  # "Look, Arb, can we…"
        rest = [t for t in rest[1:] if t not in PAUSE_MARKS] if set_off else \
            [t for t in rest if t not in PAUSE_MARKS]
        if tokens[index - 1] in NOUN_BEFORE and not set_off:
            return False  # "the arm keep…": a noun's place, not "A arm, what…" (round 16)
        if tokens[index - 1] == "," and job_ahead(rest, filler=True) and \
                opening[0] not in _SUBJECTS:
            # "Okay then, or save that."; not "You can call or write…" (round 15), nor with no
            # comma, two actions joined: "keep it or put it back" (fresh16, session 15)
            return True
        if len(rest) < 3:  # a tag ("Right, or what?") asks the other human
            return False
        if rest[0] in ASKING_AFTER:
            return "?" in tokens[index:] and rest[0] not in OFFERS_AFTER
        return rest[0] in IMPERATIVES_AFTER and tokens[index - 1] == ","

    def judge(self, text: str) -> Verdict:
        tokens = [t.lower() for t in _TOKEN.findall(text)]
        words = [(i, t) for i, t in enumerate(tokens) if t not in PAUSE_MARKS]
        if not words:
            return Verdict(False, Reason.NOT_NAMED)
        asks = "?" in tokens or any(w in REQUEST_WORDS for _, w in words)
        named = False
        for position, (index, word) in enumerate(words):
            before = words[position - 1][1] if position > 0 else None
            token_before = tokens[index - 1] if index > 0 else None
            token_after = tokens[index + 1] if index + 1 < len(tokens) else None
            clause_start = before is None or token_before in PAUSE_MARKS
            if before in GREETINGS and self._near(word):
                greeting_index = words[position - 1][0]
                starts_clause = greeting_index == 0 or tokens[greeting_index - 1] in PAUSE_MARKS
                if starts_clause and word == self._key:
                    return Verdict(True, Reason.GREETING)
                if starts_clause and self._greeted_near_miss(tokens, greeting_index, index):
                    return Verdict(True, Reason.MISHEARD_GREETING)
            if before in MISHEARD_GREETINGS and word == self._key and clause_start_of(
                    tokens, words[position - 1][0]):
                return Verdict(True, Reason.GREETING)
            if word != self._key:
                if (position == 0 and self._near(word) and token_after in PAUSE_MARKS
                        and len(words) > 1 and ("?" in tokens or words[1][1] in REQUEST_WORDS)):
                    return Verdict(True, Reason.MISHEARD_VOCATIVE)
                if position == 0 and self._near(word) and len(words) > 2 and \
                        job_ahead([w for _, w in words[1:]], False):  # "Or tidy that up." (15, 16)
                    return Verdict(True, Reason.MISHEARD_JOB)
                if position == len(words) - 1 and position >= 3 and self._near(word) and \
                        len(word) < len(self._key) and words[0][1] in WH_WORDS and \
                        words[1][1] != "about":
                    # "How did it go or?" (round 15); not "What colour were the orbs?", nor
                    # a suggestion "What about Tuesday, or?", which is a yes-or-no question
                    return Verdict(True, Reason.MISHEARD_CLOSING)
                if position > 0 and self._middle_vocative(tokens, index):
                    return Verdict(True, Reason.MISHEARD_MIDDLE)
                continue
            named = True
            if before in DETERMINERS and token_before not in PAUSE_MARKS:
                continue  # "this, Orb?" sets the name off: "this" does not bind it
            set_off_before = clause_start
            set_off_after = token_after is None or token_after in PAUSE_MARKS
            if (position == 0 and set_off_after) or (set_off_before and set_off_after):
                return Verdict(True, Reason.VOCATIVE)
            if _opened_by(tokens, index) and (
                    (set_off_after and token_after is not None)
                    or _opens_next_clause(tokens, index + 1)):
                return Verdict(True, Reason.VOCATIVE)
            if asks and "you" in (w for _, w in words) and (set_off_before or set_off_after):
                return Verdict(True, Reason.QUESTION_TO_YOU)
            if position == len(words) - 1 and asks:  # "…the main points Orb": comma lost
                return Verdict(True, Reason.VOCATIVE)
        return Verdict(False, Reason.TALKED_ABOUT if named else Reason.NOT_NAMED)
