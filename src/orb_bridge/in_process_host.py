"""The in-process orb host: an ``OrbHost`` running orbs on one asyncio thread in the server.

Trio side of the bridge. It knows the server only through the written contract of
:mod:`signaling_core.orb_hosting`. For each ``SpawnOrb`` it opens an in-process connection
(``server.open_local``) and starts the orb on the shared :class:`AsyncioLoopThread`; then three
pumps carry plain strings across the portal:

* server → orb: each text the core sends to the orb is delivered into the orb's bounded
  inbound queue (the pump waits while it is full, so the server's own bounded channel fills
  and the slow-consumer rule applies, as for any participant);
* orb → server: the pump asks the orb for its next outgoing text and feeds it to the core;
  ``None`` means the orb has finished and said everything;
* the server closing the connection ends the server → orb pump, which tells the orb.

Whatever happens inside an orb stays inside it: the session turns exceptions into
``ai-orb-shutdown`` ``error``, and this host additionally guards every portal call, so a
broken orb can never raise into the server's nursery. An orb that ends without having joined
is reported with ``server.orb_ended``. On cancellation (server shutdown) every orb is ended
(bounded, shielded), then the loop thread is stopped and joined.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Mapping
from typing import Any

import attrs
import trio

from signaling_core import SpawnOrb, StopOrb
from signaling_core.orb_hosting import InProcessConnection, OrbHostServer
from signaling_core.wire import Field

from ._config import OrbConfig
from .brain import BrainFactory
from .llm_brain import brain_factory_for
from .loop_thread import AsyncioLoopThread
from .runtime import OrbRuntime
from .speech_config import SpeechConfig, on_off
from .warm_up import warm_speech_in_background

logger = logging.getLogger(__name__)

#: How long an ending orb may take to close its peer connections and announce itself.
_FINISH_TIMEOUT = 10.0


class InProcessOrbHost:
    """Implements :class:`signaling_core.orb_hosting.OrbHost`; one per server process."""

    def __init__(
        self,
        config: OrbConfig | None = None,
        *,
        brain_factory: BrainFactory | None = None,
        inherit_limits: bool = True,
        orb_options: Mapping[str, str] | None = None,
    ) -> None:
        """``inherit_limits``: take idle grace, maximum lifetime and the orb cap from the
        server's ``CoreConfig`` when :meth:`run` starts, so each limit is set in one place.
        ``orb_options``: ``trio-server``'s ``--orb-*`` values (speech-to-text, language model,
        transcripts; :meth:`SpeechConfig.from_options`). ``brain_factory``: by default the one
        the speech settings ask for (a language model when ``llm_url`` is set)."""
        self.config = config or OrbConfig()
        if orb_options:
            speech_options = dict(orb_options)
            # The one --orb-* value about the media path rather than understanding.
            relay_only = speech_options.pop("ice_relay_only", None)
            name = speech_options.pop("name", None)
            if name and "stt_hotwords" not in speech_options:
                speech_options["stt_hotwords"] = name  # what speech-to-text is to expect
            self.config = attrs.evolve(self.config,
                                       speech=SpeechConfig.from_options(speech_options))
            if name:
                self.config = attrs.evolve(self.config, name=name)
            if relay_only is not None:
                self.config = attrs.evolve(self.config, ice_relay_only=on_off(relay_only))
        self.max_orbs = 8
        self._inherit_limits = inherit_limits
        if brain_factory is None:
            brain_factory = brain_factory_for(self.config.speech)
        self._brain_factory = brain_factory
        self._loop_thread = AsyncioLoopThread()
        self._runtime = OrbRuntime(self.config, brain_factory)
        self._server: OrbHostServer | None = None
        self._nursery: trio.Nursery | None = None
        self._rooms: dict[str, str] = {}  # room id -> key of its orb
        self._ending: set[str] = set()  # keys of orbs that have said their last word
        self._keys = itertools.count(1)
        #: How recent orbs ended (room, session, reason, joined, announced), newest last.
        self.ended: deque[dict[str, Any]] = deque(maxlen=100)

    # ---------------------------------------------------------------- OrbHost
    async def run(self, server: OrbHostServer, *,
                  task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        self._server = server
        if self._inherit_limits:
            core = server.core_config
            self.config = attrs.evolve(self.config, idle_grace=core.orb_idle_grace,
                                       max_lifetime=core.orb_max_lifetime)
            self.max_orbs = core.max_orbs
            self._runtime = OrbRuntime(self.config, self._brain_factory)
        await trio.to_thread.run_sync(self._loop_thread.start)
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._warm_speech)
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(self._loop_thread.stop)

    async def _warm_speech(self) -> None:
        """Load the models in the background (:func:`~orb_bridge.warm_up.warm_speech`), so
        the first utterance of the first orb does not wait for them. Cancelled, only the wait
        is abandoned: the loading goes on in a thread the process's exit waits for."""
        loading = warm_speech_in_background(self.config)
        await trio.to_thread.run_sync(loading.result, abandon_on_cancel=True)

    def metric_collectors(self) -> list[object]:
        """The per-turn figures of this process's orbs (``orb_turn_stage_seconds``...), for
        ``trio-server``'s ``/metrics`` (:class:`signaling_core.orb_hosting.MetricsOrbHost`)."""
        from .figures import FiguresCollector

        return [FiguresCollector()]

    def spawn(self, command: SpawnOrb) -> None:
        server = self._server
        if server is None:
            raise RuntimeError("orb host is not running")
        running = len(set(self._rooms.values()) - self._ending)
        current = self._rooms.get(command.room_id)
        if self._nursery is None or running >= self.max_orbs \
                or (current is not None and current not in self._ending):
            logger.warning("no orb for room %s (running: %d of %d)", command.room_id,
                           running, self.max_orbs)
            server.orb_ended(command.room_id, command.session_id, command.spawn_id,
                             unavailable=True)
            return
        key = f"{command.session_id}#{next(self._keys)}"
        self._rooms[command.room_id] = key
        self._nursery.start_soon(self._serve_orb, command, key)

    def stop(self, command: StopOrb) -> None:
        key = self._rooms.get(command.room_id)
        if self._nursery is not None and key is not None \
                and key.startswith(f"{command.session_id}#"):
            self._nursery.start_soon(self._guarded, self._runtime.stop, key, command.reason)

    # ---------------------------------------------------------------- introspection
    async def orb_stats(self, room_id: str) -> dict[str, Any] | None:
        """The running orb of ``room_id``, as plain data (for tests, metrics, admin)."""
        key = self._rooms.get(room_id)
        if key is None:
            return None
        return await self._loop_thread.call(self._runtime.stats, key)

    async def orb_media_report(self, room_id: str) -> dict[str, Any] | None:
        """Per human and kind: packets received, decoding or not, frames queued."""
        key = self._rooms.get(room_id)
        if key is None:
            return None
        return await self._loop_thread.call(self._runtime.media_report, key)

    async def census(self) -> dict[str, int]:
        """Orbs, asyncio tasks and open peer connections alive on the orb loop."""
        return await self._loop_thread.call(self._runtime.census)

    @property
    def loop_thread(self) -> AsyncioLoopThread:
        return self._loop_thread

    # ---------------------------------------------------------------- one orb
    async def _serve_orb(self, command: SpawnOrb, key: str) -> None:
        server = self._server
        assert server is not None
        room_id, session_id = command.room_id, command.session_id
        call = self._loop_thread.call
        outcome: dict[str, Any] = {"reason": "error", "joined": False}
        conn: InProcessConnection | None = None
        try:
            conn = server.open_local(room_id)
            await call(self._runtime.start, key, room_id, session_id,
                       server.ice_servers(room_id, command.user_id))
            async with trio.open_nursery() as pumps:
                pumps.start_soon(self._pump_in, conn, key)
                while (text := await call(self._runtime.next_outgoing, key)) is not None:
                    conn.send_text(text)
                # The orb has said its last word: the room may get a new orb right away.
                self._ending.add(key)
                pumps.cancel_scope.cancel()
        except Exception:
            logger.exception("orb %s of room %s broke its bridge", session_id, room_id)
        finally:
            with trio.CancelScope(shield=True):
                try:
                    with trio.move_on_after(_FINISH_TIMEOUT + 1.0):
                        # The bridge is done (the orb finished, the server closed, or we are
                        # cancelled): the orb can no longer talk, so it must end now.
                        await call(self._runtime.far_closed, key)
                        outcome = await call(self._runtime.finish, key, _FINISH_TIMEOUT)
                except Exception:
                    logger.exception("orb %s of room %s did not finish cleanly", session_id,
                                     room_id)
            if conn is not None:
                conn.close()
            self._ending.discard(key)
            if self._rooms.get(room_id) == key:
                del self._rooms[room_id]
            logger.info("orb %s of room %s ended: %s", session_id, room_id, outcome)
            self.ended.append({Field.ROOM_ID: room_id, Field.SESSION_ID: session_id, **outcome})
            if not outcome.get("joined") and not server.stopping:
                server.orb_ended(room_id, session_id, command.spawn_id)

    async def _pump_in(self, conn: InProcessConnection, key: str) -> None:
        async for data in conn.receive_texts():
            await self._loop_thread.call(self._runtime.deliver, key, data.decode("utf-8"))
        await self._loop_thread.call(self._runtime.far_closed, key)

    async def _guarded(self, fn: Any, *args: Any) -> None:
        try:
            await self._loop_thread.call(fn, *args)
        except Exception:
            logger.exception("orb host call %s failed", getattr(fn, "__name__", fn))
