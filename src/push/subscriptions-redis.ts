import type { Redis } from 'ioredis';
import type { NewsEvent } from '../domain/event.ts';
import type { Topic } from '../domain/topic.ts';
import type { RedisFactory } from '../storage/redis-connection.ts';
import { StoreUnavailableError } from '../storage/store.ts';
import { endpointKey, type SubscriptionStore } from './subscriptions.ts';
import type { Preferences, Subscription } from './types.ts';

const CHUNK = 500;

/** Subscriptions in Redis: one hash of JSON documents, a set per followed topic, an endpoint -> id hash. */
export class RedisSubscriptions implements SubscriptionStore {
  private readonly redis: Redis;
  private readonly k: (...parts: string[]) => string;

  private constructor(factory: RedisFactory) {
    this.redis = factory.shared('commands');
    this.k = (...parts) => factory.keys.key('push', ...parts);
  }

  static async open(factory: RedisFactory): Promise<RedisSubscriptions> {
    const s = new RedisSubscriptions(factory);
    await factory.waitReady(s.redis);
    return s;
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
  }

  async upsert(sub: Subscription) {
    return this.guard(async () => {
      const existingId = await this.redis.hget(this.k('endpoints'), endpointKey(sub.endpoint));
      const existing = existingId ? await this.get(existingId) : null;
      const next = existing ? { ...sub, id: existing.id, createdAt: existing.createdAt } : sub;
      const m = this.redis.multi();
      if (existing) for (const t of existing.topics) m.srem(this.k('topic', t), existing.id);
      m.hset(this.k('subs'), next.id, JSON.stringify(next));
      m.hset(this.k('endpoints'), endpointKey(next.endpoint), next.id);
      for (const t of next.topics) m.sadd(this.k('topic', t), next.id);
      await m.exec();
      return { sub: next, created: !existing };
    });
  }

  async get(id: string) {
    return this.guard(async () => {
      const json = await this.redis.hget(this.k('subs'), id);
      return json ? (JSON.parse(json) as Subscription) : null;
    });
  }

  async getMany(ids: readonly string[]) {
    return this.guard(async () => {
      const out: Subscription[] = [];
      for (let i = 0; i < ids.length; i += CHUNK) {
        const docs = await this.redis.hmget(this.k('subs'), ...ids.slice(i, i + CHUNK));
        for (const d of docs) if (d) out.push(JSON.parse(d) as Subscription);
      }
      return out;
    });
  }

  async update(id: string, prefs: Partial<Preferences>) {
    return this.guard(async () => {
      const s = await this.get(id);
      if (!s) return null;
      const next = { ...s, ...prefs };
      const m = this.redis.multi();
      for (const t of s.topics) m.srem(this.k('topic', t), id);
      for (const t of next.topics) m.sadd(this.k('topic', t), id);
      m.hset(this.k('subs'), id, JSON.stringify(next));
      await m.exec();
      return next;
    });
  }

  async delete(id: string) {
    return this.guard(async () => {
      const s = await this.get(id);
      if (!s) return false;
      const m = this.redis.multi().hdel(this.k('subs'), id).hdel(this.k('endpoints'), endpointKey(s.endpoint));
      for (const t of s.topics) m.srem(this.k('topic', t), id);
      await m.exec();
      return true;
    });
  }

  async followersOf(topics: readonly Topic[]) {
    return this.guard(async () => (topics.length === 0 ? [] : this.redis.sunion(...topics.map((t) => this.k('topic', t)))));
  }

  private async mark(key: string, ids: readonly string[], ttl: number) {
    if (ids.length === 0) return;
    await this.guard(() => this.redis.multi().sadd(key, ...ids).expire(key, ttl).exec());
  }

  markDelivered(article: string, ids: readonly string[], ttlSeconds: number) {
    return this.mark(this.k('got', article), ids, ttlSeconds);
  }

  deliveredTo(article: string) {
    return this.guard(() => this.redis.smembers(this.k('got', article)));
  }

  markWithdrawn(article: string, event: NewsEvent, ttlSeconds: number) {
    return this.guard(async () => {
      await this.redis.set(this.k('withdrawn', article), JSON.stringify(event), 'EX', ttlSeconds);
    });
  }

  withdrawalOf(article: string) {
    return this.guard(async () => {
      const json = await this.redis.get(this.k('withdrawn', article));
      return json ? (JSON.parse(json) as NewsEvent) : null;
    });
  }

  markSent(eventId: string, ids: readonly string[], ttlSeconds: number) {
    return this.mark(this.k('sent', eventId), ids, ttlSeconds);
  }

  async unsent(eventId: string, ids: readonly string[]) {
    if (ids.length === 0) return [];
    return this.guard(async () => {
      const flags = (await this.redis.smismember(this.k('sent', eventId), ...ids)) as number[];
      return ids.filter((_, i) => flags[i] !== 1);
    });
  }

  async close() {}
}
