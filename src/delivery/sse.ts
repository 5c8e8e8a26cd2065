import type { Socket } from 'node:net';
import type { Request, RequestHandler, Response } from 'express';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { z } from 'zod';
import { ApiError, validationError } from '../domain/errors.ts';
import { cursorSchema, type EventId, type NewsEvent } from '../domain/event.ts';
import { ALL_TOPICS, audienceOf, matchesAny, topicListParam, type Topic } from '../domain/topic.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import { liveLanguageListParam } from '../domain/article.ts';
import { readerGets } from '../domain/story.ts';
import { consume } from '../ops/limits.ts';
import { ClientGoneError, type LiveFeed, type ResyncReason } from './feed.ts';

/** A client reading slower than this many buffered bytes is dropped; EventSource reconnects and replays. */
const MAX_BUFFERED = 1024 * 1024;

export const streamQuery = z.object({ topics: topicListParam, since: cursorSchema.optional(), languages: liveLanguageListParam.optional() });

interface SseClient {
  res: Response;
  /**
   * The TCP socket, when the response is chunked (HTTP/1.1): messages are written to it straight, framed as the
   * response's chunks. Null otherwise (HTTP/1.0 client or proxy): they go through the response.
   */
  tcp: Socket | null;
  topics: Topic[];
  /** The last event written to it live (an event under several of its topics is written once). */
  lastSent: string | null;
  /** The dispatch pass its TCP socket was corked in. */
  corked: number;
  /** Ordered language preferences (null: none): one alert per story, in the best of them. */
  languages: string[] | null;
  /** The same as a key: streams with equal preferences get the same answer from readerGets, asked once per event. */
  languageKey: string;
  /** Aborted when the stream closes; only streams that replay (and may wait for it) have one. */
  gone: AbortController | null;
}

/** The stream's request (and so its client) is found from the one close listener shared by every stream. */
const CLIENT = Symbol('sseClient');
type StreamRequest = Request & { [CLIENT]?: SseClient };
const CRLF = Buffer.from('\r\n');

/** `data` as one HTTP/1.1 chunk (size line, data, CRLF): what the response would write for it. */
function chunkOf(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, CRLF]);
}

const HELLO = Buffer.from('retry: 3000\n: connected\n\n');
const HEARTBEAT = Buffer.from(': heartbeat\n\n');
const HEARTBEAT_CHUNK = chunkOf(HEARTBEAT);

