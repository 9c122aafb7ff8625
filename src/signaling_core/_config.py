"""Every limit and switch of the protocol, in one immutable object.

The Trio server builds its command-line defaults from this class, so the defaults of
docs/protocol.md live here and nowhere else.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class CoreConfig:
    """Limits and switches of the signaling core. Times are in seconds."""

    #: Most participants in one room (mesh cost grows with n²).
    max_participants: int = 8
    #: Most rooms at once; a join that would open one more is refused (``room-full``).
    max_rooms: int = 5000
    #: Largest text message accepted, in UTF-8 bytes.
    max_message_bytes: int = 64 * 1024
    #: A connection that has not joined within this time is closed (4008).
    join_timeout: float = 10.0
    #: A connection silent for longer than this is closed (4008) and departs.
    idle_timeout: float = 75.0
    #: A rejoin with a userId already present replaces the old connection (§6).
    replace_on_rejoin: bool = True
    #: A human whose connection is lost without ``leave`` or a close frame (dropped, idle, slow)
    #: keeps its seat this long as *away*: the others get ``user-away``, and ``user-left`` only
    #: if no ``join`` with its ``resumeToken`` comes back in time. 0: such a loss is a departure.
    reconnect_grace: float = 10.0
    #: Sustained messages per second one connection may send (0 turns rate limiting off).
    rate_limit_per_second: float = 200.0
    #: Messages one connection may send in a burst above the sustained rate.
    rate_limit_burst: int = 400
    #: Refused messages in a row after which the connection is closed (1008).
    rate_limit_strikes: int = 100
    #: Spawn an AI orb when the first coach joins a room.
    orbs_enabled: bool = False
    #: Never more than this many orbs at once.
    max_orbs: int = 8
    #: Stop the orb once the room has had no human for this long.
    orb_idle_grace: float = 300.0
    #: Stop the orb when it has lived this long.
    orb_max_lifetime: float = 2 * 60 * 60.0
    #: A spawned orb that has not joined within this time is given up.
    orb_join_timeout: float = 30.0
    #: An orb asked to stop that has not left within this time is closed.
    orb_stop_timeout: float = 10.0
    #: Orbs run elsewhere and may come back on their own (a remote host re-dispatches the job
    #: of a worker that died): an ``ai`` joining as this session's orb (``ai-orb-{session}``)
    #: while the room has no orb becomes the room's orb again, and an ``ai-orb-`` userId of
    #: any other session (an orb whose session is over) is refused, so it never joins late.
    orbs_rejoin: bool = False
    #: The orb's mode in a new session (``listen``, ``addressed`` or ``active``); a coach
    #: changes it with ``ai_mode``.
    orb_mode: str = "addressed"
    #: One ``ai_ask`` per participant per this many seconds; a quicker one is ``rate-limited``.
    ask_interval: float = 3.0

    def __attrs_post_init__(self) -> None:
        if self.max_participants < 1:
            raise ValueError("max_participants must be at least 1")
        if self.max_rooms < 1:
            raise ValueError("max_rooms must be at least 1")
        if self.max_message_bytes < 64:
            raise ValueError("max_message_bytes must be at least 64")
        if self.rate_limit_per_second < 0 or self.rate_limit_burst < 1:
            raise ValueError("rate limits must be non-negative, burst at least 1")
        if not self.reconnect_grace >= 0:
            raise ValueError("reconnect_grace must not be negative")
        if self.max_orbs < 0:
            raise ValueError("max_orbs must not be negative")
        if self.orb_mode not in ("listen", "addressed", "active"):
            raise ValueError("orb_mode must be listen, addressed or active")
        if self.ask_interval < 0:
            raise ValueError("ask_interval must not be negative")
        for name in ("join_timeout", "idle_timeout", "orb_idle_grace", "orb_max_lifetime",
                     "orb_join_timeout", "orb_stop_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
