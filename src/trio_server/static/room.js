// @ts-check
// The call page: opens camera and microphone, joins the room named by the URL, and keeps the
// tiles and controls in step with the mesh client's events.
//
// URL: /room/{roomId}?role=coach|client&name=NAME[&userId=ID]. Without userId, the id is kept
// in sessionStorage, so reloading the tab rejoins as the same participant (the server then
// replaces the old connection and everyone rebuilds their link to us).

import { CallView } from './call-view.js';
import { CloseCode, OrbMode, SHARE_SUMMARY } from './protocol.js';
import { TranscriptPanel } from './transcript-panel.js';
import { TriPartyClient, isAi } from './tri-party.js';

const NOTICE_MS = 8000;
/** How long a coach's page that ended the session waits for the orb's last summary. */
const SUMMARY_WAIT_MS = 15000;
const MS_PER_SECOND = 1000; // not a close code

/** @returns {string} 16 random hex digits */
function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * This tab's userId in `roomId` as `role`: the same across reloads of the tab.
 * @param {string} roomId
 * @param {string} role
 * @returns {string}
 */
function stableUserId(roomId, role) {
  const key = `tri-party:user:${roomId}:${role}`;
  try {
    const known = sessionStorage.getItem(key);
    if (known) return known;
    const fresh = `${role}-${randomId()}`;
    sessionStorage.setItem(key, fresh);
    return fresh;
  } catch {
    return `${role}-${randomId()}`;
  }
}

/**
 * The text of a failure for the user: an Error's message, or `fallback`.
 * @param {unknown} error
 * @param {string} fallback
 * @returns {string}
 */
function errorMessage(error, fallback) {
  return error instanceof Error ? error.message : fallback;
}

/**
 * Shows `text` for a few seconds (as text, never markup).
 * @param {string} text
 * @param {'info' | 'error' | 'hand'} [kind]
 */
function notify(text, kind = 'info') {
  const box = /** @type {HTMLElement} */ (document.getElementById('notices'));
  const note = document.createElement('div');
  note.className = `notice ${kind}`;
  note.textContent = text;
  box.append(note);
  setTimeout(() => note.remove(), NOTICE_MS);
}

/**
 * The camera and microphone, or what of them can be had; null when neither.
 * @returns {Promise<MediaStream | null>}
 */
async function openMedia() {
  if (!navigator.mediaDevices?.getUserMedia) {
    notify('Camera and microphone need https or localhost; joining to watch and listen only.', 'error');
    return null;
  }
  const wishes = [
    { audio: true, video: { width: { ideal: 640 }, height: { ideal: 360 } } },
    { audio: true },
    { video: true },
  ];
  /** @type {unknown} */
  let lastError = null;
  for (const constraints of wishes) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch (err) {
      lastError = err;
    }
  }
  notify(`No camera or microphone (${errorMessage(lastError, 'unavailable')}); joining anyway.`, 'error');
  return null;
}

const params = new URLSearchParams(location.search);
const roomId = decodeURIComponent(location.pathname.split('/')[2] ?? '');
const role = params.get('role') === 'coach' ? 'coach' : 'client';
const userName = (params.get('name') ?? '').trim().slice(0, 128) || (role === 'coach' ? 'Coach' : 'Client');
const userId = params.get('userId') || stableUserId(roomId, role);

// The elements of room.html.
const roomLabel = /** @type {HTMLElement} */ (document.getElementById('room-id'));
const tiles = /** @type {HTMLElement} */ (document.getElementById('tiles'));
const statusPill = /** @type {HTMLElement} */ (document.getElementById('link-status'));
const micButton = /** @type {HTMLButtonElement} */ (document.getElementById('toggle-mic'));
const camButton = /** @type {HTMLButtonElement} */ (document.getElementById('toggle-cam'));
const orbButton = /** @type {HTMLButtonElement} */ (document.getElementById('orb-pause'));
const handButton = /** @type {HTMLButtonElement} */ (document.getElementById('raise-hand'));
const leaveButton = /** @type {HTMLButtonElement} */ (document.getElementById('leave'));
const endButton = /** @type {HTMLButtonElement} */ (document.getElementById('end-session'));
const summaryBox = /** @type {HTMLElement} */ (document.getElementById('summary'));
const summaryText = /** @type {HTMLElement} */ (document.getElementById('summary-text'));
const shareButton = /** @type {HTMLButtonElement} */ (document.getElementById('share-summary'));
const historyLink = /** @type {HTMLAnchorElement} */ (document.getElementById('history-link'));
const modeLabel = /** @type {HTMLElement} */ (document.getElementById('orb-mode-label'));
const modeBox = /** @type {HTMLElement} */ (document.getElementById('orb-mode-box'));
const modeSelect = /** @type {HTMLSelectElement} */ (document.getElementById('orb-mode'));
const askButton = /** @type {HTMLButtonElement} */ (document.getElementById('ask-orb'));

