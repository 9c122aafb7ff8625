"""Receiving a human's voice without aiortc's extra 60 ms of waiting.

aiortc's audio receiver hands a frame to its decoder only once four later frames have
arrived (``JitterBuffer(capacity=16, prefetch=4)``): 80 ms of every human's voice spent
waiting before the orb hears it. A listener's device needs that against a jittery last mile;
the orb, on the server's network, does not, and every millisecond of it is added to the
moment the orb stops for a human who starts to speak (issue 25's 300 ms, measured at the
other human). :func:`hear_promptly` makes one receiver's buffer wait for one later frame
(the least aiortc's buffer can: a frame is complete when a packet of the next one arrives).

Like orb_bridge.video_in this reaches into the receiver object (not its class): should a
future aiortc lack the attribute, it says so and changes nothing.
"""

from __future__ import annotations

import logging

from aiortc import RTCRtpReceiver

logger = logging.getLogger(__name__)

#: Later frames the orb's audio jitter buffer waits for before a frame is decoded.
PREFETCH = 1
_BUFFER = "_RTCRtpReceiver__jitter_buffer"


def hear_promptly(receiver: RTCRtpReceiver, prefetch: int = PREFETCH) -> bool:
    """Make ``receiver``'s audio jitter buffer wait for ``prefetch`` later frames;
    ``False`` (nothing changed) if this aiortc keeps its buffer elsewhere."""
    buffer = getattr(receiver, _BUFFER, None)
    if buffer is None or not isinstance(getattr(buffer, "_prefetch", None), int):
        logger.warning("aiortc's audio jitter buffer not found: the orb hears 60 ms later")
        return False
    buffer._prefetch = prefetch
    return True
