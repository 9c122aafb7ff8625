"""The names of the JSON the server's HTTP API gives its clients, and of the join token's
claims: they cross the wire as surely as the messages do, so they are defined here once.

What the browser reads (the coach's history: ``/api/history``, whose session page has the
admin API's shape, ``/api/sessions/{id}``) is also typed for the browser in the generated
``static/protocol.js`` (:data:`HISTORY_SHAPES`), so a renamed field fails the browser's
type check instead of leaving an empty cell. A name that is also a message's (``roomId``,
``userId``, ``startedAt``, ...) means the same thing there and is :class:`Field`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from ._vocabulary import Field


class HttpField:
    """Field names of the HTTP API's JSON beyond the message fields it shares."""

    # the session ledger (/api/sessions, the history's session page)
    DURATION_SECONDS: Final = "durationSeconds"
    END_REASON: Final = "endReason"
    PARTICIPANTS: Final = "participants"
    JOINED_AT: Final = "joinedAt"
    LEFT_AT: Final = "leftAt"
    #: How a participation ended (``left``, ``replaced``, ...).
    ENDING: Final = "ending"
    STATUS_SECONDS: Final = "statusSeconds"
    TRANSCRIPT: Final = "transcript"
    SUMMARY: Final = "summary"
    WRITTEN_AT: Final = "writtenAt"
    # the coach's history (/api/history)
    SESSIONS: Final = "sessions"
    OFFSET: Final = "offset"
    LIMIT: Final = "limit"
    MORE: Final = "more"
    SUMMARY_FIRST_LINE: Final = "summaryFirstLine"
    STATUS_TIMELINE: Final = "statusTimeline"
    # the room snapshot (/api/rooms), the health check and the cluster view
    ROOMS: Final = "rooms"
    CONNECTIONS: Final = "connections"
    ORBS: Final = "orbs"
    CREATED_AT: Final = "createdAt"
    LAST_SEEN: Final = "lastSeen"
    ORB: Final = "orb"
    #: The orb's lifecycle state in the snapshot (``SNAPSHOT_STATE``).
    STATE: Final = "state"
    SPAWNED_AT: Final = "spawnedAt"
    LAST_HEARTBEAT: Final = "lastHeartbeat"
    NODE: Final = "node"
    ORB_HOST: Final = "orbHost"
    #: A node's own status (``ok``, ``draining``, ``stopping``): the health check, the cluster.
    NODE_STATUS: Final = "status"
    VERSION: Final = "version"
    UPTIME: Final = "uptime"
    PUBLISHED_AT: Final = "publishedAt"


#: The claims a join token binds (docs/protocol.md, "Join tokens"): the join's own fields,
#: under their wire names; the server admits a ``join`` whose fields equal them.
JOIN_TOKEN_CLAIMS: Final = (Field.ROOM_ID, Field.USER_ID, Field.USER_ROLE,
                            Field.PARTICIPANT_TYPE)

_ISO: Final = "string"
_ISO_OR_NULL: Final = "string | null"

#: The history page's JSON as JSDoc typedefs for ``static/protocol.js``: typedef name -> its
#: fields the page reads (wire name, JS type), in the order the server writes them.
HISTORY_SHAPES: Mapping[str, Sequence[tuple[str, str]]] = {
    "HistoryPerson": ((Field.USER_ID, "string"), (Field.USER_NAME, "string"),
                      (Field.USER_ROLE, "string")),
    "HistoryRow": ((Field.SESSION_ID, "string"), (Field.ROOM_ID, "string"),
                   (Field.STARTED_AT, _ISO), (Field.ENDED_AT, _ISO_OR_NULL),
                   (HttpField.DURATION_SECONDS, "number | null"),
                   (HttpField.END_REASON, "string | null"),
                   (HttpField.PARTICIPANTS, "HistoryPerson[]"),
                   (HttpField.SUMMARY_FIRST_LINE, "string | null")),
    "HistoryPage": ((HttpField.SESSIONS, "HistoryRow[]"), (HttpField.OFFSET, "number"),
                    (HttpField.LIMIT, "number"), (HttpField.MORE, "boolean")),
    "HistoryLine": ((Field.UTTERANCE_ID, "string"), (Field.SPEAKER_ID, "string"),
                    (Field.SPEAKER_ROLE, "string"), (Field.TEXT, "string"),
                    (Field.STARTED_AT, _ISO), (Field.ENDED_AT, _ISO)),
    "HistorySummary": ((Field.TEXT, "string"), (Field.METHOD, "string"),
                       (HttpField.WRITTEN_AT, _ISO)),
    "HistorySpan": ((Field.USER_ID, "string"), (Field.STATUS, "string"),
                    (Field.STARTED_AT, _ISO), (Field.ENDED_AT, _ISO_OR_NULL)),
    "HistorySession": ((Field.SESSION_ID, "string"), (Field.ROOM_ID, "string"),
                       (Field.STARTED_AT, _ISO), (Field.ENDED_AT, _ISO_OR_NULL),
                       (HttpField.END_REASON, "string | null"),
                       (HttpField.PARTICIPANTS, "HistoryPerson[]"),
                       (HttpField.SUMMARY, "HistorySummary | null"),
                       (HttpField.TRANSCRIPT, "HistoryLine[]"),
                       (HttpField.STATUS_TIMELINE, "HistorySpan[]")),
}
