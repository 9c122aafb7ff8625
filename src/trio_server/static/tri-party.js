// @ts-check
// The tri-party mesh client: joins a room over the signaling socket and keeps one PeerLink per
// other participant, following the server's decision of who offers (docs/protocol.md, "Offer direction").
//
// Calls outlive their signaling (docs/protocol.md, "Away and resume", "Links: keep, repair,
// rebuild"): a lost socket is reconnected at once and the seat resumed with its resumeToken;
// every link to a peer still (or again) in the room is kept while connected, repaired by an ICE
// restart from its offerer when it is not, and rebuilt only when the repair fails or the peer
// no longer holds it - never on a late report the peer's page sent before it answered the link
// (each page numbers its answers and link-states under an epoch of its own, rule 5). Links and
// tiles stay up while the signaling is down.
//
// Reusable by any web app: it touches no DOM.
//
//   import { TriPartyClient } from '/static/tri-party.js';
//   const client = new TriPartyClient({ roomId, userId, userName, userRole: 'coach',
//     localStream: navigator.mediaDevices.getUserMedia({ audio: true, video: true }) });
//   client.addEventListener('track', (e) => { videoFor(e.detail.peer).srcObject = e.detail.stream; });
//   client.start();
//
// It reports what happens as events:
//   'status'        {state: 'connecting'|'joined'|'reconnecting'|'ended', code?, reason?, delayMs?}
//   'peer-added'    {peer, link, status}  a (re)built connection to a participant (status: the
//                                         last ai_status known for it, or null)
//   'peer-removed'  {peer}                the participant left (or vanished across a reconnect)
//   'peer-state'    {peer, state}         RTCPeerConnection.connectionState of that peer
//   'peer-presence' {peer, away}          the peer's signaling connection was lost / is back
//   'track'         {peer, stream, track} media arrived from that peer (stream is per peer)
//   'ai-status'     {fromId, status, message}
//   'ai-transcript' {message}             the orb's words for one finished utterance
//   'client-signal' {fromId, action, message}
//   'server-error'  {code, message, ref}  an `error` from the server, for the user to see
//   'link-failure'  {peer, error}         a local WebRTC step failed for that peer

import { TypedEventTarget } from './events.js';
import { PeerLink, newLinkId } from './peer-link.js';
import { CloseCode, LINK_STATE, MessageType, ParticipantType, joinMessage } from './protocol.js';
import { SignalingSocket, signalingUrl } from './signaling-socket.js';

/** @typedef {import('./protocol.js').Participant} Participant */
/** @typedef {import('./protocol.js').DiscoveredPeer} DiscoveredPeer */
/** @typedef {import('./protocol.js').ServerMessage} ServerMessage */
/** @typedef {import('./protocol.js').RelayedSignal} RelayedSignal */
/** @typedef {import('./protocol.js').PeerDiscoveryMessage} PeerDiscoveryMessage */
/** @typedef {import('./protocol.js').AiStatusMessage} AiStatusMessage */
/** @typedef {import('./protocol.js').AiTranscriptMessage} AiTranscriptMessage */
/** @typedef {import('./protocol.js').AiSummaryMessage} AiSummaryMessage */
/** @typedef {import('./protocol.js').ClientSignalMessage} ClientSignalMessage */
/** @typedef {import('./signaling-socket.js').SocketClose} SocketClose */
/** @typedef {import('./peer-link.js').InboundStats} InboundStats */
/** @typedef {import('./peer-link.js').OutboundStats} OutboundStats */

/**
 * One participant this client knows: its description, its connection (null when the pair does
 * not connect, or while the connection waits for the ICE configuration and the camera), the
 * last `ai_status` it sent, whether it is away, the number of the discovery that last
 * announced it (for the reunion window), and since when its link has been unhealthy.
 * @typedef {{peer: Participant, link: PeerLink | null, status: string | null, away: boolean,
 *   seenIn: number, badSince: number | null}} PeerEntry
 */

