import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { article } from '../support/articles.ts';
import { wrapFanout } from '../support/engines.ts';
import { PushService } from '../support/push-service.ts';
import { TestRedis } from '../support/redis.ts';
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

const env = (engine: 'memory' | 'redis') => ({
  ...push.serverEnv, RATE_LIMIT_PUBLISH_PER_SECOND: '0', RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '0', PUSH_TAKEOVER_MS: '1500',
  ...(engine === 'redis' ? { REDIS_URL: redis.url } : {}),
});

async function subscriber(url: string, topic: string) {
  const sub = push.subscriber();
  const r = await api(url, 'POST', '/api/v1/push/subscriptions', { subscription: sub.subscription, topics: [topic] });
  expect(r.status).toBe(201);
  return sub.name;
}

describe('the publisher\'s answer says whether the write is stored, and the alert goes out once', () => {
  it('memory: the push queue refuses the fan-out twice; the publisher still gets 201 and one push', async () => {
    let refusals = 2;
    const srv = await startServer(env('memory'), {
      // The queue write after the commit fails (as a full or broken queue would): the consumer retries it.
      engine: wrapFanout(async (_id, add) => {
        if (refusals-- > 0) throw new Error('queue refused the job');
        await add();
      }),
    });
    try {
      const name = await subscriber(srv.url, 'refused');
      const r = await api(srv.url, 'POST', '/api/v1/articles', article(['refused'], { urgency: 2 }), srv.auth);
      expect(r.status).toBe(201);
      await waitFor('the push', () => push.for(name).length >= 1, 10_000);
      await sleep(500);
      expect(push.for(name).map((p) => p.payload.eventId)).toEqual([r.body.event.id]);
      expect(refusals).toBeLessThan(0);
    } finally {
      await srv.close();
    }
  });

  it('redis: Redis refuses writes (NOREPLICAS) between the commit and the fan-out; 201, then 503 while it refuses, then one push each', async () => {
    const admin = redis.client();
    let reached!: (id: string) => void;
    const atFanout = new Promise<string>((r) => (reached = r));
    let go!: () => void;
    const proceed = new Promise<void>((r) => (go = r));
    let first = true;
    const outcomes: string[] = [];
    const srv = await startServer(env('redis'), {
      // The first fan-out waits, so that Redis starts refusing writes after the commit and before the queue write.
      engine: wrapFanout(async (eventId, add) => {
        if (first) {
          first = false;
          reached(eventId);
          await proceed;
        }
        try {
          await add();
          outcomes.push('queued');
        } catch (err) {
          outcomes.push((err as Error).message);
          throw err;
        }
      }),
    });
    try {
      const name = await subscriber(srv.url, 'norepl');
      const stored = await api(srv.url, 'POST', '/api/v1/articles', article(['norepl'], { urgency: 2 }), srv.auth);
      expect(stored.status).toBe(201);
      expect(await atFanout).toBe(stored.body.event.id);

      // A lone Redis asked for one replica refuses every write with NOREPLICAS.
      await admin.config('SET', 'min-replicas-to-write', '1');
      const refused = article(['norepl'], { urgency: 2 });
      const notStored = await api(srv.url, 'POST', '/api/v1/articles', refused, srv.auth);
      expect(notStored.status).toBe(503);
      expect(notStored.body.error.code).toBe('unavailable');
      expect((await api(srv.url, 'GET', `/api/v1/articles/${refused.id}`)).status).toBe(404);
      go(); // the queue write is now refused too; the event stays unacknowledged in the group
      await waitFor('the queue write to be refused', () => outcomes.length > 0);
      expect(outcomes[0]).toMatch(/NOREPLICAS/);
      expect(push.for(name)).toEqual([]);

      await admin.config('SET', 'min-replicas-to-write', '0');
      await waitFor('the alert', () => push.for(name).length >= 1, 15_000);
      const retried = await api(srv.url, 'POST', '/api/v1/articles', refused, srv.auth);
      expect(retried.status).toBe(201);
      await waitFor('the second alert', () => push.for(name).length >= 2, 15_000);
      await sleep(1_000);
      expect(push.for(name).map((p) => p.payload.eventId)).toEqual([stored.body.event.id, retried.body.event.id]);
      expect(await admin.xpending('newspush:events', 'push')).toEqual([0, null, null, null]);
    } finally {
      await admin.config('SET', 'min-replicas-to-write', '0');
      admin.disconnect();
      await srv.close();
    }
  });
});
