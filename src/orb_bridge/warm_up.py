"""Loading every model an orb hears and speaks with before its first call needs it.

A model loaded on first use makes the first utterance of the first orb wait for it: the
speech-to-text model (1.5-2 s here, more on a busy machine), the end-of-turn model and the
voice. Both hosts (``trio-server --orbs`` in the background, ``orb-worker`` before it joins)
load them through :func:`warm_speech`, so neither forgets one. A model that cannot load is
only logged: orbs then speak with the next voice of the chain, or lose words, as they would
have on first use."""

from __future__ import annotations

import concurrent.futures
import logging
import time

from ._config import OrbConfig
from .end_of_turn import shared_judge
from .stt import WhisperStt, shared_engine
from .vad import vad_available
from .voices import shared_speaker

logger = logging.getLogger(__name__)

#: The background warm-up's one thread. Not a daemon thread: ``concurrent.futures`` joins its
#: executors' threads when the interpreter exits, so a process stopped while a model loads waits
#: for it (seconds) instead of tearing the library down under it, which makes onnxruntime abort
#: the whole process ("terminate called without an active exception").
_BACKGROUND = concurrent.futures.ThreadPoolExecutor(max_workers=1,
                                                    thread_name_prefix="orb-warm-up")


def warm_speech_in_background(config: OrbConfig) -> concurrent.futures.Future[None]:
    """:func:`warm_speech` in a thread of its own that the process's exit waits for."""
    return _BACKGROUND.submit(warm_speech, config)


def warm_speech(config: OrbConfig) -> None:
    """Load the voice, the speech-to-text model and the end-of-turn model of ``config``
    (blocking: call it from a worker thread, or before the event loop starts)."""
    started = time.monotonic()
    shared_speaker(config.speech).warm()
    engine = shared_engine(config.speech)
    if isinstance(engine, WhisperStt):
        try:
            engine.load()
        except Exception:
            logger.exception("the speech-to-text model %s cannot be loaded",
                             config.speech.stt_model)
    if config.neural_vad and config.eot_checks and vad_available():
        try:
            shared_judge().warm()
        except Exception:
            logger.exception("the end-of-turn model cannot be loaded")
    logger.info("speech models loaded in %.1f s", time.monotonic() - started)
