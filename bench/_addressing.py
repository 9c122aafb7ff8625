"""Whom the orb talks to, measured offline: is each rendered turn taken as addressed?

Used by ``bench/party.py --addressing`` (figures in the README). Every turn is rendered here
(espeak-ng in four voices and Piper's joe-us voice; nothing fetched), transcribed by the orb's
own :class:`orb_bridge.stt.WhisperStt` (tiny.en, the orb's name as a hotword, as the orb runs
it) and judged by the orb's own :class:`orb_bridge.addressing.AddressRule`, then fed in order
to :class:`orb_bridge.addressee.Addressee` in ``addressed`` mode on a simulated clock (turns
plus 1.5 s gaps) for the interjection figure. Turns are numbered; odd numbers are the held-out
half, kept aside while the rule was written (``--set``).

* **addressed**: requests that name the orb, from the coach or the client, in the forms
  docs/orb.md counts (greeting, vocative at the start or the end, "Orb what do you think").
* **unaddressed**: human-to-human lines of a coaching conversation, among them near misses:
  "or maybe", "orbit", "I told the orb yesterday", "your orb", "the Orb idea".
"""

from __future__ import annotations

import functools
import subprocess
import time
from typing import Any

import numpy as np

from orb_bridge import tts
from orb_bridge.address_judge import AddressJudge
from orb_bridge.addressee import Addressee
from orb_bridge.addressing import AddressRule
from orb_bridge.audio import HEARING_RATE, Audio
from orb_bridge.hearing import Utterance
from orb_bridge.name_probe import NameProbe
from orb_bridge.stt import WhisperStt
from testkit import voices

