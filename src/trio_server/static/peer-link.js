// @ts-check
// One RTCPeerConnection to one other participant, and the ordered handling of its signaling.
//
// Every offer, answer and candidate from that peer goes through one promise chain, so an answer
// is never applied while the offer is still being set, and a candidate that arrives before the
// remote description is held back until that description is in place. The direction of the
// offer is decided by the server (shouldCreateOffer), and only the offerer ever offers - for
// the first negotiation and for an ICE restart (`restartIce`) alike - so two offers can never
// cross. Each link carries the `linkId` its offerer chose (docs/protocol.md, "Links: keep,
// repair, rebuild"), so an offer for this link is told apart from one that starts a new link.

import { TypedEventTarget } from './events.js';
import { MessageType } from './protocol.js';

/** @typedef {import('./protocol.js').Participant} Participant */
/** @typedef {import('./protocol.js').Signal} Signal */

/** @typedef {'audio' | 'video'} MediaKind */

/**
 * Which page of the answerer sent an answer or a `link-state`, and in which order: its epoch
 * (one per page life) and a number that grows with every such message it sends.
 * @typedef {{epoch: string, seq: number}} Report
 */

/** @type {readonly MediaKind[]} */
const KINDS = ['audio', 'video'];

/** Counts the RTCPeerConnections of this page, so tests can tell one from another. */
let connectionCount = 0;

