"""Capacity: how many orb rooms one ``trio-server --orbs`` sustains, and its CPU per room.

The orb server runs as its own process; the humans (a synthetic coach and client per room, real
aiortc peers sending a small camera and a voice, decoding the orb's 320x240 video) run in this
process. Rooms are added one at a time; after each, the orb video rate at every human and the
server's CPU are measured over a window. A level counts as sustained when every human gets the
orb's video at >= --min-fps. Prints one JSON line per level, then a summary line with the largest
sustained level and the server CPU per room there (targets: >= 8 rooms, <= 0.1 core per room).

    /work/venv/bin/python bench/orb_capacity.py [--max-rooms 10] [--window 6]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from orb_common import orb_server, server_cpu  # noqa: E402

from orb_bridge.synthetic import SyntheticHuman  # noqa: E402


async def open_room(url: str, index: int, camera: tuple[int, int, float],
                    timeout: float) -> list[SyntheticHuman]:
    room = f"cap-{index}"
    coach = SyntheticHuman(url, room, "coach", "coach", camera=camera, mesh_with_humans=False)
    client = SyntheticHuman(url, room, "client", "client", camera=camera,
                            mesh_with_humans=False)
    await coach.start()
    await coach.wait_until(lambda: coach.orb_id() is not None, timeout, f"orb of {room}")
    await client.start()
    orb = coach.orb_id()
    for human in (coach, client):
        await human.wait_until(lambda h=human: orb in h.media and h.media[orb].video_frames > 0,
                               timeout, f"orb video in {room}")
    return [coach, client]


def frames(human: SyntheticHuman) -> int:
    orb = human.orb_id()
    return human.media[orb].video_frames if orb in human.media else 0


async def measure(humans: list[SyntheticHuman], pid: int, window: float) -> dict[str, float]:
    before = [frames(h) for h in humans]
    cpu0, mine0, t0 = server_cpu(pid), time.process_time(), time.monotonic()
    await asyncio.sleep(window)
    elapsed = time.monotonic() - t0
    cpu = (server_cpu(pid) - cpu0) / elapsed
    mine = (time.process_time() - mine0) / elapsed
    rates = [(frames(h) - b) / elapsed for h, b in zip(humans, before, strict=True)]
    return {"server_cores": cpu, "humans_cores": mine, "min_fps": min(rates),
            "mean_fps": sum(rates) / len(rates)}


async def run(url: str, pid: int, args: argparse.Namespace) -> list[dict[str, float]]:
    camera = (args.camera_width, args.camera_height, args.camera_fps)
    humans: list[SyntheticHuman] = []
    levels = []
    # The empty server's own CPU (timers, pings) is not charged to the rooms.
    cpu0, t0 = server_cpu(pid), time.monotonic()
    await asyncio.sleep(2.0)
    idle_cores = (server_cpu(pid) - cpu0) / (time.monotonic() - t0)
    try:
        for rooms in range(1, args.max_rooms + 1):
            humans += await open_room(url, rooms, camera, args.timeout)
            await asyncio.sleep(args.settle)
            m = await measure(humans, pid, args.window)
            level = {"rooms": rooms, "humans": len(humans),
                     "server_cores": round(m["server_cores"], 3),
                     "server_cores_per_room": round((m["server_cores"] - idle_cores) / rooms, 4),
                     "humans_process_cores": round(m["humans_cores"], 3),
                     "min_fps": round(m["min_fps"], 1), "mean_fps": round(m["mean_fps"], 1),
                     "sustained": m["min_fps"] >= args.min_fps}
            print(json.dumps(level), flush=True)
            levels.append(level)
            if not level["sustained"] and rooms >= args.stop_after_failures + 1 \
                    and not any(lv["sustained"] for lv in levels[-args.stop_after_failures:]):
                break
    finally:
        await asyncio.gather(*(h.close() for h in humans), return_exceptions=True)
    return levels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-rooms", type=int, default=10)
    parser.add_argument("--window", type=float, default=6.0, help="seconds measured per level")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds after adding a room")
    parser.add_argument("--min-fps", type=float, default=14.0)
    parser.add_argument("--camera-width", type=int, default=160)
    parser.add_argument("--camera-height", type=int, default=120)
    parser.add_argument("--camera-fps", type=float, default=15.0)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--stop-after-failures", type=int, default=2)
    args = parser.parse_args()
    with orb_server("--max-orbs", str(args.max_rooms), "--orb-idle-grace", "5") as (url, pid):
        levels = asyncio.run(run(url, pid, args))
    sustained = [lv for lv in levels if lv["sustained"]]
    best = max(sustained, key=lambda lv: lv["rooms"]) if sustained else None
    summary = {
        "bench": "orb_capacity",
        "max_sustained_rooms": best["rooms"] if best else 0,
        "server_cores_per_room_at_max": best["server_cores_per_room"] if best else None,
        "min_fps_at_max": best["min_fps"] if best else None,
        "camera": f"{args.camera_width}x{args.camera_height}@{args.camera_fps:g}",
        "targets": {"rooms": 8, "cores_per_room": 0.1},
    }
    summary["ok"] = bool(best and best["rooms"] >= 8
                         and best["server_cores_per_room"] <= 0.1)
    print(json.dumps(summary))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
