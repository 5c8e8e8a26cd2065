import type { Redis } from 'ioredis';
import { ReplyError } from 'ioredis';
import type { Article } from '../domain/article.ts';
import type { Cursor, EventId, NewsEvent } from '../domain/event.ts';
import type { HeldVersion } from '../domain/held.ts';
import type { VersionRecord } from '../domain/history.ts';
import { ALL_TOPICS, audienceOf, matchesAny, type Topic } from '../domain/topic.ts';
import { isTransientReplyError, type RedisFactory } from './redis-connection.ts';
import { COMMIT, COMMIT_HELD, READ_PAGE, TRIM } from './redis-scripts.ts';
import {
  StoreUnavailableError,
  type ArticleQuery,
  type CommitRequest,
  type CommitResult,
  type HeldChange,
  type HeldCommitRequest,
  type HistoryPage,
  type HistoryReadOptions,
  type ResyncReason,
  type Retention,
  type Store,
} from './store.ts';

type Commander = Redis & {
  newsCommit(...args: Array<string | number>): Promise<string | null>;
  newsCommitHeld(...args: Array<string | number>): Promise<number>;
  newsTrim(...args: Array<string | number>): Promise<number>;
  newsReadPage(...args: Array<string | number>): Promise<string[]>;
};

const PAGE = 200;
const TAIL_BATCH = 500;
const TAIL_BLOCK_MS = 5_000;
/** Replies by which Redis says it cannot take the command now, not that the command is wrong. */

/** Field/value pairs of XINFO STREAM as a map. */
function infoMap(reply: unknown[]): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (let i = 0; i + 1 < reply.length; i += 2) m.set(String(reply[i]), reply[i + 1]);
  return m;
}

/** The held-version arguments of the commit scripts: flag, expected JSON, new JSON, new release time in ms. */
function heldArgs(change: HeldChange | undefined): [string, string, string, string] {
  if (!change) return ['', '', '', ''];
  const { expected, next } = change;
  return ['1', expected ? JSON.stringify(expected) : '', next ? JSON.stringify(next) : '', next?.releaseAt ? String(Date.parse(next.releaseAt)) : ''];
}

function toEvent([id, fields]: [string, string[]]): NewsEvent {
  return { id, ...(JSON.parse(fields[1]!) as Omit<NewsEvent, 'id'>) };
}

/**
 * The shared engine: articles as JSON strings with a TTL, sorted-set indexes per topic (and ancestors) for
 * listings, and the history as one Redis Stream whose ids order the whole deployment. Every node tails the
 * stream, which is also how events cross nodes.
 */
