// The newspush browser client, a standalone ES module: follows topics of a newspush server from any page, on the
// server's origin or on another one (CORS_ORIGINS), over Socket.IO with replay, falling back to Server-Sent Events
// where WebSockets are blocked.
//
//   import { NewsPush } from 'https://push.example.com/client/newspush.js';
//   const news = new NewsPush({ topics: ['world'] });     // the server is where this module was loaded from
//   news.on('news', (event) => show(event.article));
//   news.on('state', (state) => ...);                     // connecting, live, reconnecting, offline (idle, closed)
//   await news.follow();  ...  news.close();
//
// Explicit states, full-jitter exponential reconnect backoff (at once when the browser says it is back online),
// callbacks of a replaced connection ignored (a generation counter), and a cursor: the id of the last event
// processed. Every handshake carries it, so a lost connection replays exactly what was missed, and it is saved in
// localStorage per set of topics, so the next visit with those topics replays what went out meanwhile. The cursor
// that filters duplicates lives in memory, one per client: tabs share localStorage, and one tab's progress must
// not make another skip an event.
import { io } from '../socket.io/socket.io.esm.min.js';

/** Follows every topic (the server's `*`). */
export const ALL_TOPICS = '*';
/**
 * As the only language: every version of every story, each as its own event (a tool that lists versions, such as
 * the newsroom console), instead of one alert per story.
 */
export const ALL_LANGUAGES = '*';

/** The server this module was served by. */
const HOME = new URL('../', import.meta.url).href;
const CURSORS_KEY = 'newspush.cursors';
const KEEP_CURSORS = 20;
const ID_RE = /^\d{1,16}-\d{1,16}$/;

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

// Text direction of an alert's language: the page and the banner lay alerts out with it.
export { setDirection, textDirection } from './direction.js';

const topicsKey = (topics) => [...topics].sort().join(',');

/** The story an article belongs to: its original's id (translations share it). */
export const storyOf = (article) => article.storyId ?? article.translationOf ?? article.id;

const MAX_LANGUAGES = 10;

/** A reader's languages as the server takes them: BCP 47 tags, canonical, no repeats, at most 10; [] for none. */
export function cleanLanguages(list) {
  const out = [];
  for (const tag of list ?? []) {
    try {
      const [canonical] = Intl.getCanonicalLocales(String(tag).trim());
      if (canonical && !out.includes(canonical)) out.push(canonical);
    } catch {
      // not a language tag: skipped
    }
  }
  return out.slice(0, MAX_LANGUAGES);
}

/** The languages a connection asks for: `*` alone (every version) as it is, any other list cleaned. */
const readerLanguages = (list) => (list?.length === 1 && list[0] === ALL_LANGUAGES ? [ALL_LANGUAGES] : cleanLanguages(list));

/** Whether an article in `tag` serves a reader asking for `pref` (one may be a subtag of the other). */
function languageMatches(tag, pref) {
  const t = tag.toLowerCase();
  const p = pref.toLowerCase();
  return t === p || t.startsWith(`${p}-`) || p.startsWith(`${t}-`);
}

/**
 * For a withdrawn version: the id of the version of its story the reader falls back to (the best of what is left
 * in the languages they accept, else the original), or null when nothing is left.
 */
export function fallbackOf(event, languages = []) {
  if (event?.type !== 'article.retracted' || !event.story) return null;
  const left = event.story.versions.filter((v) => v.id !== event.article.id);
  for (const pref of languages) {
    const v = left.find((x) => languageMatches(x.language, pref));
    if (v) return v.id;
  }
  return left.find((v) => v.id === event.story.id)?.id ?? null;
}

/** localStorage, or a stand-in when it is disabled (private modes, sandboxed frames). */
function defaultStorage() {
  try {
    localStorage.getItem(CURSORS_KEY);
    return localStorage;
  } catch {
    const m = new Map();
    return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, String(v)) };
  }
}

