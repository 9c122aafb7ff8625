"""The second listen for the orb's name (``WhisperStt.listen_for_name``: 0.5-0.7 s of CPU a
turn) runs only where the name can change what the orb does with the turn: not on a client's
turn in ``active`` mode (answered anyway), not in ``listen`` mode (never answered); a coach's
turn in ``active`` mode and every turn in ``addressed`` mode still get it, and a name it
restores still makes the turn addressed. Through a real OrbSession's wiring (session →
minutes → scribe), with a stand-in transcriber that counts the listens."""

from __future__ import annotations

import asyncio

import numpy as np

from orb_bridge import OfflineBrain, OrbConfig, OrbSession
from orb_bridge.audio import HEARING_RATE, Audio
from orb_bridge.hearing import SpeechEnded, Utterance
from orb_bridge.signaling_link import QueueLink
from testkit.name_dropping import NameDroppingStt


def heard(mode: str, role: str) -> tuple[int, list[Utterance], OrbSession]:
    """(listens, the utterances delivered, the session) for one finished turn of ``role``."""
    async def scenario() -> tuple[int, list[Utterance], OrbSession]:
        session = OrbSession(QueueLink(8), room_id="room-1", session_id="s1",
                             config=OrbConfig(mode=mode), brain=OfflineBrain())
        scribe = session.scribe
        assert scribe is not None
        stt = NameDroppingStt()
        scribe._stt = stt
        delivered: list[Utterance] = []
        scribe.deliver = lambda event: delivered.append(event.utterance) \
            if isinstance(event, SpeechEnded) else None
        tasks: list[asyncio.Future[None]] = []
        scribe._spawn = lambda coro, name: tasks.append(asyncio.ensure_future(coro))
        scribe.heard(Utterance(f"{role}-1", role,
                               Audio(np.ones(HEARING_RATE, np.int16), HEARING_RATE), 1.0))
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        return len(stt.listened), delivered, session

    return asyncio.run(asyncio.wait_for(scenario(), 30))


def test_no_second_listen_where_the_name_cannot_change_the_decision() -> None:
    listens, delivered, session = heard("active", "client")
    assert listens == 0
    assert session.scribe is not None and session.scribe.name_listens_skipped == 1
    assert [u.text for u in delivered] == ["Or could you sum up?"]
    # ...and the turn is answered all the same.
    assert session.addressee.decide(delivered[0]).answer
    listens, delivered, _session = heard("listen", "coach")
    assert listens == 0 and len(delivered) == 1


def test_the_name_is_still_listened_for_where_it_decides() -> None:
    for mode, role in (("active", "coach"), ("addressed", "client"), ("addressed", "coach")):
        listens, delivered, session = heard(mode, role)
        assert listens == 1, (mode, role)
        assert [u.text for u in delivered] == ["Orb, could you sum up?"]
        decision = session.addressee.decide(delivered[0])
        assert decision.answer and decision.why.startswith("named"), (mode, role, decision)