REQUESTS = (
    "could you sum up what we have talked about so far?",
    "what do you think about my plan?",
    "can you give me a tip for the mornings?",
    "please recap the main points.",
    "what should I try first?",
    "how would you describe my progress?",
    "can you suggest a small first step?",
    "what did I say my goal was?",
    "could you remind us of the three options?",
    "is there anything we missed?",
)
#: How a request names the orb: ``{r}`` the request, ``{R}`` it capitalised.
FORMS = (
    "Hey Orb, {r}",
    "Okay Orb, {r}",
    "Orb, {r}",
    "{R_no_mark}, Orb?",
    "Hi Orb, {r}",
)
UNADDRESSED = (
    "How did your week go?",
    "It was busy. I kept putting things off until the last minute.",
    "What got in the way, do you think?",
    "Mostly email and meetings.",
    "Or maybe we could try the mornings instead.",
    "Or, we could look at your evenings first.",
    "The orbit of my week is all meetings.",
    "I told the orb yesterday about my plan.",
    "Your orb said something similar last time.",
    "That Orb idea sounds good to me.",
    "Let us look at what a normal evening looks like.",
    "I want more time for my family.",
    "What would a good Monday look like for you?",
    "I think I should say no more often.",
    "Or what about Sundays?",
    "How do you feel about that?",
    "I am not sure, maybe a little tired.",
    "Can you tell me more about your manager?",
    "We could write it down together.",
    "What did you try last time?",
    "I tried waking up earlier, but it did not last.",
    "Or perhaps it is the phone at night.",
    "Orbs of light were in my dream.",
    "The orbital plan was too ambitious.",
    "Could you say that again?",
    "I would like to start running again.",
    "What is stopping you?",
    "Mostly my own doubts, I guess.",
    "Or should we talk about work first?",
    "Let us pick one small step for this week.",
    "What do you think about that?",
    "My sister gave me an orb for my birthday.",
    "Do you have a plan for the weekend?",
    "I read an article about habits.",
    "What was the main point of it?",
    "That small changes add up over time.",
    "Or, you know, just rest more.",
    "Is there anything else on your mind?",
    "Not really, that is it for today.",
    "Shall we meet again next Tuesday?",
    "Tell me what a good day looks like.",
    "One where I finish work by six.",
    "Why six?",
    "So I can cook dinner with my kids.",
    "Or is that too optimistic?",
    "Let us try it for two weeks.",
    "How would you know it worked?",
    "I would feel less rushed in the evening.",
    "What could get in the way?",
    "Late meetings, probably.",
)
#: A second held-out set (``--set fresh``), written when the name probe was designed and
#: before anything of it was run: new requests and new human-to-human lines, and every form
#: of naming meets every voice (in the halves above each form meets two voices only).
FRESH_REQUESTS = (
    "what would you ask me next?",
    "can you list the goals I mentioned?",
    "would you write down my three next steps?",
    "tell us what you noticed in this session.",
    "how long have we been talking?",
    "could you give an example of a good boundary?",
    "what is a good question to end on?",
    "please remind me what I promised to do.",
    "do you have any advice about sleep?",
    "which of my ideas sounds most realistic?",
)
FRESH_UNADDRESSED = (
    "Or we could leave that for next time.",
    "Or, honestly, I could just say no.",
    "Or would you rather start with your sleep?",
    "Or do you think that is too much?",
    "Or, what if you asked your sister for help?",
    "Or how about a walk after lunch?",
    "The orb on the screen keeps changing colour.",
    "I asked the orb about this last week.",
    "Your orb is very quiet today.",
    "Is the orb recording this?",
    "A glowing orb, that is what the logo looks like.",
    "The orbit around the sun takes a year.",
    "Can you tell me what happened on Friday?",
    "Could you say a bit more about your manager?",
    "What do you want from this job?",
    "How often do you exercise?",
    "Please go on.",
    "Tell me about your best week this year.",
    "Would it help to write a list?",
    "Why do you think it keeps happening?",
    "I forgot my notebook at home.",
    "We talked about this in March.",
    "My boss never answers my emails.",
    "It has been a long month.",
    "That makes sense to me.",
    "Ordinary days are the hardest.",
    "Order matters here, I think.",
    "Or else I will be up all night again.",
    "Orla, my colleague, says the same.",
    "Oh, right, I remember now.",
    "Hey, do you remember what we decided?",
    "Okay, what is the first step then?",
    "Hi, sorry I am a little late.",
    "Hello, can you hear me well?",
    "Sorry, could you repeat that?",
    "Where do you want to be in a year?",
    "When did you last take a day off?",
    "Who else could support you?",
    "Do you sleep well at the moment?",
    "Should we set a reminder for Monday?",
    "Give it two weeks and see.",
    "Explain to me what a good result looks like.",
    "Help me understand what stops you.",
    "Read that goal out loud again.",
    "Say it in your own words.",
    "List three things that went well.",
    "Is there a cost to saying yes?",
    "Are you happy with that plan?",
    "Does that feel realistic?",
    "Remind me, what was your deadline?",
)
#: A third held-out set (``--set fresh4``), written in the fourth round before its design (a
#: word set off by a pause, heard alone) was tried, and run only once it was frozen: new
#: requests in every form, and human-to-human lines with the near misses the set-off word
#: must not take for the name: "or" set off at the start ("Or, …") and the end ("…, or?"),
#: "of", "all", "absorb", "orbit", "order".
FRESH4_REQUESTS = (
    "what is one thing I could drop this week?",
    "can you read back my first goal?",
    "how would a good coach answer that?",
    "please list what we agreed on.",
    "could you suggest a question for my manager?",
    "what have I been avoiding?",
    "would you say I am on track?",
    "tell me one habit to start tomorrow.",
    "can you explain that idea more simply?",
    "what was the second option again?",
    "how much time do we have left?",
    "do you remember my deadline?",
)
FRESH4_UNADDRESSED = (
    "Or, we could start with the hardest task.",
    "Or, can you move the meeting to Friday?",
    "Or, what would your partner say?",
    "Should we leave it there, or?",
    "Is that enough for today, or?",
    "Do you want to add anything, or?",
    "Or is it more about the money?",
    "Of course, what time suits you?",
    "All right, what do you want to try?",
    "All of it, honestly.",
    "Absorb it for a day, then decide.",
    "How do you absorb all that feedback?",
    "The orbit of the team is my manager.",
    "In order, what comes first?",
    "Ordering the tasks helps me a lot.",
    "Our budget is the real problem.",
    "Ah, I see what you mean now.",
    "Hey, could you share your screen?",
    "Okay, so what is the plan for Monday?",
    "Hello, is the sound all right?",
    "Can you tell me what worked last week?",
    "Could you give me an example of that?",
    "What would you do differently?",
    "Please say a little more about that.",
    "I showed the orb my notes earlier.",
    "Does the orb keep a summary?",
    "Which part felt the hardest?",
    "Were you happy with the result?",
    "I will email you the plan tonight.",
    "We ran out of time last session.",
)
#: espeak-ng voices (variant, words per minute) and Piper's: ``piper``.
VOICES = ("espeak:en-us:165", "espeak:en-us+f3:150", "espeak:en-gb-x-rp:175",
          "espeak:en-us+m3:185", "piper")