export class NewsPush extends EventTarget {
  /**
   * @param {{ server?: string, topics?: string[], languages?: string[], transports?: Array<'websocket' | 'sse'>, storage?: Storage }} [options]
   *   server: the newspush server's URL (default: where this module came from); topics: what to follow (default
   *   every topic); languages: the reader's, in order of preference (one alert per story, in the best of them;
   *   default none: the original; [ALL_LANGUAGES]: every version); transports: tried in order, SSE used when Socket.IO over WebSocket cannot connect.
   */
  constructor({ server = HOME, topics = [ALL_TOPICS], languages = [], transports = ['websocket', 'sse'], storage = defaultStorage() } = {}) {
    super();
    this.languages = readerLanguages(languages);
    this.server = new URL(server.endsWith('/') ? server : `${server}/`, location.href).href;
    this.topics = [...new Set(topics)];
    this.transports = transports.filter((t) => t === 'websocket' || t === 'sse');
    if (this.transports.length === 0) throw new TypeError('transports: websocket and/or sse');
    this.storage = storage;
    /** 'idle' | 'connecting' | 'live' | 'reconnecting' | 'offline' | 'closed' */
    this.state = 'idle';
    /** What the current connection uses: 'websocket' | 'sse' | null. */
    this.transport = null;
    /** The last event this client processed (a real id), or null. */
    this.lastId = null;
    /** Where the first connection starts when nothing was processed yet (a guess from the clock). */
    this.startAt = null;
    this.generation = 0;
    this.follows = 0;
    this.attempt = 0;
    this.dropped = false;
    /** Whether Socket.IO over WebSocket ever connected; until it does, a failure falls back to SSE. */
    this.websocketWorked = false;
    this.useSse = this.transports[0] === 'sse';
    this.timer = null;
    this.conn = null;
    this.onOnline = () => {
      // The network is back: try at once, and start the backoff over.
      if (this.state !== 'offline' && this.state !== 'reconnecting') return;
      this.attempt = 0;
      this.connectNow();
    };
    this.onOffline = () => {
      if (this.state === 'idle' || this.state === 'closed') return;
      this.dropped = true;
      this.setState('offline');
    };
    addEventListener('online', this.onOnline);
    addEventListener('offline', this.onOffline);
  }

  /** Listens to 'news' (an event), 'state' (a state name), 'resync' or 'error'; returns a function that stops. */
  on(type, fn) {
    const listener = (e) => fn(e.detail);
    this.addEventListener(type, listener);
    return () => this.removeEventListener(type, listener);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.emit('state', s);
  }

  /** A URL on the server (`api/v1/...`). */
  url(path) {
    return new URL(path, this.server);
  }

  /** The cursor last saved for exactly these topics, or null. */
  storedCursor(topics = this.topics) {
    const c = this.readCursors()[topicsKey(topics)];
    return typeof c?.id === 'string' && ID_RE.test(c.id) ? c.id : null;
  }

  readCursors() {
    try {
      const v = JSON.parse(this.storage.getItem(CURSORS_KEY) ?? '{}');
      return v && typeof v === 'object' ? v : {};
    } catch {
      return {};
    }
  }

  saveCursor(id) {
    if (this.topics.length === 0) return;
    const all = this.readCursors();
    all[topicsKey(this.topics)] = { id, at: Date.now() };
    const kept = Object.entries(all).sort(([, a], [, b]) => b.at - a.at).slice(0, KEEP_CURSORS);
    try {
      this.storage.setItem(CURSORS_KEY, JSON.stringify(Object.fromEntries(kept)));
    } catch {
      // Storage full or disabled: still works, the next visit just starts from the current list.
    }
  }

  /**
   * Where a client that has processed nothing starts: the cursor saved for these topics on an earlier visit, else
   * the newest event of these topics (so that nothing published while the page loads its list is lost). With no
   * event of these topics at all, a guess from the clock, used only in the handshake: a clock running ahead would
   * otherwise hide events, and the server answers a cursor it cannot place with resync.
   */
  async startingPoint() {
    const saved = this.storedCursor();
    if (saved) return { since: saved, real: true };
    const u = this.url('api/v1/events');
    u.searchParams.set('topics', this.topics.join(','));
    u.searchParams.set('limit', '1');
    const latest = await fetch(u).then((r) => (r.ok ? r.json() : { events: [] })).catch(() => ({ events: [] }));
    const id = latest.events?.at(-1)?.id;
    return typeof id === 'string' && ID_RE.test(id) ? { since: id, real: true } : { since: `${Date.now()}-0`, real: false };
  }

  /**
   * Follows `topics` (default: those given to the constructor). Takes the starting point first when nothing was
   * processed yet, then runs `beforeConnect` (a page loads its list there: whatever is published meanwhile is
   * replayed), then connects. The previous connection keeps delivering until the new one replaces it.
   */
  async follow(topics = this.topics, { beforeConnect } = {}) {
    if (this.state === 'closed') throw new Error('this client is closed');
    const call = ++this.follows;
    this.topics = [...new Set(topics)];
    if (!this.lastId && this.topics.length > 0) {
      const start = await this.startingPoint();
      if (call !== this.follows || this.lastId) return;
      if (start.real) this.lastId = start.since;
      else this.startAt = start.since;
    }
    if (beforeConnect) await beforeConnect();
    if (call !== this.follows || this.state === 'closed') return;
    if (this.lastId) this.saveCursor(this.lastId);
    this.attempt = 0;
    this.dropped = false;
    this.connectNow();
  }

  /** Changes the reader's languages; an open connection is made again with them (it replays from its cursor). */
  setLanguages(languages) {
    this.languages = readerLanguages(languages);
    if (this.state !== 'idle' && this.state !== 'closed' && this.topics.length > 0) this.connectNow();
  }

