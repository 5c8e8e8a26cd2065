import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import { z } from 'zod';
import { ApiError, errorBody, toApiError, validationError } from '../domain/errors.ts';
import { compareIds, cursorSchema, type EventId, type NewsEvent } from '../domain/event.ts';
import { ALL_TOPICS, audienceOf, followedTopicSchema, matchesAny, MAX_TOPICS_PER_CONNECTION, type Topic } from '../domain/topic.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { LiveFeed } from './feed.ts';

const subscribeSchema = z.strictObject({
  topics: z.array(followedTopicSchema).min(1, 'at least one topic').max(MAX_TOPICS_PER_CONNECTION, `at most ${MAX_TOPICS_PER_CONNECTION} topics`),
  since: cursorSchema.optional(),
});
const unsubscribeSchema = z.strictObject({ topics: z.array(followedTopicSchema).max(MAX_TOPICS_PER_CONNECTION) });

type Ack = (answer: unknown) => void;

interface ClientState {
  topics: Set<Topic>;
  /** The last pending subscription change, if any (see serial()). */
  queue: Promise<unknown> | null;
}

const room = (t: Topic) => `t:${t}`;

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
  private readonly removeSink: () => void;

  constructor(
    httpServer: HttpServer,
    private readonly feed: LiveFeed,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    corsOrigins: string[] | null,
  ) {
    this.io = new Server(httpServer, {
      cors: corsOrigins ? { origin: corsOrigins.includes('*') ? true : corsOrigins } : undefined,
      maxHttpBufferSize: 64 * 1024,
      // Clients only send small control messages; compression would cost CPU per socket on every broadcast.
      perMessageDeflate: false,
    });
    // Socket.IO keeps the handshake request of every connection unless told not to (kilobytes each).
    this.io.engine.on('connection', (raw: { request: unknown }) => {
      raw.request = null;
    });
    this.io.use((socket, next) => {
      const auth = socket.handshake.auth as { topics?: unknown; since?: unknown };
      if (auth.topics === undefined && auth.since === undefined) return next();
      const r = subscribeSchema.safeParse({ topics: auth.topics, ...(auth.since !== undefined ? { since: auth.since } : {}) });
      if (r.success) return next();
      const e = validationError(r.error.issues, 'auth');
      next(Object.assign(new Error(e.message), { data: errorBody(e).error }));
    });
    this.io.on('connection', (socket) => this.onConnection(socket));
    this.removeSink = feed.add((e) => this.deliver(e));
  }

  private deliver(event: NewsEvent): void {
    this.io.to([...audienceOf(event.topics), ALL_TOPICS].map(room)).emit('news', event);
    this.metrics.deliveries.inc({ channel: 'socketio', kind: 'live' });
  }

  /** Subscription changes of one socket run one after another, so two replays never interleave. */
  private serial<T>(state: ClientState, fn: () => Promise<T>): Promise<T> {
    const run = (state.queue ?? Promise.resolve()).then(fn, fn);
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
            if (typeof ack === 'function') ack(failure(err));
            // A replay that failed half-way (storage down) has taken the socket out of its rooms: rather than leave
            // a silent gap, end the connection after the answer; the client reconnects with its cursor and replays.
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
            for (const t of r.data.topics) {
              state(socket).topics.delete(t);
              socket.leave(room(t));
            }
            return { ok: true, topics: [...state(socket).topics] };
          })
          .then(
            (answer) => typeof ack === 'function' && ack(answer),
            (err) => typeof ack === 'function' && ack(failure(err)),
          );
      },
      disconnect() {
        channel.metrics.connections.dec({ channel: 'socketio' });
      },
    };
  })();

  private onConnection(socket: Socket): void {
    const state: ClientState = { topics: new Set(), queue: null };
    socket.data = state;
    this.metrics.connections.inc({ channel: 'socketio' });
    socket.on('disconnect', this.listeners.disconnect);
    socket.on('subscribe', this.listeners.subscribe);
    socket.on('unsubscribe', this.listeners.unsubscribe);

    const auth = socket.handshake.auth as { topics?: unknown; since?: unknown };
    // Nothing reads the handshake headers after the connection is made; they would stay for its lifetime.
    socket.handshake.headers = {};
    if (auth.topics !== undefined) {
      this.serial(state, () => this.subscribe(socket, state, { topics: auth.topics, ...(auth.since !== undefined ? { since: auth.since } : {}) })).catch((err) => {
        // Typically storage down during the replay: the client reconnects (with backoff) and its cursor replays then.
        this.logger.warn({ err }, 'handshake subscription failed');
        socket.emit('error', failure(err).error);
        socket.disconnect(true);
      });
    }
  }

  private async subscribe(socket: Socket, state: ClientState, payload: unknown) {
    const r = subscribeSchema.safeParse(payload);
    if (!r.success) throw validationError(r.error.issues);
    const { topics, since } = r.data;
    const all = new Set([...state.topics, ...topics]);
    if (all.size > MAX_TOPICS_PER_CONNECTION) {
      throw new ApiError('validation_failed', `A connection follows at most ${MAX_TOPICS_PER_CONNECTION} topics.`, [
        { field: 'topics', message: `at most ${MAX_TOPICS_PER_CONNECTION} topics per connection` },
      ]);
    }
    if (since === undefined) {
      for (const t of topics) state.topics.add(t);
      socket.join([...topics].map(room));
      return { ok: true, topics: [...state.topics], replayed: 0, resync: false };
    }
    // Out of the rooms while catching up: live events are buffered by catchUp and sent in order after the replay.
    const before = [...state.topics];
    const deliveredUpTo: EventId | null = before.length > 0 ? this.feed.lastDispatched : null;
    for (const t of before) socket.leave(room(t));
    state.topics = all;
    const following = [...all];
    const result = await this.feed.catchUp({
      topics: following,
      since,
      alreadyHas: (e) => deliveredUpTo !== null && compareIds(e.id, deliveredUpTo) <= 0 && matchesAny(before, e.topics),
      send: (e) => {
        socket.emit('news', e);
        this.metrics.deliveries.inc({ channel: 'socketio', kind: 'replay' });
      },
      onResync: () => socket.emit('resync', { topics: following, reason: 'history_truncated' }),
      goLive: () => {
        if (socket.connected) socket.join(following.map(room));
      },
    });
    return { ok: true, topics: following, replayed: result.replayed, resync: result.resync };
  }

  /** Clients connected to this node that follow any of `topics` (hierarchy included, and `*`), each once. */
  async followers(topics: readonly Topic[]): Promise<number> {
    return (await this.io.of('/').adapter.sockets(new Set([...audienceOf(topics), ALL_TOPICS].map(room)))).size;
  }

  /** Disconnects every client; the HTTP server belongs to the app, which closes it (io.close() would wait on it). */
  async close(): Promise<void> {
    this.removeSink();
    this.io.disconnectSockets(true);
    this.io.engine.close();
  }
}
