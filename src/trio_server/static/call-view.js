// @ts-check
// The tiles of the call page: one per participant, with video, name, role, connection state,
// a speaking indicator, and for the orb a status badge.
//
// Every piece of participant text goes through textContent: names are display text chosen by
// other people and must never become markup.

import { watchSpeaking } from './speaking.js';

/**
 * Who a tile shows: a participant, or this page's own user (no participantType).
 * @typedef {{userId: string, userName: string, userRole: string}} TileSubject
 */

/**
 * What kind of tile: this page's own user, an AI participant, or (neither) another human.
 * @typedef {{self?: boolean, ai?: boolean}} TileKind
 */

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {string} [text]  set as textContent, never as markup
 * @returns {HTMLElementTagNameMap[K]}
 */
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** @type {ReadonlyMap<string, string>} */
const ROLE_LABELS = new Map([['coach', 'Coach'], ['client', 'Client'], ['ai', 'AI']]);

/**
 * @param {string} role
 * @returns {string}
 */
function roleLabel(role) {
  return ROLE_LABELS.get(role) ?? role;
}

/**
 * @param {string} name
 * @returns {string}
 */
function initials(name) {
  const letters = name.trim().split(/\s+/).map((w) => [...w][0] ?? '').join('');
  return [...letters].slice(0, 2).join('').toUpperCase() || '?';
}

export class Tile {
  /**
   * @param {TileSubject} who
   * @param {TileKind} [kind]
   */
  constructor(who, { self = false, ai = false } = {}) {
    this.userId = who.userId;
    this.stopMeter = () => {};
    this.root = el('article', 'tile');
    this.root.dataset.userId = who.userId;
    this.root.dataset.role = who.userRole;
    this.root.dataset.kind = self ? 'self' : ai ? 'ai' : 'human';

    this.video = el('video');
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.video.muted = self; // never play our own microphone back
    this.placeholder = el('div', 'placeholder', initials(who.userName || who.userRole));
    this.placeholder.setAttribute('aria-hidden', 'true');

    const top = el('div', 'tile-top');
    this.badge = el('span', 'badge orb-status');
    this.badge.hidden = !ai;
    this.hand = el('span', 'hand', 'hand raised');
    this.hand.hidden = true;
    this.muteMark = el('span', 'mute-mark');
    this.muteMark.hidden = true;
    top.append(this.badge, this.hand, this.muteMark);

    const bottom = el('div', 'tile-bottom');
    this.nameEl = el('span', 'name', who.userName || '(no name)');
    this.nameEl.title = who.userName;
    const role = roleLabel(who.userRole);
    this.roleEl = el('span', 'role', self ? `${role} · you` : role);
    this.connEl = el('span', 'conn');
    bottom.append(this.nameEl, this.roleEl, this.connEl);

    this.root.append(this.video, this.placeholder, top, bottom);
    this.setConnection(self ? 'local' : 'waiting');
    if (ai) this.setStatus(null);
  }

  /**
   * Shows `stream` in the tile and (re)starts its speaking meter.
   * @param {MediaStream} stream
   */
  setStream(stream) {
    if (this.video.srcObject !== stream) this.video.srcObject = stream;
    this.root.classList.toggle('has-video', stream.getVideoTracks().length > 0);
    this.stopMeter();
    this.stopMeter = watchSpeaking(stream, (speaking) => {
      this.root.classList.toggle('speaking', speaking);
      this.root.dataset.speaking = String(speaking);
    });
    this.video.play().catch(() => {});
  }

  /** @param {string} state  a connection state, 'local' for the own tile */
  setConnection(state) {
    this.root.dataset.state = state;
    this.connEl.textContent = state === 'local' ? '' : state;
  }

  /**
   * The orb's `ai_status`; null until the orb has said anything.
   * @param {string | null} status
   */
  setStatus(status) {
    this.badge.dataset.status = status ?? 'unknown';
    this.badge.textContent = status ?? 'joining…';
  }

  /** @param {boolean} raised */
  setHandRaised(raised) {
    this.hand.hidden = !raised;
    this.root.classList.toggle('hand-raised', raised);
  }

