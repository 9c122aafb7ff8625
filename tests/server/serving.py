"""A real server on 127.0.0.1:0 for the length of a block, shared by the server, abuse and
ledger suites so that each starts and stops it the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from trio_server import LedgerSink, OrbHost, ServerConfig, SignalingServer

#: Generous bound for any single wait on loopback; a correct server answers in milliseconds.
WAIT = 5.0


@asynccontextmanager
async def running_server(config: ServerConfig | None = None, *, wait: float = WAIT,
                         orb_host: OrbHost | None = None, ledger: LedgerSink | None = None,
                         **kwargs: Any) -> AsyncIterator[SignalingServer]:
    """A server on 127.0.0.1:0, shut down gracefully (and checked to stop) on exit.

    ``kwargs`` build the ``ServerConfig`` when none is given; ``wait`` bounds start and stop.
    """
    server = SignalingServer(config or ServerConfig(port=0, **kwargs), orb_host=orb_host,
                             ledger=ledger)
    async with trio.open_nursery() as nursery:
        with trio.fail_after(wait):
            await nursery.start(server.serve)
        try:
            yield server
        finally:
            with trio.fail_after(wait):
                await server.shutdown()
