"""The tri-party signaling protocol as a pure sans-IO state machine.

Feed :class:`SignalingCore` the events of your I/O layer (a connection opened, a text arrived,
a connection closed, time advanced) and carry out the commands it returns (send, close, spawn
or stop an orb, record a session event). The core performs no I/O, reads no clock, starts no
thread and logs nothing, so any server (Trio, asyncio, a test) can embed it.
"""

from ._commands import (
    Close,
    Command,
    OrbStatusChanged,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantRecord,
    Send,
    SessionEnded,
    SessionRecord,
    SessionStarted,
    SpawnOrb,
    StopOrb,
    SummaryRecorded,
    TranscriptRecorded,
)
from ._config import CoreConfig
from ._core import SignalingCore
from ._errors import CloseCode, ErrorCode, ProtocolError, is_valid_close_code
from ._events import (
    ConnectionActive,
    ConnectionClosed,
    ConnectionId,
    ConnectionOpened,
    Departure,
    Event,
    OrbEnded,
    ServerStopping,
    TextReceived,
    TimeAdvanced,
)
from ._messages import join_message
from ._orb_lifecycle import (
    ORB_TIMERS,
    ORB_TRANSITIONS,
    OrbEffect,
    OrbInput,
    OrbLifecycleError,
    OrbState,
    OrbTransition,
)
from ._rules import (
    AI_STATUSES,
    MESSAGE_RULES,
    ORB_SHUTDOWN_COMPLETE,
    ORB_SHUTDOWN_ERROR,
    ORB_SHUTDOWN_REASONS,
    ORB_SHUTDOWN_TIMEOUT,
    ORB_USER_PREFIX,
    JoinRequest,
    MessageRule,
    Phase,
    is_valid_room_id,
    orb_user_id,
    should_create_offer,
)
from ._snapshot import CoreSnapshot, OrbSnapshot, ParticipantSnapshot, RoomSnapshot

__all__ = [
    "AI_STATUSES",
    "MESSAGE_RULES",
    "ORB_SHUTDOWN_COMPLETE",
    "ORB_SHUTDOWN_ERROR",
    "ORB_SHUTDOWN_REASONS",
    "ORB_SHUTDOWN_TIMEOUT",
    "ORB_TIMERS",
    "ORB_TRANSITIONS",
    "ORB_USER_PREFIX",
    "Close",
    "CloseCode",
    "Command",
    "ConnectionActive",
    "ConnectionClosed",
    "ConnectionId",
    "ConnectionOpened",
    "CoreConfig",
    "CoreSnapshot",
    "Departure",
    "ErrorCode",
    "Event",
    "JoinRequest",
    "MessageRule",
    "OrbEffect",
    "OrbEnded",
    "OrbInput",
    "OrbLifecycleError",
    "OrbSnapshot",
    "OrbState",
    "OrbStatusChanged",
    "OrbTransition",
    "ParticipantJoined",
    "ParticipantLeft",
    "ParticipantRecord",
    "ParticipantSnapshot",
    "Phase",
    "ProtocolError",
    "RoomSnapshot",
    "Send",
    "ServerStopping",
    "SessionEnded",
    "SessionRecord",
    "SessionStarted",
    "SignalingCore",
    "SpawnOrb",
    "StopOrb",
    "SummaryRecorded",
    "TextReceived",
    "TimeAdvanced",
    "TranscriptRecorded",
    "is_valid_close_code",
    "is_valid_room_id",
    "join_message",
    "orb_user_id",
    "should_create_offer",
]
__version__ = "0.1.0"
