"""Paints the orb: one yuv420p picture from (status, voice level, time).

Pure numpy, no aiortc, no clock of its own. It paints straight into the Y, U and V planes
because that is what the VP8 encoder eats: a shared rgb24 frame would be converted by every
encoder thread at once (which crashed aiortc's VP8 path here), a yuv420p one is only read.
The geometry (squared distance from the centre) is computed once per renderer, so a frame
costs a handful of vectorised operations.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

#: Colour of the orb for each ``ai_status`` (RGB), so a glance tells what the orb is doing.
STATUS_COLOURS: dict[str, tuple[int, int, int]] = {
    "ready": (120, 150, 190),
    "listening": (50, 140, 255),
    "thinking": (255, 170, 40),
    "speaking": (60, 220, 120),
    "paused": (110, 110, 110),
    "processing": (170, 90, 255),
}
_FALLBACK_COLOUR = (200, 200, 200)
#: How far the halo reaches past the disc, in units of the disc's squared radius.
_HALO = 0.45
#: The slow breath's period and the glint's turn, in seconds; the picture at rest (voice
#: level 0) repeats itself every ``REST_LOOP_SECONDS`` (their least common multiple), which
#: lets the orb's VP8 packets at rest be reused (orb_bridge.encoding).
BREATH_SECONDS = 3.0
GLINT_SECONDS = 4.0
REST_LOOP_SECONDS = 12.0

FloatArray = npt.NDArray[np.float32]
ByteArray = npt.NDArray[np.uint8]


def rgb_to_yuv(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """BT.601 studio-range conversion (what browsers assume for VP8 without colour info)."""
    r, g, b = rgb
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    return y, u, v


def _squared_distance(height: int, width: int, unit: float) -> FloatArray:
    ys = (np.arange(height, dtype=np.float32) + 0.5 - height / 2) / unit
    xs = (np.arange(width, dtype=np.float32) + 0.5 - width / 2) / unit
    return (ys[:, None] ** 2 + xs[None, :] ** 2).astype(np.float32)


class OrbRenderer:
    """Renders frames of a fixed size; keep one per orb (or share one: it holds no state)."""

    def __init__(self, width: int, height: int) -> None:
        if width % 2 or height % 2:
            raise ValueError("yuv420p needs an even width and height")
        self.width = width
        self.height = height
        unit = min(width, height) / 2
        self._q = _squared_distance(height, width, unit)
        self._q_chroma = _squared_distance(height // 2, width // 2, unit / 2)
        self._unit = unit
        background = np.full((height * 3 // 2) * width, 128, dtype=np.uint8)
        background[: height * width] = 16
        self._background = background

    @staticmethod
    def radius(level: float, t: float) -> float:
        """Orb radius in half-heights: a slow breath plus a pulse that follows the voice."""
        breath = 0.03 * math.sin(2 * math.pi * t / BREATH_SECONDS)
        return 0.52 + breath + 0.3 * min(max(level, 0.0), 1.0)

    def render(self, status: str, level: float, t: float) -> ByteArray:
        """One frame as a ``(height * 3 // 2, width)`` uint8 array: Y, then U, then V, flat."""
        colour = STATUS_COLOURS.get(status, _FALLBACK_COLOUR)
        y_col, u_col, v_col = rgb_to_yuv(colour)
        r = self.radius(level, t)
        inv_r2 = np.float32(1.0 / (r * r))
        w, h = self.width, self.height
        frame = self._background.copy()
        luma_plane = frame[: h * w].reshape(h, w)
        quarter = (h // 2) * (w // 2)
        u_plane = frame[h * w : h * w + quarter].reshape(h // 2, w // 2)
        v_plane = frame[h * w + quarter :].reshape(h // 2, w // 2)

        # Only the box around the disc and its halo changes; the rest stays background.
        reach = math.sqrt(1.0 + _HALO) * r * self._unit
        x0, x1 = max(0, int(w / 2 - reach) & ~1), min(w, (int(w / 2 + reach) + 2) & ~1)
        y0, y1 = max(0, int(h / 2 - reach) & ~1), min(h, (int(h / 2 + reach) + 2) & ~1)

        # Luma: a shaded disc (brighter towards the centre) inside a faint halo.
        s = 1.0 - self._q[y0:y1, x0:x1] * inv_r2
        disc = np.clip(s, 0.0, 1.0)
        halo = np.clip(s + _HALO, 0.0, _HALO)
        luma = 16.0 + (y_col - 16.0) * (0.45 * disc + 0.55 * np.sqrt(disc) + 0.5 * halo)
        self._highlight(luma, r, t, x0, y0)
        luma_plane[y0:y1, x0:x1] = np.clip(luma, 16.0, 235.0)

        # Chroma at half resolution: the status colour inside the disc and its halo.
        cy0, cy1, cx0, cx1 = y0 // 2, y1 // 2, x0 // 2, x1 // 2
        s_c = 1.0 - self._q_chroma[cy0:cy1, cx0:cx1] * inv_r2
        weight = np.clip(s_c * 6.0 + 1.5, 0.0, 1.0)
        u_plane[cy0:cy1, cx0:cx1] = 128.0 + (u_col - 128.0) * weight
        v_plane[cy0:cy1, cx0:cx1] = 128.0 + (v_col - 128.0) * weight
        return frame.reshape(h * 3 // 2, w)

    def _highlight(self, luma: FloatArray, r: float, t: float, x_off: int, y_off: int) -> None:
        """A small glint circling inside the orb, so the picture visibly moves at rest."""
        angle = 2 * math.pi * t / GLINT_SECONDS
        cx = self.width / 2 + math.cos(angle) * r * 0.45 * self._unit
        cy = self.height / 2 + math.sin(angle) * r * 0.45 * self._unit
        size = max(2.0, r * 0.25 * self._unit)
        cx, cy = cx - x_off, cy - y_off
        rows, cols = luma.shape
        x0, x1 = max(0, int(cx - size)), min(cols, int(cx + size) + 1)
        y0, y1 = max(0, int(cy - size)), min(rows, int(cy + size) + 1)
        if x0 >= x1 or y0 >= y1:
            return
        ys = (np.arange(y0, y1, dtype=np.float32) - cy) ** 2
        xs = (np.arange(x0, x1, dtype=np.float32) - cx) ** 2
        glint = np.clip(1.0 - (ys[:, None] + xs[None, :]) / (size * size), 0.0, 1.0)
        luma[y0:y1, x0:x1] += 60.0 * glint
