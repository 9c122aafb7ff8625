"""Whisper's encoder output, kept for the last few windows of audio.

The orb hears some turns twice (plainly, then listening for its name), and the encoder is
most of a decoding's cost; this keeps that second hearing from encoding the same window again.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any

import numpy as np


class RecentEncodings:
    """A Whisper model's ``encode``, remembering its last few windows. A turn heard a second
    time (with the hotword, with the name's opening written first) has the same 30 s window
    as its plain decoding, and the encoder is most of a decoding's cost: the window is
    encoded once. Keyed by a digest of the features (1 ms for a window)."""

    def __init__(self, encode: Callable[[Any], Any], size: int = 3) -> None:
        self._encode = encode
        self._size = size
        self._recent: list[tuple[bytes, Any]] = []
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __call__(self, features: Any) -> Any:
        key = hashlib.blake2b(np.ascontiguousarray(features).tobytes(),
                              digest_size=16).digest()
        with self._lock:
            for known, encoded in self._recent:
                if known == key:
                    self.hits += 1
                    return encoded
        encoded = self._encode(features)
        with self._lock:
            self.misses += 1
            self._recent = [(key, encoded), *self._recent[: self._size - 1]]
        return encoded
