import type { Redis } from 'ioredis';
import type { RedisFactory } from '../storage/redis-connection.ts';
import { StoreUnavailableError } from '../storage/store.ts';

/** What a report says about the event it counts (written once, by whichever node sees the event first). */
export interface ReportMeta {
  eventId: string;
  articleId: string;
  version: number;
  type: string;
  headline: string;
  publishedAt: string;
  topics: string[];
  /** Whether Web Push takes part (a retraction, or a version asking to notify); else the fan-out is live only. */
  push: boolean;
}

/** Counter name -> increment; `first`/`last` keep the smallest/largest value given (acceptance times). */
export interface ReportDelta {
  eventId: string;
  meta?: ReportMeta;
  counts: Record<string, number>;
  first?: number;
  last?: number;
}

export interface RawReport {
  meta: ReportMeta;
  counts: Record<string, number>;
}

/**
 * Per-event counters (Redis: one hash per event, HINCRBY, so every node adds to the same report; memory: the same
 * shape), an index per article and one of recent reports, and the receipts already counted. Everything expires
 * with the article (ARTICLE_TTL_SECONDS). One `apply` is one pipeline, however many events and counters it holds.
 */
export interface ReportStore {
  apply(deltas: readonly ReportDelta[]): Promise<void>;
  get(eventId: string): Promise<RawReport | null>;
  /** The article's reports, oldest first. */
  forArticle(articleId: string): Promise<RawReport[]>;
  /** Reports of events published at or after `sinceMs`, newest first. */
  recent(sinceMs: number, limit: number): Promise<RawReport[]>;
  /** Records a receipt; true only the first time for this key (then `field` of the report is incremented too). */
  receipt(eventId: string, key: string, field: string): Promise<boolean>;
  close(): Promise<void>;
}

const publishedMs = (m: ReportMeta) => Date.parse(m.publishedAt);

interface MemoryEntry {
  raw: RawReport;
  receipts: Set<string>;
  expiresAt: number;
}