export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  private readonly redis: Commander;
  private readonly k: (...parts: string[]) => string;
  /** The blocking reader's own connection, made up front so the tail does not start late. */
  private readonly tailConn: Redis;
  private readonly tailHandlers = new Set<(e: NewsEvent) => void>();
  private tailRunning = false;
  /**
   * Where a handler added now starts (undefined until the tail has started): the tail's start, then the last id
   * it delivered, so that what a later handler is told it starts after is exactly what it missed.
   */
  private tailStart: EventId | null | undefined = undefined;
  private startListeners: Array<(position: EventId | null) => void> = [];
  private closed = false;

  private constructor(
    private readonly factory: RedisFactory,
    readonly retention: Retention,
    private readonly now: () => number,
  ) {
    this.redis = factory.shared('commands') as Commander;
    this.redis.defineCommand('newsCommit', { numberOfKeys: 9, lua: COMMIT });
    this.redis.defineCommand('newsTrim', { numberOfKeys: 3, lua: TRIM });
    this.redis.defineCommand('newsCommitHeld', { numberOfKeys: 3, lua: COMMIT_HELD });
    this.redis.defineCommand('newsReadPage', { lua: READ_PAGE });
    this.k = (...parts) => factory.keys.key(...parts);
    // Queues its XREAD until connected (unlike the command connection), and never gives up on one.
    this.tailConn = factory.create('tail', { enableOfflineQueue: true, maxRetriesPerRequest: null });
  }

  /** Connects (waiting up to `waitMs` for Redis; the server still starts when it is down, and is not ready). */
  static async open(factory: RedisFactory, retention: Retention, opts: { now?: () => number; waitMs?: number } = {}): Promise<RedisStore> {
    const store = new RedisStore(factory, retention, opts.now ?? Date.now);
    const ms = opts.waitMs ?? 5_000;
    await Promise.all([factory.waitReady(store.redis, ms), factory.waitReady(store.tailConn, ms)]);
    return store;
  }

  /**
   * Redis unreachable, or refusing writes for now (no good replicas, read-only replica, loading, out of memory)
   * -> StoreUnavailableError (503); any other Redis reply error is a bug and stays what it is.
   */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ReplyError && !isTransientReplyError(err)) throw err;
      throw new StoreUnavailableError(err);
    }
  }

  getArticle(id: string): Promise<Article | null> {
    return this.guard(async () => {
      const json = await this.redis.get(this.k('art', id));
      return json ? (JSON.parse(json) as Article) : null;
    });
  }

  commit(req: CommitRequest): Promise<CommitResult> {
    return this.guard(async () => {
      const oldTopics = req.expected ? audienceOf(req.expected.topics) : [];
      const newTopics = audienceOf(req.article.topics);
      const eventJson = req.event ? JSON.stringify(req.event) : '';
      const result = await this.redis.newsCommit(
        this.k('art', req.article.id),
        this.k('events'),
        this.k('topics'),
        this.k('idx-all'),
        this.k('events-trimmed'),
        this.k('held'),
        this.k('held-due'),
        this.k('history-epoch'),
        this.k('hidx-all'),
        req.expected ? JSON.stringify(req.expected) : '',
        JSON.stringify(req.article),
        this.retention.articleTtlSeconds * 1000,
        eventJson,
        this.retention.maxEvents,
        this.minId(),
        req.listed ? '1' : '0',
        Date.parse(req.article.updatedAt),
        req.article.id,
        this.k('idx', ''),
        ...heldArgs(req.held),
        oldTopics.length,
        ...oldTopics,
        newTopics.length,
        ...newTopics,
        this.k('hidx', ''),
        this.retention.maxAgeSeconds * 1000,
        ...(req.event ? [audienceOf(req.event.topics).length, ...audienceOf(req.event.topics)] : [0]),
        this.k('idx-every'),
        this.k('trail', req.article.id),
        req.event && req.record ? JSON.stringify(req.record) : '',
      );
      if (result === null) return { ok: false };
      await this.factory.replicated(); // REDIS_MIN_REPLICAS: acknowledged only once replicas have it
      if (!req.event) return { ok: true, event: null };
      return { ok: true, event: { id: result, ...req.event } };
    });
  }

  /**
   * Published listings walk the index of their topic (or of every listed article); retracted ones and `all` walk
   * the index of every retained article and filter. Pages continue after `q.after` by (score, id) descending,
   * the order Redis keeps ties in.
   */
  listArticles(q: ArticleQuery): Promise<Article[]> {
    return this.guard(async () => {
      const status = q.status ?? 'published';
      const index = status !== 'published' ? this.k('idx-every') : q.topic ? this.k('idx', q.topic) : this.k('idx-all');
      const wanted = (a: Article) =>
        status === 'published'
          ? true
          : (status === 'retracted' ? a.status === 'retracted' : a.status === 'retracted' || !a.supersededBy) && (!q.topic || matchesAny([q.topic], a.topics));
      await this.prune(index);
      const max = q.after ? Date.parse(q.after.updatedAt) : Number.POSITIVE_INFINITY;
      const out: Article[] = [];
      for (let offset = 0; out.length < q.limit; offset += PAGE) {
        const flat = await this.redis.zrevrangebyscore(index, max === Number.POSITIVE_INFINITY ? '+inf' : max, '-inf', 'WITHSCORES', 'LIMIT', offset, PAGE);
        if (flat.length === 0) break;
        const entries: Array<[string, number]> = [];
        for (let i = 0; i + 1 < flat.length; i += 2) {
          const [id, score] = [flat[i]!, Number(flat[i + 1])];
          if (q.after && score === max && id >= q.after.id) continue; // on or before the previous page's last
          entries.push([id, score]);
        }
        const docs = entries.length ? await this.redis.mget(entries.map(([id]) => this.k('art', id))) : [];
        for (const [i, json] of docs.entries()) {
          if (!json) continue; // expired between prune and read
          const a = JSON.parse(json) as Article;
          // Changed since the index was read: it has moved to the front, and the next page must not go back there.
          if (Date.parse(a.updatedAt) !== entries[i]![1]) continue;
          if (!wanted(a) || (q.language && a.language !== q.language)) continue;
          out.push(a);
          if (out.length >= q.limit) break;
        }
        if (flat.length < PAGE * 2) break;
      }
      return out;
    });
  }

  articleHistory(id: string): Promise<VersionRecord[]> {
    return this.guard(async () => (await this.redis.lrange(this.k('trail', id), 0, -1)).map((json) => JSON.parse(json) as VersionRecord));
  }

  topicCounts(): Promise<Map<Topic, number>> {
    return this.guard(async () => {
      const topics = await this.redis.smembers(this.k('topics'));
      const counts = new Map<Topic, number>();
      if (topics.length === 0) return counts;
      const cutoff = this.now() - this.retention.articleTtlSeconds * 1000;
      const p = this.redis.pipeline();
      for (const t of topics) {
        p.zremrangebyscore(this.k('idx', t), '-inf', `(${cutoff}`);
        p.zcard(this.k('idx', t));
      }
      const res = (await p.exec()) ?? [];
      topics.forEach((t, i) => {
        const n = Number(res[i * 2 + 1]?.[1] ?? 0);
        if (n > 0) counts.set(t, n);
      });
      return counts;
    });
  }

  /** Events older than this id are past HISTORY_MAX_AGE_SECONDS. */
  private minId(): string {
    return `${this.now() - this.retention.maxAgeSeconds * 1000}-0`;
  }

  /** Index entries older than the article TTL point at expired articles. */
  private async prune(index: string): Promise<void> {
    await this.redis.zremrangebyscore(index, '-inf', `(${this.now() - this.retention.articleTtlSeconds * 1000}`);
  }

  readEvents(since: Cursor | null, topics: readonly Topic[] | null, limit: number, opts: HistoryReadOptions = {}): Promise<HistoryPage> {
    return this.guard(async () => {
      const key = this.k('events');
      await this.redis.newsTrim(key, this.k('events-trimmed'), this.k('hidx-all'), this.retention.maxEvents, this.minId());
      const indexes = topics === null || topics.includes(ALL_TOPICS) ? [this.k('hidx-all')] : [...new Set(topics)].map((t) => this.k('hidx', t));
      const reply = await this.redis.newsReadPage(
        3 + indexes.length,
        key,
        this.k('events-trimmed'),
        this.k('history-epoch'),
        ...indexes,
        since ?? '',
        limit,
        opts.maxBytes ?? 0,
        opts.maxBehind ?? 0,
      );
      const [status, head, more] = reply as [string, string, string];
      const page = { head: head === '' ? null : head, more: more === '1' };
      if (status !== 'ok') return { ...page, events: [], resync: true, reason: status as ResyncReason, more: false };
      const events: NewsEvent[] = [];
      for (let i = 3; i + 1 < reply.length; i += 2) events.push(toEvent([reply[i]!, ['e', reply[i + 1]!]]));
      return { ...page, events, resync: false };
    });
  }

  private async lastGenerated(): Promise<EventId | null> {
    try {
      const state = infoMap((await this.redis.xinfo('STREAM', this.k('events'))) as unknown[]);
      const id = String(state.get('last-generated-id') ?? '0-0');
      return id === '0-0' ? null : id;
    } catch (err) {
      if (err instanceof ReplyError && /no such key/i.test((err as Error).message)) return null;
      throw err;
    }
  }

  tail(handler: (event: NewsEvent) => void, onStart?: (position: EventId | null) => void): () => void {
    this.tailHandlers.add(handler);
    if (onStart) {
      if (this.tailStart !== undefined) onStart(this.tailStart);
      else this.startListeners.push(onStart);
    }
    if (!this.tailRunning) void this.runTail();
    return () => {
      this.tailHandlers.delete(handler);
      if (this.tailHandlers.size === 0) this.stopTail();
    };
  }

  /**
   * One blocking reader per store: starts at the newest id when first asked, then follows the stream in order.
   * On errors it waits (backing off up to 2 s) and resumes from the last id it delivered, so an outage loses nothing
   * that was stored. An outage is logged once when it starts (with the error) and once when the tail reads again.
   */
  private async runTail(): Promise<void> {
    this.tailRunning = true;
    const conn = this.tailConn;
    const logger = this.factory.logger;
    let last: EventId | null = null;
    let delay = 100;
    let outage: { since: number; failures: number } | null = null;
    const reading = () => {
      if (outage) logger.info({ after: last, failedAttempts: outage.failures, downMs: this.now() - outage.since }, 'history tail reading again');
      outage = null;
      delay = 100;
    };
    while (this.tailRunning && !this.closed) {
      try {
        if (last === null) {
          const start = await this.lastGenerated();
          last = start ?? '0-0';
          reading();
          this.tailStart = start;
          for (const f of this.startListeners.splice(0)) f(start);
        }
        const res = (await conn.xread('COUNT', TAIL_BATCH, 'BLOCK', TAIL_BLOCK_MS, 'STREAMS', this.k('events'), last)) as
          | Array<[string, Array<[string, string[]]>]>
          | null;
        reading();
        for (const [, entries] of res ?? []) {
          for (const entry of entries) {
            const e = toEvent(entry);
            last = e.id;
            this.tailStart = e.id;
            for (const h of this.tailHandlers) h(e);
          }
        }
      } catch (err) {
        if (!this.tailRunning || this.closed) break;
        if (outage) outage.failures += 1;
        else {
          outage = { since: this.now(), failures: 1 };
          logger.warn({ err, after: last }, 'history tail cannot read; retrying until Redis answers');
        }
        await new Promise((r) => setTimeout(r, delay).unref());
        delay = Math.min(delay * 2, 2_000);
      }
    }
  }

  private stopTail(): void {
    this.tailRunning = false;
    this.tailConn.disconnect();
  }

  historyEpoch(): Promise<EventId | null> {
    return this.guard(() => this.redis.get(this.k('history-epoch')));
  }

  setIfAbsent(key: string, value: string): Promise<string> {
    return this.guard(async () => {
      const previous = await this.redis.set(this.k('kv', key), value, 'NX', 'GET');
      return previous ?? value;
    });
  }

  getHeld(id: string): Promise<HeldVersion | null> {
    return this.guard(async () => {
      const json = await this.redis.hget(this.k('held'), id);
      return json ? (JSON.parse(json) as HeldVersion) : null;
    });
  }

  dueHeld(now: Date, limit: number): Promise<HeldVersion[]> {
    return this.guard(async () => {
      const ids = await this.redis.zrangebyscore(this.k('held-due'), '-inf', now.getTime(), 'LIMIT', 0, limit);
      if (ids.length === 0) return [];
      const docs = await this.redis.hmget(this.k('held'), ...ids);
      return docs.filter((d): d is string => d !== null).map((d) => JSON.parse(d) as HeldVersion);
    });
  }

  commitHeld(req: HeldCommitRequest): Promise<boolean> {
    return this.guard(async () => {
      const [, expectedHeld, nextHeld, releaseAt] = heldArgs(req.held);
      const written = await this.redis.newsCommitHeld(
        this.k('art', req.id),
        this.k('held'),
        this.k('held-due'),
        req.expected ? JSON.stringify(req.expected) : '',
        req.id,
        expectedHeld!,
        nextHeld!,
        releaseAt!,
      );
      return written === 1;
    });
  }

  ping(): Promise<void> {
    return this.guard(async () => {
      await this.redis.ping();
    });
  }

  durable(): Promise<void> {
    return this.guard(() => this.factory.replicated());
  }

  /** Stops the tail; the connections themselves are closed by the factory's owner. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopTail();
    this.tailHandlers.clear();
  }
}
