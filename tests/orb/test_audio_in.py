"""A human's audio decoded on the orb loop, without aiortc's decoder-thread round trip.

aiortc hands every 20 ms frame of every human to a decoder thread (``queue.Queue.put``, a
thread wake-up, the GIL handed over and back) and the thread hands the decoded frame back with
``asyncio.run_coroutine_threadsafe`` (a task and a future per frame, and a wake-up of the
loop through its self-pipe): more work than decoding 20 ms of Opus (issue 23: the orb loop's
CPU per room). Two real aiortc peers on loopback here.
"""

from __future__ import annotations

import asyncio

import av
from aiortc import RTCPeerConnection, RTCRtpReceiver
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack

from orb_bridge.audio_in import InlineDecoder, decode_inline

from .conftest import on_asyncio


async def connected_pair() -> tuple[RTCPeerConnection, RTCPeerConnection, RTCRtpReceiver,
                                    asyncio.Future[MediaStreamTrack]]:
    """A sender of aiortc's own audio (20 ms frames) and an orb-like answerer that decodes
    inline; the answerer's receiver and its remote track."""
    human, orb = RTCPeerConnection(), RTCPeerConnection()
    human.addTrack(AudioStreamTrack())
    track: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
    orb.on("track", lambda t: track.done() or track.set_result(t))
    await human.setLocalDescription(await human.createOffer())
    await orb.setRemoteDescription(human.localDescription)
    receivers = [t.receiver for t in orb.getTransceivers() if t.kind == "audio"]
    assert all(decode_inline(r) for r in receivers)
    await orb.setLocalDescription(await orb.createAnswer())
    await human.setRemoteDescription(orb.localDescription)
    return human, orb, receivers[0], track


@on_asyncio
async def test_the_orb_decodes_a_humans_audio_on_its_loop() -> None:
    human, orb, receiver, track = await connected_pair()
    try:
        remote = await asyncio.wait_for(track, 10)
        frames = [await asyncio.wait_for(remote.recv(), 5) for _ in range(25)]
        decoder = InlineDecoder.of(receiver)
        assert decoder is not None, "not installed when the receiver started"
        assert all(isinstance(f, av.AudioFrame) and f.sample_rate == 48_000 for f in frames)
        assert decoder.decoded >= 25
    finally:
        await human.close()
        closing = asyncio.ensure_future(orb.close())
        await asyncio.wait_for(closing, 10)  # aiortc joins its (parked) decoder thread
    # The track ends with the connection, as with aiortc's own decoder.
    try:
        while True:
            await asyncio.wait_for(remote.recv(), 5)
    except MediaStreamError:
        pass


@on_asyncio
async def test_a_receiver_without_aiortcs_decoder_queue_is_left_alone() -> None:
    assert not decode_inline(object())  # type: ignore[arg-type]