/** After a fresh (not resumed) discovery, how long a link to an unlisted peer waits for it. */
const REUNION_MS = 10_000;
/** A link `disconnected` this long (or `failed` at once) is repaired by its offerer. */
const REPAIR_AFTER_MS = 3_000;
/** A link not `connected` this long after its ICE restart is rebuilt. */
const REBUILD_AFTER_MS = 8_000;
/** How often the offerer looks at its links' health. */
const WATCH_MS = 1_000; // not a close code

/**
 * @typedef {object} StatusDetail
 * @property {'connecting' | 'joined' | 'reconnecting' | 'ended'} state
 * @property {number} [code]      the close code, when the socket closed
 * @property {string} [reason]
 * @property {number} [delayMs]   when reconnecting: in how long
 */

/**
 * The events of a TriPartyClient (see the top of this file).
 * @typedef {object} TriPartyEvents
 * @property {StatusDetail} status
 * @property {{peer: Participant, link: PeerLink | null, status: string | null}} peer-added
 * @property {{peer: Participant}} peer-removed
 * @property {{peer: Participant, state: string}} peer-state
 * @property {{peer: Participant, away: boolean}} peer-presence
 * @property {{peer: Participant, stream: MediaStream, track: MediaStreamTrack}} track
 * @property {{fromId: string, status: string, message: AiStatusMessage}} ai-status
 * @property {{message: AiTranscriptMessage}} ai-transcript
 * @property {{message: AiSummaryMessage}} ai-summary
 * @property {{by: string, reason: string}} session-ended
 * @property {{mode: string, by: string | null}} orb-mode
 * @property {{fromId: string, action: string, message: ClientSignalMessage}} client-signal
 * @property {{code: string, message: string | undefined, ref: string | undefined}} server-error
 * @property {{peer: Participant | null, error: unknown}} link-failure
 */

/** @type {ReadonlySet<string>} */
const SIGNALS = new Set([MessageType.OFFER, MessageType.ANSWER, MessageType.ICE_CANDIDATE]);

/**
 * Whether a participant entry describes an AI participant (docs/protocol.md, "join").
 * @param {{participantType?: string, userRole: string}} participant
 * @returns {boolean}
 */
export function isAi(participant) {
  return participant.participantType === ParticipantType.AI || participant.userRole === 'ai';
}

/**
 * @param {ServerMessage} msg
 * @returns {msg is RelayedSignal}
 */
function isSignal(msg) {
  return SIGNALS.has(msg.type);
}

/** @typedef {import('./peer-link.js').Report} Report */

/**
 * The answerer's epoch and report number on an `answer` or `link-state` (rule 5), or null
 * when the sender does not number them (an older client, the orb).
 * @param {{[field: string]: unknown}} msg
 * @returns {Report | null}
 */
function reportOf(msg) {
  const { epoch, seq } = msg;
  return typeof epoch === 'string' && typeof seq === 'number' ? { epoch, seq } : null;
}

