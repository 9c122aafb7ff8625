"""Is the speaker finished? Smart Turn v3.2, a semantic end-of-turn model, on the CPU.

Silence alone cannot tell a finished request from a speaker gathering their thoughts: a
fixed hang-over long enough for a mid-request pause makes every reply late, one short enough
for a quick reply cuts people off. Smart Turn reads the last 8 s of the turn (intonation and
rhythm, from Whisper-style log-mel features) and gives the probability that the turn is
complete; the orb combines it with time (``OrbConfig.eot_threshold``, ``turn_timeout``), so the
model is one input to the decision, never the whole of it.

The model file (``smart-turn-v3.2-cpu.onnx``, 8.7 MB, int8) is Daily's Smart Turn v3.2, under
the BSD 2-Clause licence. It comes from the package that ships it, the ``pipecat-ai`` wheel
(the ``brain`` extra installs it): this project carries no copy of another project's files.
The file is found through the installed package's location, without importing ``pipecat``
(whose runtime the orb does not use). The features come from faster-whisper's numpy feature
extractor; nothing is downloaded. Without the file, timing alone ends turns (logged once).

One decision takes ~40-50 ms of CPU, so :class:`TurnJudge` runs it in its own thread (one
per process, bounded queue): the orb loop only awaits a future, and a judge that is busy
answers "not known", leaving the decision to timing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import logging
import re
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .audio import HEARING_RATE, Audio
from .goes_on import goes_on
from .open_words import shape_unfinished

logger = logging.getLogger(__name__)

#: The model reads exactly this much audio: older speech is cut, a shorter turn zero-padded
#: in front.
WINDOW_SECONDS = 8


#: Words an English sentence does not end on (closed classes, so the lists are whole, not
#: tuned to sentences seen): articles and determiners, possessives, prepositions that are not
#: verb particles, coordinating and subordinating conjunctions, subject pronouns, "to".
_NEVER_LAST = frozenset(" ".join("""
a an the my your our their its every each another such no
to of from with about between into onto than for toward towards until till without
through during across against among amongst upon within despite except via per unlike
regarding concerning including beneath
and but or nor because if whether while although unless whereas
i we they she
""".splitlines()).split())
#: Words a statement rarely ends on but a question often does ("...where I am?", "what is
#: it?"): auxiliaries, complementisers, "it".
_RARELY_LAST_IN_A_STATEMENT = frozenset(" ".join("""
is am are was were be been being do does did have has had will would could should can
may might must shall that it he like
""".splitlines()).split())
#: Words a statement rarely ends on, and a question ending on them is rare enough in a
#: request that waiting for more costs less than cutting in: stranded prepositions ("what
#: should I focus on?" waits for the timeout), adverbs and quantifiers that lean on what
#: follows. A question mark does not rescue them: Whisper writes one after a rising "Could we
#: spend some time on".
_RARELY_LAST = frozenset(" ".join("""
so then also just really very some any at in on by as
""".splitlines()).split())
def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


#: Question words, which end a request only as a question of their own ("Why?"): after other
#: words they open a clause not said yet ("Could you remind me how", "I would like to
#: understand why"), and Whisper writes "?" or "." after them either way.
_WH = _word_set("how why when where what who whom whose which")
#: Words that open a clause (complementisers and subordinators) and words that open a noun
#: phrase: a clause begun by the first whose subject is all that follows ("So the problem is
#: that my team") has no verb yet.
_CLAUSE_OPENERS = _word_set("""that if whether because although unless whereas while when
where why how""")
_PHRASE_OPENERS = _word_set("""the a an my your his her our their this these those some every
each no its""")
#: Verbs of saying and knowing whose object is the clause that follows: after a subject pronoun
#: at the very end ("The last time we spoke you said") the clause has not come yet; after
#: "what", "as", "like" ... ("That is what you said") it has.
_REPORTING = _word_set("""said told asked explained mentioned suggested promised decided
realised realized noticed wondered warned admitted claimed""")
_SUBJECTS = _word_set("i you he she we they")
_REPORTED_ALREADY = _word_set("what as like that which all everything something")
#: Phrasal verbs whose object cannot be left out ("Could you help me figure out", "Most
#: evenings I end up"): the pair ends no request.
_NEVER_LAST_PAIRS = frozenset({("figure", "out"), ("end", "up"), ("carry", "out"),
                               ("point", "out")})
#: Words after the opener's subject that are its verb already ("...that the project is
#: late", "...how the talk went yesterday"): the clause is said.
_HAS_VERB = _word_set("""is am are was were do does did has had will would could should can
may might must went got came took gave made said felt left""")
_LAST_WORD = re.compile(r"([A-Za-z']+)\W*$")
_LAST_TWO = re.compile(r"([A-Za-z']+)\W+([A-Za-z']+)\W*$")


def sounds_unfinished(text: str) -> bool:
    """Whether a transcript reads as cut off mid-clause (Whisper writes "is..." or "to", or
    no closing mark at all).

    The words read here are decoded plainly (:meth:`orb_bridge.stt.WhisperStt.transcribe`):
    given the orb's name as a hotword, Whisper tiny.en leaves the full stop out of most
    finished sentences too, and a missing mark would then say nothing. Decoded plainly, it
    tells fragments from sentences: on bench/party.py's design set, false cut-offs 3.8 %
    with the mark counted against 7.7 % without it."""
    stripped = text.strip()
    if not stripped:
        return False
    if stripped.endswith(("...", ",", "-", ";", ":", "…")) or stripped[-1] not in ".?!\"'":
        return True
    last = _LAST_WORD.search(stripped)
    if last is None:
        return False
    word = last.group(1).lower()
    pair = _LAST_TWO.search(stripped)
    if pair is not None and (pair.group(1).lower(), word) in _NEVER_LAST_PAIRS:
        return True
    if word in _NEVER_LAST or word in _RARELY_LAST or (
            word in _RARELY_LAST_IN_A_STATEMENT and not stripped.endswith("?")):
        return True
    return (_open_clause([w.lower() for w in _WORDS.findall(stripped)])
            or shape_unfinished(stripped))


_WORDS = re.compile(r"[A-Za-z']+")


def _open_clause(words: list[str]) -> bool:
    """Whether the last words open a clause and stop before its verb: a question word after
    other words, a clause opener followed only by a short noun phrase, or a verb of saying
    right after its subject."""
    if len(words) >= 2 and words[-1] in _WH:
        return True
    for back in (2, 3, 4):  # opener, determiner, at most two more words
        if (len(words) > back and words[-back - 1] in _CLAUSE_OPENERS
                and words[-back] in _PHRASE_OPENERS
                and not _HAS_VERB.intersection(words[-back + 1:])):
            return True
    return (len(words) >= 2 and words[-1] in _REPORTING and words[-2] in _SUBJECTS
            and (len(words) < 3 or words[-3] not in _REPORTED_ALREADY))


def combine(probability: float | None, text: str | None,
            need_words: bool = False) -> float | None:
    """The end-of-turn evidence, combined: the model's probability, unless the words so far
    read as mid-clause (then no verdict: only more quiet, ``turn_timeout``, ends the turn).
    Without words (no speech-to-text, or none for this pause) the model decides alone,
    except at the words' check (``need_words``, ``OrbConfig.eot_words_check``), whose low
    threshold only words that read complete may pass."""
    if text is not None and sounds_unfinished(text):
        return None
    if need_words and (text is None or not text.strip()):
        return None
    return probability


#: Where the ``pipecat-ai`` wheel keeps the model, inside its ``pipecat`` package.
PIPECAT_MODEL = ("audio", "turn", "smart_turn", "data", "smart-turn-v3.2-cpu.onnx")


def model_path() -> str:
    """Smart Turn v3.2's ONNX file as the installed ``pipecat-ai`` package ships it.

    ``find_spec`` of a top-level package locates it without running its ``__init__``, so
    none of pipecat's imports happen."""
    spec = importlib.util.find_spec("pipecat")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location).joinpath(*PIPECAT_MODEL)
        if path.is_file():
            return str(path)
    raise FileNotFoundError(
        "Smart Turn v3.2 not found: install the orb's 'brain' extra (it brings pipecat-ai, "
        "whose wheel ships the model)")


