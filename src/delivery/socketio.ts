import { ServerResponse, type Server as HttpServer, type IncomingMessage } from 'node:http';
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { Server, type Namespace, type Socket } from 'socket.io';
import * as wsLib from 'ws';
import { z } from 'zod';
import { ApiError, errorBody, toApiError, validationError } from '../domain/errors.ts';
import { compareIds, cursorSchema, type EventId, type NewsEvent } from '../domain/event.ts';
import { ALL_TOPICS, audienceOf, followedTopicSchema, matchesAny, MAX_TOPICS_PER_CONNECTION, type Topic } from '../domain/topic.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import { liveLanguageListSchema } from '../domain/article.ts';
import { readerGets } from '../domain/story.ts';
import { consume } from '../ops/limits.ts';
import type { ConnectionLimits } from './connections.ts';
import { ClientGoneError, type LiveFeed } from './feed.ts';

const subscribeSchema = z.strictObject({
  topics: z.array(followedTopicSchema).min(1, 'at least one topic').max(MAX_TOPICS_PER_CONNECTION, `at most ${MAX_TOPICS_PER_CONNECTION} topics`),
  since: cursorSchema.optional(),
  /** Languages in order of preference: one alert per story, in the best of them (domain/story.ts); `*`: every version. */
  languages: liveLanguageListSchema.nullish(),
});
const unsubscribeSchema = z.strictObject({ topics: z.array(followedTopicSchema).max(MAX_TOPICS_PER_CONNECTION) });

type Ack = (answer: unknown) => void;

/**
 * Kept per socket for its lifetime, so kept small: at 10,000 idle connections every field counts (a Set costs
 * ~300 bytes, an AbortController with its signal ~750; docs/benchmarks.md).
 */
interface ClientState {
  /** The topics it follows (at most MAX_TOPICS_PER_CONNECTION: an array is smaller than a Set). */
  topics: readonly Topic[];
  /** The socket's language preferences, as its language room names them ('' for none). */
  languages: string;
  /** The last pending subscription change, if any (see serial()). */
  queue: Promise<unknown> | null;
  /** Subscription changes queued and not finished. */
  pending: number;
  /** Set on disconnect: queued subscription work is dropped. */
  closed: boolean;
  /** While a replay runs: aborted on disconnect, which stops it. */
  replay: AbortController | null;
  /** The client's address, for the history read budget. */
  address: string;
  /** The last event written to it live (an event in several of its rooms is written once). */
  lastLive: string | null;
  /** The dispatch pass its TCP socket was corked in. */
  corked: number;
}

/** Subscription changes a socket may have queued at once; more are refused rather than queued without bound. */
const MAX_PENDING = 4;

/** What the channel needs from the app to budget history reads per client address. */
export interface HistoryBudget {
  /** Per-address limit of reads with a cursor (handshake `since`, `subscribe` with `since`); null: none. */
  limiter: RateLimiterAbstract | null;
  /** The client's address as the HTTP routes see it (proxy headers trusted as TRUST_PROXY says). */
  addressOf: (req: IncomingMessage) => string;
  /** Caps on open connections; every Engine.IO connection counts from its handshake to its close. */
  connections?: ConnectionLimits;
}

/** The `ws` socket under a WebSocket transport: its frame sender, and the TCP socket underneath. */
interface RawWebSocket {
  readyState: number;
  _sender: { sendFrame(frame: Buffer[], cb?: () => void): void };
  _socket: { writableLength: number; cork(): void; uncork(): void };
}

/** The engine.io socket under a Socket.IO socket: what tells whether the client has taken what it was sent. */
interface EngineConn {
  readyState: string;
  upgrading: boolean;
  writeBuffer: unknown[];
  write(data: string, options: { wsPreEncodedFrame: Buffer[] }): void;
  transport: { name: string; socket?: RawWebSocket; writable: boolean; on(e: string, f: () => void): void; off(e: string, f: () => void): void };
  on(e: string, f: () => void): void;
  off(e: string, f: () => void): void;
  newspushAddress?: string;
  /** When its write buffer was last handed to the transport (or when it connected). */
  newspushFlushedAt?: number;
}

