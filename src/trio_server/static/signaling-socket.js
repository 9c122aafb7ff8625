// The signaling WebSocket: one JSON object per text frame, a ping every 30 s, and a reconnect
// with capped exponential backoff after a lost connection.
//
// It knows nothing about rooms or peers: the mesh above it decides what to send when the
// socket (re)opens, and tells it when the session is healthy again (so the backoff resets only
// after a successful join, not after every accepted handshake).

/** Close codes after which reconnecting would be wrong (docs/protocol.md, "Close codes"). */
export const TERMINAL_CLOSE_CODES = new Map([
  [4001, 'replaced by a newer connection of the same user'],
  [4003, 'unauthorized'],
]);

/** Where the signaling endpoint of a room lives, on the page's own origin. */
export function signalingUrl(roomId, loc = window.location) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/ws-simple/${encodeURIComponent(roomId)}`;
}

export class SignalingSocket extends EventTarget {
  /**
   * @param {string} url
   * @param {{pingIntervalMs?: number, initialBackoffMs?: number, maxBackoffMs?: number}} [options]
   */
  constructor(url, options = {}) {
    super();
    this.url = url;
    this.pingIntervalMs = options.pingIntervalMs ?? 30_000;
    this.initialBackoffMs = options.initialBackoffMs ?? 300;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.attempt = 0;
    this.ws = null;
    this.stopped = false;
    this.pingTimer = null;
    this.retryTimer = null;
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.pingTimer = setInterval(() => this.send({ type: 'ping' }), this.pingIntervalMs);
      this.dispatchEvent(new CustomEvent('open'));
    };
    ws.onmessage = (event) => {
      if (ws !== this.ws || typeof event.data !== 'string') return;
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      if (msg !== null && typeof msg === 'object' && typeof msg.type === 'string') {
        this.dispatchEvent(new CustomEvent('message', { detail: msg }));
      }
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this._lost(event.code, event.reason);
    };
    // An error is always followed by a close event; the close decides what happens next.
    ws.onerror = () => {};
  }

  /** Sends one message; false when there is no open socket (the caller's state will resync). */
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

  /** Closes for good (no reconnect). */
  close(code = 1000, reason = 'bye') {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws !== null && ws.readyState <= WebSocket.OPEN) ws.close(code, reason);
  }

  /** Drops the current connection as if the network had lost it; used to exercise resumption. */
  simulateLoss() {
    const ws = this.ws;
    if (ws === null) return;
    ws.close(4000, 'simulated loss');
    this._lost(1006, 'simulated loss');
  }

  _lost(code, reason) {
    clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.ws = null;
    const terminal = TERMINAL_CLOSE_CODES.get(code);
    if (this.stopped || terminal !== undefined) {
      this.stopped = true;
      this.dispatchEvent(new CustomEvent('close', {
        detail: { code, reason: reason || terminal || '', willRetry: false, delayMs: 0 },
      }));
      return;
    }
    const base = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** this.attempt);
    const delayMs = Math.round(base / 2 + Math.random() * (base / 2));
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.connect(), delayMs);
    this.dispatchEvent(new CustomEvent('close', {
      detail: { code, reason, willRetry: true, delayMs },
    }));
  }
}
