import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Article } from '../../src/domain/article.ts';
import type { NewsEvent } from '../../src/domain/event.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { MemoryHistoryGroup, type HistoryGroup } from '../../src/storage/history-group.ts';
import { RedisHistoryGroup } from '../../src/storage/history-group-redis.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { RedisFactory } from '../../src/storage/redis-connection.ts';
import { RedisStore } from '../../src/storage/redis.ts';
import type { Store } from '../../src/storage/store.ts';
import { TestRedis } from '../support/redis.ts';
import { sleep, waitFor } from '../support/wait.ts';

const logger = createLogger('silent');
const retention = { maxEvents: 1_000, maxAgeSeconds: 3_600, articleTtlSeconds: 3_600 };
let redis: TestRedis;
beforeAll(async () => {
  redis = await TestRedis.start();
});
afterAll(async () => {
  await redis.stop();
});

let seq = 0;
async function append(store: Store): Promise<NewsEvent> {
  const now = new Date().toISOString();
  const a: Article = {
    id: `g-${++seq}`, version: 1, headline: 'h', summary: null, body: null, url: null, topics: ['w'], urgency: 5, language: 'en', byline: null,
    image: null, publishedAt: now, changeNote: null, notify: true, updatedAt: now, status: 'published',
  };
  const r = await store.commit({ expected: null, article: a, event: { type: 'article.published', at: now, topics: a.topics, article: a }, listed: true });
  if (!r.ok || !r.event) throw new Error('commit failed');
  return r.event;
}

interface Deployment {
  store: Store;
  /** A node's consumer of the group. */
  node(): Promise<HistoryGroup>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function memory(): Promise<Deployment> {
  const store = new MemoryStore(retention);
  cleanups.push(() => store.close());
  return {
    store,
    node: async () => {
      const g = new MemoryHistoryGroup(store, logger);
      cleanups.push(() => g.close());
      return g;
    },
  };
}

async function onRedis(): Promise<Deployment> {
  await redis.flush();
  const factory = new RedisFactory(redis.url, logger);
  const store = await RedisStore.open(factory, retention);
  cleanups.push(async () => { await store.close(); await factory.close(); });
  return {
    store,
    node: async () => {
      const f = new RedisFactory(redis.url, logger);
      const g = await RedisHistoryGroup.open(f, { group: 'push', takeoverMs: 1_000 }, logger);
      cleanups.push(async () => { await g.close(); await f.close(); });
      return g;
    },
  };
}

describe.each([['memory', memory], ['redis', onRedis]] as const)('HistoryGroup contract: %s', (_name, deploy) => {
  it('hands each event appended after the group exists to the consumer once, in id order', async () => {
    const d = await deploy();
    const g = await d.node();
    const before = await append(d.store); // after open, before consume: the group already exists
    const got: string[] = [];
    g.consume(async (e) => void got.push(e.id));
    const ids = [before.id];
    for (let i = 0; i < 5; i++) ids.push((await append(d.store)).id);
    await waitFor('6 events', () => got.length >= 6);
    await sleep(200);
    expect(got).toEqual(ids);
  });

  it('hands an event again until its handler succeeds, before the events after it', async () => {
    const d = await deploy();
    const g = await d.node();
    const calls: string[] = [];
    const done: string[] = [];
    let failures = 2;
    g.consume(async (e) => {
      calls.push(e.id);
      if (failures-- > 0) throw new Error('queue refused');
      done.push(e.id);
    });
    const a = await append(d.store);
    const b = await append(d.store);
    await waitFor('both handled', () => done.length >= 2, 10_000);
    await sleep(200);
    expect(calls).toEqual([a.id, a.id, a.id, b.id]);
    expect(done).toEqual([a.id, b.id]);
  });
});

describe('RedisHistoryGroup across nodes', () => {
  it('two nodes share the work: each event goes to exactly one of them', async () => {
    const d = await onRedis();
    const [a, b] = [await d.node(), await d.node()];
    const got: Array<[string, string]> = [];
    a.consume(async (e) => void got.push(['a', e.id]));
    b.consume(async (e) => void got.push(['b', e.id]));
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await append(d.store)).id);
    await waitFor('30 events', () => got.length >= 30, 10_000);
    await sleep(300);
    expect(got.map(([, id]) => id).sort()).toEqual([...ids].sort());
  });

  it('an event read by a node that died before acknowledging it is taken over by another after the takeover time, once', async () => {
    const d = await onRedis();
    const live = await d.node(); // creates the group
    const c = redis.client();
    try {
      const e = await append(d.store);
      // What a node killed between reading and acknowledging leaves behind: the entry pending under its name.
      const read = (await c.xreadgroup('GROUP', 'push', 'dead-node', 'COUNT', 10, 'STREAMS', 'newspush:events', '>')) as Array<[string, Array<[string, string[]]>]>;
      expect(read[0]![1].map(([id]) => id)).toEqual([e.id]);
      const got: string[] = [];
      const startedAt = Date.now();
      live.consume(async (x) => void got.push(x.id));
      await waitFor('the takeover', () => got.length >= 1, 10_000);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(900); // not before the takeover time
      await waitFor('nothing pending', async () => ((await c.xpending('newspush:events', 'push')) as [number])[0] === 0);
      await sleep(1_500); // more than the takeover time: nobody takes it again
      expect(got).toEqual([e.id]);
    } finally {
      c.disconnect();
    }
  });

  it('a node closing while Redis is down (its read queued on a reconnecting connection) stops at once', async () => {
    await onRedis();
    const f = new RedisFactory(redis.url, logger);
    const g = await RedisHistoryGroup.open(f, { group: 'push', takeoverMs: 1_000 }, logger);
    g.consume(async () => undefined);
    await sleep(200); // its blocking read is waiting in Redis
    redis.kill('SIGKILL');
    try {
      await sleep(500); // the connection is reconnecting, the read waits to be sent again
      const stopped = await Promise.race([Promise.all([g.close(), f.close()]).then(() => true), sleep(5_000).then(() => false)]);
      expect(stopped).toBe(true);
    } finally {
      await redis.startProcess();
    }
  });
});
