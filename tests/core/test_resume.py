"""Away seats and resume (docs/protocol.md, "Away and resume"): a lost connection keeps its seat
for the reconnect grace, a ``join`` with the seat's ``resumeToken`` takes it back without a
departure, and only the end of the grace is a departure (one ``user-left``)."""

from __future__ import annotations

from signaling_core import (
    Close,
    CoreConfig,
    Departure,
    ParticipantJoined,
    ParticipantLeft,
    ServerStopping,
    SessionEnded,
)

from .harness import Harness, Peer, join_message

GRACE = 10.0


def call(**config: object) -> tuple[Harness, Peer, Peer]:
    """A coach and a client in room-1, their inboxes emptied."""
    h = Harness(CoreConfig(reconnect_grace=GRACE, **config))  # type: ignore[arg-type]
    coach = h.join("coach-1", "coach")
    client = h.join("client-1", "client")
    coach.take()
    client.take()
    return h, coach, client


def resume(h: Harness, user_id: str, role: str, token: str | None,
           room: str = "room-1") -> Peer:
    peer = h.connect(room)
    msg = join_message(user_id, role)
    if token is not None:
        msg["resumeToken"] = token
    h.send(peer, msg)
    return peer


def test_a_drop_makes_the_seat_away_not_gone() -> None:
    h, coach, client = call()
    token = client.resume_token
    h.close(client, Departure.DROPPED)
    notice = coach.take_one()
    assert notice == {"type": "user-away", "userId": "client-1", "userName": "Name of client-1",
                      "userRole": "client", "participantType": "human"}
    assert h.user_ids() == ["coach-1", "client-1"]
    assert not any(isinstance(c, ParticipantLeft) for c in h.commands)
    h.assert_consistent()
    # Back within the grace, with its token: the same seat, nobody left or joined.
    h.advance(GRACE - 0.5)
    again = resume(h, "client-1", "client", token)
    discovery = again.take_one()
    assert discovery["resumed"] is True and discovery["left"] == []
    assert discovery["resumeToken"] == token
    assert discovery["peers"] == [{"userId": "coach-1", "userName": "Name of coach-1",
                                   "userRole": "coach", "participantType": "human",
                                   "shouldCreateOffer": False, "status": "unchanged"}]
    assert coach.take() == [{"type": "user-back", "userId": "client-1",
                             "userName": "Name of client-1", "userRole": "client",
                             "participantType": "human"}]
    h.advance(GRACE * 3)
    assert coach.take() == [] and h.user_ids() == ["coach-1", "client-1"]
    assert [type(c) for c in h.commands].count(ParticipantJoined) == 2
    assert not any(isinstance(c, ParticipantLeft) for c in h.commands)
    h.assert_consistent()


def test_the_grace_ends_in_exactly_one_user_left() -> None:
    h, coach, client = call()
    h.close(client, Departure.DROPPED)
    assert coach.types() == ["user-away"]
    coach.take()
    h.advance(GRACE - 0.1)
    assert coach.take() == []
    assert h.core.next_deadline() is not None and h.core.next_deadline() <= GRACE  # type: ignore[operator]
    h.advance(0.1)
    assert coach.types() == ["user-left"] and coach.left_count == {"client-1": 1}
    coach.take()
    left = [c for c in h.commands if isinstance(c, ParticipantLeft)]
    assert [(c.user_id, c.ending, c.at) for c in left] == [
        ("client-1", Departure.DROPPED, GRACE)]
    # The token of a seat that is gone proves nothing: a join with it is a fresh join.
    again = resume(h, "client-1", "client", client.resume_token)
    assert "resumed" not in again.take_one()
    assert coach.types() == ["user-joined"]
    h.assert_consistent()


def test_a_clean_close_or_leave_departs_at_once() -> None:
    for how in ("close", "leave"):
        h, coach, client = call()
        if how == "close":
            h.close(client, Departure.CLOSED)
        else:
            h.send(client, {"type": "leave"})
        assert coach.types() == ["user-left"], how


def test_idle_and_slow_losses_are_away_too() -> None:
    h, coach, client = call(idle_timeout=5.0)
    h.activity(coach)
    h.advance(3.0)
    h.activity(coach)
    h.advance(2.0)  # the client was silent for 5 s
    assert client.close_frame == (4008, "idle deadline passed")
    assert coach.types() == ["user-away"]
    h2, coach2, client2 = call()
    h2.close(client2, Departure.SLOW_CONSUMER)
    assert coach2.types() == ["user-away"]


def test_an_away_seat_is_not_taken_without_its_token() -> None:
    h, coach, client = call()
    h.join("client-1", "client", room="room-2")  # the same userId elsewhere, another seat
    other_room_token = h.peers[3].resume_token
    h.close(client, Departure.DROPPED)
    coach.take()
    for token in (None, coach.resume_token, other_room_token, "v1.1.forged"):
        thief = resume(h, "client-1", "client", token)
        assert thief.errors() == ["resume-refused"], token
        assert thief.open and thief.user_id is None
    assert coach.take() == []
    h.assert_consistent()


def test_a_present_seat_with_its_token_moves_to_the_new_connection() -> None:
    h, coach, client = call()
    again = resume(h, "client-1", "client", client.resume_token)
    assert client.close_frame == (4001, "replaced")
    assert again.take_one()["resumed"] is True
    assert coach.types() == ["user-back"]
    assert not any(isinstance(c, ParticipantLeft) for c in h.commands)
    h.assert_consistent()


