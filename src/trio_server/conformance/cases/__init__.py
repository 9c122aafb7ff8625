"""Every conformance case, in the order the suite runs them (docs/protocol.md).

Importing a module registers its cases; ``_ORDER`` fixes the order of the report, from the
wire up to the deadlines.
"""

from ..registry import CASES, Case
from . import (
    ai_messages,
    bad_input,
    deadlines,
    delivery,
    departure,
    discovery,
    end_session,
    offer_direction,
    orb_mode,
    prejoin,
    relay,
    replacement,
    resume,
    transcripts,
    transport,
)

_ORDER = [transport, discovery, offer_direction, relay, prejoin, bad_input, departure,
          replacement, resume, ai_messages, transcripts, end_session, orb_mode, delivery, deadlines]
_RANK = {module.__name__: rank for rank, module in enumerate(_ORDER)}

ALL_CASES: list[Case] = sorted(CASES, key=lambda c: _RANK[c.run.__module__])

__all__ = ["ALL_CASES"]