/** @extends {TypedEventTarget<TriPartyEvents>} */
export class TriPartyClient extends TypedEventTarget {
  /**
   * @param {object} options
   * @param {string} options.roomId
   * @param {string} options.userId
   * @param {string} options.userName
   * @param {string} options.userRole           'coach', 'client', ...
   * @param {MediaStream|null|Promise<MediaStream|null>} options.localStream  may still be
   *        opening: the client joins meanwhile, and peer connections wait for it
   * @param {string} [options.token]            a signed join token, when the server wants one
   * @param {string} [options.signalingUrl]     default: /ws-simple/{roomId} on this origin
   * @param {string} [options.iceConfigUrl]     default: /api/turn-credentials on this origin;
   *        fetched with the join token as `Authorization: Bearer` when there is one (a server
   *        with join tokens issues TURN credentials to participants only)
   * @param {number} [options.pingIntervalMs]
   * @param {boolean} [options.relayOnly]      ICE through the TURN relay only
   *        (`iceTransportPolicy: "relay"`): for networks where a direct path must not be tried or
   *        where the peers' addresses must stay hidden from each other; without TURN credentials
   *        no link can then connect
   */
  constructor(options) {
    super();
    this.roomId = options.roomId;
    /** @type {Participant} */
    this.self = {
      userId: options.userId,
      userName: options.userName,
      userRole: options.userRole,
      participantType: ParticipantType.HUMAN,
    };
    this.token = options.token;
    this.relayOnly = options.relayOnly ?? false;
    /** @type {MediaStream | null} */
    this.localStream = null;
    this.media = Promise.resolve(options.localStream ?? null).then((stream) => {
      this.localStream = stream;
      return stream;
    }, () => null);
    this.iceConfigUrl = options.iceConfigUrl
      ?? `/api/turn-credentials?roomId=${encodeURIComponent(options.roomId)}`
        + `&userId=${encodeURIComponent(options.userId)}`;
    /** @type {Map<string, PeerEntry>} */
    this.peers = new Map();
    /** @type {Promise<RTCConfiguration>} */
    this.rtcConfig = Promise.resolve(this._withPolicy([]));
    this.inbox = Promise.resolve();
    this.joined = false;
    /** @type {string | undefined} the seat's token from the last peer-discovery */
    this.resumeToken = undefined;
    /** Counts the peer-discoveries received (see PeerEntry.seenIn). */
    this.discoveries = 0;
    /** This page's life as its participant: a reload (or another tab) is a new epoch. */
    this.epoch = newLinkId();
    /** Numbers this page's answers and link-states, in the order it sends them (rule 5). */
    this.reportSeq = 0;
    /** @type {string | null} whom the orb talks to (an OrbMode value), once the server said */
    this.orbMode = null;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.watchTimer = undefined;
    this.socket = new SignalingSocket(
      options.signalingUrl ?? signalingUrl(options.roomId),
      { pingIntervalMs: options.pingIntervalMs },
    );
    this.socket.addEventListener('open', () => this._onOpen());
    this.socket.addEventListener('message', (e) => this._onMessage(e.detail));
    this.socket.addEventListener('close', (e) => this._onClose(e.detail));
  }

  /** Connects and joins; the mesh then builds itself. */
  start() {
    this._emit('status', { state: 'connecting' });
    this.rtcConfig = this._loadIceConfig();
    this.socket.connect();
    this.watchTimer = setInterval(() => this._watchLinks(), WATCH_MS);
  }

  /**
   * Per peer: this page's RTCPeerConnection number, the linkId and the connection state, for
   * tests and diagnostics.
   * @returns {Record<string, {connectionId: number, linkId: string | null, state: string,
   *   restarts: number, away: boolean}>}
   */
  links() {
    /** @type {Record<string, {connectionId: number, linkId: string | null, state: string,
     *   restarts: number, away: boolean}>} */
    const out = {};
    for (const [userId, entry] of this.peers) {
      if (entry.link === null) continue;
      const { connectionId, linkId, state, restarts } = entry.link;
      out[userId] = { connectionId, linkId, state, restarts, away: entry.away };
    }
    return out;
  }

  /** Leaves the room for good and closes every peer connection. */
  leave() {
    this.socket.send({ type: MessageType.LEAVE });
    this.socket.close(CloseCode.NORMAL, 'left');
    clearInterval(this.watchTimer);
    for (const userId of [...this.peers.keys()]) this._removePeer(userId);
    this.joined = false;
    this._emit('status', { state: 'ended', code: CloseCode.NORMAL, reason: 'left' });
  }

  /**
   * Ends the call for everyone (`end_session`; only a coach may: the server refuses others).
   * @returns {boolean} whether it was sent (false while the socket is down)
   */
  endSession() {
    return this.socket.send({ type: MessageType.END_SESSION });
  }

  /**
   * Sets whom the orb talks to (`ai_mode`; only a coach may: the server refuses others).
   * @param {string} mode  an OrbMode value
   * @returns {boolean} whether it was sent (false while the socket is down)
   */
  setOrbMode(mode) {
    return this.socket.send({ type: MessageType.AI_MODE, mode });
  }

  /**
   * "Ask the orb" (`ai_ask`): this participant's next turn is addressed to the orb.
   * @returns {boolean} whether it was sent (false while the socket is down)
   */
  askOrb() {
    return this.socket.send({ type: MessageType.AI_ASK });
  }