  /** @param {string[]} kinds  the muted kinds of media: 'audio', 'video' */
  setMuted(kinds) {
    this.muteMark.hidden = kinds.length === 0;
    this.muteMark.textContent = kinds.map((k) => (k === 'audio' ? 'mic off' : 'cam off')).join(' · ');
  }

  remove() {
    this.stopMeter();
    this.video.srcObject = null;
    this.root.remove();
  }
}

/** Height over width of a tile: video is 16:9. */
const TILE_RATIO = 9 / 16;
/** Steps tried for the top row's width in the three-tile layout. */
const FIT_STEPS = 48;

/**
 * The largest 16:9 tiles that fit `count` tiles into `width` x `height` with `gap` between
 * them: the best uniform grid (any number of columns), and for three tiles also two side by
 * side over a larger third (the featured tile), which fills a landscape window better.
 * @param {number} count
 * @param {number} width
 * @param {number} height
 * @param {number} gap
 * @returns {{widths: number[], featured: boolean}} each tile's width in px (the featured
 *   tile's last), and whether the featured layout won
 */
export function fitTiles(count, width, height, gap) {
  /** @type {{area: number, widths: number[], featured: boolean}} */
  let best = { area: 0, widths: [], featured: false };
  for (let cols = 1; cols <= count; cols += 1) {
    const rows = Math.ceil(count / cols);
    const w = Math.min((width - gap * (cols - 1)) / cols, (height - gap * (rows - 1)) / rows / TILE_RATIO);
    const area = count * w * w * TILE_RATIO;
    if (w > 0 && area > best.area) best = { area, widths: Array(count).fill(w), featured: false };
  }
  if (count === 3) {
    const topMax = Math.min((width - gap) / 2, (height - gap) / 2 / TILE_RATIO);
    for (let step = 1; step <= FIT_STEPS; step += 1) {
      const top = (topMax * step) / FIT_STEPS;
      const bottom = Math.min(width, (height - gap - top * TILE_RATIO) / TILE_RATIO);
      const area = (2 * top * top + bottom * bottom) * TILE_RATIO;
      if (bottom >= top && area > best.area) best = { area, widths: [top, top, bottom], featured: true };
    }
  }
  return { widths: best.widths.map((w) => Math.max(0, Math.floor(w) - 1)), featured: best.featured };
}

/** The grid of tiles, keyed by userId; it sizes them to fill its box (see `fitTiles`). */
export class CallView {
  /** @param {HTMLElement} grid */
  constructor(grid) {
    this.grid = grid;
    /** @type {Map<string, Tile>} */
    this.tiles = new Map();
    new ResizeObserver(() => this._layout()).observe(grid);
  }

  /**
   * The tile of `who`, created (as `kind`) when there is none yet.
   * @param {TileSubject} who
   * @param {TileKind} [kind]
   * @returns {Tile}
   */
  upsert(who, kind) {
    let tile = this.tiles.get(who.userId);
    if (tile === undefined) {
      tile = new Tile(who, kind);
      this.tiles.set(who.userId, tile);
      this.grid.append(tile.root);
      this._layout();
    }
    return tile;
  }

  /**
   * @param {string} userId
   * @returns {Tile | undefined}
   */
  get(userId) {
    return this.tiles.get(userId);
  }

  /** @param {string} userId */
  remove(userId) {
    const tile = this.tiles.get(userId);
    if (tile === undefined) return;
    this.tiles.delete(userId);
    tile.remove();
    this._layout();
  }

  _layout() {
    this.grid.dataset.count = String(this.tiles.size);
    const tiles = [...this.tiles.values()];
    if (tiles.length === 0) return;
    const style = getComputedStyle(this.grid);
    const gap = parseFloat(style.columnGap) || 0;
    const width = this.grid.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const height = this.grid.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    const { widths, featured } = fitTiles(tiles.length, width, height, gap);
    // The featured tile (below the other two) is the first other human: for a coach, the client.
    const star = featured
      ? (tiles.find((t) => t.root.dataset.kind === 'human') ?? tiles.find((t) => t.root.dataset.kind !== 'self') ?? tiles[0])
      : undefined;
    let next = 0;
    for (const tile of tiles) {
      const w = tile === star ? widths[widths.length - 1] : widths[next++];
      tile.root.style.width = `${w}px`;
      tile.root.style.order = tile === star ? '1' : '0';
    }
  }
}
