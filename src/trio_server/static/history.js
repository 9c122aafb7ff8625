// @ts-check
// The session history (/history and /history/{sessionId}): the list of past sessions with
// filters and pages, one session's transcript, summary and status timeline, export and delete.
//
// Access is the server's business (src/trio_server/history.py): this page only ever sends a
// token once, in a header, to POST /api/history/login, which answers with an HttpOnly cookie;
// after that every request rides on that cookie. A token in the address's fragment
// (#token=..., the login link the server prints) is used once and removed from the address.
// Every piece of session text goes through textContent: it is other people's words.

const API = '/api/history';
const PAGE_SIZE = 50;
const MS_PER_SECOND = 1000; // not a close code

// The JSON's shapes are generated from the server's definition (signaling_core.wire):
/**
 * @typedef {import('./protocol.js').HistoryPage} SessionPage
 * @typedef {import('./protocol.js').HistorySession} SessionDetail
 */

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function byId(id) {
  return /** @type {HTMLElement} */ (document.getElementById(id));
}

const errorBox = byId('history-error');
const loginBox = byId('login');
const listBox = byId('list');
const sessionBox = byId('session');
const logoutButton = /** @type {HTMLButtonElement} */ (byId('logout'));

/** @param {string} text */
function showError(text) {
  errorBox.textContent = text;
  errorBox.hidden = false;
}

/**
 * A fetch whose answer must be OK; a 401 shows the login form.
 * @param {string} url
 * @param {RequestInit} [init]
 * @returns {Promise<Response | null>} null when refused (already reported on the page)
 */
async function call(url, init = {}) {
  const response = await fetch(url, { credentials: 'same-origin', ...init });
  if (response.status === 401) {
    loginBox.hidden = false;
    listBox.hidden = true;
    sessionBox.hidden = true;
    return null;
  }
  if (!response.ok) {
    showError(`${response.status}: ${(await response.text()).trim()}`);
    return null;
  }
  return response;
}

/**
 * Exchanges a token (sent once, in a header) for the login cookie.
 * @param {string} token
 * @returns {Promise<boolean>}
 */
async function login(token) {
  const response = await fetch(`${API}/login`, {
    method: 'POST', credentials: 'same-origin', headers: { Authorization: `Bearer ${token}` },
  });
  if (!response.ok) showError(`Login refused: ${(await response.text()).trim()}`);
  return response.ok;
}

/**
 * @param {string} iso
 * @returns {string}
 */
function when(iso) {
  return new Date(iso).toLocaleString([], { hour12: false });
}

/**
 * @param {number | null} seconds
 * @returns {string}
 */