/** @type {Readonly<Record<string, string>>} How each orb mode reads on the page. */
const MODE_TEXT = Object.freeze({
  [OrbMode.LISTEN]: 'orb: listens only',
  [OrbMode.ADDRESSED]: 'orb: answers when addressed',
  [OrbMode.ACTIVE]: 'orb: answers the client',
});

/**
 * @param {string} mode
 * @returns {string}
 */
function modeText(mode) {
  return MODE_TEXT[mode] ?? `orb: ${mode}`;
}

roomLabel.textContent = roomId;
document.title = `${roomId} · coaching call`;
document.body.dataset.role = role;

const view = new CallView(tiles);

const self = { userId, userName, userRole: role };
const selfTile = view.upsert(self, { self: true });
orbButton.hidden = role !== 'coach';
endButton.hidden = role !== 'coach';
historyLink.hidden = role !== 'coach';
historyLink.href = `/history?room=${encodeURIComponent(roomId)}`;
handButton.hidden = role !== 'client';

// Joining does not wait for the camera: the signaling round trips overlap with opening it,
// and the peer connections are created once the stream is there.
const media = openMedia();
// With a server that requires join tokens, the page is opened with ?token= (and the userId and
// role the token names); the token goes into the join unchanged. It is moved out of the address
// bar (and so out of the history) into this tab's sessionStorage, where a reload finds it again.
const tokenKey = `tri-party-token:${roomId}:${userId}`;
const tokenParam = params.get('token');
const token = tokenParam || sessionStorage.getItem(tokenKey) || undefined;
if (tokenParam !== null) {
  sessionStorage.setItem(tokenKey, tokenParam);
  params.delete('token');
  history.replaceState(null, '', `${location.pathname}?${params}${location.hash}`);
}
// ?relay=1: ICE through the TURN relay only (iceTransportPolicy "relay"), never a direct path.
const relayOnly = params.get('relay') === '1';
const client = new TriPartyClient({
  roomId, userId, userName, userRole: role, localStream: media, token, relayOnly,
});
// A handle for debugging in the console and for the end-to-end tests.
Object.assign(window, { triParty: client });

/**
 * Shows the room's orb mode on both pages (the coach's select follows it too), and the
 * "Ask the orb" button when there is an orb that may answer (not in listen).
 */
function refreshOrbMode() {
  const mode = client.orbMode;
  const orbHere = client.participants().some(isAi);
  modeLabel.hidden = mode === null;
  modeLabel.textContent = mode === null ? '' : modeText(mode);
  document.body.dataset.orbMode = mode ?? '';
  if (mode !== null) modeSelect.value = mode;
  modeBox.hidden = role !== 'coach' || mode === null;
  askButton.hidden = mode === null || mode === OrbMode.LISTEN || !orbHere;
}

function refreshOrbButton() {
  refreshOrbMode();
  const orbs = client.participants().filter(isAi);
  const paused = orbs.some((p) => client.peers.get(p.userId)?.status === 'paused');
  orbButton.disabled = orbs.length === 0;
  orbButton.textContent = paused ? 'Resume orb' : 'Pause orb';
  orbButton.dataset.action = paused ? 'resume' : 'pause';
}

/**
 * @param {string} state  the pill's data-state (its colour)
 * @param {string} text
 */
function setStatus(state, text) {
  statusPill.dataset.state = state;
  statusPill.textContent = text;
}

