"""The orb under join tokens: the in-process orb needs none; the standalone worker needs one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import trio

from orb_bridge import InProcessOrbHost, OrbConfig
from signaling_core import CoreConfig
from trio_server import SignalingServer
from trio_server.conformance.raw import RawClient

from .conftest import SECRET, WAIT, join, running, secure_config, token_for

pytestmark = pytest.mark.media

WORKER = os.path.join(os.path.dirname(sys.executable), "orb-worker")
#: These workers' orbs only join (or are refused): nobody offers them media, so they load no
#: Whisper model and no Piper voice before connecting (~4.5 s of CPU each, measured).
SPEECHLESS_WORKER = ("--stt-model", "off", "--voice", "espeak")


async def _orb_joined(coach: RawClient, timeout: float = WAIT * 3) -> str:
    with trio.fail_after(timeout):
        while True:
            message = await coach.recv_until("user-joined")
            if message["userRole"] == "ai":
                user_id: str = message["userId"]
                return user_id


async def test_in_process_orb_joins_without_a_token_when_tokens_are_required() -> None:
    host = InProcessOrbHost(OrbConfig())
    config = secure_config(core=CoreConfig(orbs_enabled=True))
    server = SignalingServer(config, orb_host=host)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(server.serve)
        try:
            coach = await join(port, "orb-room", "coach-1", "coach")
            orb_id = await _orb_joined(coach)
            assert orb_id.startswith("ai-orb-")
            # Nobody outside can take the orb's place: its userId needs a token.
            with trio.fail_after(WAIT):
                fake = await RawClient.open(port, "/ws-simple/orb-room")
                await fake.send_json({"type": "join", "userId": orb_id, "userRole": "ai",
                                      "participantType": "ai"})
                assert (await fake.recv_json())["code"] == "unauthorized"
                assert await fake.close_code_after() == 4003
                await fake.aclose()
            snapshot = server.core.snapshot().rooms[0]
            assert [p.user_id for p in snapshot.participants] == ["coach-1", orb_id]
            await coach.aclose()
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(30):
                await server.shutdown()
            nursery.cancel_scope.cancel()


async def _run_worker(port: int, *extra: str, env: dict[str, str] | None = None
                      ) -> trio.Process:
    return await trio.lowlevel.open_process(
        [WORKER, "--url", f"ws://127.0.0.1:{port}", "--room", "gpu-room", "--session", "w1",
         "--log-level", "warning", *SPEECHLESS_WORKER, *extra],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**{k: v for k, v in os.environ.items() if k != "SIGNALING_JOIN_SECRET"},
             **(env or {})})


@pytest.mark.parametrize("how", ["--join-secret", "--token", "env"])
async def test_orb_worker_joins_with_its_token(how: str) -> None:
    async with running() as server:
        assert server.port is not None
        coach = await join(server.port, "gpu-room", "coach-1", "coach")
        if how == "--join-secret":
            worker = await _run_worker(server.port, "--join-secret", SECRET)
        elif how == "--token":
            token = token_for("gpu-room", "ai-orb-w1", "ai")
            worker = await _run_worker(server.port, "--token", token)
        else:
            worker = await _run_worker(server.port, env={"SIGNALING_JOIN_SECRET": SECRET})
        try:
            assert await _orb_joined(coach) == "ai-orb-w1"
        finally:
            worker.send_signal(2)  # SIGINT: the orb announces its end and leaves
            with trio.fail_after(WAIT * 3):
                assert await worker.wait() == 0
            await coach.aclose()


async def test_orb_worker_without_a_token_is_refused() -> None:
    async with running() as server:
        assert server.port is not None
        coach = await join(server.port, "gpu-room", "coach-1", "coach")
        worker = await _run_worker(server.port)
        with trio.fail_after(WAIT * 3):
            status = await worker.wait()
        assert status != 0
        assert [p.user_id for p in server.core.snapshot().rooms[0].participants] == ["coach-1"]
        await coach.aclose()