GAP = 1.5


@functools.lru_cache(maxsize=2048)
def render(voice: str, text: str) -> np.ndarray[Any, np.dtype[np.int16]]:
    """16 kHz mono speech of ``text`` in ``voice``, without leading or trailing quiet."""
    if voice == "piper":
        return voices.piper(text)
    _, variant, wpm = voice.split(":")
    wav = subprocess.run(["espeak-ng", "--stdout", "-v", variant, "-s", wpm, text],
                         check=True, capture_output=True, timeout=20).stdout
    return voices.trim(tts.parse_wav(wav).at(HEARING_RATE).int16())


def addressed_texts() -> list[str]:
    """Each request in each form (50 texts)."""
    texts = []
    for request in REQUESTS:
        capital = request[0].upper() + request[1:]
        for form in FORMS:
            texts.append(form.format(r=request, R=capital, R_no_mark=capital.rstrip("?.")))
    return texts


def turns() -> list[dict[str, Any]]:
    """Every turn: 50 addressed texts in 2 voices, 50 unaddressed in 4 (voices rotate)."""
    rows: list[dict[str, Any]] = []
    for k, text in enumerate(addressed_texts()):
        for j in range(2):
            rows.append({"addressed": True, "text": text,
                         "voice": VOICES[(k + j * 2) % len(VOICES)],
                         "role": "coach" if k % 2 else "client"})
    for k, text in enumerate(UNADDRESSED):
        for j in range(4):
            rows.append({"addressed": False, "text": text,
                         "voice": VOICES[(k + j) % len(VOICES)],
                         "role": "coach" if k % 2 == 0 else "client"})
    for n, row in enumerate(rows):
        row["n"] = n
    return rows


def _addressed_once(requests: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each request once in every form, the voice turning with the form (each form meets
    every voice), coach and client in turn."""
    rows: list[dict[str, Any]] = []
    for k, request in enumerate(requests):
        capital = request[0].upper() + request[1:]
        for f, form in enumerate(FORMS):
            text = form.format(r=request, R=capital, R_no_mark=capital.rstrip("?."))
            rows.append({"addressed": True, "text": text,
                         "voice": VOICES[(f + k) % len(VOICES)],
                         "role": "coach" if (k + f) % 2 else "client"})
    return rows


def fresh_turns() -> list[dict[str, Any]]:
    """The fresh set: 50 addressed texts once each (the voice turns with the form, so each
    form meets every voice) and 50 unaddressed lines in two voices."""
    rows = _addressed_once(FRESH_REQUESTS)
    for k, text in enumerate(FRESH_UNADDRESSED):
        for j in range(2):
            rows.append({"addressed": False, "text": text,
                         "voice": VOICES[(k + 2 * j) % len(VOICES)],
                         "role": "coach" if k % 2 == 0 else "client"})
    for n, row in enumerate(rows):
        row["n"] = 1000 + n
    return rows


def fresh4_turns() -> list[dict[str, Any]]:
    """The fourth round's held-out set: 60 addressed texts once each (the voice turns with
    the form: each form meets every voice) and 30 unaddressed lines in two voices, one of
    them Piper's for the lines with a set-off near miss (120 turns)."""
    rows = _addressed_once(FRESH4_REQUESTS)
    for k, text in enumerate(FRESH4_UNADDRESSED):
        pair = ("piper", VOICES[k % 4]) if k < 7 else (VOICES[k % 5], VOICES[(k + 2) % 5])
        for voice in pair:
            rows.append({"addressed": False, "text": text, "voice": voice,
                         "role": "coach" if k % 2 == 0 else "client"})
    for n, row in enumerate(rows):
        row["n"] = 2000 + n
    return rows


