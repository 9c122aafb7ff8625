"""CPU of trio-server's Python path per relayed message, without Trio's scheduler or syscalls.

One room of three real :class:`~trio_server.wsconn.WsConnection` objects on the server's own
:class:`~trio_server.connections.Connections` and :class:`~signaling_core.SignalingCore`, with
transports whose ``try_send`` only counts: the sender's reader is handed whole masked frames
(the load generator's ~270-byte ``ice-candidate`` with ``toId``), as ``run`` hands them after a
``recv``. What is timed is everything the server does per message between the ``recv`` and the
``send``: frame parsing and unmasking, metrics, rate limit, JSON, routing, the relayed frame.

The paced benchmark's CPU per message is this plus one Trio wake-up (task step, epoll re-arm)
and the ``recv``/``send`` syscalls; this isolates the part the server's own code decides.

    python bench/relay_path.py            # min of 7 rounds of 30,000 messages, CPU time
    python bench/relay_path.py --smoke    # 1 round of 1,000: does it still run? (CI)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import trio

from signaling_core import CoreConfig, SignalingCore
from signaling_core.wire import AI, join_message
from trio_server.config import ServerConfig
from trio_server.connections import Connections
from trio_server.journal import Journal
from trio_server.server_metrics import ServerStats
from trio_server.wsconn import WsConnection

sys.path.insert(0, str(Path(__file__).parent))
from _wsclient import encode_frame
from loadgen import CANDIDATE


class CountingTransport:
    """A transport whose socket takes everything at once and only counts the sends."""

    peer = "127.0.0.1:1"

    def __init__(self) -> None:
        self.sent = 0

    def try_send(self, data: bytes | memoryview) -> int:
        self.sent += 1
        return len(data)

    def close(self) -> None:
        pass


def measure(messages: int, rounds: int) -> float:
    """Microseconds of CPU per relayed message, the best of ``rounds``."""
    config = ServerConfig(port=0, core=CoreConfig(rate_limit_per_second=1_000_000,
                                                  rate_limit_burst=1_000_000, max_participants=8))
    connections = Connections(SignalingCore(config.core), config, ServerStats(), Journal(None),
                              None, lambda: None)
    extra: dict[str, Any] = {}
    if "clock" in WsConnection.__init__.__code__.co_varnames:  # older versions had none
        extra["clock"] = trio.lowlevel.current_clock().current_time
    members = []
    for i, role in enumerate(("coach", "client", "ai")):
        transport = CountingTransport()
        conn = WsConnection(i + 1, "room1", transport, connections,  # type: ignore[arg-type]
                            max_message_bytes=config.core.max_message_bytes,
                            byte_limit=config.outbound_queue_limit,
                            msg_limit=config.outbound_queue_messages, close_timeout=1.0,
                            cork=connections._cork, **extra)
        connections._opened(conn)
        join = join_message(None, f"u{i}", role, participant_type=AI if role == AI else None)
        conn._take(encode_frame(1, orjson.dumps(join)))
        members.append((conn, transport))
    frames = [encode_frame(1, b'{"type":"ice-candidate","toId":"u1","candidate":{"candidate":"'
                           + CANDIDATE.encode() + b'","sdpMid":"0","sdpMLineIndex":0},'
                           + b'"seq":%d,"ts":%d}' % (seq, 1_700_000_000_000_000 + seq))
              for seq in range(1000)]
    take = members[0][0]._take
    receiver = members[1][1]
    before = receiver.sent
    best = float("inf")
    for _ in range(rounds):
        t0 = time.process_time()
        for k in range(messages):
            take(frames[k % 1000])
        best = min(best, time.process_time() - t0)
    if receiver.sent - before != rounds * messages:
        raise SystemExit(f"relayed {receiver.sent - before} of {rounds * messages}")
    return best / messages * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--messages", type=int, default=30_000)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--smoke", action="store_true",
                   help="1 round of 1,000 messages, whatever else is given: checks that the "
                        "bench runs (CI), not the figure")
    args = p.parse_args()
    if args.smoke:
        args.messages, args.rounds = 1_000, 1

    async def run() -> None:
        us = measure(args.messages, args.rounds)
        print(f"{us:.2f} us of CPU per relayed message (Python path only, best of "
              f"{args.rounds} x {args.messages:,})")

    trio.run(run)


if __name__ == "__main__":
    main()