client.addEventListener('status', ({ detail }) => {
  if (detail.state === 'joined') setStatus('joined', 'in the room');
  else if (detail.state === 'connecting') setStatus('connecting', 'connecting…');
  else if (detail.state === 'reconnecting') {
    // The tiles and their media stay: the peer connections do not depend on the signaling.
    const seconds = (detail.delayMs ?? 0) / MS_PER_SECOND;
    setStatus('reconnecting', seconds < 1 ? 'reconnecting…' : `reconnecting in ${seconds.toFixed(1)} s…`);
  } else if (detail.code === CloseCode.SESSION_ENDED) {
    setStatus('ended', 'session ended');
    refreshOrbButton();
  } else {
    const replaced = detail.code === CloseCode.REPLACED;
    setStatus('ended', replaced ? 'opened in another tab' : 'left');
    if (replaced) notify('This call was opened again elsewhere; this page is now idle.', 'error');
    else if (detail.code !== CloseCode.NORMAL) notify(`Disconnected: ${detail.reason || detail.code}`, 'error');
    refreshOrbButton();
  }
});

client.addEventListener('peer-added', ({ detail: { peer, link, status } }) => {
  const ai = isAi(peer);
  const tile = view.upsert(peer, { ai });
  tile.setConnection(link === null ? 'not connected' : link.state);
  if (link !== null) tile.setStream(link.remoteStream);
  if (ai) {
    tile.setStatus(status);
    refreshOrbButton();
  }
});

client.addEventListener('peer-removed', ({ detail: { peer } }) => {
  view.remove(peer.userId);
  refreshOrbButton();
  // After End session: the orb that left sends no more summaries; no need to wait longer.
  if (endedByMe && isAi(peer)) finishEnded();
});

client.addEventListener('peer-presence', ({ detail: { peer, away } }) => {
  const link = client.peers.get(peer.userId)?.link;
  view.get(peer.userId)?.setConnection(away ? 'reconnecting…' : (link?.state ?? 'not connected'));
});

client.addEventListener('peer-state', ({ detail: { peer, state } }) => {
  view.get(peer.userId)?.setConnection(state);
});

client.addEventListener('track', ({ detail: { peer, stream } }) => {
  view.get(peer.userId)?.setStream(stream);
});

client.addEventListener('ai-status', ({ detail: { fromId, status } }) => {
  view.get(fromId)?.setStatus(status);
  refreshOrbButton();
});

// The live transcript: open on the coach's page, one click away on the client's.
const transcript = new TranscriptPanel(/** @type {HTMLElement} */ (document.getElementById('transcript')), {
  expanded: role === 'coach',
  nameOf: (speakerId, speakerRole) => {
    if (speakerId === userId) return 'You';
    const peer = client.peers.get(speakerId)?.peer;
    return peer?.userName || peer?.userRole || speakerRole;
  },
});

client.addEventListener('ai-transcript', ({ detail: { message } }) => {
  transcript.add(message);
});

client.addEventListener('ai-status', ({ detail: { message } }) => {
  if (typeof message.transcribing === 'boolean') transcript.setTranscribing(message.transcribing);
});

client.addEventListener('orb-mode', ({ detail: { mode, by } }) => {
  refreshOrbMode();
  if (by !== null && by !== userId) notify(`The coach set the ${modeText(mode)}.`);
});

modeSelect.addEventListener('change', () => {
  client.setOrbMode(modeSelect.value);
});

askButton.addEventListener('click', () => {
  if (client.askOrb()) notify('The orb is listening: ask it now.');
});

client.addEventListener('client-signal', ({ detail: { fromId, action, message } }) => {
  const peer = client.peers.get(fromId)?.peer;
  const tile = view.get(fromId);
  if (peer === undefined || tile === undefined) return;
  if (action === 'raise-hand') {
    tile.setHandRaised(true);
    notify(`${peer.userName || peer.userRole} raised a hand`, 'hand');
  } else if (action === 'lower-hand') {
    tile.setHandRaised(false);
  } else if (action === SHARE_SUMMARY && peer.userRole === 'coach' && typeof message.text === 'string') {
    showSummary(message.text);
  }
});

/**
 * Shows a summary (the orb's, on the coach's page; the coach's shared one, on the client's).
 * Later summaries replace earlier ones: the orb rewrites it as the session goes on.
 * @param {string} text
 */
function showSummary(text) {
  summaryText.textContent = text;
  summaryBox.hidden = false;
  shareButton.hidden = role !== 'coach';
}

