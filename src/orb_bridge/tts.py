"""Local speech for the default brain: espeak-ng when installed, else a tone phrase.

Never reaches the network. ``espeak-ng --stdout`` writes a WAV stream whose header carries
placeholder sizes, so the data chunk is located by hand rather than trusted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import shutil
import struct

import numpy as np
import numpy.typing as npt

from .audio import WEBRTC_RATE, Audio

logger = logging.getLogger(__name__)



def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def parse_wav(data: bytes) -> Audio:
    """The (mono-mixed) audio of a 16-bit PCM RIFF/WAVE byte string (sizes may be bogus)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV stream")
    pos, rate, channels, bits = 12, 0, 0, 0
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = pos + 8
        if chunk == b"fmt ":
            _fmt, channels, rate, _brate, _align, bits = struct.unpack(
                "<HHIIHH", data[body : body + 16])
        elif chunk == b"data":
            if bits != 16 or channels < 1 or rate <= 0:
                raise ValueError("only 16-bit PCM WAV is supported")
            raw = data[body : body + min(size, len(data) - body)]
            raw = raw[: len(raw) - len(raw) % (2 * channels)]
            samples = np.frombuffer(raw, dtype="<i2").reshape(-1, channels)
            return Audio(samples.mean(axis=1).astype(np.int16), rate)
        pos = body + size + (size & 1)
    raise ValueError("WAV stream has no data chunk")


async def espeak(text: str, *, voice: str = "en-us", words_per_minute: int = 170,
                 timeout: float = 10.0) -> Audio:
    """Synthesise ``text`` with espeak-ng, at 48 kHz; raises ``OSError`` on failure."""
    said = await espeak_raw(text, voice=voice, words_per_minute=words_per_minute,
                            timeout=timeout)
    return said.at(WEBRTC_RATE)


async def espeak_raw(text: str, *, voice: str = "en-us", words_per_minute: int = 170,
                     timeout: float = 10.0) -> Audio:
    """``text`` as espeak-ng says it, at its own rate. The text goes after ``--``
    so a line starting with a dash is never taken for an option."""
    proc = await asyncio.create_subprocess_exec(
        "espeak-ng", "--stdout", "-v", voice, "-s", str(words_per_minute), "--", text,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        raise OSError(f"espeak-ng exited with {proc.returncode}")
    return parse_wav(out)


def tone_phrase(syllables: int = 6, rate: int = WEBRTC_RATE) -> Audio:
    """A speech-like melody of short tones (the fallback voice without espeak-ng)."""
    pieces: list[npt.NDArray[np.float64]] = []
    for i in range(syllables):
        seconds = 0.16 + 0.04 * (i % 3)
        t = np.arange(int(seconds * rate)) / rate
        pitch = 180.0 + 40.0 * math.sin(i * 1.3)
        envelope = np.sin(np.pi * t / seconds) ** 2
        tone = np.sin(2 * np.pi * pitch * t) + 0.3 * np.sin(4 * np.pi * pitch * t)
        pieces.append(0.35 * 32767 * envelope * tone / 1.3)
        pieces.append(np.zeros(int(0.06 * rate)))
    return Audio(np.concatenate(pieces).astype(np.int16), rate)


async def speak(text: str) -> Audio:
    """The best local voice available for ``text``."""
    if espeak_available():
        try:
            return await espeak(text)
        except (TimeoutError, OSError, ValueError) as exc:
            logger.warning("espeak-ng failed (%s); using the tone voice", exc)
    return tone_phrase(max(3, min(12, len(text.split()))))
