"""Several nodes on one ledger database: a node's restart closes its own sessions only."""

from __future__ import annotations

import trio

from trio_server.ledger import SERVER_RESTART

from .conftest import make_ledger, query, running
from .driver import CoreDriver


async def test_a_restarting_node_leaves_the_other_nodes_calls_open(db: str) -> None:
    node_a, node_b = make_ledger(db), make_ledger(db)
    node_a.set_node("node-a")
    node_b.set_node("node-b")
    async with running(node_b):
        b_calls = CoreDriver(node_b, session_ids=["b1"])
        b_calls.at(0).join("room-b", "coach-b", "coach")
        b_calls.at(1).join("room-b", "client-b", "client")
        async with running(node_a):
            a_calls = CoreDriver(node_a, session_ids=["a1"])
            a_calls.at(0).join("room-a", "coach-a", "coach")
            await node_a.wait_committed()
        # node-a stopped without ending its call (a crash); it comes back.
        await node_b.wait_committed()
        again = make_ledger(db)
        again.set_node("node-a")
        async with running(again):
            assert again.recovery is not None
            assert (again.recovery.sessions_closed, again.recovery.participations_closed) \
                == (1, 1)
        sessions = dict(query(db, "SELECT session_id, end_reason FROM sessions"))
        assert sessions == {"a1": SERVER_RESTART, "b1": None}
        assert query(db, "SELECT user_id FROM participations WHERE left_at IS NULL "
                         "ORDER BY user_id") == [("client-b",), ("coach-b",)]
        nodes = {node for (node,) in query(db, "SELECT node FROM ledger_runs")}
        assert nodes == {"node-a", "node-b"}


async def test_a_lone_server_still_closes_every_open_session(db: str) -> None:
    first = make_ledger(db)
    first.set_node("node-a")
    async with running(first):
        CoreDriver(first, session_ids=["a1"]).at(0).join("room-a", "coach-a", "coach")
        await first.wait_committed()
    lone = make_ledger(db)  # no node: the database is all its own (the pre-cluster rule)
    async with running(lone):
        assert lone.recovery is not None and lone.recovery.sessions_closed == 1


async def test_two_server_nodes_on_one_postgresql_one_killed_and_restarted(pg_db: str) -> None:
    """Real processes: node-a is killed mid-call and restarts; node-b's call stays open."""
    import signal

    from trio_websocket import open_websocket_url

    from testkit.fleet import BIN, Proc, free_port

    ports = {"node-a": free_port(), "node-b": free_port()}

    def start(node: str) -> Proc:
        proc = Proc(node, [f"{BIN}/trio-server", "--port", str(ports[node]), "--node-id", node,
                           "--db", pg_db])
        proc.log.wait_for("listening on", 20)
        return proc

    procs = {node: await trio.to_thread.run_sync(start, node) for node in ports}
    try:
        async with open_websocket_url(f"ws://127.0.0.1:{ports['node-a']}/ws-simple/ra") as a, \
                open_websocket_url(f"ws://127.0.0.1:{ports['node-b']}/ws-simple/rb") as b:
            for ws, user in ((a, "coach-a"), (b, "coach-b")):
                await ws.send_message(f'{{"type":"join","userId":"{user}","userRole":"coach"}}')
                with trio.fail_after(10):
                    while "peer-discovery" not in str(await ws.get_message()):
                        pass
            with trio.fail_after(10):
                while query(pg_db, "SELECT COUNT(*) FROM sessions") != [(2,)]:
                    await trio.sleep(0.05)
            procs["node-a"].signal(signal.SIGKILL)
            await trio.to_thread.run_sync(procs["node-a"].wait, 10)
            procs["node-a"] = await trio.to_thread.run_sync(start, "node-a")
            await trio.to_thread.run_sync(procs["node-a"].log.wait_for, "ledger: writing", 10)
            ended = dict(query(pg_db, "SELECT room, end_reason FROM sessions"))
            assert ended == {"ra": SERVER_RESTART, "rb": None}
    finally:
        for proc in procs.values():
            await trio.to_thread.run_sync(proc.stop)
