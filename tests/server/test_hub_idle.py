"""The read hub's own sleep (:mod:`trio_server.idlewait`): lone arrivals are read without a trip
through Trio's loop, in order, and nothing else Trio waits for is held up by it."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import trio

from trio_server import idlewait
from trio_server.readhub import ReadHub

from .serving import WAIT
from .test_hub_turns import numbers, open_pairs, serve_all


def send_spaced(peers: list[socket.socket], count: int, gap: float) -> None:
    """Numbered messages, round robin over ``peers``, one every ``gap`` seconds (a thread)."""
    due = time.monotonic()
    for i in range(count):
        due += gap
        while (left := due - time.monotonic()) > 0:
            time.sleep(left)
        peers[i % len(peers)].send(f"{i};".encode())


async def test_lone_arrivals_are_read_in_the_hubs_own_sleep_and_in_order(
        pairs: list[tuple[socket.socket, socket.socket]]) -> None:
    hub = ReadHub()
    peers = open_pairs(pairs, 3)
    count = 600
    with trio.fail_after(WAIT):
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.run)
            await serve_all(hub, peers, nursery)
            # Nothing else runs meanwhile: each arrival finds the hub asleep in its own wait.
            await trio.to_thread.run_sync(send_spaced, [p for p, _ in peers], count, 0.0002)
            while sum(len(numbers(r)) for _, r in peers) < count:
                await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
    for k, (_, reader) in enumerate(peers):
        assert numbers(reader) == list(range(k, count, len(peers)))
    # Most arrivals skipped Trio's wait (each 1 ms out of Trio's loop ends with one trip through
    # it; a loaded machine may space the sends further apart, hence the loose bound) ...
    assert hub.idle_arrivals >= count // 4, (hub.idle_arrivals, hub.waits)
    # ... and the hub still went back to Trio's loop regularly.
    assert hub.waits >= 2


async def test_a_hub_that_cannot_find_trios_epoll_parks_in_trio_as_before(
        pairs: list[tuple[socket.socket, socket.socket]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idlewait, "running_loop", lambda: None)
    hub = ReadHub()
    peers = open_pairs(pairs, 2)
    with trio.fail_after(WAIT):
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.run)
            await serve_all(hub, peers, nursery)
            await trio.to_thread.run_sync(send_spaced, [p for p, _ in peers], 40, 0.0005)
            while sum(len(numbers(r)) for _, r in peers) < 40:
                await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
    assert numbers(peers[0][1]) == list(range(0, 40, 2))
    assert hub.idle_arrivals == 0 and hub.waits >= 1


async def test_what_trio_waits_for_is_not_held_up_while_the_hub_sleeps(
        pairs: list[tuple[socket.socket, socket.socket]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With the hub's sleep allowed to last 30 s, a socket of Trio's own and a thread's call
    into Trio are each served at once, and the sleep never outlasts Trio's next deadline: it
    wakes for Trio's epoll, not only for the hub's."""
    monkeypatch.setattr(idlewait, "IDLE_CAP_SECONDS", 30.0)
    sleeps: list[tuple[float, float, bool]] = []
    plain_sleep = idlewait.IdleWait.sleep

    def timed_sleep(self: idlewait.IdleWait, out_of_trio: float, gap: float) -> bool:
        began = time.monotonic()
        woke = plain_sleep(self, out_of_trio, gap)
        sleeps.append((began, time.monotonic(), woke))
        return woke

    monkeypatch.setattr(idlewait.IdleWait, "sleep", timed_sleep)
    hub = ReadHub()
    ((hub_peer, reader),) = open_pairs(pairs, 1)
    theirs, plain_ours = socket.socketpair()
    ours = trio.socket.from_stdlib_socket(plain_ours)
    lags: dict[str, float] = {}
    sent_at: dict[str, float] = {}
    all_in = trio.Event()
    token = trio.lowlevel.current_trio_token()

    def record(what: str, lag: float) -> None:
        lags[what] = lag
        if len(lags) == 3:
            all_in.set()

    async def trio_reader() -> None:
        await ours.recv(10)
        record("socket", time.monotonic() - sent_at["socket"])

    async def sleeper() -> None:
        began = time.monotonic()
        await trio.sleep(1.0)
        record("deadline", time.monotonic() - began - 1.0)

    def from_thread() -> None:
        # Each time the hub first reads a message, then sleeps in its own wait.
        hub_peer.send(b"0;")
        time.sleep(0.05)
        sent_at["socket"] = time.monotonic()
        theirs.send(b"x")
        time.sleep(0.05)
        hub_peer.send(b"1;")
        time.sleep(0.05)
        sent_at["call"] = time.monotonic()
        token.run_sync_soon(lambda: record("call", time.monotonic() - sent_at["call"]))

    try:
        with trio.fail_after(WAIT):
            async with trio.open_nursery() as nursery:
                await nursery.start(hub.run)
                await serve_all(hub, [(hub_peer, reader)], nursery)
                nursery.start_soon(trio_reader)
                nursery.start_soon(sleeper)
                await trio.testing.wait_all_tasks_blocked()
                thread = threading.Thread(target=from_thread)
                thread.start()
                await all_in.wait()  # no deadline of this task's own meanwhile
                thread.join(WAIT)
                nursery.cancel_scope.cancel()
    finally:
        theirs.close()
        ours.close()
    assert numbers(reader) == [0, 1]
    # The hub was asleep in its own wait when the socket's byte and the call came ...
    for what in ("socket", "call"):
        assert any(began < sent_at[what] < ended and not woke
                   for began, ended, woke in sleeps), (what, sent_at, sleeps)
    # ... and each was served long before the 1 s deadline that would otherwise have ended
    # that sleep (generous bounds: a loaded machine wakes late); the deadline kept its time.
    assert lags["socket"] < 0.5 and lags["call"] < 0.5, lags
    assert lags["deadline"] < 0.5, lags


async def test_sparse_arrivals_take_no_sleep_that_would_end_on_its_timeout(
        pairs: list[tuple[socket.socket, socket.socket]]) -> None:
    """Messages further apart than the cap: the hub parks in Trio as before, rather than
    sleeping in its own wait only to be woken by the timeout (a wake-up for nothing)."""
    hub = ReadHub()
    peers = open_pairs(pairs, 2)
    with trio.fail_after(WAIT):
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.run)
            await serve_all(hub, peers, nursery)
            await trio.to_thread.run_sync(
                send_spaced, [p for p, _ in peers], 12, 4 * idlewait.IDLE_CAP_SECONDS)
            while sum(len(numbers(r)) for _, r in peers) < 12:
                await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
    assert numbers(peers[1][1]) == list(range(1, 12, 2))
    assert hub.idle is not None
    # The first turn has no gap to judge by; a sleep after it may still be taken (and a
    # loaded machine may bunch two sends): far fewer sleeps than arrivals all the same.
    assert hub.idle.sleeps <= 3 and hub.waits >= 9, (hub.idle.sleeps, hub.waits)
