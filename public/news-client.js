// The live connection of the alerts page: explicit states, jittered exponential reconnect backoff, callbacks of
// an old connection ignored (generation counter), and a cursor (the id of the last event processed) kept in
// localStorage so that a reload or a lost connection replays exactly what was missed. Uses the Socket.IO client
// the server serves.
//
// The cursor that filters duplicates lives in memory, one per page: several tabs of the site share localStorage,
// and a cursor written by one tab must never make another skip an event it has not shown. localStorage keeps the
// last cursor of each set of topics, for the next visit with those topics.
import { io } from '/socket.io/socket.io.esm.min.js';

const CURSORS_KEY = 'newspush.cursors';
const KEEP_CURSORS = 20;

/** Orders event ids `<ms>-<seq>` numerically. */
export function compareIds(a, b) {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am === bm ? (as < bs ? -1 : as > bs ? 1 : 0) : am < bm ? -1 : 1;
}

/** Full jitter with a floor: a random wait between base/2 and min(cap, base * 2^attempt). */
export function backoff(attempt, base = 500, cap = 20_000) {
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 16));
  return Math.round(base / 2 + Math.random() * (ceiling - base / 2));
}

const topicsKey = (topics) => [...topics].sort().join(',');

function readCursors() {
  try {
    const v = JSON.parse(localStorage.getItem(CURSORS_KEY) ?? '{}');
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

/** The cursor last saved for exactly these topics, or null. */
export function storedCursor(topics) {
  const c = readCursors()[topicsKey(topics)];
  return typeof c?.id === 'string' && /^\d{1,16}-\d{1,16}$/.test(c.id) ? c.id : null;
}

function saveCursor(topics, id) {
  if (topics.length === 0) return;
  const all = readCursors();
  all[topicsKey(topics)] = { id, at: Date.now() };
  const kept = Object.entries(all).sort(([, a], [, b]) => b.at - a.at).slice(0, KEEP_CURSORS);
  try {
    localStorage.setItem(CURSORS_KEY, JSON.stringify(Object.fromEntries(kept)));
  } catch {
    // Storage full or disabled: the page still works, a reload just starts from the current list.
  }
}

export class LiveNews {
  /** @param {{ onEvent: (e: any) => void, onResync: () => void, onState: (s: string) => void }} o */
  constructor(o) {
    this.onEvent = o.onEvent;
    this.onResync = o.onResync;
    this.onState = o.onState;
    this.topics = [];
    /** The last event this page processed (a real id), or null. */
    this.lastId = null;
    /** Where the first connection starts when nothing was processed yet. */
    this.startAt = null;
    this.state = 'idle';
    this.generation = 0;
    this.attempt = 0;
    /** Whether a connection of these topics was lost (the next attempt is a reconnection). */
    this.dropped = false;
    this.timer = null;
    this.socket = null;
    addEventListener('online', () => {
      // The network is back: try at once, and start the backoff over.
      if (this.state !== 'offline' && this.state !== 'reconnecting') return;
      this.attempt = 0;
      this.connectNow();
    });
    addEventListener('offline', () => {
      if (this.state === 'idle') return;
      this.dropped = true;
      this.setState('offline');
    });
  }

  /** What the next handshake sends as `since`. */
  get cursor() {
    return this.lastId ?? this.startAt;
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.onState(s);
  }

  /**
   * Follows `topics`. `since` (optional) is where to start when this page has processed nothing yet: a real event
   * id is also used to drop duplicates; `real: false` marks a guess (e.g. from the clock) used only for the
   * handshake, since a guess may be ahead of the server's ids.
   */
  follow(topics, since = null, { real = true } = {}) {
    this.topics = [...topics];
    if (since && !this.lastId) {
      if (real) this.lastId = since;
      else this.startAt = since;
    }
    if (this.lastId) saveCursor(this.topics, this.lastId);
    this.attempt = 0;
    this.dropped = false;
    this.connectNow();
  }

  /** Reconnects with the same topics (after stop()). */
  start() {
    this.attempt = 0;
    this.dropped = false;
    this.connectNow();
  }

  connectNow() {
    clearTimeout(this.timer);
    const gen = ++this.generation;
    this.socket?.removeAllListeners();
    this.socket?.disconnect();
    this.socket = null;
    if (this.topics.length === 0) {
      this.setState('idle');
      return;
    }
    if (!navigator.onLine) {
      this.setState('offline');
      return;
    }
    this.setState(this.dropped ? 'reconnecting' : 'connecting');
    const since = this.cursor;
    const socket = io({
      reconnection: false, // our own backoff, so that every handshake carries the latest cursor
      forceNew: true,
      transports: ['websocket', 'polling'],
      auth: { topics: this.topics, ...(since ? { since } : {}) },
    });
    this.socket = socket;
    const current = () => gen === this.generation;
    socket.on('connect', () => {
      if (!current()) return;
      this.attempt = 0;
      this.dropped = false;
      this.setState('live');
    });
    socket.on('news', (event) => {
      if (!current()) return;
      if (this.lastId && compareIds(event.id, this.lastId) <= 0) return; // already processed
      this.onEvent(event);
      this.lastId = event.id;
      saveCursor(this.topics, event.id);
    });
    socket.on('resync', () => {
      if (current()) this.onResync();
    });
    let scheduled = false;
    const lost = () => {
      if (!current() || scheduled) return;
      scheduled = true;
      this.dropped = true;
      if (!navigator.onLine) return this.setState('offline');
      this.setState('reconnecting');
      this.timer = setTimeout(() => current() && this.connectNow(), backoff(this.attempt++));
    };
    socket.on('disconnect', lost);
    socket.on('connect_error', lost);
  }

  /** Closes the connection; start() or follow() opens a new one. */
  stop() {
    this.generation++;
    clearTimeout(this.timer);
    this.socket?.removeAllListeners();
    this.socket?.disconnect();
    this.socket = null;
    this.setState('idle');
  }
}
