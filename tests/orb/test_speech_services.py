"""The OpenAI-compatible speech services (``--orb-tts-url``, ``--orb-stt-url``) for real.

A local stand-in server (testkit.speech_standin) answers ``/v1/audio/speech`` and
``/v1/audio/transcriptions``; the orb's clients, the httpx transport, the WAV handling, the
voice chain and (for the fallback) Piper are real. Every failure a server can have — an error
status, a hang, garbage, an empty answer, a dropped connection — costs one sentence its remote
voice (Piper says it) or one utterance its remote words, within the configured bound.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pytest

from orb_bridge.audio import HEARING_RATE, Audio
from orb_bridge.http_client import HttpError
from orb_bridge.openai_audio import RemoteSpeech, RemoteTranscriber
from orb_bridge.speech_config import SpeechConfig
from orb_bridge.voices import Speaker
from testkit.speech_standin import SPEECH_RATE, StandInSpeech

FAILURES = ["error", "garbage", "empty", "hangup", "slow"]


def _config(**kw: Any) -> SpeechConfig:
    return SpeechConfig(stt_model=None, tts_timeout=1.0, stt_timeout=1.0, **kw)


def _dead_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy in the environment that nobody answers: loopback requests must ignore it."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)


def test_speech_request_and_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    _dead_proxy(monkeypatch)
    monkeypatch.setenv("ORB_LLM_API_KEY", "sk-test")
    with StandInSpeech() as server:
        config = SpeechConfig.from_options({"tts_url": server.url, "stt_model": "off",
                                            "tts_voice": "nova", "voice_rate": "1.25"})
        said = asyncio.run(RemoteSpeech(config).synthesize("Hello there, my friend."))
        seen = server.requests[0]
    assert said.rate == SPEECH_RATE
    assert abs(said.duration - (0.3 + 0.25 * 4)) < 0.01
    assert seen.path == "/v1/audio/speech"
    assert seen.json == {"model": "tts-1", "input": "Hello there, my friend.", "voice": "nova",
                         "response_format": "wav", "speed": 1.25}
    assert seen.headers["authorization"] == "Bearer sk-test"
    assert seen.headers["content-type"] == "application/json"


def test_the_remote_voice_leads_the_chain_at_48k(monkeypatch: pytest.MonkeyPatch) -> None:
    _dead_proxy(monkeypatch)
    with StandInSpeech() as server:
        speaker = Speaker(_config(tts_url=server.url))
        pcm = asyncio.run(speaker.speak("Hello there, my friend 😀 https://x.example/a"))
        said = server.requests[0].json
    assert speaker.name == "remote"
    assert said is not None and said["input"] == "Hello there, my friend a link"
    assert abs(len(pcm) / 48_000 - (0.3 + 0.25 * 6)) < 0.01


@pytest.mark.parametrize("mode", FAILURES)
def test_a_failing_speech_server_costs_one_sentence_its_voice(mode: str) -> None:
    with StandInSpeech(mode=mode, delay=3.0) as server:
        remote = RemoteSpeech(_config(tts_url=server.url))
        started = time.monotonic()
        with pytest.raises((HttpError, TimeoutError, ValueError)):
            asyncio.run(remote.synthesize("Hello there."))
        assert time.monotonic() - started < 2.5
        # The chain: Piper says the sentence instead, within the bound plus Piper's time.
        speaker = Speaker(_config(tts_url=server.url))
        started = time.monotonic()
        pcm = asyncio.run(speaker.speak("Hello there."))
        assert len(pcm) > 24_000 and time.monotonic() - started < 10.0


def test_transcription_request_and_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    _dead_proxy(monkeypatch)
    pcm = Audio((np.sin(np.arange(16_000) / 5) * 4000).astype(np.int16), HEARING_RATE)
    with StandInSpeech(transcript="  I want more time.  ") as server:
        config = SpeechConfig(stt_url=server.url, stt_model="whisper-large-v3",
                              stt_timeout=2.0)
        text = asyncio.run(RemoteTranscriber(config).transcribe(pcm))
        seen = server.requests[0]
    assert text == "I want more time."
    assert seen.path == "/v1/audio/transcriptions"
    assert seen.form == {"model": "whisper-large-v3", "response_format": "json",
                         "language": "en"}
    assert seen.upload_rate == 16_000 and seen.upload_seconds == 1.0
    assert seen.headers["content-type"].startswith("multipart/form-data; boundary=")


@pytest.mark.parametrize("mode", FAILURES)
def test_a_failing_transcription_server_raises_within_its_bound(mode: str) -> None:
    with StandInSpeech(mode=mode, delay=3.0) as server:
        remote = RemoteTranscriber(_config(stt_url=server.url))
        started = time.monotonic()
        with pytest.raises((HttpError, TimeoutError, ValueError)):
            asyncio.run(remote.transcribe(Audio.silence(1.0, HEARING_RATE)))
        assert time.monotonic() - started < 2.5


def test_a_failing_transcription_server_falls_back_to_local_words() -> None:
    class Local:
        async def transcribe(self, audio: Audio) -> str:
            return "local words"

    with StandInSpeech(mode="error") as server:
        remote = RemoteTranscriber(_config(stt_url=server.url), fallback=Local())
        assert asyncio.run(remote.transcribe(Audio.silence(1.0, HEARING_RATE))) == "local words"


def test_a_remote_server_is_reached_through_the_environment_proxy(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A non-loopback server goes through ``HTTP_PROXY`` (here the stand-in itself plays the
    proxy: the name below is never resolved, the request never leaves the machine)."""
    with StandInSpeech() as proxy:
        base = proxy.url.removesuffix("/v1")
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, base)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        remote = RemoteSpeech(_config(tts_url="http://speech.example.invalid/v1"))
        said = asyncio.run(remote.synthesize("Hello."))
        seen = proxy.requests[0]
    assert said.rate == SPEECH_RATE
    assert seen.path == "http://speech.example.invalid/v1/audio/speech"


def test_a_failed_remote_voice_rests_instead_of_costing_every_sentence() -> None:
    """After one failure the remote voice is skipped for a while (Piper speaks), so a down
    server costs one sentence its timeout, not every sentence."""
    with StandInSpeech(mode="slow", delay=3.0) as server:
        speaker = Speaker(_config(tts_url=server.url))
        started = time.monotonic()
        for _ in range(3):
            assert len(asyncio.run(speaker.speak("Hello there."))) > 24_000
        assert len(server.requests) == 1
        assert time.monotonic() - started < 1.0 + 3 * 3.0
        assert speaker.name == "piper"