  /** Takes one event: drops what was processed already, hands the rest out, moves the cursor. */
  receive(event) {
    if (typeof event?.id !== 'string' || !ID_RE.test(event.id)) return;
    if (this.lastId && compareIds(event.id, this.lastId) <= 0) return;
    this.emit('news', event);
    this.lastId = event.id;
    this.saveCursor(event.id);
  }

  /**
   * After a resync: the old cursor cannot be replayed, and kept it would get a resync at every reconnect. The
   * server names the newest event of the history (`head`): what it sends after the resync is later, and what came
   * before is in the list the page reloads now (a page loads its list on every start too, so a saved head hides
   * nothing). Without one (an empty history) there is nothing to continue after, and the cursor stays.
   */
  continueFrom(head) {
    if (typeof head !== 'string' || !ID_RE.test(head)) return;
    this.lastId = head;
    this.startAt = null;
    this.saveCursor(head);
  }

  disconnect() {
    clearTimeout(this.timer);
    this.conn?.close();
    this.conn = null;
    this.transport = null;
  }

  connectNow() {
    this.disconnect();
    const gen = ++this.generation;
    if (this.state === 'closed') return;
    if (this.topics.length === 0) return this.setState('idle');
    if (!navigator.onLine) return this.setState('offline');
    this.setState(this.dropped ? 'reconnecting' : 'connecting');
    const current = () => gen === this.generation;
    let scheduled = false;
    const handlers = {
      live: () => {
        if (!current()) return;
        this.attempt = 0;
        this.dropped = false;
        this.setState('live');
      },
      news: (event) => current() && this.receive(event),
      resync: (detail) => {
        if (!current()) return;
        this.continueFrom(detail?.head);
        this.emit('resync', detail);
      },
      lost: (err) => {
        if (!current() || scheduled) return;
        scheduled = true;
        this.conn?.close();
        if (err?.data?.code === 'validation_failed') {
          // The server refuses these topics: trying again will not help.
          this.emit('error', err.data);
          return this.setState('idle');
        }
        this.dropped = true;
        if (!navigator.onLine) return this.setState('offline');
        if (this.transport === 'websocket' && !this.websocketWorked && this.transports.includes('sse')) {
          // WebSockets blocked (a proxy, a firewall): SSE from now on, at once.
          this.useSse = true;
          return this.connectNow();
        }
        this.setState('reconnecting');
        this.timer = setTimeout(() => current() && this.connectNow(), backoff(this.attempt++));
      },
    };
    const since = this.lastId ?? this.startAt;
    if (this.useSse) {
      this.transport = 'sse';
      this.conn = this.openSse(since, handlers);
    } else {
      this.transport = 'websocket';
      this.conn = this.openSocket(since, {
        ...handlers,
        live: () => {
          this.websocketWorked = true;
          handlers.live();
        },
      });
    }
  }

  openSocket(since, h) {
    const base = new URL(this.server);
    const socket = io(base.origin, {
      path: `${base.pathname}socket.io`,
      reconnection: false, // our own backoff, so that every handshake carries the latest cursor
      forceNew: true,
      transports: ['websocket'],
      auth: { topics: this.topics, ...(since ? { since } : {}), ...(this.languages.length ? { languages: this.languages } : {}) },
    });
    socket.on('connect', h.live);
    socket.on('news', h.news);
    socket.on('resync', h.resync);
    socket.on('disconnect', () => h.lost());
    socket.on('connect_error', (err) => h.lost(err));
    return {
      close: () => {
        socket.removeAllListeners();
        socket.disconnect();
      },
      /** The underlying socket (for code that needs Socket.IO itself, e.g. to emit `subscribe`). */
      socket,
    };
  }

  openSse(since, h) {
    const u = this.url('api/v1/stream');
    u.searchParams.set('topics', this.topics.join(','));
    if (since) u.searchParams.set('since', since);
    if (this.languages.length) u.searchParams.set('languages', this.languages.join(','));
    const source = new EventSource(u);
    source.onopen = h.live;
    source.onmessage = (m) => {
      try {
        h.news(JSON.parse(m.data));
      } catch {
        // not an event: ignore
      }
    };
    source.addEventListener('resync', (m) => h.resync(JSON.parse(m.data || '{}')));
    // EventSource would retry by itself, with the URL's old cursor: the same backoff as Socket.IO is used instead.
    source.onerror = () => h.lost();
    return { close: () => source.close() };
  }

  /** Closes the connection and stops following for good (listeners, timers, sockets). */
  close() {
    this.follows++;
    this.generation++;
    this.disconnect();
    removeEventListener('online', this.onOnline);
    removeEventListener('offline', this.onOffline);
    this.setState('closed');
  }
}
