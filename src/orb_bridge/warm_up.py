"""Loading every model an orb hears and speaks with before its first call needs it.

A model loaded on first use makes the first utterance of the first orb wait for it: the
speech-to-text model (1.5-2 s here, more on a busy machine), the end-of-turn model and the
voice. Both hosts (``trio-server --orbs`` in the background, ``orb-worker`` before it joins)
load them through :func:`warm_speech`, so neither forgets one. A model that cannot load is
only logged: orbs then speak with the next voice of the chain, or lose words, as they would
have on first use."""

from __future__ import annotations

import logging

from ._config import OrbConfig
from .end_of_turn import shared_judge
from .stt import WhisperStt, shared_engine
from .vad import vad_available
from .voices import shared_speaker

logger = logging.getLogger(__name__)


def warm_speech(config: OrbConfig) -> None:
    """Load the voice, the speech-to-text model and the end-of-turn model of ``config``
    (blocking: call it from a worker thread, or before the event loop starts)."""
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