  /**
   * The room's orb mode as last heard (discovery, `ai-mode`, `ai_status`); emits `orb-mode`
   * when it changes.
   * @param {unknown} mode
   * @param {string | null} by  the coach who set it, when known
   */
  _setOrbMode(mode, by) {
    if (typeof mode !== 'string' || mode === this.orbMode) return;
    this.orbMode = mode;
    this._emit('orb-mode', { mode, by });
  }

  /**
   * Asks the room's orb(s) to pause or resume (`ai_control`).
   * @param {string} action  'pause', 'resume', ...
   * @param {Record<string, unknown>} [extra]  more fields of the message
   * @returns {boolean} whether it was sent (false while the socket is down)
   */
  controlOrb(action, extra = {}) {
    return this.socket.send({ ...extra, type: MessageType.AI_CONTROL, action });
  }

  /**
   * Sends a `client_signal` (e.g. 'raise-hand') to everyone else in the room.
   * @param {string} action
   * @param {Record<string, unknown>} [extra]  more fields of the message (e.g. `toId`)
   * @returns {boolean} whether it was sent (false while the socket is down)
   */
  signal(action, extra = {}) {
    return this.socket.send({ ...extra, type: MessageType.CLIENT_SIGNAL, action });
  }

  /**
   * Mutes or unmutes the local tracks of one kind without renegotiating.
   * @param {'audio' | 'video'} kind
   * @param {boolean} enabled
   */
  setSending(kind, enabled) {
    for (const track of this.localStream?.getTracks() ?? []) {
      if (track.kind === kind) track.enabled = enabled;
    }
  }

  /**
   * The participants currently in the room besides this one.
   * @returns {Participant[]}
   */
  participants() {
    return [...this.peers.values()].map((entry) => entry.peer);
  }

  /**
   * Inbound media counters per peer: {userId: {audio, video, state}}.
   * @returns {Promise<Record<string, InboundStats & {state: string}>>}
   */
  async inboundStats() {
    /** @type {Record<string, InboundStats & {state: string}>} */
    const out = {};
    for (const [userId, entry] of this.peers) {
      if (entry.link === null) continue;
      out[userId] = { ...(await entry.link.inboundStats()), state: entry.link.state };
    }
    return out;
  }

  /**
   * Outbound media counters per peer, with the peer's acknowledgement (RTCP reports).
   * @returns {Promise<Record<string, OutboundStats & {state: string}>>}
   */
  async outboundStats() {
    /** @type {Record<string, OutboundStats & {state: string}>} */
    const out = {};
    for (const [userId, entry] of this.peers) {
      if (entry.link === null) continue;
      out[userId] = { ...(await entry.link.outboundStats()), state: entry.link.state };
    }
    return out;
  }

  /** @returns {Promise<RTCConfiguration>} */
  async _loadIceConfig() {
    try {
      /** @type {Record<string, string>} */
      const headers = {};
      if (this.token) headers.Authorization = `Bearer ${this.token}`;
      const response = await fetch(this.iceConfigUrl, { cache: 'no-store', headers });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = await response.json();
      return this._withPolicy(Array.isArray(body.iceServers) ? body.iceServers : []);
    } catch {
      // Loopback and LAN calls need no ICE servers; a missing endpoint must not stop the call
      // (a relay-only page keeps its policy: it must not fall back to a direct path).
      return this._withPolicy([]);
    }
  }

  /**
   * The RTCConfiguration for these ICE servers: `iceTransportPolicy: "relay"` only when asked
   * for, so a default page's configuration stays the plain `{iceServers}` the server sent.
   * @param {RTCIceServer[]} iceServers
   * @returns {RTCConfiguration}
   */
  _withPolicy(iceServers) {
    return this.relayOnly ? { iceServers, iceTransportPolicy: 'relay' } : { iceServers };
  }

  _onOpen() {
    this.socket.send(joinMessage({
      roomId: this.roomId, ...this.self, token: this.token, resumeToken: this.resumeToken,
    }));
  }