export class MemoryReports implements ReportStore {
  private readonly entries = new Map<string, MemoryEntry>();
  constructor(
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  private live(eventId: string): MemoryEntry | undefined {
    const e = this.entries.get(eventId);
    if (e && e.expiresAt <= this.now()) {
      this.entries.delete(eventId);
      return undefined;
    }
    return e;
  }

  async apply(deltas: readonly ReportDelta[]): Promise<void> {
    const expiresAt = this.now() + this.ttlSeconds * 1000;
    for (const d of deltas) {
      let e = this.live(d.eventId);
      if (!e) {
        // Counts that arrive before the meta are kept too (the meta is written with the first delta of each node).
        e = { raw: { meta: d.meta ?? (null as unknown as ReportMeta), counts: {} }, receipts: new Set(), expiresAt };
        this.entries.set(d.eventId, e);
      }
      if (d.meta) e.raw.meta = d.meta;
      e.expiresAt = expiresAt;
      for (const [k, n] of Object.entries(d.counts)) e.raw.counts[k] = (e.raw.counts[k] ?? 0) + n;
      if (d.first !== undefined) e.raw.counts.first = Math.min(e.raw.counts.first ?? Infinity, d.first);
      if (d.last !== undefined) e.raw.counts.last = Math.max(e.raw.counts.last ?? -Infinity, d.last);
    }
  }

  async get(eventId: string): Promise<RawReport | null> {
    const e = this.live(eventId);
    return e && e.raw.meta ? structuredClone(e.raw) : null;
  }

  private all(): RawReport[] {
    return [...this.entries.keys()].map((id) => this.live(id)).filter((e): e is MemoryEntry => !!e && !!e.raw.meta).map((e) => structuredClone(e.raw));
  }

  async forArticle(articleId: string): Promise<RawReport[]> {
    return this.all()
      .filter((r) => r.meta.articleId === articleId)
      .sort((a, b) => publishedMs(a.meta) - publishedMs(b.meta) || a.meta.version - b.meta.version);
  }

  async recent(sinceMs: number, limit: number): Promise<RawReport[]> {
    return this.all()
      .filter((r) => publishedMs(r.meta) >= sinceMs)
      .sort((a, b) => publishedMs(b.meta) - publishedMs(a.meta))
      .slice(0, limit);
  }

  async receipt(eventId: string, key: string, field: string): Promise<boolean> {
    const e = this.live(eventId);
    if (!e || e.receipts.has(key)) return false;
    e.receipts.add(key);
    e.raw.counts[field] = (e.raw.counts[field] ?? 0) + 1;
    return true;
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}

/** HSET field to ARGV[2] when the hash has none, or when ARGV[2] is smaller (ARGV[3] = 'min') or larger ('max'). */
const EXTREME = `local c = redis.call('HGET', KEYS[1], ARGV[1])
local v = tonumber(ARGV[2])
if not c or (ARGV[3] == 'min' and v < tonumber(c)) or (ARGV[3] == 'max' and v > tonumber(c)) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1`;

type WithExtreme = Redis & { hextreme(key: string, field: string, value: number, how: 'min' | 'max'): Promise<number> };

/** Reports in Redis: `report:<event>` hash (field `meta` plus counters), `reports:article:<id>` and `reports:recent` sorted sets. */
export class RedisReports implements ReportStore {
  private readonly redis: WithExtreme;
  private readonly k: (...parts: string[]) => string;

  constructor(factory: RedisFactory, private readonly ttlSeconds: number) {
    this.redis = factory.shared('commands') as WithExtreme;
    if (!('hextreme' in this.redis)) (this.redis as Redis).defineCommand('hextreme', { numberOfKeys: 1, lua: EXTREME });
    this.k = (...parts) => factory.keys.key('report', ...parts);
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
  }

  async apply(deltas: readonly ReportDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    const p = this.redis.pipeline();
    for (const d of deltas) {
      const key = this.k('event', d.eventId);
      if (d.meta) {
        const score = publishedMs(d.meta);
        p.hset(key, 'meta', JSON.stringify(d.meta));
        p.zadd(this.k('article', d.meta.articleId), score, d.eventId).expire(this.k('article', d.meta.articleId), this.ttlSeconds);
        p.zadd(this.k('recent'), score, d.eventId).zremrangebyscore(this.k('recent'), '-inf', `(${Date.now() - this.ttlSeconds * 1000}`);
      }
      for (const [f, n] of Object.entries(d.counts)) p.hincrby(key, f, n);
      if (d.first !== undefined) (p as unknown as WithExtreme).hextreme(key, 'first', d.first, 'min');
      if (d.last !== undefined) (p as unknown as WithExtreme).hextreme(key, 'last', d.last, 'max');
      p.expire(key, this.ttlSeconds);
    }
    await this.guard(async () => {
      const results = (await p.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
    });
  }

  private parse(hash: Record<string, string>): RawReport | null {
    if (!hash.meta) return null;
    const counts: Record<string, number> = {};
    for (const [f, v] of Object.entries(hash)) if (f !== 'meta') counts[f] = Number(v);
    return { meta: JSON.parse(hash.meta) as ReportMeta, counts };
  }

  private async many(ids: string[]): Promise<RawReport[]> {
    if (ids.length === 0) return [];
    const p = this.redis.pipeline();
    for (const id of ids) p.hgetall(this.k('event', id));
    const res = (await p.exec()) ?? [];
    return res.map(([, h]) => this.parse(h as Record<string, string>)).filter((r): r is RawReport => r !== null);
  }

  get(eventId: string): Promise<RawReport | null> {
    return this.guard(async () => this.parse(await this.redis.hgetall(this.k('event', eventId))));
  }

  forArticle(articleId: string): Promise<RawReport[]> {
    return this.guard(async () => this.many(await this.redis.zrange(this.k('article', articleId), 0, -1)));
  }

  recent(sinceMs: number, limit: number): Promise<RawReport[]> {
    return this.guard(async () => this.many(await this.redis.zrevrangebyscore(this.k('recent'), '+inf', sinceMs, 'LIMIT', 0, limit)));
  }

  receipt(eventId: string, key: string, field: string): Promise<boolean> {
    return this.guard(async () => {
      const set = this.k('receipts', eventId);
      const [[, added]] = (await this.redis.multi().sadd(set, key).expire(set, this.ttlSeconds).exec()) as [[unknown, number], unknown];
      if (added !== 1) return false;
      await this.redis.hincrby(this.k('event', eventId), field, 1);
      return true;
    });
  }

  async close(): Promise<void> {
    // The shared connection belongs to the factory.
  }
}
