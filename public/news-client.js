// The live connection of the alerts page: explicit states, jittered exponential reconnect backoff, callbacks of
// an old connection ignored (generation counter), and a cursor kept in localStorage so that a reload or a lost
// connection replays exactly what was missed. Uses the Socket.IO client the server serves.
import { io } from '/socket.io/socket.io.esm.min.js';

const CURSOR_KEY = 'newspush.cursor';

/** Orders event ids `<ms>-<seq>` numerically. */
export function compareIds(a, b) {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am === bm ? (as < bs ? -1 : as > bs ? 1 : 0) : am < bm ? -1 : 1;
}

/** Full jitter: a random wait up to min(cap, base * 2^attempt). */
export function backoff(attempt, base = 500, cap = 20_000) {
  return Math.round(Math.random() * Math.min(cap, base * 2 ** attempt));
}

export class LiveNews {
  /** @param {{ topics: string[], onEvent: (e: any) => void, onResync: () => void, onState: (s: string) => void }} o */
  constructor(o) {
    this.topics = [...o.topics];
    this.onEvent = o.onEvent;
    this.onResync = o.onResync;
    this.onState = o.onState;
    this.state = 'idle';
    this.generation = 0;
    this.attempt = 0;
    this.timer = null;
    this.socket = null;
    addEventListener('online', () => this.state === 'offline' && this.connectNow());
    addEventListener('offline', () => this.setState('offline'));
  }

  get cursor() {
    return localStorage.getItem(CURSOR_KEY);
  }

  set cursor(id) {
    if (id) localStorage.setItem(CURSOR_KEY, id);
    else localStorage.removeItem(CURSOR_KEY);
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.onState(s);
  }

  start() {
    this.connectNow();
  }

  /** Follows other topics: a new connection whose handshake carries the topics and the cursor. */
  setTopics(topics) {
    this.topics = [...topics];
    this.connectNow();
  }

  connectNow() {
    clearTimeout(this.timer);
    const gen = ++this.generation;
    this.socket?.removeAllListeners();
    this.socket?.disconnect();
    if (this.topics.length === 0) {
      this.setState('idle');
      return;
    }
    if (!navigator.onLine) {
      this.setState('offline');
      return;
    }
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const since = this.cursor;
    const socket = io({
      reconnection: false, // our own backoff, so the handshake always carries the latest cursor
      transports: ['websocket', 'polling'],
      auth: { topics: this.topics, ...(since ? { since } : {}) },
    });
    this.socket = socket;
    const current = () => gen === this.generation;
    socket.on('connect', () => {
      if (!current()) return;
      this.attempt = 0;
      this.setState('live');
    });
    socket.on('news', (event) => {
      if (!current()) return;
      const cursor = this.cursor;
      if (cursor && compareIds(event.id, cursor) <= 0) return; // already processed
      this.onEvent(event);
      this.cursor = event.id;
    });
    socket.on('resync', () => current() && this.onResync());
    const lost = () => {
      if (!current()) return;
      if (!navigator.onLine) return this.setState('offline');
      this.setState('reconnecting');
      this.timer = setTimeout(() => current() && this.connectNow(), backoff(this.attempt++));
    };
    socket.on('disconnect', lost);
    socket.on('connect_error', lost);
  }

  stop() {
    this.generation++;
    clearTimeout(this.timer);
    this.socket?.disconnect();
    this.setState('idle');
  }
}