/** Set once the coach's page has ended the session: leave when the summary is in. */
let endedByMe = false;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let summaryWait;

function finishEnded() {
  clearTimeout(summaryWait);
  client.leave();
  client.localStream?.getTracks().forEach((t) => t.stop());
  setStatus('ended', 'session ended');
}

client.addEventListener('ai-summary', ({ detail: { message } }) => {
  if (typeof message.text !== 'string') return;
  showSummary(message.text);
  if (endedByMe) finishEnded();
});

client.addEventListener('session-ended', () => {
  setStatus('ended', 'session ended');
  endButton.disabled = true;
  if (role === 'coach') {
    // The coach's page stays: it keeps its connection until the orb's last summary arrives
    // (or SUMMARY_WAIT_MS), and the summary stays on the page; the history has it too.
    endedByMe = true;
    notify('Session ended. Waiting for the summary…');
    summaryWait = setTimeout(finishEnded, SUMMARY_WAIT_MS);
  } else {
    notify('The coach ended the session.');
    client.localStream?.getTracks().forEach((t) => t.stop());
  }
});

// The history: with a join token, the coach's token opens its room's history (sent once, in
// a header, for a cookie); without one, the history asks for the admin login itself.
historyLink.addEventListener('click', async (event) => {
  event.preventDefault();
  if (token !== undefined) {
    await fetch('/api/history/login', {
      method: 'POST', credentials: 'same-origin', headers: { Authorization: `Bearer ${token}` },
    });
  }
  window.open(historyLink.href, '_blank', 'noopener');
});

endButton.addEventListener('click', () => {
  if (!confirm('End the session for everyone?')) return;
  client.endSession();
});

shareButton.addEventListener('click', () => {
  if (client.signal(SHARE_SUMMARY, { text: summaryText.textContent ?? '' })) notify('Summary shared.');
});

client.addEventListener('server-error', ({ detail }) => {
  notify(`Server: ${detail.message ?? detail.code}`, 'error');
});

client.addEventListener('link-failure', ({ detail: { peer, error } }) => {
  const who = peer === null ? '' : ` with ${peer.userName || peer.userId}`;
  notify(`Connection problem${who}: ${errorMessage(error, String(error))}`, 'error');
});

/**
 * Flips a mute button and the sending of its kind of media.
 * @param {HTMLButtonElement} button
 * @param {'audio' | 'video'} kind
 * @param {string} onLabel   the label while sending
 * @param {string} offLabel  the label while muted
 */
function toggle(button, kind, onLabel, offLabel) {
  const off = button.getAttribute('aria-pressed') !== 'true';
  button.setAttribute('aria-pressed', String(off));
  button.textContent = off ? offLabel : onLabel;
  client.setSending(kind, !off);
  /** @type {string[]} */
  const muted = [];
  if (micButton.getAttribute('aria-pressed') === 'true') muted.push('audio');
  if (camButton.getAttribute('aria-pressed') === 'true') muted.push('video');
  selfTile.setMuted(muted);
}

micButton.addEventListener('click', () => toggle(micButton, 'audio', 'Mute mic', 'Unmute mic'));
camButton.addEventListener('click', () => toggle(camButton, 'video', 'Stop camera', 'Start camera'));
micButton.disabled = true;
camButton.disabled = true;

orbButton.addEventListener('click', () => {
  client.controlOrb(orbButton.dataset.action === 'resume' ? 'resume' : 'pause');
});

handButton.addEventListener('click', () => {
  const raise = handButton.getAttribute('aria-pressed') !== 'true';
  if (!client.signal(raise ? 'raise-hand' : 'lower-hand')) return;
  handButton.setAttribute('aria-pressed', String(raise));
  handButton.textContent = raise ? 'Lower hand' : 'Raise hand';
  selfTile.setHandRaised(raise);
});

leaveButton.addEventListener('click', () => {
  client.leave();
  client.localStream?.getTracks().forEach((t) => t.stop());
  location.assign(`/?room=${encodeURIComponent(roomId)}`);
});

refreshOrbButton();
client.start();

const localStream = await media;
if (localStream !== null) selfTile.setStream(localStream);
micButton.disabled = !localStream?.getAudioTracks().length;
camButton.disabled = !localStream?.getVideoTracks().length;
