"""Receiving a human's voice without aiortc's extra 60 ms of waiting, decoded on the loop.

aiortc's audio receiver hands a frame to its decoder only once four later frames have
arrived (``JitterBuffer(capacity=16, prefetch=4)``): 80 ms of every human's voice spent
waiting before the orb hears it. A listener's device needs that against a jittery last mile;
the orb, on the server's network, does not, and every millisecond of it is added to the
moment the orb stops for a human who starts to speak (issue 25's 300 ms, measured at the
other human). :func:`hear_promptly` makes one receiver's buffer wait for one later frame
(the least aiortc's buffer can: a frame is complete when a packet of the next one arrives).

:func:`decode_inline` decodes each frame where the jitter buffer completes it, instead of
handing it to aiortc's decoder thread and back (:class:`InlineDecoder`).

This reaches into the receiver object (not its class): should a future aiortc lack the
attribute, it says so and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from typing import Any

import av
from aiortc import RTCRtpReceiver
from aiortc.codecs import get_decoder

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


_QUEUE = "_RTCRtpReceiver__decoder_queue"
_ERROR = "_RTCRtpReceiver__decoder_error"
_INLINE = "_orb_inline_decoder"


class InlineDecoder:
    """Takes the place of one audio receiver's decoder queue: each frame the jitter buffer
    completes is decoded at once, on the loop, into the remote track's queue.

    aiortc's way is a decoder thread per receiver: ``queue.Queue.put`` (a thread wake-up and
    the GIL handed over), the decode, then ``asyncio.run_coroutine_threadsafe`` for every
    frame (a coroutine, a task and a future, and a write to the loop's self-pipe to wake it).
    For 20 ms of Opus that round trip costs more than the decode itself, 50 times a second
    per human. Here the decode (the same aiortc decoder, so the same frames) runs where the
    frame was completed. aiortc's thread was already started with its own queue: it stays
    parked on it, and ``put(None)`` (aiortc stopping the receiver) goes there, so the thread
    ends the track and exits as it always did.
    """

    def __init__(self, parked: queue.Queue[Any], track_queue: asyncio.Queue[Any],
                 error: threading.Event | None) -> None:
        self._parked = parked
        self._track_queue = track_queue
        self._error = error
        self._codec_name: str | None = None
        self._decoder: Any = None
        #: Frames decoded here (tests, and to tell the hook works).
        self.decoded = 0

    @staticmethod
    def of(receiver: RTCRtpReceiver) -> InlineDecoder | None:
        """The inline decoder installed on ``receiver`` (``None``: aiortc's thread decodes)."""
        found = getattr(receiver, _QUEUE, None)
        return found if isinstance(found, InlineDecoder) else None

    def put(self, task: tuple[Any, Any] | None) -> None:
        if task is None:
            self._parked.put(None)
            return
        codec, encoded = task
        if codec.name != self._codec_name:
            self._decoder = get_decoder(codec)
            self._codec_name = codec.name
        try:
            frames = self._decoder.decode(encoded)
        except av.FFmpegError as exc:  # as aiortc: keep the decoder's state, go on
            logger.warning("failed to decode a %s frame: %s", codec.name, exc)
            if self._error is not None:
                self._error.set()
            return
        for frame in frames:
            self._track_queue.put_nowait(frame)
            self.decoded += 1


def decode_inline(receiver: RTCRtpReceiver) -> bool:
    """Make ``receiver`` (audio; call before it starts) decode on the loop, not in aiortc's
    decoder thread (:class:`InlineDecoder`); ``False`` (nothing changed) if this aiortc
    lacks the pieces."""
    original = getattr(receiver, "receive", None)
    if not callable(original) or not isinstance(getattr(receiver, _QUEUE, None), queue.Queue):
        return False
    if getattr(receiver, _INLINE, False):
        return True

    async def receive(parameters: Any) -> None:
        await original(parameters)
        # ``receive`` started the decoder thread (with the queue it had) without yielding to
        # the loop: no frame has been queued yet.
        parked = getattr(receiver, _QUEUE, None)
        track_queue = getattr(receiver.track, "_queue", None)
        if not isinstance(parked, queue.Queue) or not isinstance(track_queue, asyncio.Queue):
            logger.warning("aiortc's audio receiver changed: its decoder thread decodes")
            return
        setattr(receiver, _QUEUE, InlineDecoder(parked, track_queue,
                                                getattr(receiver, _ERROR, None)))

    receiver.receive = receive  # type: ignore[method-assign]
    setattr(receiver, _INLINE, True)
    return True
