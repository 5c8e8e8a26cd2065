import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { article } from '../support/articles.ts';
import { PushService } from '../support/push-service.ts';
import { TestRedis } from '../support/redis.ts';
import { spawnNode } from '../support/node-process.ts';
import { api, startServer } from '../support/server.ts';
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

// A node's unacknowledged history entries and running push jobs are taken over 1.5 s after it stops.
const env = () => ({ REDIS_URL: redis.url, ...push.serverEnv, RATE_LIMIT_PUBLISH_PER_SECOND: '0', RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '0', PUSH_TAKEOVER_MS: '1500' });
const node = () => startServer(env());
/** A node in a child process, to be killed with SIGKILL (tests/support/node-child.ts). */
const nodeProcess = (holdFanout = false) => spawnNode({ env: env(), holdFanout });

async function subscribeMany(s: { url: string }, n: number, topic: string) {
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

  it('a node killed (SIGKILL) in the middle of a fan-out loses nothing: another node sends the rest', async () => {
    const a = await nodeProcess();
    const names = await subscribeMany(a, 80, 'crash');
    push.delayMs = 150; // a slow push service, so the fan-out is still running when the node dies
    try {
      await api(a.url, 'POST', '/api/v1/articles', article(['crash'], { urgency: 2 }), a.auth);
      await waitFor('the fan-out to be under way', () => names.filter((n) => push.for(n).length >= 1).length >= 10, 10_000);
      await a.kill();
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
      await a.kill();
    }
  });

  it('a node killed after the commit and before the fan-out is queued: another node takes the event over, one push each', async () => {
    const c = redis.client();
    const pending = async () => ((await c.xpending('newspush:events', 'push')) as [number])[0];
    // This node reads each event from the history and never gets its fan-out queued (its queue hangs).
    const a = await nodeProcess(true);
    try {
      const names = await subscribeMany(a, 12, 'window');
      const r = await api(a.url, 'POST', '/api/v1/articles', article(['window'], { urgency: 2 }), a.auth);
      expect(r.status).toBe(201); // stored: that is all the answer says
      await waitFor('the node to hold the event', () => a.facts.some((f) => f.held === r.body.event.id), 10_000);
      expect(await pending()).toBe(1); // read by the group, not acknowledged
      await a.kill();
      expect(names.map((n) => push.for(n).length)).toEqual(names.map(() => 0));
      const b = await node();
      try {
        await waitFor('every subscriber reached', () => names.every((n) => push.for(n).length >= 1), 20_000);
        await waitFor('the entry acknowledged', async () => (await pending()) === 0);
        await sleep(1_000);
        for (const n of names) expect(push.for(n).map((p) => p.payload.eventId)).toEqual([r.body.event.id]);
        const metrics = await (await fetch(`${b.url}/metrics`)).text();
        expect(metrics).toMatch(/newspush_events_published_total\{type="article.published"\} 1/);
      } finally {
        await b.close();
      }
    } finally {
      await a.kill();
      c.disconnect();
    }
  });
});
