// @ts-check
// The signaling WebSocket: one JSON object per text frame, a ping every 30 s, and a reconnect
// with capped exponential backoff after a lost connection.
//
// It knows nothing about rooms or peers: the mesh above it decides what to send when the
// socket (re)opens, and tells it when the session is healthy again (so the backoff resets only
// after a successful join, not after every accepted handshake).

import { TypedEventTarget } from './events.js';
import { CloseCode, LocalCloseCode, MessageType } from './protocol.js';

/** @typedef {import('./protocol.js').ClientMessage} ClientMessage */
/** @typedef {import('./protocol.js').ServerMessage} ServerMessage */

/**
 * What a lost or closed connection reports.
 * @typedef {object} SocketClose
 * @property {number} code       the WebSocket close code
 * @property {string} reason
 * @property {boolean} willRetry  whether a reconnect is scheduled
 * @property {number} delayMs    in how long (0 when not retrying)
 */

/**
 * The events of a SignalingSocket.
 * @typedef {object} SignalingSocketEvents
 * @property {null} open            a (re)connected socket, ready for the join
 * @property {ServerMessage} message one message from the server
 * @property {SocketClose} close    the connection is gone
 */

/**
 * Close codes after which reconnecting would be wrong (docs/protocol.md, "Close codes").
 * @type {ReadonlyMap<number, string>}
 */
export const TERMINAL_CLOSE_CODES = new Map([
  [CloseCode.REPLACED, 'replaced by a newer connection of the same user'],
  [CloseCode.UNAUTHORIZED, 'unauthorized'],
  [CloseCode.SESSION_ENDED, 'the coach ended the session'],
]);

/**
 * Where the signaling endpoint of a room lives, on the page's own origin.
 * @param {string} roomId
 * @param {{protocol: string, host: string}} [loc]
 * @returns {string}
 */
export function signalingUrl(roomId, loc = window.location) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/ws-simple/${encodeURIComponent(roomId)}`;
}

/** Reconnect attempts made at the shortest delay before the backoff starts doubling. */
const FAST_RETRIES = 10;

/** @extends {TypedEventTarget<SignalingSocketEvents>} */
export class SignalingSocket extends TypedEventTarget {
  /**
   * @param {string} url
   * @param {{pingIntervalMs?: number, initialBackoffMs?: number, maxBackoffMs?: number}} [options]
   */
  constructor(url, options = {}) {
    super();
    this.url = url;
    this.pingIntervalMs = options.pingIntervalMs ?? 30_000;
    // Retries come every 100-300 ms for the first FAST_RETRIES attempts (a restarting server
    // is back within a second or two, and every retry then costs the call nothing), then
    // doubling up to 5 s; the jitter keeps a room of clients from reconnecting in step.
    this.initialBackoffMs = options.initialBackoffMs ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.attempt = 0;
    /** @type {WebSocket | null} */
    this.ws = null;
    this.stopped = false;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.pingTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.pingTimer = setInterval(() => this.send({ type: MessageType.PING }), this.pingIntervalMs);
      this._emit('open', null);
    };
    ws.onmessage = (event) => {
      if (ws !== this.ws || typeof event.data !== 'string') return;
      /** @type {unknown} */
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      if (isMessage(msg)) this._emit('message', msg);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this._lost(event.code, event.reason);
    };
    // An error is always followed by a close event; the close decides what happens next.
    ws.onerror = () => {};
  }

  /**
   * Sends one message; false when there is no open socket (the caller's state will resync).
   * @param {ClientMessage} msg
   * @returns {boolean}
   */
  send(msg) {
    const ws = this.ws;
    if (ws === null || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  /** The session is established again: the next loss starts from the shortest delay. */
  markHealthy() {
    this.attempt = 0;
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * Closes for good (no reconnect).
   * @param {number} [code]
   * @param {string} [reason]
   */
  close(code = CloseCode.NORMAL, reason = 'bye') {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws !== null && ws.readyState <= WebSocket.OPEN) ws.close(code, reason);
  }

  /**
   * Abandons the current connection as if the network had lost it, and reconnects: no close
   * frame is sent (a lost network sends none), so the server still holds the seat on the old
   * connection when the resume arrives, and closes that one (as replaced). Used to exercise
   * resumption.
   */
  simulateLoss() {
    const ws = this.ws;
    if (ws === null) return;
    ws.onclose = null;
    ws.onmessage = null;
    this._lost(LocalCloseCode.ABNORMAL, 'simulated loss');
  }

  /**
   * @param {number} code
   * @param {string} reason
   */
  _lost(code, reason) {
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    this.ws = null;
    const terminal = TERMINAL_CLOSE_CODES.get(code);
    if (this.stopped || terminal !== undefined) {
      this.stopped = true;
      this._emit('close', { code, reason: reason || terminal || '', willRetry: false, delayMs: 0 });
      return;
    }
    const slow = Math.max(0, this.attempt - FAST_RETRIES);
    const base = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** slow);
    const delayMs = Math.round(base / 2 + Math.random() * base);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.connect(), delayMs);
    this._emit('close', { code, reason, willRetry: true, delayMs });
  }
}

/**
 * Whether a parsed frame has the one shape the socket checks: an object with a string `type`.
 * @param {unknown} msg
 * @returns {msg is ServerMessage}
 */
function isMessage(msg) {
  return msg !== null && typeof msg === 'object' && 'type' in msg && typeof msg.type === 'string';
}
