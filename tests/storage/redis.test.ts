import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Article } from '../../src/domain/article.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { RedisFactory } from '../../src/storage/redis-connection.ts';
import { RedisStore } from '../../src/storage/redis.ts';
import { StoreUnavailableError, type Retention } from '../../src/storage/store.ts';
import { TestRedis } from '../support/redis.ts';
import { sleep, waitFor } from '../support/wait.ts';
import { describeStoreContract } from './store.contract.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await TestRedis.start();
});
afterAll(async () => {
  await redis.stop();
});

const retention: Retention = { maxEvents: 1_000, maxAgeSeconds: 3_600, articleTtlSeconds: 3_600 };
async function open(r: Retention = retention) {
  const factory = new RedisFactory(redis.url, createLogger('silent'));
  const store = await RedisStore.open(factory, r);
  return { store, cleanup: async () => { await store.close(); await factory.close(); } };
}

describeStoreContract('redis', async (r) => {
  await redis.flush();
  return open(r);
});

const art = (id: string, extra: Partial<Article> = {}): Article => ({
  id, version: 1, headline: 'h', summary: null, body: null, url: null, topics: ['w'], urgency: 5, language: 'en', byline: null, image: null,
  publishedAt: new Date().toISOString(), changeNote: null, notify: true, updatedAt: new Date().toISOString(), status: 'published', ...extra,
});

