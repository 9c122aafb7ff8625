"""Orb dispatch under a burst, and after a worker dies (not a timed test; prints JSON).

A real Redis, ``trio-server --orbs --orb-dispatch`` and W ``orb-worker --dispatch`` processes
(small orb pictures, so the machine is not the limit). N coaches join N rooms at once; M of
them are aiortc humans (``testkit.synthetic``, a tiny camera) that also time the orb's first video
frame, the rest plain WebSocket coaches. Then the worker running the most orbs is killed with
SIGKILL and the time until each of its orbs is back in its room is measured.

    python bench/orb_dispatch.py [--rooms 40] [--workers 3] [--capacity 20] [--media-rooms 8]
    python bench/orb_dispatch.py --smoke    # 3 rooms, 2 workers: does it still run? (CI)

Reported: coach ``join`` -> orb ``user-joined`` (p50, p99, max), -> first decoded orb video
frame (p50, over the media rooms), duplicates (rooms that ever saw two orbs at once, or two
orb identities), and kill -9 -> orb back (p50, max), with how many orbs were re-dispatched.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time

import _repo  # noqa: F401  (testkit, tests/browser on sys.path: bench/_repo.py)

from signaling_core.wire import Field, MessageType
from testkit.fleet import Coach, Fleet, RedisProcess, worker_id_of
from testkit.synthetic import SyntheticHuman


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3) if ordered else -1


async def burst(fleet: Fleet, rooms: int, media_rooms: int) -> dict[str, object]:
    coaches = [Coach(fleet.ws_url, f"bench-{i}") for i in range(media_rooms, rooms)]
    humans = [SyntheticHuman(fleet.ws_url, f"bench-{i}", "coach-1", "coach",
                             camera=(64, 48, 5.0))
              for i in range(media_rooms)]
    try:
        await asyncio.gather(*(c.start() for c in coaches), *(h.start() for h in humans))
        joined: list[float] = []
        for coach in coaches:  # times from when each message arrived, not when looked at
            await coach.wait_until(lambda c=coach: bool(c.orbs_present()), 30, "orb")
            joined.append(coach.orb_events()[0][0] - coach.joined_at)
        first_frames: list[float] = []
        for human in humans:
            await human.wait_until(lambda h=human: h.orb_id() is not None, 30, "orb")
            orb = human.orb_id() or ""
            event = next(m for m in human.messages
                         if m.get(Field.TYPE) == MessageType.USER_JOINED)
            assert event[Field.USER_ID] == orb
            await human.wait_until(lambda h=human, o=orb: o in h.media
                                   and h.media[o].first_video_at is not None, 30, "orb video")
            assert human.joined_at is not None
            first_frames.append((human.media[orb].first_video_at or 0) - human.joined_at)
        # Join latency of the media rooms from their own message times is not recorded by
        # SyntheticHuman; the plain coaches (the majority) give the join figures.
        placements = await asyncio.to_thread(fleet.wait_placed,
                                             [f"bench-{i}" for i in range(rooms)], 10)
        by_worker: dict[str, list[str]] = {}
        for room, placed in placements.items():
            by_worker.setdefault(placed["worker"], []).append(room)
        victim = max(fleet.workers, key=lambda w: len(by_worker.get(worker_id_of(w), [])))
        victim_rooms = by_worker.get(worker_id_of(victim), [])
        watched = [(c, next(iter(c.orbs_present()))) for c in coaches
                   if c.room_id in victim_rooms]
        killed_at = time.monotonic()
        os.kill(victim.pid, signal.SIGKILL)
        back: list[float] = []
        for coach, uid in watched:
            await coach.wait_until(
                lambda c=coach, u=uid: [(k, x) for _, k, x in c.orb_events()][-1:]
                == [("joined", u)] and any(k == "left" for _, k, _ in c.orb_events()),
                30, "orb back")
            back.append(coach.orb_events()[-1][0] - killed_at)
        await asyncio.sleep(1.0)
        duplicates = sum(1 for c in coaches if c.most_orbs_at_once() > 1
                         or len({u for _, _, u in c.orb_events()}) > 1)
        return {
            "rooms": rooms,
            "join_to_orb_joined_s": {"p50": pct(joined, 0.5), "p99": pct(joined, 0.99),
                                     "max": round(max(joined), 3), "n": len(joined)},
            "join_to_first_orb_frame_s": {"p50": pct(first_frames, 0.5),
                                          "max": round(max(first_frames, default=-1), 3),
                                          "n": len(first_frames)},
            "duplicates": duplicates,
            "kill9_to_orb_back_s": {"p50": pct(back, 0.5),
                                    "max": round(max(back, default=-1), 3),
                                    "orbs_redispatched": len(back),
                                    "rooms_on_killed_worker": len(victim_rooms)},
        }
    finally:
        await asyncio.gather(*(c.close() for c in coaches), *(h.close() for h in humans))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=40)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--capacity", type=int, default=20)
    parser.add_argument("--media-rooms", type=int, default=8)
    parser.add_argument("--smoke", action="store_true",
                        help="3 rooms (1 with media) on 2 workers of 3 slots without speech "
                             "models, whatever else is given: checks that the bench runs "
                             "(CI), not the figures")
    args = parser.parse_args()
    if args.smoke:
        args.rooms, args.workers, args.capacity, args.media_rooms = 3, 2, 3, 1
    redis_proc = RedisProcess()
    redis_proc.start()
    fleet = Fleet(redis_proc)
    try:
        fleet.start_server("--max-orbs", str(args.rooms * 2), "--max-rooms", "1000")
        if args.smoke:
            # The smoke's one media room gets video and nobody speaks: its workers load no
            # Whisper model or Piper voice before joining the pool (~4.5 s of CPU each);
            # tests/dispatch/test_dispatch_media.py starts workers with the defaults.
            fleet.worker_args = ("--stt-model", "off", "--voice", "espeak")
        for _ in range(args.workers):
            fleet.start_worker(args.capacity, size=(96, 64, 8.0))
        result = asyncio.run(asyncio.wait_for(
            burst(fleet, args.rooms, min(args.media_rooms, args.rooms)), 180))
        result.update(workers=args.workers, capacity=args.capacity, cpus=os.cpu_count())
        print(json.dumps(result, indent=2))
        return 0
    finally:
        fleet.close()
        redis_proc.close()


if __name__ == "__main__":
    sys.exit(main())
