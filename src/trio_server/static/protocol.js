// @ts-check
// The wire vocabulary of the signaling protocol (docs/protocol.md), in one place for the browser
// client: close codes, message types, the orb's userId prefix, the shapes of the messages, and
// the one builder of the `join`. Every other module imports these names; none spells a close
// code or a message type itself. tests/browser/test_js_constants.py holds this file to the
// Python side (signaling_core.CloseCode, signaling_core.ORB_USER_PREFIX).

/**
 * WebSocket close codes the protocol uses (docs/protocol.md, "Close codes"); mirrors
 * `signaling_core.CloseCode` member by member.
 */
export const CloseCode = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002, // RFC 6455's own violations, found by the server's frame layer
  UNSUPPORTED_DATA: 1003,
  NO_STATUS_RECEIVED: 1005, // never sent: a close frame that carried no code
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  SERVICE_RESTART: 1012, // the server restarts (a deploy): reconnect at once and resume
  TRY_AGAIN_LATER: 1013,
  REPLACED: 4001,
  UNAUTHORIZED: 4003,
  DEADLINE: 4008,
  SESSION_ENDED: 4010, // a coach ended the session: the call is over, do not reconnect
});

/**
 * Close codes of this client's own, not in `signaling_core.CloseCode`. ABNORMAL is RFC 6455's
 * "closed without a close frame" (never sent), reported for a simulated loss; SIMULATED_LOSS
 * is what the client sends when it drops its own socket on purpose.
 */
export const LocalCloseCode = Object.freeze({
  ABNORMAL: 1006,
  SIMULATED_LOSS: 4000,
});

/** The userId prefix reserved for AI orbs (`signaling_core.ORB_USER_PREFIX`). */
export const ORB_USER_PREFIX = 'ai-orb-';

/** The `type` of every message of the protocol, both directions. */
export const MessageType = Object.freeze({
  // client -> server
  JOIN: 'join',
  LEAVE: 'leave',
  PING: 'ping',
  AI_CONTROL: 'ai_control',
  ORB_HEARTBEAT: 'orb_heartbeat',
  ORB_SHUTDOWN: 'ai-orb-shutdown',
  AI_SUMMARY: 'ai_summary', // the orb's session summary: recorded, relayed to the coaches
  END_SESSION: 'end_session', // a coach ends the call for everyone
  AI_MODE: 'ai_mode', // a coach sets whom the orb talks to
  AI_ASK: 'ai_ask', // "Ask the orb": the sender's next turn is addressed to the orb
  // relayed (client -> server -> client)
  OFFER: 'offer',
  ANSWER: 'answer',
  ICE_CANDIDATE: 'ice-candidate',
  AI_STATUS: 'ai_status',
  AI_TRANSCRIPT: 'ai_transcript', // from the orb to every human: one finished utterance
  CLIENT_SIGNAL: 'client_signal',
  // server -> client
  PEER_DISCOVERY: 'peer-discovery',
  USER_JOINED: 'user-joined',
  USER_LEFT: 'user-left',
  USER_AWAY: 'user-away',
  USER_BACK: 'user-back',
  PONG: 'pong',
  ERROR: 'error',
  SESSION_ENDED: 'session-ended',
  AI_MODE_CHANGED: 'ai-mode', // the room's orb mode changed (to everyone)
});

/**
 * Whom the orb talks to (docs/orb.md, "Whom the orb talks to"): `listen` never speaks,
 * `addressed` answers who addresses it, `active` also answers the client's turns.
 */
export const OrbMode = Object.freeze({
  LISTEN: 'listen',
  ADDRESSED: 'addressed',
  ACTIVE: 'active',
});

/**
 * The `client_signal` action by which the answerer of a pair tells the offerer which link it
 * holds (docs/protocol.md, "Links: keep, repair, rebuild").
 */
export const LINK_STATE = 'link-state';

/**
 * The `client_signal` action by which a coach shows the orb's summary to the client
 * (docs/protocol.md, "What the orb understood"); it carries the summary's `text`.
 */
export const SHARE_SUMMARY = 'share-summary';

/** The participant types of a `join` (docs/protocol.md, "join"). */
export const ParticipantType = Object.freeze({
  HUMAN: 'human',
  AI: 'ai',
});

/**
 * A participant as the server describes it (`peer-discovery`, `user-joined`, `user-left`).
 * @typedef {object} Participant
 * @property {string} userId
 * @property {string} userName
 * @property {string} userRole         'coach', 'client', 'ai', or another word
 * @property {string} participantType  'human' or 'ai'
 */

/**
 * A participant of a `peer-discovery`, with the server's decision of who offers, whether it is
 * away, and (in a resumed discovery) whether it is the seat this client knew.
 * @typedef {Participant & {shouldCreateOffer?: boolean, away?: boolean,
 *   status?: 'unchanged' | 'joined'}} DiscoveredPeer
 */

