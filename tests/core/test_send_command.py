"""``Send`` has a written-out ``__init__`` (the relay's hot path): it must stay the frozen attrs
class it was."""

from __future__ import annotations

import pickle

import attrs
import pytest

from signaling_core import Send


def test_send_is_still_a_frozen_attrs_class_with_the_same_fields() -> None:
    send = Send(3, b'{"type":"offer"}', "offer")
    assert (send.conn_id, send.data, send.kind, send.error) == (3, b'{"type":"offer"}',
                                                                "offer", None)
    assert Send(conn_id=1, data=b"x") == Send(1, b"x", "other", None)
    assert hash(send) == hash(Send(3, b'{"type":"offer"}', "offer"))
    assert send != Send(3, b'{"type":"offer"}', "offer", "bad")
    assert repr(Send(1, b"x")) == "Send(conn_id=1, data=b'x', kind='other', error=None)"
    assert [f.name for f in attrs.fields(Send)] == ["conn_id", "data", "kind", "error"]
    assert attrs.evolve(send, error="e") == Send(3, b'{"type":"offer"}', "offer", "e")
    assert pickle.loads(pickle.dumps(send)) == send
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        send.kind = "answer"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Send(1)  # type: ignore[call-arg]