class SmartTurn:
    """The model itself: 16 kHz mono speech in, probability that the turn is over out."""

    def __init__(self, path: str | None = None, threads: int = 1,
                 prosody: bool = False) -> None:
        import onnxruntime
        from faster_whisper.feature_extractor import FeatureExtractor

        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = threads
        options.log_severity_level = 4
        self._session = onnxruntime.InferenceSession(
            path or model_path(), sess_options=options, providers=["CPUExecutionProvider"])
        self._features = FeatureExtractor(feature_size=80, chunk_length=WINDOW_SECONDS)
        self.decisions = 0
        self.compute_seconds = 0.0
        #: Hold a turn whose last words sound as if it goes on (orb_bridge.goes_on; off by
        #: default: measured, it held few of the fragments Smart Turn cuts).
        self.prosody = prosody
        #: Verdicts the prosody held (answered 0: only ``turn_timeout`` ends the turn).
        self.held = 0

    def probability(self, audio: Audio) -> float:
        """P(the turn is complete) for the speech in ``audio``: Smart Turn's, or 0 when the
        way the speech ends says it goes on (:func:`orb_bridge.goes_on.goes_on`; then only
        the quiet, ``turn_timeout``, ends the turn)."""
        samples = audio.at(HEARING_RATE).unit_floats()
        p = self.smart_turn(samples)
        if self.prosody and goes_on(samples, p):
            self.held += 1
            return 0.0
        return p

    def smart_turn(self, samples: npt.NDArray[np.float32]) -> float:
        """Smart Turn's own P(complete) for 16 kHz unit-scale ``samples``."""
        started = time.perf_counter()
        window = WINDOW_SECONDS * HEARING_RATE
        if len(samples) >= window:
            samples = samples[-window:]
        else:
            samples = np.concatenate([np.zeros(window - len(samples), np.float32), samples])
        # The model was trained on waveforms scaled to zero mean and unit variance.
        samples = (samples - samples.mean()) / np.sqrt(samples.var() + 1e-7)
        mel = self._features(samples.astype(np.float32), padding=0)[:, :window // 160]
        inputs = np.expand_dims(mel.astype(np.float32), 0)
        output: Any = self._session.run(None, {"input_features": inputs})[0]
        self.decisions += 1
        self.compute_seconds += time.perf_counter() - started
        value = float(np.asarray(output).reshape(-1)[0])
        return value if np.isfinite(value) else 0.0


class TurnJudge:
    """Smart Turn behind one thread and a bounded queue, awaited from the orb loop."""

    def __init__(self, model: SmartTurn | None = None, max_pending: int = 4) -> None:
        self._model = model
        self._pool = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="eot", initializer=_name_thread)  # "eot" in /proc
        self._lock = threading.Lock()
        self._pending = 0
        self._max_pending = max_pending
        self.refused = 0
        #: Why the model could not be loaded (then timing alone decides), or ``None``.
        self.unavailable: str | None = None

    @property
    def model(self) -> SmartTurn:
        with self._lock:
            if self._model is None:
                try:
                    self._model = SmartTurn()
                except (ImportError, OSError) as exc:
                    if self.unavailable is None:
                        logger.warning("no end-of-turn model, timing alone ends turns: %s", exc)
                    self.unavailable = str(exc)
                    raise
            return self._model

    async def judge(self, audio: Audio) -> float | None:
        """P(complete), or ``None`` when the judge is too busy or has no model (timing
        decides alone)."""
        if self.unavailable is not None:
            return None
        with self._lock:
            if self._pending >= self._max_pending:
                self.refused += 1
                return None
            self._pending += 1
        try:
            future = self._pool.submit(lambda: self.model.probability(audio))
        except RuntimeError:  # shut down
            with self._lock:
                self._pending -= 1
            return None
        future.add_done_callback(self._done)
        return await asyncio.wrap_future(future)

    def warm(self) -> None:
        """Load the model now (blocking), so the first decision does not wait for it."""
        self.model.probability(Audio.silence(1.0, HEARING_RATE))

    def _done(self, _future: concurrent.futures.Future[float]) -> None:
        with self._lock:
            self._pending -= 1


def _name_thread() -> None:
    from .voice_pool import name_os_thread

    name_os_thread("eot")


_SHARED: TurnJudge | None = None
_SHARED_LOCK = threading.Lock()


def shared_judge() -> TurnJudge:
    """One judge (one model, one thread) for every orb of the process."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = TurnJudge()
        return _SHARED
