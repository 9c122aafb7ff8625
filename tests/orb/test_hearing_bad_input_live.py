"""Bad input, live: real aiortc humans through a real server and the in-process orb (real
Silero VAD, Smart Turn and faster-whisper).

* A talker who goes on and on is transcribed in bounded pieces while they talk, each piece
  read a bounded number of times. The orb's piece length is scaled down here (8 s pieces,
  12 s at most, instead of 20 s / 30 s) so 30 s of talk shows what minutes would, within the
  suite's time; the offline test of the default lengths is in test_hearing.py.
* A human whose audio track sends nothing at all (a track is negotiated, no packet ever
  comes): the orb's ear for it just waits, and the orb still hears and answers the other
  human, reports its statistics, and leaves cleanly.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import trio
from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from orb_bridge import OrbConfig
from testkit.synthetic import SyntheticHuman

from .conftest import in_asyncio, orb_server
from .test_transcripts import meet, spoken_by

pytestmark = [pytest.mark.media]

PIECE, LONGEST = 8.0, 12.0
TALK_SECONDS = 30.0


@pytest.mark.timeout(210)  # over the scenario's bound: its error names the late wait
async def test_a_long_talker_is_transcribed_in_bounded_pieces_as_they_talk() -> None:
    cfg = OrbConfig(piece_seconds=PIECE, max_utterance=LONGEST)
    async with orb_server(orb=cfg) as srv:
        async def scenario() -> None:
            coach, client, _orb = await meet(srv.url, "long")
            try:
                await talk(coach, client)
            finally:
                await asyncio.gather(coach.close(), client.close())

        async def talk(coach: SyntheticHuman, client: SyntheticHuman) -> None:
            t0 = time.monotonic()
            client.say(TALK_SECONDS)
            # While the client is still talking, the orb has already cut pieces and handed
            # them to speech-to-text (their words may come later on a loaded machine).
            while time.monotonic() - t0 < TALK_SECONDS - 3:
                await asyncio.sleep(0.5)
                stats = await asyncio.wait_for(srv.stats("long"), 5)  # the orb answers
                assert stats is not None
                if stats["humans"]["client-1"]["utterances"] >= 2 and stats["sttRuns"] >= 2:
                    break
            else:
                raise AssertionError(f"no pieces while the client talked: {stats}")
            assert stats["humans"]["client-1"]["speaking"], stats
            await coach.wait_until(
                lambda: len(spoken_by(coach, "client")) >= 3
                and time.monotonic() - t0 > TALK_SECONDS + 3, TALK_SECONDS + 60,
                "the words of every piece")
            pieces = spoken_by(coach, "client")
            lengths = [float(p["endedAt"]) - float(p["startedAt"])  # type: ignore[arg-type]
                       for p in pieces]
            print("pieces (s):", [round(x, 1) for x in lengths])
            assert len(pieces) >= 3, lengths
            # Bounded: no piece longer than max_utterance (+ the pre-roll and a frame).
            assert max(lengths) <= LONGEST + 0.5, lengths
            # Together they cover most of the talk: nothing long went missing.
            assert sum(lengths) >= 0.7 * TALK_SECONDS, lengths
            assert all(len(str(p["text"]).split()) >= 3 for p in pieces), pieces
            stats = await srv.stats("long")
            assert stats is not None
            utterances = stats["humans"]["client-1"]["utterances"]
            assert stats["sttRuns"] <= (cfg.stt_early_runs + 1) * (
                utterances + stats["humans"]["coach-1"]["utterances"]), stats
            assert stats["sttLost"] == 0, stats

        await in_asyncio(scenario, timeout=TALK_SECONDS + 120)


class SendsNothing(MediaStreamTrack):
    """An audio track that never yields a frame (a stalled capture device)."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._stopped = asyncio.Event()

    async def recv(self) -> Any:
        await self._stopped.wait()
        raise MediaStreamError

    def stop(self) -> None:
        self._stopped.set()
        super().stop()


class MuteHuman(SyntheticHuman):
    """A human whose microphone track is negotiated but sends no audio at all."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, voice=False, **kwargs)

    def _new_pc(self, peer_id: str, *, offerer: bool,
                link_id: str | None) -> RTCPeerConnection:
        pc = super()._new_pc(peer_id, offerer=offerer, link_id=link_id)
        pc.addTrack(SendsNothing())
        return pc


async def test_a_track_that_sends_no_audio_costs_nothing_and_stops_nothing() -> None:
    async with orb_server(orb=OrbConfig()) as srv:
        async def scenario() -> None:
            coach = MuteHuman(srv.url, "mute", "coach-1", "coach", mesh_with_humans=False,
                              camera=None)
            client = SyntheticHuman(srv.url, "mute", "client-1", "client",
                                    mesh_with_humans=False, camera=None)
            try:
                await coach.start()
                await coach.wait_until(lambda: coach.orb_id() is not None, 10, "orb")
                await client.start()
                orb = coach.orb_id()
                assert orb is not None
                for human in (coach, client):
                    await human.wait_until(lambda h=human: orb in h.media
                                           and h.media[orb].audio_frames > 10, 20,
                                           "orb audio")
                await asyncio.sleep(2.0)
                stats = await asyncio.wait_for(srv.stats("mute"), 5)
                assert stats is not None
                mute = stats["humans"]["coach-1"]
                assert mute["connection"] == "connected" and mute["audioFrames"] == 0, mute
                assert stats["humans"]["client-1"]["audioFrames"] > 0, stats
                # The other human is heard and answered as usual.
                t1 = time.monotonic()
                client.say(1.2)
                await coach.wait_until(lambda: "speaking" in coach.statuses_since(t1), 20,
                                       "the orb answers the client")
                await client.wait_until(lambda: "listening" in client.statuses_since(t1),
                                        20, "the reply ends")
                stats = await asyncio.wait_for(srv.stats("mute"), 5)
                assert stats is not None and stats["replies"] >= 1
                assert stats["humans"]["coach-1"]["utterances"] == 0
            finally:
                await asyncio.gather(coach.close(), client.close())

        await in_asyncio(scenario, timeout=90)
        # Both gone: the orb let go of the silent track too (no task left waiting on it).
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            stats = await srv.host.orb_stats("mute")
            if stats is None or not stats["humans"] or all(
                    h["connection"] != "connected" for h in stats["humans"].values()):
                break
            await trio.sleep(0.2)
        else:
            raise AssertionError(f"the orb still holds the humans: {stats}")