export function frame(event: NewsEvent): string {
  return `id: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * `id:` the head the client continues from, so that EventSource's own reconnect sends it as Last-Event-ID rather
 * than the cursor that cannot be replayed (none for an empty history: there is nothing to continue after).
 */
export function resyncFrame(topics: readonly Topic[], reason: ResyncReason, head: EventId | null): string {
  return `event: resync\n${head !== null ? `id: ${head}\n` : ''}data: ${JSON.stringify({ topics, reason, head })}\n\n`;
}

/** Resolves once the response has written out what it buffered; rejects when the client goes first. */
function drained(res: Response): Promise<void> {
  if (res.destroyed || res.writableEnded) return Promise.reject(new ClientGoneError());
  if (!res.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      res.off('drain', ok);
      res.off('close', closed);
      if (err) reject(err);
      else resolve();
    };
    const ok = () => done();
    const closed = () => done(new ClientGoneError());
    res.on('drain', ok);
    res.on('close', closed);
  });
}

/**
 * Server-Sent Events, EventSource-compatible: `id:` is the event id so the browser's automatic reconnect sends
 * `Last-Event-ID` and replays from there; a comment line every `heartbeatMs` keeps proxies from closing it.
 */
export class SseChannel {
  private readonly clients = new Set<SseClient>();
  /**
   * Live clients by followed topic, as Socket.IO rooms: an event reaches the clients of its topics, their
   * ancestors and `*`, without looking at any other client.
   */
  private readonly byTopic = new Map<Topic, Set<SseClient>>();
  private readonly removeSink: () => void;
  private readonly removePassEnd: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  /** The close listener of every stream's request (one function, not a closure per stream). */
  private readonly onClose: (this: StreamRequest) => void;

  constructor(
    private readonly feed: LiveFeed,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    heartbeatMs = 15_000,
    /** Per-address budget of streams opened with a cursor (Last-Event-ID or since); null: none. */
    private readonly historyLimiter: RateLimiterAbstract | null = null,
  ) {
    const channel = this;
    this.onClose = function (this: StreamRequest) {
      const c = this[CLIENT];
      if (c) channel.closed(c);
    };
    this.removeSink = feed.add((e) => this.deliver(e));
    this.removePassEnd = feed.onPassEnd(() => this.uncork());
    // One timer for every stream; the comment is framed once and written like a live event.
    this.heartbeat = setInterval(() => {
      for (const c of this.clients) this.write(c, HEARTBEAT, HEARTBEAT_CHUNK);
    }, heartbeatMs);
    this.heartbeat.unref();
  }

  /** Parses the query; throws validation_failed before anything is streamed. */
  static parse(req: Request): { topics: Topic[]; since?: string; languages?: string[] } {
    const lastEventId = req.headers['last-event-id'];
    const query = { ...req.query, ...(typeof lastEventId === 'string' && lastEventId !== '' ? { since: lastEventId } : {}) };
    const r = streamQuery.safeParse(query);
    if (!r.success) throw validationError(r.error.issues);
    return r.data;
  }

  handler(): RequestHandler {
    return async (req, res, next) => {
      let q: { topics: Topic[]; since?: string; languages?: string[] };
      try {
        q = SseChannel.parse(req);
        if (q.since !== undefined) await consume(this.historyLimiter, req.ip ?? '');
      } catch (err) {
        return next(err instanceof ApiError ? err : new ApiError('validation_failed'));
      }
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      });
      res.flushHeaders();
      const chunked = (res as Response & { chunkedEncoding?: boolean }).chunkedEncoding === true;
      const languages = q.languages ?? null;
      const client: SseClient = {
        res,
        tcp: chunked ? (res.socket ?? null) : null,
        topics: [...new Set(q.topics)],
        languages,
        languageKey: languages?.join(',') ?? '',
        lastSent: null,
        corked: 0,
        gone: q.since === undefined ? null : new AbortController(),
      };
      this.clients.add(client);
      this.metrics.connections.inc({ channel: 'sse' });
      (req as StreamRequest)[CLIENT] = client;
      req.once('close', this.onClose);
      this.write(client, HELLO);
      if (q.since === undefined) {
        this.join(client);
        return;
      }
      const gone = client.gone!;
      try {
        await this.feed.catchUp({
          topics: q.topics,
          since: q.since,
          send: (e) => {
            if (!readerGets(e, client.languages, true)) return;
            this.write(client, frame(e));
            this.metrics.deliveries.inc({ channel: 'sse', kind: 'replay' });
          },
          drained: () => drained(res),
          signal: gone.signal,
          onResync: (reason, head) => this.write(client, resyncFrame(q.topics, reason, head)),
          goLive: () => {
            if (!gone.signal.aborted) this.join(client);
          },
        });
      } catch (err) {
        // Storage down while replaying, or a client that stopped reading: end the stream; EventSource retries
        // with the same Last-Event-ID.
        if (!(err instanceof ClientGoneError)) this.logger.warn({ err }, 'SSE replay failed');
        if (err instanceof ClientGoneError) res.destroy();
        else res.end();
      }
    };
  }

  private closed(c: SseClient): void {
    c.gone?.abort();
    this.clients.delete(c);
    this.leave(c);
    this.metrics.connections.dec({ channel: 'sse' });
  }

  private join(c: SseClient): void {
    for (const t of c.topics) {
      let set = this.byTopic.get(t);
      if (!set) this.byTopic.set(t, (set = new Set()));
      set.add(c);
    }
  }

  private leave(c: SseClient): void {
    for (const t of c.topics) {
      const set = this.byTopic.get(t);
      if (!set) continue;
      set.delete(c);
      if (set.size === 0) this.byTopic.delete(t);
    }
  }

  /**
   * A live event is framed once for every stream: the SSE message as bytes, and the same bytes as one HTTP/1.1
   * chunk. A chunked stream gets the chunk written straight to its TCP socket, after everything the response wrote
   * before (same socket, in order), without the response's per-write work; others go through the response. In a
   * pass of several events a stream's writes are corked and leave as one. Whether a reader gets the event
   * (languages) is asked once per distinct set of preferences, not per stream. Returns how many streams it went to
   * (for the alert's report).
   */
  private deliver(event: NewsEvent): number {
    let data: Buffer | null = null;
    let chunk: Buffer | null = null;
    const cork = this.feed.passSize > 1;
    const gets = new Map<string, boolean>();
    let n = 0;
    for (const t of [...audienceOf(event.topics), ALL_TOPICS]) {
      const set = this.byTopic.get(t);
      if (!set) continue;
      for (const c of set) {
        if (c.lastSent === event.id) continue;
        c.lastSent = event.id;
        let ok = gets.get(c.languageKey);
        if (ok === undefined) gets.set(c.languageKey, (ok = readerGets(event, c.languages, true)));
        if (!ok) continue;
        data ??= Buffer.from(frame(event));
        if (c.tcp !== null) {
          chunk ??= chunkOf(data);
          if (cork && c.corked !== this.passId && this.writable(c)) {
            c.corked = this.passId;
            c.tcp.cork();
            this.corked.push(c.tcp);
          }
        }
        this.write(c, data, chunk);
        n++;
      }
    }
    if (n > 0) this.metrics.deliveries.inc({ channel: 'sse', kind: 'live' }, n);
    return n;
  }

  private passId = 1;
  /** TCP sockets corked during a dispatch pass of several events. */
  private corked: Socket[] = [];

  private uncork(): void {
    this.passId++;
    const corked = this.corked;
    this.corked = [];
    for (const tcp of corked) tcp.uncork();
  }

  /** False (and the stream ended) when it has gone, or has more than MAX_BUFFERED unwritten: a slow reader. */
  private writable(c: SseClient): boolean {
    if (c.res.writableEnded || c.res.destroyed) return false;
    if (c.res.writableLength > MAX_BUFFERED) {
      this.logger.warn('dropping a slow SSE client');
      c.res.end();
      return false;
    }
    return true;
  }

  /**
   * Writes one SSE message. Live events and heartbeats come pre-framed as a chunk and go straight to a chunked
   * stream's TCP socket; the rest (the first lines, replays, resync) go through the response, whose buffer is
   * what a replay waits on to drain (`drained`).
   */
  private write(c: SseClient, data: string | Buffer, chunk?: Buffer | null): void {
    if (!this.writable(c)) return;
    if (c.tcp !== null && chunk) c.tcp.write(chunk);
    else c.res.write(data);
  }

  /** Streams open on this node that follow any of `topics` (hierarchy included, and `*`). */
  followers(topics: readonly Topic[]): number {
    let n = 0;
    for (const c of this.clients) if (matchesAny(c.topics, topics)) n++;
    return n;
  }

  /** Ends every stream (clients reconnect elsewhere with Last-Event-ID). */
  close(): void {
    clearInterval(this.heartbeat);
    this.removeSink();
    this.removePassEnd();
    this.uncork();
    for (const c of this.clients) c.res.end();
    this.clients.clear();
    this.byTopic.clear();
  }
}
