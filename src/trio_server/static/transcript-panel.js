// @ts-check
// The live transcript beside the tiles: the orb's `ai_transcript` lines, who said what, in
// spoken order, and a "transcribing" indicator while the orb publishes them.
//
// The coach's page opens it expanded (the coach follows the conversation), the client's page
// collapsed behind a button (the client is in the conversation). Every piece of text goes
// through textContent: transcripts are other people's words and must never become markup.

/** Lines kept on the page; older ones scroll away for good (a call may last hours). */
const MAX_LINES = 300;
const MS_PER_SECOND = 1000; // not a close code

/** @typedef {import('./protocol.js').AiTranscriptMessage} AiTranscriptMessage */

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} className
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
function el(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * The clock time of a Unix time in seconds, as HH:MM:SS in the viewer's zone.
 * @param {number} seconds
 * @returns {string}
 */
function clock(seconds) {
  return new Date(seconds * MS_PER_SECOND).toLocaleTimeString([], { hour12: false });
}

export class TranscriptPanel {
  /**
   * @param {HTMLElement} root  the panel's (empty) container
   * @param {object} options
   * @param {boolean} options.expanded  open at first (the coach) or collapsed (the client)
   * @param {(userId: string, role: string) => string} options.nameOf  a speaker's display name
   */
  constructor(root, { expanded, nameOf }) {
    this.root = root;
    this._nameOf = nameOf;
    /** @type {Set<string>} utteranceIds shown, so a repeat is not shown twice */
    this._seen = new Set();
    root.classList.add('transcript');
    const head = el('div', 'transcript-head');
    this.toggle = el('button', 'transcript-toggle', 'Transcript');
    this.toggle.type = 'button';
    this.toggle.setAttribute('aria-controls', 'transcript-lines');
    this.indicator = el('span', 'transcribing', '● transcribing');
    this.indicator.hidden = true;
    this.indicator.setAttribute('role', 'status');
    head.append(this.toggle, this.indicator);
    this.lines = el('ol', 'transcript-lines');
    this.lines.id = 'transcript-lines';
    this.lines.setAttribute('aria-live', 'polite');
    this.empty = el('p', 'transcript-empty', 'Captions appear here when the assistant transcribes.');
    root.append(head, this.empty, this.lines);
    this.toggle.addEventListener('click', () => this.setExpanded(!this.expanded));
    this.setExpanded(expanded);
  }

  /** @returns {boolean} */
  get expanded() {
    return this.toggle.getAttribute('aria-expanded') === 'true';
  }

  /** @param {boolean} open */
  setExpanded(open) {
    this.toggle.setAttribute('aria-expanded', String(open));
    this.root.dataset.expanded = String(open);
  }

  /**
   * Whether the orb is transcribing (its `ai_status` says so).
   * @param {boolean} on
   */
  setTranscribing(on) {
    this.indicator.hidden = !on;
    this.root.dataset.transcribing = String(on);
  }

  /** @param {AiTranscriptMessage} msg */
  add(msg) {
    if (typeof msg.text !== 'string' || this._seen.has(msg.utteranceId)) return;
    this._seen.add(msg.utteranceId);
    const line = el('li', 'transcript-line');
    line.dataset.role = msg.speakerRole;
    line.dataset.speakerId = msg.speakerId;
    const who = el('span', 'who', this._nameOf(msg.speakerId, msg.speakerRole));
    const when = el('time', 'when', clock(msg.startedAt));
    when.dateTime = new Date(msg.startedAt * MS_PER_SECOND).toISOString();
    const text = el('span', 'text', msg.text);
    line.append(who, when, text);
    const atBottom = this.lines.scrollTop + this.lines.clientHeight >= this.lines.scrollHeight - 8;
    this.lines.append(line);
    this.empty.hidden = true;
    while (this.lines.childElementCount > MAX_LINES) {
      const first = this.lines.firstElementChild;
      if (first === null) break;
      first.remove();
    }
    if (atBottom) this.lines.scrollTop = this.lines.scrollHeight;
    if (!this.expanded) this.toggle.dataset.unread = 'true';
  }
}