/**
 * Resolves once everything emitted to the socket has been handed to the network (the engine's write buffer is
 * empty and its transport has finished writing); rejects when the connection closes first.
 */
function drained(socket: Socket): Promise<void> {
  const conn = socket.conn as unknown as EngineConn;
  return new Promise((resolve, reject) => {
    let transport = conn.transport;
    const check = () => {
      if (conn.readyState === 'closed' || socket.disconnected) return done(new ClientGoneError());
      if (conn.writeBuffer.length === 0 && conn.transport.writable) return done();
    };
    const later = () => setImmediate(check);
    const upgraded = () => {
      transport.off('ready', later);
      transport = conn.transport;
      transport.on('ready', later);
      later();
    };
    const done = (err?: Error) => {
      transport.off('ready', later);
      conn.off('drain', later);
      conn.off('upgrade', upgraded);
      conn.off('close', later);
      if (err) reject(err);
      else resolve();
    };
    transport.on('ready', later);
    conn.on('drain', later);
    conn.on('upgrade', upgraded);
    conn.on('close', later);
    check();
  });
}

/** One empty object for what every socket's handshake no longer needs. */
const NOTHING = Object.freeze({}) as Record<string, never>;

const room = (t: Topic) => `t:${t}`;
/**
 * Sockets with the same ordered languages share a room; an event of a story goes to the topic rooms except the
 * language rooms for which it is not the best version (few distinct preferences, so still one encode per node).
 */
const LANG = 'l:';
const langRoom = (languages: string) => LANG + languages;
const prefsOf = (languages: string) => (languages === '' ? null : languages.split(','));

/** ws's frame encoder (not in its type definitions), as Socket.IO's adapter uses it to pre-frame broadcasts. */
const Sender = (wsLib as unknown as { Sender: { frame(data: Buffer, opts: { readOnly: boolean; mask: boolean; rsv1: boolean; opcode: number; fin: boolean }): Buffer[] } }).Sender;

/**
 * The raw WebSocket of a connection that has nothing waiting in Engine.IO (no packet queued, no write in
 * progress, not upgrading): a frame written to it now arrives in order with everything Engine.IO sent or sends.
 */
function idleWebSocket(conn: EngineConn): RawWebSocket | null {
  const ws = conn.transport.socket;
  if (conn.transport.name !== 'websocket' || !ws || ws.readyState !== wsLib.WebSocket.OPEN) return null;
  if (conn.readyState !== 'open' || conn.upgrading || conn.writeBuffer.length > 0 || !conn.transport.writable) return null;
  return ws;
}

/** The TCP socket under a WebSocket connection (undefined for polling). */
function tcpOf(conn: EngineConn): RawWebSocket['_socket'] | undefined {
  return conn.transport.name === 'websocket' ? conn.transport.socket?._socket : undefined;
}

/** Engine.IO's stand-in response for the middlewares of a WebSocket upgrade (not exported by engine.io). */
interface UpgradeResponse {
  req: IncomingMessage | null;
  socket: Duplex;
}

/**
 * Engine.IO (6.6) makes a stand-in response for the middlewares of a WebSocket upgrade, whose constructor does
 * `socket.once("close", () => this.emit("close"))` on the TCP socket: that listener, the response and the upgrade
 * request it holds (headers, raw headers, query) then stay for the connection's lifetime (~1.7 KB a connection,
 * measured with heap snapshots), for a 'close' event only middlewares would listen to. This is the app's only
 * Engine.IO middleware and listens to nothing, so both are let go: the listener is the socket's last 'close'
 * listener when the middlewares run (Node's HTTP server removed its own at the upgrade; `ws` adds its own after),
 * and is removed only if it is that once-wrapped arrow. (With a middleware Engine.IO refuses WebTransport
 * sessions; this app offers none.)
 */
