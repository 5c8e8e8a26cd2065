import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { article } from '../support/articles.ts';
import { PushService } from '../support/push-service.ts';
import { TestRedis } from '../support/redis.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { sleep, waitFor } from '../support/wait.ts';

let push: PushService;
let redis: TestRedis;
beforeAll(async () => {
  push = await PushService.start();
  redis = await TestRedis.start();
});
afterAll(async () => {
  await push.stop();
  await redis.stop();
});

const node = () =>
  startServer(
    { REDIS_URL: redis.url, ...push.serverEnv, RATE_LIMIT_PUBLISH_PER_SECOND: '0', RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '0', PUSH_JOB_LOCK_MS: '1500' },
  );

async function subscribeMany(s: TestServer, n: number, topic: string) {
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const sub = push.subscriber();
    const r = await api(s.url, 'POST', '/api/v1/push/subscriptions', { subscription: sub.subscription, topics: [topic] });
    expect(r.status).toBe(201);
    names.push(sub.name);
  }
  return names;
}

describe('Web Push with several nodes on one Redis', () => {
  it('every node and every restart signs with the same VAPID key', async () => {
    const a = await node();
    const b = await node();
    const keyA = (await api(a.url, 'GET', '/api/v1/push/key')).body.publicKey;
    expect((await api(b.url, 'GET', '/api/v1/push/key')).body.publicKey).toBe(keyA);
    await a.close();
    const c = await node();
    expect((await api(c.url, 'GET', '/api/v1/push/key')).body.publicKey).toBe(keyA);
    await b.close();
    await c.close();
  });

  it('one push per subscriber per alert, not one per node; subscriptions are shared', async () => {
    const a = await node();
    const b = await node();
    try {
      const names = await subscribeMany(a, 10, 'nodes');
      const r = await api(b.url, 'POST', '/api/v1/articles', article(['nodes'], { urgency: 3 }), b.auth);
      await waitFor('10 pushes', () => names.every((n) => push.for(n).length >= 1), 10_000);
      await sleep(1_000);
      for (const n of names) expect(push.for(n).map((p) => p.payload.eventId)).toEqual([r.body.event.id]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a node stopped in the middle of a fan-out loses nothing: another node sends the rest', async () => {
    const a = await node();
    const names = await subscribeMany(a, 80, 'crash');
    push.delayMs = 150; // a slow push service, so the fan-out is still running when the node dies
    try {
      await api(a.url, 'POST', '/api/v1/articles', article(['crash'], { urgency: 2 }), a.auth);
      await waitFor('the fan-out to be under way', () => names.filter((n) => push.for(n).length > 0).length >= 10, 10_000);
      await a.app.abort();
      const reachedBeforeCrash = names.filter((n) => push.for(n).length > 0).length;
      expect(reachedBeforeCrash).toBeLessThan(80);
      const b = await node();
      try {
        await waitFor('every subscriber reached', () => names.every((n) => push.for(n).length >= 1), 30_000);
        const total = names.reduce((sum, n) => sum + push.for(n).length, 0);
        // At most the requests that were in flight when the node died can arrive twice.
        expect(total - names.length).toBeLessThanOrEqual(32);
      } finally {
        await b.close();
      }
    } finally {
      push.delayMs = 0;
    }
  });
});
