/**
 * npm run bench:audience — the cost of the `audience.push` count every write answers (src/push/audience.ts) with
 * N subscriptions that all follow the article's topic (the worst case: every one is a candidate and its
 * preferences are checked), on both engines, against the cost of the write itself (Store.commit) on the same
 * engine in the same run.
 *
 *   BENCH_SUBSCRIBERS=10000 npm run bench:audience
 */
import { createECDH, randomBytes, randomUUID } from 'node:crypto';
import type { Article } from '../src/domain/article.ts';
import type { EventDraft } from '../src/domain/event.ts';
import { createLogger } from '../src/ops/logger.ts';
import { pushAudience } from '../src/push/audience.ts';
import { MemorySubscriptions, type SubscriptionStore } from '../src/push/subscriptions.ts';
import { RedisSubscriptions } from '../src/push/subscriptions-redis.ts';
import type { Subscription } from '../src/push/types.ts';
import { MemoryStore } from '../src/storage/memory.ts';
import { RedisFactory } from '../src/storage/redis-connection.ts';
import { RedisStore } from '../src/storage/redis.ts';
import type { Store } from '../src/storage/store.ts';
import { TestRedis } from '../tests/support/redis.ts';

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const retention = { maxEvents: 10_000, maxAgeSeconds: 86_400, articleTtlSeconds: 604_800 };

const key = createECDH('prime256v1');
key.generateKeys();
function subscription(i: number): Subscription {
  return {
    id: randomUUID(), endpoint: `https://push.example.com/s/${i}`, keys: { p256dh: key.getPublicKey('base64url'), auth: randomBytes(16).toString('base64url') },
    tokenHash: 'x', createdAt: new Date().toISOString(), topics: i % 2 ? ['world'] : ['world', 'sport'], maxUrgency: 1 + (i % 9),
    languages: i % 5 === 0 ? ['fr'] : null, quietHours: i % 7 === 0 ? { start: '22:00', end: '07:00', timeZone: 'Europe/Paris' } : null,
  };
}

function article(n: number): Article {
  const now = new Date().toISOString();
  return { id: `bench-${n}`, version: 1, headline: 'Bench', summary: null, body: null, url: null, topics: ['world/europe'], urgency: 3, language: 'en', byline: null, image: null, publishedAt: now, changeNote: null, notify: true, updatedAt: now, status: 'published' };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;

async function measure(name: string, subs: SubscriptionStore, store: Store): Promise<void> {
  for (let i = 0; i < SUBSCRIBERS; i += 500) await Promise.all(Array.from({ length: Math.min(500, SUBSCRIBERS - i) }, (_, j) => subs.upsert(subscription(i + j))));
  const counts: number[] = [];
  const commits: number[] = [];
  let audience = 0;
  for (let r = 0; r < RUNS; r++) {
    const a = article(r);
    const event: EventDraft = { type: 'article.published', at: a.updatedAt, topics: a.topics, article: a };
    let t = performance.now();
    audience = await pushAudience(subs, event, new Date());
    counts.push(performance.now() - t);
    t = performance.now();
    await store.commit({ expected: null, article: a, event, listed: true });
    commits.push(performance.now() - t);
  }
  console.log(
    `${name}: ${SUBSCRIBERS} subscriptions (audience ${audience}): count median ${median(counts).toFixed(1)} ms, p95 ${p95(counts).toFixed(1)} ms; ` +
      `commit median ${median(commits).toFixed(2)} ms; count/commit ${(median(counts) / median(commits)).toFixed(1)}x`,
  );
}

await measure('memory', new MemorySubscriptions(), new MemoryStore(retention));
const redis = await TestRedis.start();
try {
  const factory = new RedisFactory(redis.url, createLogger('silent'));
  const store = await RedisStore.open(factory, retention);
  await measure('redis', await RedisSubscriptions.open(factory), store);
  await store.close();
  await factory.close();
} finally {
  await redis.stop();
}
