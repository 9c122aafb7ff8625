"""The capacity bench's synthetic humans send voice and camera encoded ahead of time
(testkit.pre_encoded): real RTP through real aiortc peers, which the receiving side decodes as
it would a live-encoding human's, with no encoding per frame at the sender."""

from __future__ import annotations

import asyncio
import time

import av
import numpy as np
from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack

from orb_bridge.hearing import dbfs
from testkit.pre_encoded import PreEncodedCamera, PreEncodedVoice
from testkit.synthetic_media import FRAME, Mouth, SyntheticCamera

from .conftest import on_asyncio


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(48_000 * seconds)) / 48_000
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)


def level(frame: av.AudioFrame) -> float:
    return dbfs(frame.to_ndarray().astype(np.float32))


@on_asyncio
async def test_the_tracks_hand_aiortc_packets_not_frames() -> None:
    mouth = Mouth()
    voice, camera = PreEncodedVoice(mouth), PreEncodedCamera(160, 120, 50.0)
    try:
        packets = [await asyncio.wait_for(voice.recv(), 2) for _ in range(3)]
        first = await asyncio.wait_for(camera.recv(), 2)
        second = await asyncio.wait_for(camera.recv(), 2)
    finally:
        voice.stop()
        camera.stop()
    assert all(isinstance(p, av.Packet) and p.pts == i * FRAME for i, p in enumerate(packets))
    assert first.is_keyframe and not second.is_keyframe
    # The same pictures as the live camera: the loop decodes to its frames.
    decoder = av.CodecContext.create("libvpx", "r")
    decoded = decoder.decode(first)
    assert decoded and (decoded[0].width, decoded[0].height) == (160, 120)
    live = SyntheticCamera(160, 120, 50.0).picture(0).to_ndarray()
    assert abs(decoded[0].to_ndarray().astype(int) - live.astype(int)).mean() < 4


@on_asyncio
async def test_a_receiving_peer_decodes_the_voice_and_the_camera() -> None:
    mouth = Mouth()
    human, orb = RTCPeerConnection(), RTCPeerConnection()
    human.addTrack(PreEncodedVoice(mouth))
    human.addTrack(PreEncodedCamera(160, 120, 15.0))
    tracks: dict[str, MediaStreamTrack] = {}
    orb.on("track", lambda t: tracks.setdefault(t.kind, t))
    try:
        await human.setLocalDescription(await human.createOffer())
        await orb.setRemoteDescription(human.localDescription)
        await orb.setLocalDescription(await orb.createAnswer())
        await human.setRemoteDescription(orb.localDescription)
        deadline = time.monotonic() + 10
        while len(tracks) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert set(tracks) == {"audio", "video"}
        video = await asyncio.wait_for(tracks["video"].recv(), 10)
        assert (video.width, video.height) == (160, 120)
        quiet = [await asyncio.wait_for(tracks["audio"].recv(), 5) for _ in range(10)]
        assert max(level(f) for f in quiet) < -50
        mouth.play(_tone(0.6))
        loud = [await asyncio.wait_for(tracks["audio"].recv(), 5) for _ in range(75)]
        assert max(level(f) for f in loud) > -30, "the clip was not heard"
        frames = [await asyncio.wait_for(tracks["video"].recv(), 5) for _ in range(5)]
        assert all((f.width, f.height) == (160, 120) for f in frames)
    finally:
        await human.close()
        await asyncio.wait_for(orb.close(), 10)
