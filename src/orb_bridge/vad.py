"""Speech, not sound: Silero VAD, streamed one 32 ms frame at a time for each human track.

A level threshold takes any loud sound for speech (a browser's fake-microphone beep was once
heard as 15 s of talk); a neural voice-activity detector says how likely each frame is human
speech. We run the Silero VAD v6 ONNX file that faster-whisper (the ``brain`` extra) already
ships, with onnxruntime, one thread: about 0.1 ms per frame, cheap enough for the orb loop.

The model keeps a recurrent state (``h``, ``c``) and reads each 512-sample frame with the 64
samples before it, so every human gets its own :class:`SileroStream`; the ONNX session is one
per process and shared (onnxruntime's ``run`` is safe from several threads). This module must
never download anything: the file comes with the installed faster-whisper.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from .audio import HEARING_RATE, Audio

#: The model's frame at 16 kHz (32 ms) and the context it reads before each frame.
FRAME_SAMPLES = 512
CONTEXT_SAMPLES = 64
FRAME_SECONDS = FRAME_SAMPLES / HEARING_RATE

Floats = npt.NDArray[np.float32]

_SESSION: Any = None
_SESSION_LOCK = threading.Lock()


def vad_available() -> bool:
    """Whether the Silero model and onnxruntime are installed (the ``brain`` extra)."""
    return (importlib.util.find_spec("faster_whisper") is not None
            and importlib.util.find_spec("onnxruntime") is not None)


def silero_path() -> str:
    """The Silero VAD ONNX file shipped inside the installed faster-whisper."""
    from faster_whisper.utils import get_assets_path

    return os.path.join(str(get_assets_path()), "silero_vad_v6.onnx")


def _session() -> Any:
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is None:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.inter_op_num_threads = 1
            options.intra_op_num_threads = 1
            options.log_severity_level = 4
            _SESSION = onnxruntime.InferenceSession(
                silero_path(), sess_options=options, providers=["CPUExecutionProvider"])
        return _SESSION


class SileroStream:
    """Speech probability of one track, frame by frame (16 kHz mono, int16-scaled floats)."""

    def __init__(self) -> None:
        self._session = _session()
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, np.float32)
        self._pending = np.zeros(0, np.float32)
        self.frames = 0

    def feed(self, audio: Audio) -> list[float]:
        """Feed any number of samples; one probability per completed 512-sample frame."""
        samples = audio.samples
        data = np.concatenate([self._pending, samples.astype(np.float32).reshape(-1)]) \
            if self._pending.size else samples.astype(np.float32).reshape(-1)
        whole = len(data) - len(data) % FRAME_SAMPLES
        self._pending = data[whole:]
        out: list[float] = []
        for start in range(0, whole, FRAME_SAMPLES):
            out.append(self._frame(data[start:start + FRAME_SAMPLES]))
        return out

    def _frame(self, frame: Floats) -> float:
        # Clipped input (a microphone overdriven) stays in the model's range.
        scaled = np.clip(frame * np.float32(1 / 32768), -1.0, 1.0).astype(np.float32)
        joined = np.concatenate([self._context, scaled]).reshape(1, -1)
        probs, self._h, self._c = self._session.run(
            None, {"input": joined, "h": self._h, "c": self._c})
        self._context = scaled[-CONTEXT_SAMPLES:]
        self.frames += 1
        value = float(np.asarray(probs).reshape(-1)[0])
        return value if np.isfinite(value) else 0.0