  /** @param {SocketClose} close */
  _onClose({ code, reason, willRetry, delayMs }) {
    this.joined = false;
    if (willRetry) {
      // Fresh credentials for links built later; the links (and their media) stay up: the
      // next peer-discovery says which to keep, repair or rebuild.
      this.rtcConfig = this._loadIceConfig();
      this._emit('status', { state: 'reconnecting', code, reason, delayMs });
    } else {
      clearInterval(this.watchTimer);
      for (const userId of [...this.peers.keys()]) this._removePeer(userId);
      this._emit('status', { state: 'ended', code, reason });
    }
  }

  /** @param {ServerMessage} msg */
  _onMessage(msg) {
    // One ordered inbox: a peer's link must exist (which may wait for the ICE configuration)
    // before the signaling that follows its announcement is handed to it.
    this.inbox = this.inbox.then(() => this._dispatch(msg)).catch((error) => {
      this._emit('link-failure', { peer: null, error });
    });
  }

  /** @param {ServerMessage} msg */
  async _dispatch(msg) {
    switch (msg.type) {
      case MessageType.PEER_DISCOVERY:
        await this._onDiscovery(msg);
        break;
      case MessageType.USER_JOINED:
        // Normally a peer this client does not know; after a server restart, a reunion.
        await this._announce(msg, msg.shouldCreateOffer === true, false);
        break;
      case MessageType.USER_LEFT:
        this._removePeer(msg.userId);
        break;
      case MessageType.USER_AWAY:
        this._setAway(msg.userId, true);
        break;
      case MessageType.USER_BACK: {
        this._setAway(msg.userId, false);
        const entry = this.peers.get(msg.userId);
        const offers = entry?.link?.shouldOffer ?? false;
        if (entry !== undefined) await this._announce(entry.peer, offers, false);
        break;
      }
      case MessageType.AI_STATUS:
        this._onAiStatus(msg);
        break;
      case MessageType.AI_TRANSCRIPT:
        this._emit('ai-transcript', { message: msg });
        break;
      case MessageType.AI_SUMMARY:
        this._emit('ai-summary', { message: msg });
        break;
      case MessageType.AI_MODE_CHANGED:
        this._setOrbMode(msg.mode, msg.by);
        break;
      case MessageType.SESSION_ENDED:
        // The server closes the others (SESSION_ENDED) right after this; the coach stays joined.
        this._emit('session-ended', { by: msg.by, reason: msg.reason });
        break;
      case MessageType.CLIENT_SIGNAL:
        if (msg.action === LINK_STATE) {
          await this._onLinkState(msg.fromId, typeof msg.linkId === 'string' ? msg.linkId : null,
            reportOf(msg));
        } else {
          this._emit('client-signal', { fromId: msg.fromId, action: msg.action, message: msg });
        }
        break;
      case MessageType.ERROR:
        this._emit('server-error', { code: msg.code, message: msg.message, ref: msg.ref });
        break;
      default:
        if (isSignal(msg)) await this._onSignal(msg);
    }
  }

  /** @param {PeerDiscoveryMessage} msg */
  async _onDiscovery(msg) {
    this.joined = true;
    this.socket.markHealthy();
    this._setOrbMode(msg.orbMode, null);
    if (msg.resumeToken) this.resumeToken = msg.resumeToken;
    const epoch = ++this.discoveries;
    const listed = new Set(msg.peers.map((p) => p.userId));
    if (msg.resumed) {
      // Our seat was kept: whoever it does not list has left (its `left` and more).
      for (const userId of [...this.peers.keys()]) {
        if (!listed.has(userId)) this._removePeer(userId);
      }
    } else {
      // A fresh join (the first, or after a server restart): peers not listed yet may still
      // rejoin; their links wait for them for the reunion window.
      setTimeout(() => {
        if (this.discoveries !== epoch) return;
        for (const [userId, entry] of [...this.peers]) {
          if (entry.seenIn < epoch) this._removePeer(userId);
        }
      }, REUNION_MS);
    }
    for (const peer of msg.peers) {
      // A seat taken while we were away is another participant under a known userId.
      if (msg.resumed && peer.status === 'joined') this._removePeer(peer.userId);
      await this._announce(peer, peer.shouldCreateOffer === true, peer.away === true);
    }
    this._emit('status', { state: 'joined' });
  }