describe('RedisStore across nodes and outages', () => {
  it('two nodes writing at once: each tail sees every event once, in id order', async () => {
    await redis.flush();
    const a = await open();
    const b = await open();
    const seenA: string[] = [];
    const seenB: string[] = [];
    a.store.tail((e) => seenA.push(e.id));
    b.store.tail((e) => seenB.push(e.id));
    await new Promise((r) => setTimeout(r, 100));
    const write = (s: RedisStore, prefix: string) => (async () => {
      for (let i = 0; i < 100; i++) {
        const x = art(`${prefix}${i}`);
        await s.commit({ expected: null, article: x, event: { type: 'article.published', at: x.updatedAt, topics: x.topics, article: x }, listed: true });
      }
    })();
    await Promise.all([write(a.store, 'a'), write(b.store, 'b')]);
    await waitFor('200 events on both tails', () => seenA.length >= 200 && seenB.length >= 200);
    const all = (await a.store.readEvents(null, null, 1_000)).events.map((e) => e.id);
    expect(all).toHaveLength(200);
    expect(seenA).toEqual(all);
    expect(seenB).toEqual(all);
    await a.cleanup();
    await b.cleanup();
  });

  it('two nodes racing on one article: exactly one wins', async () => {
    await redis.flush();
    const a = await open();
    const b = await open();
    const v1 = art('race');
    await a.store.commit({ expected: null, article: v1, event: null, listed: true });
    const results = await Promise.all(
      [a.store, b.store, a.store, b.store].map((s, i) => s.commit({ expected: v1, article: { ...v1, version: 2, headline: `w${i}` }, event: null, listed: true })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    await a.cleanup();
    await b.cleanup();
  });

  it('fails fast while Redis is down, recovers on its own, and the tail loses nothing', async () => {
    await redis.flush();
    const s = await open();
    const seen: string[] = [];
    s.store.tail((e) => seen.push(e.id));
    await new Promise((r) => setTimeout(r, 100));
    await redis.stopProcess();
    const started = Date.now();
    await expect(s.store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    const x = art('down');
    await expect(s.store.commit({ expected: null, article: x, event: null, listed: true })).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(3_000);
    await redis.startProcess();
    await waitFor('ping after recovery', async () => (await s.store.ping().then(() => true, () => false)) || undefined, 15_000);
    const y = art('up');
    const r = await s.store.commit({ expected: null, article: y, event: { type: 'article.published', at: y.updatedAt, topics: y.topics, article: y }, listed: true });
    expect(r.ok).toBe(true);
    await waitFor('the tail to deliver after recovery', () => seen.length >= 1, 15_000);
    expect(seen).toEqual([r.ok && r.event ? r.event.id : '']);
    await s.cleanup();
  });

  it('the tail logs an outage once when it starts and once when it reads again, not at every retry', async () => {
    await redis.flush();
    const lines: Array<{ level: number; msg: string; err?: { message: string }; failedAttempts?: number }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const tailLines = () => lines.filter((l) => l.msg.startsWith('history tail'));
    await redis.stopProcess();
    const factory = new RedisFactory(redis.url, logger);
    try {
      const store = await RedisStore.open(factory, retention, { waitMs: 100 });
      const seen: string[] = [];
      store.tail((e) => seen.push(e.id));
      await waitFor('the outage to be logged', () => tailLines().length > 0);
      await sleep(1_500); // the outage goes on across several retries (100, 200, 400, 800 ms apart)
      await redis.startProcess();
      await waitFor('the tail to log that it reads again', () => tailLines().length > 1, 15_000);
      const [down, up] = tailLines();
      expect(down).toMatchObject({ level: 40, msg: 'history tail cannot read; retrying until Redis answers', err: { message: expect.any(String) } });
      expect(up).toMatchObject({ level: 30, msg: 'history tail reading again' });
      expect(up!.failedAttempts).toBeGreaterThan(1);
      const x = art('after-outage');
      const r = await store.commit({ expected: null, article: x, event: { type: 'article.published', at: x.updatedAt, topics: x.topics, article: x }, listed: true });
      await waitFor('the tail to deliver after the outage', () => seen.length >= 1, 15_000);
      expect(seen).toEqual([r.ok && r.event ? r.event.id : '']);
      expect(tailLines()).toHaveLength(2);
      await store.close();
    } finally {
      await redis.startProcess();
      await factory.close();
    }
  });

  it('articles and history survive a new store on the same Redis (a restart)', async () => {
    await redis.flush();
    const first = await open();
    const x = art('keep');
    const r = await first.store.commit({ expected: null, article: x, event: { type: 'article.published', at: x.updatedAt, topics: x.topics, article: x }, listed: true });
    await first.cleanup();
    const second = await open();
    expect(await second.store.getArticle('keep')).toEqual(x);
    // The same history (same epoch): a cursor from before the restart replays; one from before the history began
    // is from another history and gets resync.
    const y = art('after');
    const r2 = await second.store.commit({ expected: null, article: y, event: { type: 'article.published', at: y.updatedAt, topics: y.topics, article: y }, listed: true });
    const events = (await second.store.readEvents(r.ok && r.event ? r.event.id : '', null, 10)).events;
    expect(events.map((e) => e.id)).toEqual([r2.ok && r2.event ? r2.event.id : '']);
    expect(await second.store.readEvents('1-0', null, 10)).toMatchObject({ resync: true, reason: 'history_reset' });
    await second.cleanup();
  });

  it('keeps an article\'s audit trail exactly as long as the article (ARTICLE_TTL_SECONDS, from its last write)', async () => {
    await redis.flush();
    const s = await open({ ...retention, articleTtlSeconds: 100 });
    const x = art('ttl');
    const record = { version: 1, type: 'article.published' as const, at: x.updatedAt, author: 'alice', changeNote: null };
    await s.store.commit({ expected: null, article: x, event: { type: 'article.published', at: x.updatedAt, topics: x.topics, article: x }, listed: true, record });
    const c = redis.client();
    try {
      const [articleTtl, trailTtl] = [await c.pttl('newspush:art:ttl'), await c.pttl('newspush:trail:ttl')];
      expect(trailTtl).toBeGreaterThan(90_000);
      expect(Math.abs(articleTtl - trailTtl)).toBeLessThan(1_000);
      expect(await s.store.articleHistory('ttl')).toHaveLength(1);
    } finally {
      c.disconnect();
      await s.cleanup();
    }
  });
});