function duration(seconds) {
  if (seconds === null) return 'live';
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes} min ${Math.round(seconds % 60)} s` : `${Math.round(seconds)} s`;
}

/**
 * @param {string} tag
 * @param {string} text
 * @returns {HTMLElement}
 */
function cell(tag, text) {
  const node = document.createElement(tag);
  node.textContent = text;
  return node;
}

async function showList() {
  const params = new URLSearchParams(location.search);
  const room = /** @type {HTMLInputElement} */ (byId('filter-room'));
  const from = /** @type {HTMLInputElement} */ (byId('filter-from'));
  const to = /** @type {HTMLInputElement} */ (byId('filter-to'));
  room.value = params.get('room') ?? '';
  from.value = params.get('from') ?? '';
  to.value = params.get('to') ?? '';
  const offset = Number(params.get('offset') ?? '0') || 0;
  /** @type {Record<string, string>} */
  const query = { offset: String(offset), limit: String(PAGE_SIZE) };
  for (const [key, input] of /** @type {[string, HTMLInputElement][]} */ ([['room', room], ['from', from], ['to', to]])) {
    if (input.value) query[key] = input.value;
  }
  const response = await call(`${API}/sessions?${new URLSearchParams(query)}`);
  if (response === null) return;
  /** @type {SessionPage} */
  const page = await response.json();
  const rows = byId('session-rows');
  rows.replaceChildren();
  for (const s of page.sessions) {
    const row = document.createElement('tr');
    row.dataset.sessionId = s.sessionId;
    const roomCell = document.createElement('td');
    const link = document.createElement('a');
    link.href = `/history/${encodeURIComponent(s.sessionId)}`;
    link.textContent = s.roomId;
    roomCell.append(link);
    const people = s.participants.filter((p) => p.userRole !== 'ai')
      .map((p) => p.userName || p.userId).join(', ');
    row.append(roomCell, cell('td', when(s.startedAt)), cell('td', duration(s.durationSeconds)),
      cell('td', people), cell('td', s.summaryFirstLine ?? '–'));
    rows.append(row);
  }
  byId('no-sessions').hidden = page.sessions.length > 0;
  const prev = /** @type {HTMLButtonElement} */ (byId('prev-page'));
  const next = /** @type {HTMLButtonElement} */ (byId('next-page'));
  prev.disabled = offset === 0;
  next.disabled = !page.more;
  /** @param {number} to */
  const go = (to) => {
    params.set('offset', String(Math.max(0, to)));
    location.search = params.toString();
  };
  prev.onclick = () => go(offset - PAGE_SIZE);
  next.onclick = () => go(offset + PAGE_SIZE);
  listBox.hidden = false;
  logoutButton.hidden = false;
}

/** @param {string} sessionId */
async function showSession(sessionId) {
  const base = `${API}/sessions/${encodeURIComponent(sessionId)}`;
  const response = await call(base);
  if (response === null) return;
  /** @type {SessionDetail} */
  const s = await response.json();
  /** @type {Map<string, string>} */
  const names = new Map(s.participants.map((p) => [p.userId, p.userName || p.userRole]));
  byId('session-title').textContent = `Room ${s.roomId}`;
  byId('session-meta').textContent = `${when(s.startedAt)} · ${s.endedAt ? `ended ${when(s.endedAt)}` : 'live'}`
    + ` · ${s.endReason ?? ''} · ${[...names.values()].join(', ')}`;
  byId('session-summary').textContent = s.summary?.text ?? 'No summary was written.';
  const lines = byId('session-transcript');
  lines.replaceChildren();
  for (const line of s.transcript) {
    const item = document.createElement('li');
    item.className = 'transcript-line';
    item.dataset.role = line.speakerRole;
    const who = cell('span', names.get(line.speakerId) ?? line.speakerRole);
    who.className = 'who';
    const at = cell('time', new Date(line.startedAt).toLocaleTimeString([], { hour12: false }));
    at.className = 'when';
    const text = cell('span', line.text);
    text.className = 'text';
    item.append(who, at, text);
    lines.append(item);
  }
  const timeline = byId('session-timeline');
  timeline.replaceChildren(...s.statusTimeline.map(
    (span) => cell('li', `${new Date(span.startedAt).toLocaleTimeString([], { hour12: false })} ${span.status}`)));
  /** @type {HTMLAnchorElement} */ (byId('export-md')).href = `${base}/export?format=md`;
  /** @type {HTMLAnchorElement} */ (byId('export-json')).href = `${base}/export?format=json`;
  byId('delete-session').onclick = async () => {
    if (!confirm('Delete this session, its transcript and summary? This cannot be undone.')) return;
    const gone = await call(base, { method: 'DELETE' });
    if (gone === null) return;
    sessionBox.replaceChildren(cell('p', 'Session deleted.'));
    setTimeout(() => location.assign(`/history?room=${encodeURIComponent(s.roomId)}`), MS_PER_SECOND);
  };
  sessionBox.hidden = false;
  logoutButton.hidden = false;
}

async function main() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get('token');
  if (token) {
    history.replaceState(null, '', `${location.pathname}${location.search}`);
    await login(token);
  }
  byId('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = /** @type {HTMLInputElement} */ (byId('login-token'));
    if (await login(input.value.trim())) location.reload();
  });
  logoutButton.addEventListener('click', async () => {
    await fetch(`${API}/logout`, { method: 'POST', credentials: 'same-origin' });
    location.assign('/history');
  });
  byId('filter').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = new FormData(/** @type {HTMLFormElement} */ (event.target));
    /** @type {Record<string, string>} */
    const query = {};
    for (const [key, value] of form) if (typeof value === 'string' && value) query[key] = value;
    location.search = new URLSearchParams(query).toString();
  });
  const sessionId = decodeURIComponent(location.pathname.split('/')[2] ?? '');
  if (sessionId) await showSession(sessionId);
  else await showList();
}

Object.assign(window, { historyReady: main() });