  /**
   * A peer is (again) in the room: keep, repair or create the link (docs/protocol.md, "Links:
   * keep, repair, rebuild", rule 4).
   * @param {Partial<Participant> & {userId: string}} fields
   * @param {boolean} shouldOffer
   * @param {boolean} away
   */
  async _announce(fields, shouldOffer, away) {
    const entry = this.peers.get(fields.userId);
    if (entry === undefined || entry.link === null || entry.link.shouldOffer !== shouldOffer) {
      await this._addPeer(fields, shouldOffer);
    } else if (shouldOffer && !away) {
      this._repair(entry, false);
    }
    const current = this.peers.get(fields.userId);
    if (current === undefined) return;
    current.seenIn = this.discoveries;
    current.away = away;
    if (current.link !== null && !shouldOffer) {
      // The answerer tells the offerer which link it holds (rule 5), numbered like its
      // answers so that a report overtaken by an answer is recognised as stale.
      this.socket.send({
        type: MessageType.CLIENT_SIGNAL, action: LINK_STATE, toId: fields.userId,
        linkId: current.link.linkId, epoch: this.epoch, seq: ++this.reportSeq,
      });
    }
  }

  /**
   * The offerer's repair of a link that is not connected: an ICE restart on the same
   * RTCPeerConnection, or a rebuild when that cannot help (an ai peer, a failed restart).
   * @param {PeerEntry} entry
   * @param {boolean} restartFailed
   */
  _repair(entry, restartFailed) {
    const link = entry.link;
    if (link === null || !link.shouldOffer || link.state === 'connected') return;
    if (restartFailed || isAi(entry.peer)) {
      void this._addPeer(entry.peer, true);
    } else {
      link.restartIce();
    }
  }

  /**
   * The answerer of a pair says which link it holds (rule 5). A report that the same page
   * (epoch) sent before it answered our current link is stale - it was overtaken by that
   * answer - and never tears the link down; only a report sent after it does (the page lost
   * the link), or one from another epoch (the participant's tab was reloaded).
   * @param {string} fromId
   * @param {string | null} linkId
   * @param {Report | null} report  the report's epoch and number (null from older clients)
   */
  async _onLinkState(fromId, linkId, report) {
    const entry = this.peers.get(fromId);
    const link = entry?.link;
    if (entry === undefined || link === null || link === undefined || !link.shouldOffer) return;
    if (linkId === link.linkId || !link.answered) return;
    const by = link.answeredBy;
    if (report !== null && by !== null && report.epoch === by.epoch && report.seq < by.seq) return;
    await this._addPeer(entry.peer, true); // it lost our link: a new one
  }

  /**
   * @param {string} userId
   * @param {boolean} away
   */
  _setAway(userId, away) {
    const entry = this.peers.get(userId);
    if (entry === undefined) return;
    entry.away = away;
    this._emit('peer-presence', { peer: entry.peer, away });
  }

  /** The offerer's watch over its links (rule 6); the answerer only answers. */
  _watchLinks() {
    if (!this.joined) return;
    const now = performance.now();
    for (const entry of this.peers.values()) {
      const link = entry.link;
      if (link === null || !link.shouldOffer || entry.away || link.closed) continue;
      const state = link.pc.connectionState;
      if (state === 'connected') {
        entry.badSince = null;
        link.restarts = 0;
        link.restartedAt = null;
        continue;
      }
      if (state !== 'failed' && state !== 'disconnected') continue;
      entry.badSince ??= now;
      if (state === 'disconnected' && now - entry.badSince < REPAIR_AFTER_MS) continue;
      if (link.restartedAt !== null && now - link.restartedAt < REBUILD_AFTER_MS) continue;
      this._repair(entry, link.restarts >= 1);
    }
  }