def chosen(rows: list[dict[str, Any]], which: str) -> list[dict[str, Any]]:
    if which in ("fresh", "fresh4"):
        return fresh_turns() if which == "fresh" else fresh4_turns()
    if which.startswith("fresh") and which[5:].isdigit():  # fresh5.., each in its own module
        return list(getattr(__import__(f"_addressing_{which}"), f"{which}_turns")(VOICES))
    if which in ("design", "heldout"):
        return [r for r in rows if r["n"] % 2 == (which == "heldout")]
    return rows


def rescore(path: str) -> dict[str, Any]:
    """The summary of an earlier run's turns (its JSON lines) judged again by the current
    rule: the words Whisper heard do not depend on the rule, so a rule changed on the design
    half is re-measured there without transcribing again."""
    import json

    rule = AddressRule("Orb")
    rows = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if row.get("bench") != "party-addressing":
                continue
            row["taken"] = rule.judge(row["heard"]).addressed
            row["taken_without_probe"] = rule.judge(
                row.get("heard_without_probe", row["heard"])).addressed
            if "heard_without_hotword" in row:
                row["taken_without_hotword"] = rule.judge(row["heard_without_hotword"]).addressed
            rows.append(row)
    return _summary(rows, "rescored " + path, None, rule)


class _NoModel:
    async def complete(self, messages: Any, *, max_tokens: int | None = None) -> str:
        raise AssertionError("the bench only counts the turns a model would be asked")


def _summary(rows: list[dict[str, Any]], which: str, started: float | None,
             rule: AddressRule) -> dict[str, Any]:
    clock = [0.0]
    stage = Addressee(rule, mode="addressed", clock=lambda: clock[0])
    for row in rows:
        clock[0] += row["seconds"] + GAP
        if not row["addressed"]:
            utterance = Utterance(f"{row['role']}-1", row["role"],
                                  Audio.silence(0, HEARING_RATE), row["seconds"],
                                  text=row["heard"])
            row["interjection"] = stage.decide(utterance).answer
    addressed = [r for r in rows if r["addressed"]]
    unaddressed = [r for r in rows if not r["addressed"]]
    minutes = sum(r["seconds"] + GAP for r in unaddressed) / 60
    summary: dict[str, Any] = {
        "bench": "party-addressing-summary", "set": which,
        "addressed_turns": len(addressed), "unaddressed_turns": len(unaddressed),
        "recognised": round(sum(r["taken"] for r in addressed) / max(1, len(addressed)), 3),
        "false_addressed": round(sum(r["taken"] for r in unaddressed)
                                 / max(1, len(unaddressed)), 3),
        "conversation_minutes": round(minutes, 1),
        "interjections_per_10_min": round(
            sum(r["interjection"] for r in unaddressed) / max(minutes / 10, 1e-9), 2),
    }
    if started is not None:
        summary["seconds"] = round(time.perf_counter() - started, 1)
    for r in rows:
        if "taken_without_probe" not in r:
            heard = r.get("heard_without_probe", r["heard"])
            r["taken_without_probe"] = rule.judge(heard).addressed
    summary["recognised_without_probe"] = round(
        sum(r["taken_without_probe"] for r in addressed) / max(1, len(addressed)), 3)
    summary["false_addressed_without_probe"] = round(
        sum(r["taken_without_probe"] for r in unaddressed) / max(1, len(unaddressed)), 3)
    # What a configured language model would be asked (orb_bridge.address_judge): the most
    # it could add on each side; the stand-in model cannot say how well it would judge.
    judge = AddressJudge(_NoModel(), rule.name)
    summary["ambiguous_addressed"] = sum(
        not r["taken"] and judge.worth_asking(r["heard"]) for r in addressed)
    summary["ambiguous_unaddressed"] = sum(
        not r["taken"] and judge.worth_asking(r["heard"]) for r in unaddressed)
    summary["names_restored"] = sum(r.get("heard") != r.get("heard_without_probe", r["heard"])
                                    for r in rows)
    if any("taken_without_hotword" in r for r in addressed):
        summary["recognised_without_hotword"] = round(
            sum(r.get("taken_without_hotword", False) for r in addressed)
            / max(1, len(addressed)), 3)
    again = [r["cpu_again"] for r in rows if r.get("heard_again") and "cpu_again" in r]
    if again:
        import statistics

        # What hearing a turn again costs, and how often it happens: the name's CPU per turn.
        summary["heard_again"] = round(len(again) / len(rows), 3)
        summary["cpu_again_p50"] = round(statistics.median(again), 3)
        summary["cpu_plain_p50"] = round(statistics.median(r["cpu_plain"] for r in rows), 3)
        summary["cpu_name_per_turn"] = round(sum(again) / len(rows), 3)
    counted = [r["encoder_again"] for r in rows if "encoder_again" in r]
    if counted:  # the encoder cache at work on the second hearing (round 13)
        summary["encoder_passes_again"] = sum(c[0] for c in counted)
        summary["encoder_reused_again"] = sum(c[1] for c in counted)
    for voice in VOICES:
        mine = [r for r in addressed if r["voice"] == voice]
        if mine:
            summary[f"recognised[{voice}]"] = round(sum(r["taken"] for r in mine) / len(mine), 3)
    return summary