def test_a_present_seat_without_a_token_is_replaced_as_before() -> None:
    h, coach, client = call()
    again = resume(h, "client-1", "client", None)
    assert client.close_frame == (4001, "replaced")
    assert "resumed" not in again.take_one()
    assert coach.types() == ["user-left", "user-joined"]
    h.assert_consistent()


def test_a_present_seat_with_a_wrong_token_is_refused() -> None:
    h, coach, client = call()
    thief = resume(h, "client-1", "client", coach.resume_token)
    assert thief.errors() == ["resume-refused"]
    assert client.open and coach.take() == []


def test_messages_to_an_away_seat_are_refused_and_never_delivered_later() -> None:
    h, coach, client = call()
    token = client.resume_token

    def candidate(n: int, to: str = "client-1") -> dict[str, object]:
        return {"type": "ice-candidate", "toId": to, "candidate": {"n": n}}

    h.send(coach, candidate(1))
    h.close(client, Departure.DROPPED)
    coach.take()
    h.send(coach, candidate(2))
    assert coach.errors() == ["peer-away"]
    h.send(coach, {"type": "client_signal", "action": "wave"})  # a broadcast skips it
    assert coach.take()[0]["ref"] == "ice-candidate"
    again = resume(h, "client-1", "client", token)
    h.send(coach, candidate(3))
    got = [m["candidate"]["n"] for m in client.received + again.received
           if m["type"] == "ice-candidate"]
    assert got == [1, 3]
    assert not any(m["type"] == "client_signal" for m in again.received)


def test_the_resumed_discovery_says_who_joined_and_who_left_meanwhile() -> None:
    h = Harness(CoreConfig(reconnect_grace=GRACE))
    coach = h.join("coach-1", "coach")
    client = h.join("client-1", "client")
    observer = h.join("obs-1", "observer")
    token = client.resume_token
    h.close(client, Departure.DROPPED)
    h.send(observer, {"type": "leave"})
    late = h.join("late-1", "observer")
    assert late.take_one()["peers"][1] == {
        "userId": "client-1", "userName": "Name of client-1", "userRole": "client",
        "participantType": "human", "shouldCreateOffer": False, "away": True}
    coach.take()
    again = resume(h, "client-1", "client", token)
    discovery = again.take_one()
    assert [(p["userId"], p["status"]) for p in discovery["peers"]] == [
        ("coach-1", "unchanged"), ("late-1", "joined")]
    assert [p["userId"] for p in discovery["left"]] == ["obs-1"]
    assert coach.types() == ["user-back"] and late.types() == ["user-back"]
    h.assert_consistent()


def test_a_room_of_away_seats_ends_after_the_grace() -> None:
    h, coach, client = call()
    h.close(coach, Departure.DROPPED)
    h.advance(1.0)
    h.close(client, Departure.DROPPED)
    assert h.core.room_count == 1 and h.core.connection_count == 0
    h.advance(GRACE - 1.0)
    assert h.user_ids() == ["client-1"]
    h.advance(1.0)
    assert h.core.room_count == 0 and h.core.next_deadline() is None
    assert sum(isinstance(c, SessionEnded) for c in h.commands) == 1


def test_the_orb_waits_for_an_away_coach() -> None:
    cfg = {"orbs_enabled": True, "orb_idle_grace": 3.0, "idle_timeout": 1000.0}
    h = Harness(CoreConfig(reconnect_grace=GRACE, **cfg))  # type: ignore[arg-type]
    coach = h.join("coach-1", "coach")
    orb = h.join_orb()
    token = coach.resume_token
    h.close(coach, Departure.DROPPED)
    assert orb.types()[-1] == "user-away"
    h.advance(GRACE - 1.0)  # longer than the orb's idle grace: no human ever left
    assert h.stopped == [] and h.core.orb_state("room-1") is not None
    resume(h, "coach-1", "coach", token)
    assert orb.types()[-1] == "user-back"
    h.close(h.peers[max(h.peers)], Departure.DROPPED)
    h.advance(GRACE)  # now the coach is gone for good, and the orb's grace starts
    assert h.stopped == []
    h.advance(3.0)
    assert [s.reason for s in h.stopped] == ["session_complete"]


def test_an_orb_is_never_away() -> None:
    h = Harness(CoreConfig(reconnect_grace=GRACE))
    coach = h.join("coach-1", "coach")
    orb = h.join("ai-orb-x", "ai", ptype="ai")
    coach.take()
    h.close(orb, Departure.DROPPED)
    assert coach.types() == ["user-left"]


def test_a_restart_closes_with_1012_and_a_stop_with_1001() -> None:
    for restart, expected in ((True, (1012, "service restart")),
                              (False, (1001, "server shutting down"))):
        h, _coach, client = call()
        h.close(client, Departure.DROPPED)  # an away seat is ended like the others
        out = h.core.handle(ServerStopping(h.now, restart=restart))
        assert {(c.code, c.reason) for c in out if isinstance(c, Close)} == {expected}
        assert sorted(c.user_id for c in out if isinstance(c, ParticipantLeft)) == [
            "client-1", "coach-1"]
        assert h.core.room_count == 0 and h.core.next_deadline() is None


def test_no_grace_keeps_the_old_behaviour() -> None:
    h = Harness(CoreConfig(reconnect_grace=0))
    coach = h.join("coach-1", "coach")
    client = h.join("client-1", "client")
    coach.take()
    h.close(client, Departure.DROPPED)
    assert coach.types() == ["user-left"]