/**
 * The fields a client joins with.
 * @typedef {object} JoinFields
 * @property {string} [roomId]          absent: the URL's room
 * @property {string} userId
 * @property {string} [userName]
 * @property {string} userRole
 * @property {string} [participantType]
 * @property {string} [token]           a signed join token, when the server demands one
 * @property {string} [resumeToken]     the seat's token from an earlier peer-discovery
 */

/** @typedef {JoinFields & {type: 'join'}} JoinMessage */

/**
 * A session description as it travels in `offer` and `answer`.
 * @typedef {{type: RTCSdpType, sdp?: string}} SessionDescription
 */

/**
 * The three messages of one peer connection's negotiation. A client sends them with `toId`;
 * the server relays them with `fromId`. `linkId` names the link (absent from old clients).
 * @typedef {{type: 'offer', offer: SessionDescription, linkId?: string}} OfferSignal
 * @typedef {{type: 'answer', answer: SessionDescription, linkId?: string}} AnswerSignal
 * @typedef {{type: 'ice-candidate', candidate: RTCIceCandidateInit | null, linkId?: string}} IceCandidateSignal
 * @typedef {OfferSignal | AnswerSignal | IceCandidateSignal} Signal
 * @typedef {Signal & {fromId: string}} RelayedSignal
 */

/**
 * The other server -> client messages.
 * @typedef {{type: 'peer-discovery', roomId: string, peers: DiscoveredPeer[],
 *   resumeToken?: string, resumed?: boolean, left?: Participant[],
 *   orbMode?: string}} PeerDiscoveryMessage
 * @typedef {Participant & {type: 'user-joined', shouldCreateOffer?: boolean}} UserJoinedMessage
 * @typedef {Participant & {type: 'user-left'}} UserLeftMessage
 * @typedef {Participant & {type: 'user-away'}} UserAwayMessage
 * @typedef {Participant & {type: 'user-back'}} UserBackMessage
 * @typedef {{type: 'ai_status', fromId: string, status: string, sessionId?: string,
 *   transcribing?: boolean, voice?: 'remote'|'piper'|'espeak'|'none',
 *   mode?: string}} AiStatusMessage
 * @typedef {{type: 'ai-mode', mode: string, by: string}} AiModeMessage
 * @typedef {{type: 'ai_transcript', fromId: string, utteranceId: string, speakerId: string,
 *   speakerRole: string, text: string, startedAt: number, endedAt: number}} AiTranscriptMessage
 * @typedef {{type: 'client_signal', fromId: string, action: string, [field: string]: unknown}} ClientSignalMessage
 * @typedef {{type: 'ai_summary', fromId: string, text: string, method?: string,
 *   keyTopics?: unknown, goals?: unknown}} AiSummaryMessage
 * @typedef {{type: 'session-ended', reason: string, by: string}} SessionEndedMessage
 * @typedef {{type: 'error', code: string, message?: string, ref?: string}} ErrorMessage
 * @typedef {{type: 'pong'}} PongMessage
 */

/**
 * Everything a client may receive. The socket checks only that a message is an object with a
 * string `type`; fields beyond that are the server's promise (docs/protocol.md).
 * @typedef {PeerDiscoveryMessage | UserJoinedMessage | UserLeftMessage | UserAwayMessage
 *   | UserBackMessage | AiStatusMessage | AiTranscriptMessage | AiSummaryMessage
 *   | SessionEndedMessage | ClientSignalMessage | ErrorMessage | PongMessage | AiModeMessage
 *   | RelayedSignal} ServerMessage
 */

/**
 * Everything this client sends.
 * @typedef {{type: 'leave'}} LeaveMessage
 * @typedef {{type: 'end_session'}} EndSessionMessage
 * @typedef {{type: 'ai_mode', mode: string}} AiModeRequest
 * @typedef {{type: 'ai_ask'}} AiAskMessage
 * @typedef {{type: 'ping'}} PingMessage
 * @typedef {{type: 'ai_control', action: string, [field: string]: unknown}} AiControlMessage
 * @typedef {{type: 'client_signal', action: string, toId?: string, [field: string]: unknown}} ClientSignalRequest
 * @typedef {Signal & {toId: string}} AddressedSignal
 * @typedef {JoinMessage | LeaveMessage | PingMessage | AiControlMessage | ClientSignalRequest
 *   | AddressedSignal | EndSessionMessage | AiModeRequest | AiAskMessage} ClientMessage
 */

/**
 * The `join` a client sends (docs/protocol.md, "join"); the one place the browser client
 * builds it. An optional field left undefined is not sent (JSON.stringify drops it), as
 * `signaling_core.join_message` leaves it out for the Python clients.
 * @param {JoinFields} fields
 * @returns {JoinMessage}
 */
export function joinMessage({
  roomId, userId, userName, userRole, participantType, token, resumeToken,
}) {
  return {
    type: MessageType.JOIN, roomId, userId, userName, userRole, participantType, token, resumeToken,
  };
}