  /**
   * Adds (or rebuilds) the entry of a participant, and its connection when the pair connects.
   * @param {Partial<Participant> & {userId: string}} fields  as the server sent them
   * @param {boolean} shouldOffer
   */
  async _addPeer(fields, shouldOffer) {
    /** @type {Participant} */
    const peer = {
      userId: fields.userId,
      userName: fields.userName ?? '',
      userRole: fields.userRole ?? '',
      participantType: fields.participantType ?? 'human',
    };
    const previous = this.peers.get(peer.userId);
    if (previous?.link) previous.link.close();
    // Two AI participants do not connect; a human always connects (§5).
    const connects = shouldOffer || !(isAi(peer) && isAi(this.self));
    /** @type {PeerEntry} */
    const entry = {
      peer, link: null, status: previous?.status ?? null, away: previous?.away ?? false,
      seenIn: this.discoveries, badSince: null,
    };
    this.peers.set(peer.userId, entry);
    if (connects) {
      const [rtcConfig, stream] = await Promise.all([this.rtcConfig, this.media]);
      if (this.peers.get(peer.userId) !== entry) return; // left while we waited
      entry.link = this._makeLink(peer, shouldOffer, rtcConfig, stream);
    }
    this._emit('peer-added', { peer, link: entry.link, status: entry.status });
    entry.link?.start();
  }

  /**
   * @param {Participant} peer
   * @param {boolean} shouldOffer
   * @param {RTCConfiguration} rtcConfig
   * @param {MediaStream | null} localStream
   * @returns {PeerLink}
   */
  _makeLink(peer, shouldOffer, rtcConfig, localStream) {
    const link = new PeerLink({
      peer,
      shouldOffer,
      rtcConfig,
      localStream,
      // Answers carry this page's epoch and report number (rule 5, see _onLinkState).
      sendSignal: (msg) => this.socket.send(msg.type === MessageType.ANSWER
        ? { ...msg, toId: peer.userId, epoch: this.epoch, seq: ++this.reportSeq }
        : { ...msg, toId: peer.userId }),
    });
    link.addEventListener('state', (e) => {
      if (this._current(peer.userId, link)) this._emit('peer-state', { peer, state: e.detail.state });
    });
    link.addEventListener('track', (e) => {
      if (this._current(peer.userId, link)) {
        this._emit('track', { peer, stream: link.remoteStream, track: e.detail.track });
      }
    });
    link.addEventListener('failure', (e) => {
      this._emit('link-failure', { peer, error: e.detail.error });
    });
    return link;
  }

  /**
   * Whether `link` is still the connection of `userId` (not replaced, not removed).
   * @param {string} userId
   * @param {PeerLink} link
   * @returns {boolean}
   */
  _current(userId, link) {
    return this.peers.get(userId)?.link === link;
  }

  /** @param {string} userId */
  _removePeer(userId) {
    const entry = this.peers.get(userId);
    if (entry === undefined) return;
    this.peers.delete(userId);
    entry.link?.close();
    this._emit('peer-removed', { peer: entry.peer });
  }

  /**
   * An offer with another linkId than the answerer's link starts a new link (rule 3); an
   * answer or candidate of another link than the current one is stale and dropped.
   * @param {RelayedSignal} msg
   */
  async _onSignal(msg) {
    const entry = this.peers.get(msg.fromId);
    let link = entry?.link;
    if (entry === undefined || link === null || link === undefined) return;
    if (msg.type === MessageType.OFFER && !link.shouldOffer) {
      const fresh = link.offered
        ? msg.linkId === undefined || msg.linkId !== link.linkId
        : link.linkId !== null && msg.linkId !== undefined && msg.linkId !== link.linkId;
      if (fresh) {
        await this._addPeer(entry.peer, false);
        link = this.peers.get(msg.fromId)?.link;
        if (link === null || link === undefined) return;
      }
    } else if (msg.linkId !== undefined && link.linkId !== null && msg.linkId !== link.linkId) {
      return;
    } else if (msg.type === MessageType.ANSWER && link.shouldOffer) {
      // Who answered this link, and when: later reports of that page are judged by it.
      const report = reportOf(msg);
      if (report !== null) link.answeredBy = report;
    }
    link.receive(msg);
  }

  /** @param {AiStatusMessage} msg */
  _onAiStatus(msg) {
    const entry = this.peers.get(msg.fromId);
    if (entry !== undefined) entry.status = msg.status;
    this._setOrbMode(msg.mode, null);
    this._emit('ai-status', { fromId: msg.fromId, status: msg.status, message: msg });
  }
}