function releaseUpgradeResponse(res: UpgradeResponse): void {
  res.req = null;
  const last = res.socket.rawListeners('close').at(-1) as { listener?: () => void } | undefined;
  if (last?.listener && /^\(\)\s*=>\s*this\.emit\(["']close["']\)$/.test(String(last.listener))) {
    res.socket.removeListener('close', last as () => void);
  }
}

function failure(err: unknown) {
  return { ok: false, ...errorBody(toApiError(err)) };
}

/**
 * Socket.IO delivery: one room per followed topic; an event goes to the rooms of its topics and their ancestors
 * (Socket.IO sends it once to a socket in several of them, encoded once for all). A subscription with `since`
 * replays through LiveFeed.catchUp before the socket joins its rooms.
 */
export class SocketIoChannel {
  readonly io: Server;
  private readonly nsp: Namespace;
  private readonly removeSink: () => void;
  private readonly removePassEnd: () => void;
  /** TCP sockets corked during a dispatch pass of several events, uncorked (one write each) at its end. */
  private corked: Array<RawWebSocket['_socket']> = [];
  private readonly sweep: NodeJS.Timeout;

  constructor(
    httpServer: HttpServer,
    private readonly feed: LiveFeed,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    corsOrigins: string[] | null,
    private readonly budget: HistoryBudget = { limiter: null, addressOf: (req) => req.socket.remoteAddress ?? '' },
  ) {
    this.io = new Server(httpServer, {
      cors: corsOrigins ? { origin: corsOrigins.includes('*') ? true : corsOrigins } : undefined,
      maxHttpBufferSize: 64 * 1024,
      // Clients only send small control messages; compression would cost CPU per socket on every broadcast.
      perMessageDeflate: false,
      // Refused at the handshake, before a connection exists: polling gets 403 with the message, WebSocket 400.
      allowRequest: (req, callback) => {
        const why = this.budget.connections?.check(this.budget.addressOf(req));
        callback(why ? this.budget.connections!.refused('socketio', why).message : null, !why);
      },
    });
    // Socket.IO keeps the handshake request of every connection unless told not to (kilobytes each).
    // The client's address is taken from it first (behind a proxy, from the headers the app trusts).
    const connections = this.budget.connections;
    // One function for every connection ('close' is emitted once, with the connection as `this`): no closure each.
    function released(this: { newspushAddress?: string }): void {
      connections?.release(this.newspushAddress ?? '');
    }
    this.io.engine.on('connection', (raw: { request: IncomingMessage | null; newspushAddress?: string; newspushFlushedAt?: number; transport: EngineConn['transport']; on(e: 'close', f: () => void): void }) => {
      if (raw.request) raw.newspushAddress = this.budget.addressOf(raw.request);
      raw.request = null;
      if (connections) {
        connections.take(raw.newspushAddress ?? '');
        raw.on('close', released);
      }
      raw.newspushFlushedAt = Date.now();
      // Engine.IO leaves a no-op 'error' listener (a closure, ~170 bytes with its list) on a WebSocket that
      // connected directly; it removes it only from one upgraded from polling. Its transport handles errors.
      const ws = raw.transport.socket as unknown as EventEmitter | undefined;
      const noop = ws?.listeners('error').find((f) => f.name === 'onUpgradeError');
      if (noop) ws!.removeListener('error', noop as (...args: unknown[]) => void);
    });
    this.io.engine.use((_req: IncomingMessage, res: ServerResponse | UpgradeResponse, next: () => void) => {
      if (!(res instanceof ServerResponse)) releaseUpgradeResponse(res);
      next();
    });
    this.io.engine.on('flush', (conn: EngineConn) => {
      // A heartbeat flushed behind frames the TCP socket still holds (written straight to it) is no progress.
      if ((tcpOf(conn)?.writableLength ?? 0) === 0) conn.newspushFlushedAt = Date.now();
    });
    this.sweep = setInterval(() => this.dropStalled(), Math.max(1_000, feed.limits.drainTimeoutMs / 3));
    this.sweep.unref();
    this.io.use((socket, next) => {
      const refuse = (err: unknown) => {
        const e = failure(err).error;
        next(Object.assign(new Error(e.message), { data: e }));
      };
      const auth = socket.handshake.auth as { topics?: unknown; since?: unknown; languages?: unknown };
      if (auth.topics === undefined && auth.since === undefined && auth.languages === undefined) return next();
      const r = subscribeSchema.safeParse(handshakeSubscription(auth));
      if (!r.success) return refuse(validationError(r.error.issues, 'auth'));
      if (r.data.since === undefined) return next();
      consume(this.budget.limiter, this.addressOf(socket)).then(() => next(), refuse);
    });
    // The language rooms in use (the adapter's rooms also hold one per socket: too many to scan per event).
    const adapter = this.io.of('/').adapter;
    adapter.on('create-room', (name: string) => name.startsWith(LANG) && this.langRooms.add(name));
    adapter.on('delete-room', (name: string) => this.langRooms.delete(name));
    this.io.on('connection', (socket) => this.onConnection(socket));
    this.nsp = this.io.of('/');
    this.removeSink = feed.add((e) => this.deliver(e));
    this.removePassEnd = feed.onPassEnd(() => this.uncork());
  }

  /**
   * A live event goes to the sockets in the rooms of its topics, their ancestors and `*`, each once. It is
   * encoded once, as Socket.IO would (an EVENT packet in an Engine.IO message, pre-framed for WebSocket). A
   * WebSocket connection with nothing waiting in Engine.IO gets the frame written straight to its socket (the
   * bytes Socket.IO would write, without its per-socket bookkeeping); any other (polling, upgrading, still
   * writing) gets it through Engine.IO, queued behind what waits there. In a pass of several events a socket's
   * writes are corked and go out as one. Returns how many sockets it went to (for the alert's report).
   */
  private deliver(event: NewsEvent): number {
    const packet = `2${JSON.stringify(['news', event])}`;
    const frame = Sender.frame(Buffer.from(`4${packet}`), { readOnly: false, mask: false, rsv1: false, opcode: 1, fin: true });
    const cork = this.feed.passSize > 1;
    const now = Date.now();
    let sent = 0;
    // Sockets of the language rooms this event is not for (a story's other versions are theirs).
    const excluded = new Set<string>();
    for (const name of this.langRooms) {
      if (readerGets(event, prefsOf(name.slice(LANG.length)), true)) continue;
      for (const id of this.nsp.adapter.rooms.get(name) ?? []) excluded.add(id);
    }
    for (const t of [...audienceOf(event.topics), ALL_TOPICS]) {
      const ids = this.nsp.adapter.rooms.get(room(t));
      if (!ids) continue;
      for (const id of ids) {
        const socket = this.nsp.sockets.get(id);
        if (!socket) continue;
        const state = socket.data as ClientState;
        if (state.lastLive === event.id || excluded.has(id)) continue;
        state.lastLive = event.id;
        sent++;
        const conn = socket.conn as unknown as EngineConn;
        const ws = idleWebSocket(conn);
        if (!ws) {
          conn.write(packet, { wsPreEncodedFrame: frame });
          continue;
        }
        const tcp = ws._socket;
        // Written out since the last write: the client is reading (the stalled-socket sweep goes by this).
        if (tcp.writableLength === 0) conn.newspushFlushedAt = now;
        if (cork && state.corked !== this.passId) {
          state.corked = this.passId;
          tcp.cork();
          this.corked.push(tcp);
        }
        ws._sender.sendFrame(frame);
      }
    }
    this.metrics.deliveries.inc({ channel: 'socketio', kind: 'live' });
    return sent;
  }

  private readonly langRooms = new Set<string>();

  private passId = 1;

  private uncork(): void {
    this.passId++;
    const corked = this.corked;
    this.corked = [];
    for (const tcp of corked) tcp.uncork();
  }

  /**
   * Live delivery cannot wait for a socket (a broadcast is encoded once for all): a socket whose transport has
   * still not finished its last write (or has events waiting for it) a drain deadline after it was last handed
   * any has stopped reading, and is dropped before its queue grows without bound. It reconnects with its cursor.
   */
  private dropStalled(): void {
    const now = Date.now();
    for (const socket of this.io.of('/').sockets.values()) {
      const conn = socket.conn as unknown as EngineConn;
      const tcp = tcpOf(conn);
      // Queued in Engine.IO, or written straight to the WebSocket and not taken by the network yet.
      const waiting = conn.writeBuffer.length > 0 || !conn.transport.writable || (tcp?.writableLength ?? 0) > 0;
      if (!waiting || now - (conn.newspushFlushedAt ?? now) <= this.feed.limits.drainTimeoutMs) continue;
      this.logger.info('dropping a Socket.IO client that stopped reading');
      socket.disconnect(true);
    }
  }

  private addressOf(socket: Socket): string {
    return (socket.conn as unknown as EngineConn).newspushAddress ?? socket.handshake.address;
  }

  /**
   * Subscription changes of one socket run one after another, so two replays never interleave. At most
   * MAX_PENDING wait; once the socket has gone, what it queued is dropped instead of run.
   */
  private serial<T>(state: ClientState, fn: () => Promise<T>): Promise<T> {
    if (state.pending >= MAX_PENDING) {
      return Promise.reject(new ApiError('rate_limited', `At most ${MAX_PENDING} subscription changes may wait at once; wait for the acks.`));
    }
    state.pending++;
    const step = () => {
      if (state.closed) return Promise.reject(new ClientGoneError());
      return fn();
    };
    const run = (state.queue ?? Promise.resolve()).then(step, step);
    void run.then(
      () => state.pending--,
      () => state.pending--,
    );
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    state.queue = tail;
    void tail.then(() => {
      if (state.queue === tail) state.queue = null;
    });
    return run;
  }

  /**
   * Listeners are shared by all sockets (Socket.IO calls them with the socket as `this`) and per-socket state is
   * one small object in socket.data: at 10,000 connections, per-socket closures add up.
   */
  private readonly listeners = (() => {
    const channel = this;
    const state = (socket: Socket) => socket.data as ClientState;
    return {
      subscribe(this: Socket, payload: unknown, ack?: Ack) {
        const socket = this;
        channel.serial(state(socket), () => channel.subscribe(socket, state(socket), payload)).then(
          (answer) => typeof ack === 'function' && ack(answer),
          (err) => {
            // Gone, or did not read within the deadline: nobody to answer; make sure it is disconnected.
            if (err instanceof ClientGoneError) return void socket.disconnect(true);
            if (typeof ack === 'function') ack(failure(err));
            // A replay that failed half-way (storage down, or a client that stopped reading) has taken the socket
            // out of its rooms: rather than leave a silent gap, end the connection after the answer; the client
            // reconnects with its cursor and replays.
            if (!(err instanceof ApiError)) socket.disconnect(true);
          },
        );
      },
      unsubscribe(this: Socket, payload: unknown, ack?: Ack) {
        const socket = this;
        channel
          .serial(state(socket), async () => {
            const r = unsubscribeSchema.safeParse(payload);
            if (!r.success) throw validationError(r.error.issues);
            const leaving = new Set(r.data.topics);
            state(socket).topics = state(socket).topics.filter((t) => !leaving.has(t));
            for (const t of leaving) socket.leave(room(t));
            return { ok: true, topics: [...state(socket).topics] };
          })
          .then(
            (answer) => typeof ack === 'function' && ack(answer),
            (err) => typeof ack === 'function' && ack(failure(err)),
          );
      },
      disconnect(this: Socket) {
        state(this).closed = true;
        state(this).replay?.abort();
        channel.metrics.connections.dec({ channel: 'socketio' });
      },
    };
  })();

  private onConnection(socket: Socket): void {
    const state: ClientState = { topics: [], languages: '', queue: null, pending: 0, closed: false, replay: null, address: this.addressOf(socket), lastLive: null, corked: 0 };
    socket.data = state;
    void socket.join(langRoom(''));
    this.metrics.connections.inc({ channel: 'socketio' });
    socket.on('disconnect', this.listeners.disconnect);
    socket.on('subscribe', this.listeners.subscribe);
    socket.on('unsubscribe', this.listeners.unsubscribe);

    const auth = socket.handshake.auth as { topics?: unknown; since?: unknown; languages?: unknown };
    // Nothing reads the handshake's headers, query or auth after the connection is made (auth was read above);
    // they would stay for its lifetime.
    socket.handshake.headers = NOTHING;
    socket.handshake.query = NOTHING;
    socket.handshake.auth = NOTHING;
    if (auth.topics !== undefined) {
      this.serial(state, () => this.subscribe(socket, state, handshakeSubscription(auth), true)).catch((err) => {
        // Typically storage down during the replay, or a client that does not read: the client reconnects (with
        // backoff) and its cursor replays then.
        if (err instanceof ClientGoneError) return void socket.disconnect(true);
        this.logger.warn({ err }, 'handshake subscription failed');
        socket.emit('error', failure(err).error);
        socket.disconnect(true);
      });
    }
  }

  private async subscribe(socket: Socket, state: ClientState, payload: unknown, fromHandshake = false) {
    const r = subscribeSchema.safeParse(payload);
    if (!r.success) throw validationError(r.error.issues);
    const { topics, since, languages } = r.data;
    if (languages !== undefined) {
      socket.leave(langRoom(state.languages));
      state.languages = languages ? languages.join(',') : '';
      void socket.join(langRoom(state.languages));
    }
    const prefs = prefsOf(state.languages);
    const all = new Set([...state.topics, ...topics]);
    if (all.size > MAX_TOPICS_PER_CONNECTION) {
      throw new ApiError('validation_failed', `A connection follows at most ${MAX_TOPICS_PER_CONNECTION} topics.`, [
        { field: 'topics', message: `at most ${MAX_TOPICS_PER_CONNECTION} topics per connection` },
      ]);
    }
    if (since === undefined) {
      state.topics = [...all];
      socket.join([...topics].map(room));
      return { ok: true, topics: [...state.topics], replayed: 0, resync: false };
    }
    // The handshake's cursor was budgeted when the connection was made; a later subscribe with one is budgeted here.
    if (!fromHandshake) await consume(this.budget.limiter, state.address);
    // Out of the rooms while catching up: live events are buffered by catchUp and sent in order after the replay.
    const before = [...state.topics];
    const deliveredUpTo: EventId | null = before.length > 0 ? this.feed.lastDispatched : null;
    for (const t of before) socket.leave(room(t));
    const following = [...all];
    state.topics = following;
    // One controller per replay (not per socket: most sockets never replay after their handshake).
    const replay = new AbortController();
    if (state.closed) replay.abort();
    state.replay = replay;
    const result = await this.feed.catchUp({
      topics: following,
      since,
      alreadyHas: (e) => deliveredUpTo !== null && compareIds(e.id, deliveredUpTo) <= 0 && matchesAny(before, e.topics),
      send: (e) => {
        if (!readerGets(e, prefs, true)) return;
        socket.emit('news', e);
        this.metrics.deliveries.inc({ channel: 'socketio', kind: 'replay' });
      },
      drained: () => drained(socket),
      signal: replay.signal,
      onResync: (reason, head) => socket.emit('resync', { topics: following, reason, head }),
      goLive: () => {
        if (socket.connected) socket.join(following.map(room));
      },
    }).finally(() => {
      if (state.replay === replay) state.replay = null;
    });
    return { ok: true, topics: following, replayed: result.replayed, resync: result.resync };
  }

  /** Clients connected to this node that follow any of `topics` (hierarchy included, and `*`), each once. */
  async followers(topics: readonly Topic[]): Promise<number> {
    return (await this.io.of('/').adapter.sockets(new Set([...audienceOf(topics), ALL_TOPICS].map(room)))).size;
  }

  /** Disconnects every client; the HTTP server belongs to the app, which closes it (io.close() would wait on it). */
  async close(): Promise<void> {
    clearInterval(this.sweep);
    this.removeSink();
    this.removePassEnd();
    this.uncork();
    this.io.disconnectSockets(true);
    this.io.engine.close();
  }
}

/** The subscription a handshake's `auth` asks for (its fields as given, for the schema to judge). */
function handshakeSubscription(auth: { topics?: unknown; since?: unknown; languages?: unknown }) {
  return {
    topics: auth.topics,
    ...(auth.since !== undefined ? { since: auth.since } : {}),
    ...(auth.languages !== undefined ? { languages: auth.languages } : {}),
  };
}
