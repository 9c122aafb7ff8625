"""The orb's one audio type, :class:`Audio` (mono samples and their rate), and its rates.

Audio crosses the orb's stages (microphone frames → voice activity → end of turn →
speech-to-text; reply → voice → media out) at several rates and in several shapes: aiortc's
48 kHz frames, the 16 kHz the speech models read, a voice's own 22.05 kHz, the 48 kHz sent.
Passed as bare arrays or bytes, every boundary had to say in a name or a docstring which rate
and scale it meant, and a mismatch was silent. An :class:`Audio` carries its rate with its
samples, so a stage asks for what it needs (:meth:`Audio.at` resamples only when the rate
differs) and a boundary's type says what crosses it. Inside a stage, plain arrays are fine.

Samples are mono, in int16 scale (full scale ±32768), stored as int16 or as float32 (the
microphone path keeps floats, the voice int16); treat them as read-only. The type is frozen
and cheap to make (one small object, no copy), so the media path may make one per frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np
import numpy.typing as npt

#: What WebRTC audio is on both directions (Opus at 48 kHz): the humans' microphones arrive
#: at it and the orb's voice is sent at it (every voice is made fit to it, orb_bridge.sound).
WEBRTC_RATE = 48_000
#: What the orb hears at: Silero VAD, Smart Turn and Whisper all read 16 kHz mono.
HEARING_RATE = 16_000

Int16Samples = npt.NDArray[np.int16]
FloatSamples = npt.NDArray[np.float32]
_FULL_SCALE = np.float32(1 / 32768)


@attrs.frozen(eq=False)
class Audio:
    """Mono samples (int16 scale) at ``rate`` Hz. Two are the same sound when
    :meth:`same` says so (``==`` is identity: comparing arrays has no single answer)."""

    samples: Int16Samples | FloatSamples
    rate: int

    def __attrs_post_init__(self) -> None:
        if self.rate <= 0 or self.samples.ndim != 1:
            raise ValueError(f"audio is mono samples at a positive rate, not "
                             f"{self.samples.shape} at {self.rate} Hz")

    # ---------------------------------------------------------------- making
    @classmethod
    def from_bytes(cls, data: bytes, rate: int) -> Audio:
        """Signed 16-bit little-endian mono PCM (a trailing odd byte is dropped)."""
        samples = np.frombuffer(data[: len(data) - len(data) % 2], dtype="<i2")
        return cls(samples.astype(np.int16, copy=False), rate)

    @classmethod
    def silence(cls, seconds: float, rate: int) -> Audio:
        return cls(np.zeros(max(0, round(seconds * rate)), np.int16), rate)

    @classmethod
    def join(cls, parts: Sequence[Audio], rate: int) -> Audio:
        """``parts`` one after the other (all at ``rate``; none: silence of no length)."""
        if any(part.rate != rate for part in parts):
            raise ValueError(f"cannot join audio of rates {sorted({p.rate for p in parts})} "
                             f"at {rate} Hz")
        if not parts:
            return cls(np.zeros(0, np.int16), rate)
        if len(parts) == 1:
            return parts[0]
        return cls(np.concatenate([part.samples for part in parts]), rate)

    # ---------------------------------------------------------------- reading
    def __len__(self) -> int:
        return len(self.samples)

    @property
    def duration(self) -> float:
        """Seconds."""
        return len(self.samples) / self.rate

    def int16(self) -> Int16Samples:
        """The samples as int16 (floats rounded, clipped to full scale)."""
        if self.samples.dtype == np.int16:
            return self.samples  # type: ignore[return-value]
        out: Int16Samples = np.clip(np.rint(self.samples), -32768, 32767).astype(np.int16)
        return out

    def floats(self) -> FloatSamples:
        """The samples as float32, still in int16 scale."""
        out: FloatSamples = self.samples.astype(np.float32, copy=False)
        return out

    def unit_floats(self) -> FloatSamples:
        """The samples as float32 in [-1, 1) (what Whisper and Smart Turn read)."""
        out: FloatSamples = self.samples.astype(np.float32) * _FULL_SCALE
        return out

    def to_bytes(self) -> bytes:
        """Signed 16-bit little-endian PCM (a WAV body, a speech server's upload)."""
        return self.int16().astype("<i2", copy=False).tobytes()

    def same(self, other: Audio) -> bool:
        """The same rate and the very same samples."""
        return self.rate == other.rate and np.array_equal(self.samples, other.samples)

    # ---------------------------------------------------------------- changing
    def at(self, rate: int) -> Audio:
        """This audio at ``rate``: itself when it is already, else resampled band-limited
        (:func:`orb_bridge.sound.resample`, int16)."""
        if rate == self.rate:
            return self
        if len(self.samples) == 0:
            return Audio(self.samples, rate)
        from .sound import resample

        return Audio(resample(self.samples, self.rate, rate), rate)

    def between(self, start: float, end: float | None = None) -> Audio:
        """The part from ``start`` to ``end`` seconds (``None``: to the end); negative
        times count from the end, as slices do."""
        return Audio(self.samples[self._index(start):
                                  None if end is None else self._index(end)], self.rate)

    def without_last(self, seconds: float) -> Audio:
        """All but the last ``seconds`` (all of it when that is nothing or everything)."""
        cut = round(max(0.0, seconds) * self.rate)
        if 0 < cut < len(self.samples):
            return Audio(self.samples[: len(self.samples) - cut], self.rate)
        return self

    def _index(self, seconds: float) -> int:
        return round(seconds * self.rate)

    def __repr__(self) -> str:
        return f"Audio({self.duration:.3f} s at {self.rate} Hz, {self.samples.dtype})"