def run(which: str, *, smoke: bool = False, compare: bool = False,
        part: str = "all") -> dict[str, Any]:
    """Transcribe and judge every turn of the set (``part``: its addressed or unaddressed
    turns only, a long set in two runs); the summary row (and prints each turn)."""
    import json

    rows = [r for r in chosen(turns(), which)
            if part not in ("addressed", "unaddressed") or r["addressed"] == (part == "addressed")]
    if smoke:
        rows = [r for r in rows if r["addressed"]][:3] + [r for r in rows
                                                           if not r["addressed"]][:3]
    rule = AddressRule("Orb")
    hinted = WhisperStt(threads=2, hotwords="Orb", name_probe=NameProbe("Orb"))
    plain = WhisperStt(threads=2) if compare else None
    hinted.load()
    started = time.perf_counter()
    for row in rows:
        pcm = Audio(render(row["voice"], row["text"]), HEARING_RATE)
        row["seconds"] = round(pcm.duration, 2)
        # The words as the orb hears them (plain, then heard again for the name: the hotword
        # and the probe), and the plain words alone.
        cpu = time.process_time()
        row["heard_without_probe"] = hinted.transcribe_blocking(pcm, probe=False)
        plain_cpu = time.process_time() - cpu
        row["heard_again"] = hinted.may_lack_name(row["heard_without_probe"])
        cpu = time.process_time()
        encoder = hinted.load().encode  # orb_bridge.encodings_cache.RecentEncodings
        passes, reused = encoder.misses, encoder.hits
        row["heard"] = hinted.name_first(pcm, row["heard_without_probe"])
        # Encoder passes and reused encodings while hearing the turn again for the name
        row["encoder_again"] = [encoder.misses - passes, encoder.hits - reused]
        # CPU seconds (both threads) of the plain decoding and of hearing the turn again
        row["cpu_plain"], row["cpu_again"] = round(plain_cpu, 3), round(
            time.process_time() - cpu, 3)
        verdict = rule.judge(row["heard"])
        row["taken"], row["why"] = verdict.addressed, verdict.reason.value
        if plain is not None and row["addressed"]:
            row["heard_without_hotword"] = plain.transcribe_blocking(pcm)
            row["taken_without_hotword"] = rule.judge(row["heard_without_hotword"]).addressed
        print(json.dumps({"bench": "party-addressing", **row}), flush=True)
    return _summary(rows, which, started, rule)
