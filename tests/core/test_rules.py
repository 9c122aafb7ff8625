"""The pure rules of docs/protocol.md: offer direction , room ids, the orb's userId."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signaling_core import is_valid_room_id, orb_user_id, should_create_offer

# (a_id, a_role, a_is_ai, b_id, b_role, b_is_ai) -> does a offer to b?
TABLE = [
    # §5.2: coach offers to client, whatever the ids say.
    (("coach-z", "coach", False, "client-a", "client", False), True),
    (("client-a", "client", False, "coach-z", "coach", False), False),
    # §5.1: human offers to ai, whatever roles and ids say.
    (("zzz", "client", False, "aaa", "ai", True), True),
    (("aaa", "ai", True, "zzz", "client", False), False),
    (("coach-1", "coach", False, "ai-orb-1", "ai", True), True),
    (("ai-orb-1", "ai", True, "coach-1", "coach", False), False),
    (("x", "observer", False, "a", "ai", True), True),
    # an ai-typed participant with a human role still never offers
    (("a", "coach", True, "b", "client", False), False),
    (("b", "client", False, "a", "coach", True), True),
    # §5.1: two ai participants do not connect.
    (("ai-1", "ai", True, "ai-2", "ai", True), False),
    (("ai-2", "ai", True, "ai-1", "ai", True), False),
    # §5.3: same role -> lower userId (code-point order) offers.
    (("coach-a", "coach", False, "coach-b", "coach", False), True),
    (("coach-b", "coach", False, "coach-a", "coach", False), False),
    (("client-2", "client", False, "client-10", "client", False), False),
    (("client-10", "client", False, "client-2", "client", False), True),
    (("Zed", "client", False, "abe", "client", False), True),  # 'Z' < 'a' in code points
    # §5.3: other roles -> lower userId offers, even against a coach or a client.
    (("a-observer", "observer", False, "b-coach", "coach", False), True),
    (("b-coach", "coach", False, "a-observer", "observer", False), False),
    (("z-client", "client", False, "a-guest", "guest", False), False),
    (("a-guest", "guest", False, "z-client", "client", False), True),
]


@pytest.mark.parametrize(("args", "expected"), TABLE)
def test_offer_direction_table(args: tuple[str, str, bool, str, str, bool], expected: bool) -> None:
    assert should_create_offer(*args) is expected


ROLES = st.one_of(
    st.sampled_from(["coach", "client", "ai", "observer", "guest"]),
    st.text(min_size=1, max_size=8),
)
IDS = st.text(min_size=1, max_size=12)


@given(a_id=IDS, a_role=ROLES, a_ai=st.booleans(), b_id=IDS, b_role=ROLES, b_ai=st.booleans())
def test_offer_direction_is_antisymmetric(
    a_id: str, a_role: str, a_ai: bool, b_id: str, b_role: str, b_ai: bool
) -> None:
    """Exactly one side offers for every connecting pair; ai-ai pairs do not connect."""
    if a_id == b_id:  # userIds are unique within a room
        b_id = a_id + "x"
    ab = should_create_offer(a_id, a_role, a_ai, b_id, b_role, b_ai)
    ba = should_create_offer(b_id, b_role, b_ai, a_id, a_role, a_ai)
    if a_ai and b_ai:
        assert (ab, ba) == (False, False)
    else:
        assert ab != ba
    if a_ai:
        assert ab is False
    if b_ai:
        assert ba is False


@given(a_id=IDS, b_id=IDS)
def test_coach_always_offers_to_client(a_id: str, b_id: str) -> None:
    assert should_create_offer(a_id, "coach", False, b_id, "client", False) is True
    assert should_create_offer(b_id, "client", False, a_id, "coach", False) is False


@pytest.mark.parametrize("room_id", ["a", "room-1", "A.b_c~d-9", "x" * 128, "test-room-id"])
def test_valid_room_ids(room_id: str) -> None:
    assert is_valid_room_id(room_id)


@pytest.mark.parametrize(
    "room_id", ["", "x" * 129, "a b", "a/b", "ü", "room\n", "a%20b", "a?b", "\x00"]
)
def test_invalid_room_ids(room_id: str) -> None:
    assert not is_valid_room_id(room_id)


def test_orb_user_id_follows_the_seed() -> None:
    assert orb_user_id("abc123") == "ai-orb-abc123"
