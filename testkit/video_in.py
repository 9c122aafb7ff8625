"""Receiving a peer's video without decoding it, and without letting frames pile up.

The synthetic humans of the tests and benches receive each other's video, and a bench that
does not look at the pictures should not pay a VP8 decode per frame for them (the orb itself
takes no video: its answer is ``sendonly``, ``orb_bridge.peers.VIDEO_DIRECTION``). In aiortc, an
``RTCRtpReceiver`` hands every reassembled frame to a per-receiver decoder thread, which pushes
decoded frames into the remote track's *unbounded* ``asyncio.Queue``. A track nobody reads
therefore costs a VP8 decode per frame and grows without limit: memory climbs for the whole
call.

The design here: keep the receiver (RTP arrives, SRTP is checked, the jitter buffer reassembles
frames, RTCP receiver reports, NACKs, PLIs and REMB keep flowing, ``getStats`` counts packets),
but stop its decoder thread the moment aiortc starts it. With no decoder thread, aiortc's
receiver skips the decode step (it checks for the thread before queueing a frame), so no frame
is ever decoded or queued; the jitter buffer is a fixed-size ring. The stop uses the receiver's
own ``_handle_disconnect`` (what aiortc calls when the DTLS transport drops), wrapped around
``receive`` of that one receiver object, so no aiortc class is patched.

Should a future aiortc lack that hook, :func:`receive_without_decoding` says so and the caller
falls back to :func:`drain`, which decodes but discards at once (bounded memory, more CPU).
"""

from __future__ import annotations

from typing import Any

from aiortc import RTCRtpReceiver
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

_MARK = "_orb_no_decode"


def receive_without_decoding(receiver: RTCRtpReceiver) -> bool:
    """Make ``receiver`` stop its decoder as soon as it starts; ``False`` if not possible."""
    if getattr(receiver, _MARK, False):
        return True
    stop_decoder = getattr(receiver, "_handle_disconnect", None)
    original = getattr(receiver, "receive", None)
    if not callable(stop_decoder) or not callable(original):
        return False

    async def receive(parameters: Any) -> None:
        await original(parameters)
        # ``receive`` started the decoder thread without yielding to the loop, so not a single
        # packet has reached it yet. Stopping it now leaves RTP/RTCP handling untouched.
        stop_decoder()

    receiver.receive = receive  # type: ignore[method-assign]
    setattr(receiver, _MARK, True)
    return True


async def drain(track: MediaStreamTrack) -> None:
    """Fallback: read and drop every frame so the receive queue stays empty."""
    while True:
        try:
            await track.recv()
        except MediaStreamError:
            return
