// @ts-check
// The lobby: pick a room, a name and a role, then go to the call page.

const ROOM_ID = /^[A-Za-z0-9_.~-]{1,128}$/;
const REMEMBER = 'tri-party:lobby';

// Two windows opened on a fresh server land in the same room unless the user picks another.
const DEFAULT_ROOM = 'demo-room';

/**
 * What the lobby remembers of the last join in this browser.
 * @typedef {{room?: string, name?: string, role?: string}} Remembered
 */

/** @returns {Remembered} */
function remembered() {
  try {
    return JSON.parse(localStorage.getItem(REMEMBER) ?? '{}') ?? {};
  } catch {
    return {};
  }
}

// The elements of index.html.
const form = /** @type {HTMLFormElement} */ (document.getElementById('join-form'));
const roomInput = /** @type {HTMLInputElement} */ (document.getElementById('room'));
const nameInput = /** @type {HTMLInputElement} */ (document.getElementById('name'));
const roleChoice = /** @type {RadioNodeList} */ (form.elements.namedItem('role'));

const previous = remembered();
roomInput.value = new URLSearchParams(location.search).get('room') ?? previous.room ?? DEFAULT_ROOM;
nameInput.value = previous.name ?? '';
if (previous.role === 'coach' || previous.role === 'client') {
  roleChoice.value = previous.role;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const room = roomInput.value.trim();
  if (!ROOM_ID.test(room)) {
    roomInput.setCustomValidity('1-128 letters, digits or _ . ~ -');
    roomInput.reportValidity();
    return;
  }
  const role = roleChoice.value === 'coach' ? 'coach' : 'client';
  const name = nameInput.value.trim().slice(0, 128);
  try {
    localStorage.setItem(REMEMBER, JSON.stringify({ room, name, role }));
  } catch {
    // Private mode: nothing to remember, the call still works.
  }
  const query = new URLSearchParams({ role, name });
  location.assign(`/room/${encodeURIComponent(room)}?${query}`);
});
roomInput.addEventListener('input', () => roomInput.setCustomValidity(''));
