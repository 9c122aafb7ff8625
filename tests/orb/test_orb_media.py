"""The orb in a real call: spawn on the coach's join, negotiation in both join orders, orb
video and audio at each human, and the orb hearing each human (without decoding video)."""

from __future__ import annotations

import asyncio
import time

import pytest

from testkit.synthetic import SyntheticHuman

from .conftest import OrbServer, in_asyncio, orb_server

pytestmark = pytest.mark.media

ORB_SIZE = (320, 240)


async def until(predicate, timeout: float, what: str, interval: float = 0.1) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


async def check_orb_media(human: SyntheticHuman, orb: str) -> None:
    """Decoded orb video of the right size at >= 12 fps, and orb audio, at ``human``: a
    silent orb is in DTX (orb_bridge.encoding: a packet every 400 ms), so its audio flows
    when no gap outlasts what its RTP clock skipped (the stall meter)."""
    await human.wait_until(lambda: orb in human.media and human.media[orb].video_frames > 0,
                           10, "first orb video frame")
    media = human.media[orb]
    audio_before = media.audio_frames
    media.start_measuring()
    await asyncio.sleep(3.0)
    assert media.video_size == ORB_SIZE
    assert media.video_fps(window=2.5) >= 12.0, media.video_fps(window=2.5)
    assert media.audio_frames - audio_before >= 5, "orb audio stopped"
    assert media.audio_dtx_seen, "a silent orb's audio is in DTX"
    assert media.longest_stall() <= 1.0, f"orb media stalled {media.longest_stall():.2f} s"


async def check_hearing(srv: OrbServer, room: str, speaker: SyntheticHuman,
                        quiet: SyntheticHuman) -> None:
    """The orb measures a level per speaker: the one talking is loud, the other is not."""
    speaker.say(1.0)

    async def heard() -> bool:
        stats = await srv.stats(room)
        assert stats is not None
        humans = stats["humans"]
        return (humans[speaker.user_id]["peakDbfs"] > -30.0
                and humans[quiet.user_id]["peakDbfs"] < -60.0)

    await until(heard, 5.0, f"the orb to hear {speaker.user_id} alone")
    speaker.mouth.hush()


async def check_no_video_to_the_orb(srv: OrbServer, room: str, orb: str,
                                    humans: list[SyntheticHuman]) -> None:
    """The orb sends its picture and takes none: its answer makes each human's video to it
    ``recvonly``, so no human encodes or sends a camera stream the orb would never look at,
    while the orb's audio ear keeps decoding."""
    for human in humans:
        directions = {t.kind: t.currentDirection for t in human.pcs[orb].getTransceivers()}
        assert directions == {"audio": "sendrecv", "video": "recvonly"}, directions
    first = await srv.media_report(room)
    await asyncio.sleep(1.0)
    second = await srv.media_report(room)
    assert first is not None and second is not None
    for human in humans:
        before, after = first[human.user_id], second[human.user_id]
        assert before["video"]["packetsReceived"] == after["video"]["packetsReceived"] == 0
        assert after["video"]["queuedFrames"] == 0
        assert after["audio"]["packetsReceived"] > before["audio"]["packetsReceived"] > 0
        assert after["audio"]["decoding"] is True
        assert after["audio"]["queuedFrames"] < 10


@pytest.mark.parametrize("coach_first", [True, False], ids=["coach-first", "client-first"])
async def test_orb_meshes_with_coach_and_client(coach_first: bool) -> None:
    room = f"media-{'cf' if coach_first else 'lf'}"
    async with orb_server() as srv:
        async def scenario() -> None:
            coach = SyntheticHuman(srv.url, room, "coach-1", "coach")
            client = SyntheticHuman(srv.url, room, "client-1", "client")
            try:
                if coach_first:
                    await coach.start()
                    await coach.wait_until(lambda: coach.orb_id() is not None, 5,
                                           "the orb to join after the coach")
                    await client.start()
                else:
                    await client.start()
                    await asyncio.sleep(0.5)
                    assert client.orb_id() is None, "an orb spawned without a coach"
                    await coach.start()
                for human in (coach, client):
                    await human.wait_until(lambda h=human: h.orb_id() is not None, 5, "orb")
                orb = coach.orb_id()
                assert orb is not None and orb == client.orb_id()
                assert orb.startswith("ai-orb-")
                await asyncio.gather(check_orb_media(coach, orb), check_orb_media(client, orb))
                assert coach.pcs["client-1"].connectionState == "connected"
                await check_hearing(srv, room, coach, client)
                await asyncio.sleep(1.2)  # let the coach's peak level decay
                await check_hearing(srv, room, client, coach)
                await check_no_video_to_the_orb(srv, room, orb, [coach, client])
                stats = await srv.stats(room)
                assert stats is not None and stats["peers"] == 2
                assert ("ready" in coach.statuses_since(0)
                        and "listening" in coach.statuses_since(0))
            finally:
                await asyncio.gather(coach.close(), client.close())

        await in_asyncio(scenario)
