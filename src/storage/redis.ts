import type { Redis } from 'ioredis';
import { ReplyError } from 'ioredis';
import type { Article } from '../domain/article.ts';
import { compareIds, type Cursor, type EventId, type NewsEvent } from '../domain/event.ts';
import { audienceOf, matchesAny, type Topic } from '../domain/topic.ts';
import { isTransientReplyError, type RedisFactory } from './redis-connection.ts';
import { COMMIT, DROP_HELD, TRIM } from './redis-scripts.ts';
import {
  StoreUnavailableError,
  type ArticleQuery,
  type CommitRequest,
  type CommitResult,
  type HeldItem,
  type HistoryPage,
  type Retention,
  type Store,
} from './store.ts';

type Commander = Redis & {
  newsCommit(...args: Array<string | number>): Promise<string | null>;
  newsDropHeld(...args: Array<string | number>): Promise<number>;
  newsTrim(...args: Array<string | number>): Promise<number>;
};

const PAGE = 200;
const TAIL_BATCH = 500;
const TAIL_BLOCK_MS = 5_000;

/** Field/value pairs of XINFO STREAM as a map. */
function infoMap(reply: unknown[]): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (let i = 0; i + 1 < reply.length; i += 2) m.set(String(reply[i]), reply[i + 1]);
  return m;
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
  /** Where the tail started (undefined until it has); told to tail() callers that ask. */
  private tailStart: EventId | null | undefined = undefined;
  private startListeners: Array<(position: EventId | null) => void> = [];
  private closed = false;

  private constructor(
    private readonly factory: RedisFactory,
    private readonly retention: Retention,
    private readonly now: () => number,
  ) {
    this.redis = factory.shared('commands') as Commander;
    this.redis.defineCommand('newsCommit', { numberOfKeys: 5, lua: COMMIT });
    this.redis.defineCommand('newsTrim', { numberOfKeys: 2, lua: TRIM });
    this.redis.defineCommand('newsDropHeld', { numberOfKeys: 2, lua: DROP_HELD });
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

  /** Redis unreachable or failing over -> StoreUnavailableError (503); another reply error is a bug and stays what it is. */
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
        oldTopics.length,
        ...oldTopics,
        newTopics.length,
        ...newTopics,
      );
      if (result === null) return { ok: false };
      await this.factory.replicated(); // REDIS_MIN_REPLICAS: acknowledged only once replicas have it
      if (!req.event) return { ok: true, event: null };
      return { ok: true, event: { id: result, ...req.event } };
    });
  }

  listArticles(q: ArticleQuery): Promise<Article[]> {
    return this.guard(async () => {
      const index = q.topic ? this.k('idx', q.topic) : this.k('idx-all');
      await this.prune(index);
      const out: Article[] = [];
      for (let start = 0; out.length < q.limit; start += PAGE) {
        const ids = await this.redis.zrevrange(index, start, start + PAGE - 1);
        if (ids.length === 0) break;
        const docs = await this.redis.mget(ids.map((id) => this.k('art', id)));
        for (const json of docs) {
          if (!json) continue; // expired between prune and read
          const a = JSON.parse(json) as Article;
          if (q.language && a.language !== q.language) continue;
          out.push(a);
          if (out.length >= q.limit) break;
        }
        if (ids.length < PAGE) break;
      }
      return out;
    });
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

  readEvents(since: Cursor | null, topics: readonly Topic[] | null, limit: number): Promise<HistoryPage> {
    return this.guard(async () => {
      const key = this.k('events');
      await this.redis.newsTrim(key, this.k('events-trimmed'), this.retention.maxEvents, this.minId());
      const matching = (e: NewsEvent) => topics === null || matchesAny(topics, e.topics);
      if (since === null) return { events: await this.latest(key, matching, limit), head: await this.lastGenerated(), resync: false };
      const out: NewsEvent[] = [];
      let cursor = since;
      for (;;) {
        // Range and stream state in one transaction: if anything after the cursor was trimmed, say resync.
        const res = await this.redis
          .multi()
          .xrange(key, `(${cursor}`, '+', 'COUNT', PAGE)
          .xinfo('STREAM', key)
          .get(this.k('events-trimmed'))
          .exec();
        const [rangeErr, range] = res?.[0] ?? [];
        const [infoErr, info] = res?.[1] ?? [];
        if (rangeErr) throw rangeErr;
        if (infoErr) return { events: [], head: null, resync: true }; // no stream: the cursor is from elsewhere
        const state = infoMap(info as unknown[]);
        const maxDeleted = String(res?.[2]?.[1] ?? '0-0');
        const lastGenerated = String(state.get('last-generated-id') ?? '0-0');
        const head = lastGenerated === '0-0' ? null : lastGenerated;
        if (compareIds(cursor, maxDeleted) < 0 || compareIds(since, lastGenerated) > 0) return { events: [], head, resync: true };
        const entries = range as Array<[string, string[]]>;
        for (const entry of entries) {
          const e = toEvent(entry);
          if (matching(e)) out.push(e);
          if (out.length >= limit) return { events: out, head, resync: false };
        }
        if (entries.length < PAGE) return { events: out, head, resync: false };
        cursor = entries[entries.length - 1]![0];
      }
    });
  }

  private async latest(key: string, matching: (e: NewsEvent) => boolean, limit: number): Promise<NewsEvent[]> {
    const out: NewsEvent[] = [];
    let end = '+';
    for (;;) {
      const entries = (await this.redis.xrevrange(key, end, '-', 'COUNT', PAGE)) as Array<[string, string[]]>;
      for (const entry of entries) {
        const e = toEvent(entry);
        if (matching(e)) out.push(e);
        if (out.length >= limit) return out.reverse();
      }
      if (entries.length < PAGE) return out.reverse();
      end = `(${entries[entries.length - 1]![0]}`;
    }
  }

  lastEventId(): Promise<EventId | null> {
    return this.guard(async () => this.lastGenerated());
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
   * On errors it waits and resumes from the last id it delivered, so an outage loses nothing that was stored.
   */
  private async runTail(): Promise<void> {
    this.tailRunning = true;
    const conn = this.tailConn;
    let last: EventId | null = null;
    let delay = 100;
    while (this.tailRunning && !this.closed) {
      try {
        if (last === null) {
          const start = await this.lastGenerated();
          last = start ?? '0-0';
          this.tailStart = start;
          for (const f of this.startListeners.splice(0)) f(start);
        }
        const res = (await conn.xread('COUNT', TAIL_BATCH, 'BLOCK', TAIL_BLOCK_MS, 'STREAMS', this.k('events'), last)) as
          | Array<[string, Array<[string, string[]]>]>
          | null;
        delay = 100;
        for (const [, entries] of res ?? []) {
          for (const entry of entries) {
            const e = toEvent(entry);
            last = e.id;
            for (const h of this.tailHandlers) h(e);
          }
        }
      } catch {
        if (!this.tailRunning || this.closed) break;
        await new Promise((r) => setTimeout(r, delay).unref());
        delay = Math.min(delay * 2, 2_000);
      }
    }
  }

  private stopTail(): void {
    this.tailRunning = false;
    this.tailConn.disconnect();
  }

  setIfAbsent(key: string, value: string): Promise<string> {
    return this.guard(async () => {
      const previous = await this.redis.set(this.k('kv', key), value, 'NX', 'GET');
      return previous ?? value;
    });
  }

  getValue(key: string): Promise<string | null> {
    return this.guard(() => this.redis.get(this.k('kv', key)));
  }

  hold(item: HeldItem): Promise<void> {
    return this.guard(async () => {
      const m = this.redis.multi().hset(this.k('held'), item.id, JSON.stringify(item));
      if (item.releaseAt) m.zadd(this.k('held-due'), Date.parse(item.releaseAt), item.id);
      else m.zrem(this.k('held-due'), item.id);
      await m.exec();
      await this.factory.replicated();
    });
  }

  getHeld(id: string): Promise<HeldItem | null> {
    return this.guard(async () => {
      const json = await this.redis.hget(this.k('held'), id);
      return json ? (JSON.parse(json) as HeldItem) : null;
    });
  }

  dueHeld(now: Date, limit: number): Promise<HeldItem[]> {
    return this.guard(async () => {
      const ids = await this.redis.zrangebyscore(this.k('held-due'), '-inf', now.getTime(), 'LIMIT', 0, limit);
      if (ids.length === 0) return [];
      const docs = await this.redis.hmget(this.k('held'), ...ids);
      return docs.filter((d): d is string => d !== null).map((d) => JSON.parse(d) as HeldItem);
    });
  }

  dropHeld(item: HeldItem): Promise<void> {
    return this.guard(async () => {
      await this.redis.newsDropHeld(this.k('held'), this.k('held-due'), item.id, JSON.stringify(item));
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
