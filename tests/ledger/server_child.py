"""A real server process writing to a ledger: ``python server_child.py DB``.

Prints ``listening PORT`` once it accepts connections and serves until SIGTERM (a clean
shutdown) or SIGKILL (the crash the recovery test inflicts).
"""

from __future__ import annotations

import signal
import sys

import trio

from trio_server import ServerConfig, SignalingServer
from trio_server.ledger import open_ledger


async def main(db: str) -> None:
    server = SignalingServer(ServerConfig(port=0, log_level="warning"), ledger=open_ledger(db))
    with trio.open_signal_receiver(signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            port = await nursery.start(server.serve)
            print(f"listening {port}", flush=True)
            async for _ in signals:
                break
            await server.shutdown()
            nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main, sys.argv[1])