/** @returns {string} a fresh link id: 12 random hex digits */
export function newLinkId() {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * What arrived from the peer, per kind.
 * @typedef {object} InboundStats
 * @property {{packets: number, bytes: number}} audio
 * @property {{packets: number, bytes: number, framesDecoded: number}} video
 */

/**
 * What went to the peer, per kind, and whether the peer's receiver reports name it.
 * @typedef {{packets: number, bytes: number, acknowledged: boolean, roundTripTime: number | null}} OutboundCounters
 * @typedef {{audio: OutboundCounters, video: OutboundCounters}} OutboundStats
 */

/**
 * The events of a PeerLink.
 * @typedef {object} PeerLinkEvents
 * @property {{state: string}} state                connection state changed (see `state`)
 * @property {{track: MediaStreamTrack}} track      a remote track arrived
 * @property {{error: unknown}} failure             a local WebRTC step failed
 */

/**
 * @param {unknown} kind
 * @returns {kind is MediaKind}
 */
function isMediaKind(kind) {
  return kind === 'audio' || kind === 'video';
}

/** @extends {TypedEventTarget<PeerLinkEvents>} */
export class PeerLink extends TypedEventTarget {
  /**
   * @param {object} options
   * @param {Participant} options.peer
   * @param {boolean} options.shouldOffer  whether this side creates the offer for the pair
   * @param {RTCConfiguration} options.rtcConfig
   * @param {MediaStream|null} options.localStream
   * @param {(msg: Signal) => void} options.sendSignal  sends one signaling message to this peer
   * @param {string | null} [options.linkId]  the link's id: the offerer's own (default: a new
   *        one), or the answerer's from the offer that started it (null: adopt the first offer's)
   */
  constructor({ peer, shouldOffer, rtcConfig, localStream, sendSignal, linkId }) {
    super();
    this.peer = peer;
    this.shouldOffer = shouldOffer;
    /** @type {string | null} */
    this.linkId = linkId !== undefined ? linkId : (shouldOffer ? newLinkId() : null);
    /** This page's number for the RTCPeerConnection, stable while the link is kept. */
    this.connectionId = ++connectionCount;
    /** The offerer got an answer for this link: the answerer holds it. */
    this.answered = false;
    /** @type {Report | null} the epoch and number of the latest answer to this link, if sent */
    this.answeredBy = null;
    /** The answerer has applied an offer on this link. */
    this.offered = false;
    /** When the last ICE restart was sent (performance.now()), or null. */
    this.restartedAt = /** @type {number | null} */ (null);
    this.restarts = 0;
    this.localStream = localStream;
    this.sendSignal = sendSignal;
    this.remoteStream = new MediaStream();
    /** @type {RTCIceCandidateInit[]} */
    this.pendingCandidates = [];
    /** @type {Promise<void>} */
    this.chain = Promise.resolve();
    this.closed = false;
    this.pc = new RTCPeerConnection({
      ...rtcConfig,
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
    });
    this.pc.onicecandidate = (event) => {
      if (event.candidate !== null && !this.closed) {
        this._send({ type: MessageType.ICE_CANDIDATE, candidate: event.candidate.toJSON() });
      }
    };
    this.pc.ontrack = (event) => {
      if (!this.remoteStream.getTracks().includes(event.track)) {
        this.remoteStream.addTrack(event.track);
      }
      this._emit('track', { track: event.track });
    };
    this.pc.onconnectionstatechange = () => this._stateChanged();
    this.pc.oniceconnectionstatechange = () => this._stateChanged();
  }

  /**
   * The connection state shown to the user.
   * @returns {RTCPeerConnectionState | 'closed'}
   */
  get state() {
    return this.closed ? 'closed' : this.pc.connectionState;
  }

  /** Starts the pair: the offerer sends its offer; the answerer waits for one. */
  start() {
    if (this.shouldOffer) this._enqueue(() => this._offer());
  }

  /**
   * Repairs the link in place (the offerer only): an ICE-restart offer on the same
   * RTCPeerConnection and the same linkId. The media keeps flowing on the old candidate pair
   * while one is left, and moves to the new one when ICE finds it.
   */
  restartIce() {
    if (!this.shouldOffer || this.closed) return;
    this.restartedAt = performance.now();
    this.restarts += 1;
    this._enqueue(async () => {
      const offer = await this.pc.createOffer({ iceRestart: true });
      await this.pc.setLocalDescription(offer);
      this._send({ type: MessageType.OFFER, offer: { type: offer.type, sdp: offer.sdp } });
    });
  }

  /**
   * Hands one `offer`, `answer` or `ice-candidate` from this peer to the ordered queue.
   * @param {Signal} msg
   */
  receive(msg) {
    this._enqueue(() => this._apply(msg));
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.pc.close();
    this._stateChanged();
  }

  /**
   * Inbound media counters of this connection: what arrived and what was decoded.
   * @returns {Promise<InboundStats>}
   */
  async inboundStats() {
    /** @type {InboundStats} */
    const out = {
      audio: { packets: 0, bytes: 0 },
      video: { packets: 0, bytes: 0, framesDecoded: 0 },
    };
    if (this.closed) return out;
    const report = await this.pc.getStats();
    report.forEach((s) => {
      /** @type {unknown} */
      const kind = s.kind;
      if (s.type !== 'inbound-rtp' || !isMediaKind(kind)) return;
      const slot = out[kind];
      slot.packets += s.packetsReceived ?? 0;
      slot.bytes += s.bytesReceived ?? 0;
      if (kind === 'video') out.video.framesDecoded += s.framesDecoded ?? 0;
    });
    return out;
  }

  /**
   * Outbound media counters, and whether the peer reports receiving them: a `remote-inbound-rtp`
   * entry exists only once the peer's RTCP receiver reports name our stream.
   * @returns {Promise<OutboundStats>}
   */
  async outboundStats() {
    /** @type {OutboundStats} */
    const out = {
      audio: { packets: 0, bytes: 0, acknowledged: false, roundTripTime: null },
      video: { packets: 0, bytes: 0, acknowledged: false, roundTripTime: null },
    };
    if (this.closed) return out;
    const report = await this.pc.getStats();
    report.forEach((s) => {
      /** @type {unknown} */
      const kind = s.kind;
      if (!isMediaKind(kind)) return;
      const slot = out[kind];
      if (s.type === 'outbound-rtp') {
        slot.packets += s.packetsSent ?? 0;
        slot.bytes += s.bytesSent ?? 0;
      } else if (s.type === 'remote-inbound-rtp') {
        slot.acknowledged = true;
        slot.roundTripTime = s.roundTripTime ?? slot.roundTripTime;
      }
    });
    return out;
  }

  /** @param {() => Promise<void>} step */
  _enqueue(step) {
    this.chain = this.chain.then(async () => {
      if (this.closed) return;
      try {
        await step();
      } catch (err) {
        if (!this.closed) {
          this._emit('failure', { error: err });
        }
      }
    });
  }

  async _offer() {
    const stream = this.localStream;
    for (const kind of KINDS) {
      const track = stream?.getTracks().find((t) => t.kind === kind);
      if (stream && track) {
        this.pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] });
      } else {
        // Nothing to send of this kind, but the other side's audio/video must still arrive.
        this.pc.addTransceiver(kind, { direction: 'recvonly' });
      }
    }
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    this._send({ type: MessageType.OFFER, offer: { type: offer.type, sdp: offer.sdp } });
  }

  /**
   * Sends one signal of this link, named by its linkId.
   * @param {Signal} msg
   */
  _send(msg) {
    this.sendSignal(this.linkId === null ? msg : { ...msg, linkId: this.linkId });
  }

  /** @param {Signal} msg */
  async _apply(msg) {
    if (msg.type === MessageType.OFFER) {
      if (this.shouldOffer) throw new Error(`unexpected offer from ${this.peer.userId}`);
      if (this.linkId === null && msg.linkId !== undefined) this.linkId = msg.linkId;
      this.offered = true;
      await this.pc.setRemoteDescription(msg.offer);
      await this._attachLocalTracks();
      await this._flushCandidates();
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      this._send({ type: MessageType.ANSWER, answer: { type: answer.type, sdp: answer.sdp } });
    } else if (msg.type === MessageType.ANSWER) {
      if (this.pc.signalingState !== 'have-local-offer') {
        throw new Error(`unexpected answer from ${this.peer.userId}`);
      }
      await this.pc.setRemoteDescription(msg.answer);
      this.answered = true;
      await this._flushCandidates();
    } else if (msg.type === MessageType.ICE_CANDIDATE) {
      const candidate = msg.candidate;
      if (candidate === null || candidate === undefined) return;
      if (this.pc.remoteDescription === null) {
        this.pendingCandidates.push(candidate);
      } else {
        await this.pc.addIceCandidate(candidate);
      }
    }
  }

  /** The answerer sends on the transceivers the offer created, one local track per kind. */
  async _attachLocalTracks() {
    const stream = this.localStream;
    if (stream === null) return;
    /** @type {Map<string, MediaStreamTrack>} */
    const unused = new Map();
    for (const track of stream.getTracks()) {
      if (!unused.has(track.kind)) unused.set(track.kind, track);
    }
    for (const transceiver of this.pc.getTransceivers()) {
      const kind = transceiver.receiver.track.kind;
      const track = unused.get(kind);
      if (track === undefined || transceiver.sender.track !== null) continue;
      unused.delete(kind);
      await transceiver.sender.replaceTrack(track);
      if (typeof transceiver.sender.setStreams === 'function') transceiver.sender.setStreams(stream);
      transceiver.direction = 'sendrecv';
    }
  }

  async _flushCandidates() {
    const held = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const candidate of held) {
      await this.pc.addIceCandidate(candidate);
    }
  }

  _stateChanged() {
    this._emit('state', { state: this.state });
  }
}
