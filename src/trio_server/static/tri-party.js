// @ts-check
// The tri-party mesh client: joins a room over the signaling socket and keeps one PeerLink per
// other participant, following the server's decision of who offers (docs/protocol.md, "Offer direction").
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
//   'track'         {peer, stream, track} media arrived from that peer (stream is per peer)
//   'ai-status'     {fromId, status, message}
//   'client-signal' {fromId, action, message}
//   'server-error'  {code, message, ref}  an `error` from the server, for the user to see
//   'link-failure'  {peer, error}         a local WebRTC step failed for that peer

import { TypedEventTarget } from './events.js';
import { PeerLink } from './peer-link.js';
import { CloseCode, MessageType, ParticipantType, joinMessage } from './protocol.js';
import { SignalingSocket, signalingUrl } from './signaling-socket.js';

/** @typedef {import('./protocol.js').Participant} Participant */
/** @typedef {import('./protocol.js').DiscoveredPeer} DiscoveredPeer */
/** @typedef {import('./protocol.js').ServerMessage} ServerMessage */
/** @typedef {import('./protocol.js').RelayedSignal} RelayedSignal */
/** @typedef {import('./protocol.js').PeerDiscoveryMessage} PeerDiscoveryMessage */
/** @typedef {import('./protocol.js').AiStatusMessage} AiStatusMessage */
/** @typedef {import('./protocol.js').ClientSignalMessage} ClientSignalMessage */
/** @typedef {import('./signaling-socket.js').SocketClose} SocketClose */
/** @typedef {import('./peer-link.js').InboundStats} InboundStats */
/** @typedef {import('./peer-link.js').OutboundStats} OutboundStats */

/**
 * One participant this client knows: its description, its connection (null when the pair does
 * not connect, or while the connection waits for the ICE configuration and the camera), and
 * the last `ai_status` it sent.
 * @typedef {{peer: Participant, link: PeerLink | null, status: string | null}} PeerEntry
 */

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
 * @property {{peer: Participant, stream: MediaStream, track: MediaStreamTrack}} track
 * @property {{fromId: string, status: string, message: AiStatusMessage}} ai-status
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
    this.rtcConfig = Promise.resolve({ iceServers: [] });
    this.inbox = Promise.resolve();
    this.joined = false;
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
  }

  /** Leaves the room for good and closes every peer connection. */
  leave() {
    this.socket.send({ type: MessageType.LEAVE });
    this.socket.close(CloseCode.NORMAL, 'left');
    for (const userId of [...this.peers.keys()]) this._removePeer(userId);
    this.joined = false;
    this._emit('status', { state: 'ended', code: CloseCode.NORMAL, reason: 'left' });
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
      return { iceServers: Array.isArray(body.iceServers) ? body.iceServers : [] };
    } catch {
      // Loopback and LAN calls need no ICE servers; a missing endpoint must not stop the call.
      return { iceServers: [] };
    }
  }

  _onOpen() {
    this.socket.send(joinMessage({ roomId: this.roomId, ...this.self, token: this.token }));
  }

  /** @param {SocketClose} close */
  _onClose({ code, reason, willRetry, delayMs }) {
    this.joined = false;
    if (willRetry) {
      // Fresh credentials for the rebuilt connections; the old links stay up until the new
      // peer-discovery says who is still there.
      this.rtcConfig = this._loadIceConfig();
      this._emit('status', { state: 'reconnecting', code, reason, delayMs });
    } else {
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
        await this._addPeer(msg, msg.shouldCreateOffer === true);
        break;
      case MessageType.USER_LEFT:
        this._removePeer(msg.userId);
        break;
      case MessageType.AI_STATUS:
        this._onAiStatus(msg);
        break;
      case MessageType.CLIENT_SIGNAL:
        this._emit('client-signal', { fromId: msg.fromId, action: msg.action, message: msg });
        break;
      case MessageType.ERROR:
        this._emit('server-error', { code: msg.code, message: msg.message, ref: msg.ref });
        break;
      default:
        if (isSignal(msg)) this._onSignal(msg);
    }
  }

  /** @param {PeerDiscoveryMessage} msg */
  async _onDiscovery(msg) {
    this.joined = true;
    this.socket.markHealthy();
    // After a (re)join every other participant has seen us leave and arrive again, and
    // rebuilds its side; so every link is rebuilt here too, and vanished peers are dropped.
    const present = new Set(msg.peers.map((p) => p.userId));
    for (const userId of [...this.peers.keys()]) {
      if (!present.has(userId)) this._removePeer(userId);
    }
    for (const peer of msg.peers) {
      await this._addPeer(peer, peer.shouldCreateOffer === true);
    }
    this._emit('status', { state: 'joined' });
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
    const entry = { peer, link: null, status: previous?.status ?? null };
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
      sendSignal: (msg) => this.socket.send({ ...msg, toId: peer.userId }),
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

  /** @param {RelayedSignal} msg */
  _onSignal(msg) {
    const entry = this.peers.get(msg.fromId);
    if (entry?.link) entry.link.receive(msg);
  }

  /** @param {AiStatusMessage} msg */
  _onAiStatus(msg) {
    const entry = this.peers.get(msg.fromId);
    if (entry !== undefined) entry.status = msg.status;
    this._emit('ai-status', { fromId: msg.fromId, status: msg.status, message: msg });
  }
}
