"""Join to media: from the coach's ``join`` to the first decoded orb video frame at the coach.

Starts ``trio-server --orbs`` as its own process; for each of N rounds a synthetic coach (real
aiortc, in this process) joins a fresh room, the server spawns the orb, the orb joins, the coach
offers, the orb answers, and the clock stops at the first decoded 320x240 frame. Prints one
JSON line with the median (target <= 1.0 s on loopback) and the spread.

    python bench/orb_join_to_media.py [--rounds 10]
    python bench/orb_join_to_media.py --smoke    # 1 round, target not judged (CI)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time

import _repo  # noqa: F401  (testkit, tests/browser on sys.path: bench/_repo.py)
from orb_common import orb_server

from testkit.synthetic import SyntheticHuman


async def one_round(url: str, room: str, timeout: float) -> dict[str, float]:
    coach = SyntheticHuman(url, room, "coach-1", "coach", camera=(160, 120, 15.0))
    try:
        await coach.start()
        joined = coach.joined_at
        assert joined is not None
        await coach.wait_until(lambda: coach.orb_id() is not None, timeout, "the orb")
        orb_joined = time.monotonic()
        orb = coach.orb_id()
        assert orb is not None
        await coach.wait_until(lambda: orb in coach.media
                               and coach.media[orb].first_video_at is not None,
                               timeout, "the first orb video frame")
        first = coach.media[orb].first_video_at
        assert first is not None and coach.media[orb].video_size == (320, 240)
        return {"join_to_frame": first - joined, "join_to_orb": orb_joined - joined}
    finally:
        await coach.close()


async def run(url: str, rounds: int, timeout: float) -> list[dict[str, float]]:
    results = []
    for i in range(rounds):
        results.append(await asyncio.wait_for(one_round(url, f"j2m-{i}", timeout), 2 * timeout))
        await asyncio.sleep(0.5)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--smoke", action="store_true",
                        help="1 round, whatever else is given: checks that the bench runs "
                             "(CI), not the figures; the target is not judged")
    args = parser.parse_args()
    if args.smoke:
        args.rounds = 1
    with orb_server("--orb-idle-grace", "1") as (url, _pid):
        results = asyncio.run(run(url, args.rounds, args.timeout))
    frames = sorted(r["join_to_frame"] for r in results)
    orbs = sorted(r["join_to_orb"] for r in results)
    median = statistics.median(frames)
    print(json.dumps({
        "bench": "orb_join_to_media", "rounds": len(frames),
        "median_s": round(median, 3), "min_s": round(frames[0], 3),
        "max_s": round(frames[-1], 3),
        "median_join_to_orb_joined_s": round(statistics.median(orbs), 3),
        "target_s": 1.0, "ok": median <= 1.0, "smoke": args.smoke,
    }))
    return 0 if median <= 1.0 or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
