"""The protocol's wire vocabulary, defined once: message types, field names, limits, error and
close codes, parsing (with the protocol's error codes) and encoding (docs/protocol.md).

Everything that reads or writes a message of the protocol — the core, the orb, the transcript
and summary records, the ledger's readers, the benches — takes its names from here, and
``static/protocol.js`` is generated from this module (``scripts/gen_protocol_js.py``; a test
fails when the generated file is stale). The conformance suite takes names and constants from
here but keeps its own checks, so a bug shared by this parser and the server cannot pass it.

Field names are plain ``str`` constants of :class:`Field` (not enum members): messages are
dicts given to orjson, which takes only ``str`` keys. The bytes on the wire are those the
protocol always had; key order is part of that, so the encoders keep it.
"""

from __future__ import annotations

from ._encode import (
    PONG as PONG,
)
from ._encode import (
    ai_ask_relayed as ai_ask_relayed,
)
from ._encode import (
    ai_mode as ai_mode,
)
from ._encode import (
    ai_summary as ai_summary,
)
from ._encode import (
    ai_transcript as ai_transcript,
)
from ._encode import (
    answer as answer,
)
from ._encode import (
    discovered_peer as discovered_peer,
)
from ._encode import (
    encode as encode,
)
from ._encode import (
    error as error,
)
from ._encode import (
    join_message as join_message,
)
from ._encode import (
    orb_heartbeat as orb_heartbeat,
)
from ._encode import (
    orb_shutdown as orb_shutdown,
)
from ._encode import (
    orb_status as orb_status,
)
from ._encode import (
    participant_fields as participant_fields,
)
from ._encode import (
    peer_discovery as peer_discovery,
)
from ._encode import (
    ping as ping,
)
from ._encode import (
    session_ended as session_ended,
)
from ._encode import (
    user_away as user_away,
)
from ._encode import (
    user_back as user_back,
)
from ._encode import (
    user_joined as user_joined,
)
from ._encode import (
    user_left as user_left,
)
from ._http import (
    HISTORY_SHAPES as HISTORY_SHAPES,
)
from ._http import (
    JOIN_TOKEN_CLAIMS as JOIN_TOKEN_CLAIMS,
)
from ._http import (
    HttpField as HttpField,
)
from ._parse import (
    JoinRequest as JoinRequest,
)
from ._parse import (
    TranscriptLine as TranscriptLine,
)
from ._parse import (
    parse_join as parse_join,
)
from ._parse import (
    parse_summary as parse_summary,
)
from ._parse import (
    parse_transcript as parse_transcript,
)
from ._parse import (
    require_action as require_action,
)
from ._parse import (
    require_mode as require_mode,
)
from ._parse import (
    require_shutdown_reason as require_shutdown_reason,
)
from ._parse import (
    require_status as require_status,
)
from ._vocabulary import (
    AI as AI,
)
from ._vocabulary import (
    AI_STATUSES as AI_STATUSES,
)
from ._vocabulary import (
    CLIENT as CLIENT,
)
from ._vocabulary import (
    COACH as COACH,
)
from ._vocabulary import (
    DEFAULT_ORB_MODE as DEFAULT_ORB_MODE,
)
from ._vocabulary import (
    DEFAULT_SUMMARY_METHOD as DEFAULT_SUMMARY_METHOD,
)
from ._vocabulary import (
    ENDED_BY_COACH as ENDED_BY_COACH,
)
from ._vocabulary import (
    HUMAN as HUMAN,
)
from ._vocabulary import (
    LIMITS as LIMITS,
)
from ._vocabulary import (
    LINK_STATE as LINK_STATE,
)
from ._vocabulary import (
    MAX_ACTION_CHARS as MAX_ACTION_CHARS,
)
from ._vocabulary import (
    MAX_ID_CHARS as MAX_ID_CHARS,
)
from ._vocabulary import (
    MAX_NAME_CHARS as MAX_NAME_CHARS,
)
from ._vocabulary import (
    MAX_ROLE_CHARS as MAX_ROLE_CHARS,
)
from ._vocabulary import (
    MAX_SUMMARY_CHARS as MAX_SUMMARY_CHARS,
)
from ._vocabulary import (
    MAX_TRANSCRIPT_CHARS as MAX_TRANSCRIPT_CHARS,
)
from ._vocabulary import (
    ORB_MODE_LISTEN as ORB_MODE_LISTEN,
)
from ._vocabulary import (
    ORB_MODES as ORB_MODES,
)
from ._vocabulary import (
    ORB_SHUTDOWN_COMPLETE as ORB_SHUTDOWN_COMPLETE,
)
from ._vocabulary import (
    ORB_SHUTDOWN_ERROR as ORB_SHUTDOWN_ERROR,
)
from ._vocabulary import (
    ORB_SHUTDOWN_TIMEOUT as ORB_SHUTDOWN_TIMEOUT,
)
from ._vocabulary import (
    ORB_USER_PREFIX as ORB_USER_PREFIX,
)
from ._vocabulary import (
    PEER_JOINED as PEER_JOINED,
)
from ._vocabulary import (
    PEER_UNCHANGED as PEER_UNCHANGED,
)
from ._vocabulary import (
    SDP_ANSWER as SDP_ANSWER,
)
from ._vocabulary import (
    SDP_OFFER as SDP_OFFER,
)
from ._vocabulary import (
    SHARE_SUMMARY as SHARE_SUMMARY,
)
from ._vocabulary import (
    SIGNAL_PAYLOAD_FIELD as SIGNAL_PAYLOAD_FIELD,
)
from ._vocabulary import (
    SUMMARY_METHODS as SUMMARY_METHODS,
)
from ._vocabulary import (
    CloseCode as CloseCode,
)
from ._vocabulary import (
    ErrorCode as ErrorCode,
)
from ._vocabulary import (
    Field as Field,
)
from ._vocabulary import (
    MessageType as MessageType,
)
from ._vocabulary import (
    ProtocolError as ProtocolError,
)
from ._vocabulary import (
    WebRtcField as WebRtcField,
)
from ._vocabulary import (
    is_valid_close_code as is_valid_close_code,
)
