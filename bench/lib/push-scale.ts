/**
 * Web Push at growing subscriber counts (10,000 then 100,000 by default) on one server process per engine: the
 * whole server built as `npm start` builds it, one alert to all subscriptions per size. With Redis the
 * subscriptions are written by the server's own subscription store, from this process (the HTTP API manages
 * about 150 a second on this loaded machine: 100,000 would take over ten minutes); the memory engine's store
 * lives in the server, so there they go through the HTTP API. Reports pushes/s per size, the ratio of the largest to the smallest, the server's memory and
 * (Redis) the memory Redis uses for them.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLogger } from '../../src/ops/logger.ts';
import { RedisSubscriptions } from '../../src/push/subscriptions-redis.ts';
import { RedisFactory } from '../../src/storage/redis-connection.ts';
import { TestRedis } from '../../tests/support/redis.ts';
import { KEY, sleep, startServer } from './harness.ts';

type Sub = { endpoint: string; keys: { p256dh: string; auth: string } };
export type EngineKind = 'memory' | 'redis';

export interface ScaleRow {
  engine: EngineKind;
  size: number;
  /** Time to add the subscriptions from the previous size to this one. */
  subscribeMs: number;
  pushMs: number;
  accepted: number;
  /** Server RSS after GC with `size` subscriptions, after the alert went out. */
  rss: number;
  /** Highest server RSS since it started (VmHWM), so the peak of the largest push run so far. */
  peakRss: number;
  /** Redis used_memory after the run (Redis engine only). */
  redisBytes: number | null;
}

export interface ScaleRun {
  engine: EngineKind;
  sizes: number[];
  subscriptions: Sub[];
  pushHost: string;
  /** Resolves when the push service has accepted n pushes; rejects on any rejected push. */
  waitPushes: (n: number) => Promise<void>;
  /** Pushes accepted since the last reset. */
  countPushes: () => Promise<number>;
  resetPushes: () => Promise<void>;
}

function peakRssOf(pid: number | undefined): number {
  const m = pid ? /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8')) : null;
  return m ? Number(m[1]) * 1024 : NaN;
}

export async function pushAtScale(run: ScaleRun): Promise<{ rows: ScaleRow[]; baseRss: number }> {
  // No fsync on every write: an operator runs Redis with appendfsync everysec (or a replica) for this workload.
  const redis = run.engine === 'redis' ? await TestRedis.start({ args: ['--appendfsync', 'everysec'] }) : null;
  const factory = redis ? new RedisFactory(redis.url, createLogger('warn')) : null;
  const server = await startServer('project', { BENCH_PUSH_HOST: run.pushHost, ...(redis ? { BENCH_REDIS_URL: redis.url } : {}) });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const baseRss = await server.rss();
    const store = factory ? await RedisSubscriptions.open(factory) : null;
    const subscribe = async (from: number, to: number) => {
      let next = from;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < to) {
            const subscription = run.subscriptions[next++]!;
            if (store) {
              await store.upsert({ id: randomUUID(), endpoint: subscription.endpoint, keys: subscription.keys, topics: ['breaking'], maxUrgency: 9, languages: null, quietHours: null, tokenHash: '0', createdAt: new Date().toISOString() });
              continue;
            }
            const r = await fetch(`${base}/api/v1/push/subscriptions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ subscription, topics: ['breaking'], maxUrgency: 9 }) });
            if (r.status !== 201) throw new Error(`subscribe answered ${r.status}: ${await r.text()}`);
            await r.arrayBuffer();
          }
        }),
      );
    };
    let alerts = 0;
    const alert = async (n: number): Promise<{ ms: number; accepted: number }> => {
      await run.resetPushes();
      const t0 = performance.now();
      const body = { id: `scale-${run.engine}-${++alerts}-${Date.now()}`, headline: 'Breaking: push at scale', summary: 'An alert for every push subscriber.', topics: ['breaking'], urgency: 1 };
      const r = await fetch(`${base}/api/v1/articles`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` }, body: JSON.stringify(body) });
      if (r.status !== 201) throw new Error(`publish answered ${r.status}: ${await r.text()}`);
      await run.waitPushes(n);
      const ms = performance.now() - t0;
      // A moment more, outside the timed window, so that a push sent twice would show in the count.
      await sleep(1_000);
      return { ms, accepted: await run.countPushes() };
    };
    const rows: ScaleRow[] = [];
    let have = 0;
    for (const size of [...run.sizes].sort((a, b) => a - b)) {
      const s0 = performance.now();
      await subscribe(have, size);
      const subscribeMs = performance.now() - s0;
      // One untimed alert first, so the smallest size does not pay for the JIT and the connections alone.
      if (have === 0) await alert(size);
      have = size;
      const { ms, accepted } = await alert(size);
      const redisBytes = redis ? await usedMemory(redis) : null;
      rows.push({ engine: run.engine, size, subscribeMs, pushMs: ms, accepted, rss: await server.rss(), peakRss: peakRssOf(server.child.pid), redisBytes });
    }
    return { rows, baseRss };
  } finally {
    await server.stop();
    await factory?.close();
    await redis?.stop();
  }
}

async function usedMemory(redis: TestRedis): Promise<number> {
  const c = redis.client();
  try {
    return Number(/used_memory:(\d+)/.exec(await c.info('memory'))?.[1] ?? NaN);
  } finally {
    c.disconnect();
  }
}
