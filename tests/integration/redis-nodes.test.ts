import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewsEvent } from '../../src/domain/event.ts';
import { article } from '../support/articles.ts';
import { NewsClient } from '../support/clients.ts';
import { TestRedis } from '../support/redis.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { sleep, waitFor } from '../support/wait.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await TestRedis.start();
});
afterAll(async () => {
  await redis.stop();
});

const env = () => ({ REDIS_URL: redis.url, RATE_LIMIT_PUBLISH_PER_SECOND: '0' });
const publish = async (srv: TestServer, topics: string[]) => {
  const r = await api(srv.url, 'POST', '/api/v1/articles', article(topics), srv.auth);
  if (r.status !== 201) throw new Error(`publish: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.event as NewsEvent;
};

describe('several nodes on one Redis', () => {
  it('an event published through any node reaches the clients of every node exactly once, in one order', async () => {
    const a = await startServer(env());
    const b = await startServer(env());
    try {
      const onA = await NewsClient.connect(a.url, { topics: ['world'] });
      const onB = await NewsClient.connect(b.url, { topics: ['world'] });
      const onBPolling = await NewsClient.connect(b.url, { topics: ['world'] }, ['polling']);
      const published: NewsEvent[] = [];
      // Both nodes publish at once: every client must still see one total order, the ids' order.
      await Promise.all([
        (async () => { for (let i = 0; i < 15; i++) published.push(await publish(a, ['world/europe'])); })(),
        (async () => { for (let i = 0; i < 15; i++) published.push(await publish(b, ['world'])); })(),
      ]);
      const ids = (await api(a.url, 'GET', '/api/v1/events?topics=world&limit=1000')).body.events.map((e: NewsEvent) => e.id);
      expect(ids).toHaveLength(30);
      expect(new Set(ids)).toEqual(new Set(published.map((e) => e.id)));
      for (const c of [onA, onB, onBPolling]) {
        await c.waitForCount(30);
        await sleep(100);
        expect(c.ids).toEqual(ids);
        c.close();
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('history and articles survive a restart; clients of a restarted node replay what they missed', async () => {
    let a = await startServer(env());
    const c1 = await NewsClient.connect(a.url, { topics: ['tech'] });
    const seen = await publish(a, ['tech']);
    await c1.waitForCount(1);
    c1.close();
    await a.close();

    // While node A is down, node B keeps publishing.
    const b = await startServer(env());
    const missed = [await publish(b, ['tech']), await publish(b, ['tech/ai'])];
    await b.close();

    a = await startServer(env());
    try {
      expect((await api(a.url, 'GET', `/api/v1/articles/${seen.article.id}`)).status).toBe(200);
      const c2 = await NewsClient.connect(a.url, { topics: ['tech'], since: c1.ids[0]! });
      await c2.waitForCount(2);
      expect(c2.ids).toEqual(missed.map((e) => e.id));
      // The same through a subscribe ack: a restarted node knows where its history ends and answers at once.
      const c3 = await NewsClient.connect(a.url);
      expect(await c3.request('subscribe', { topics: ['tech'], since: c1.ids[0]! })).toEqual({ ok: true, topics: ['tech'], replayed: 2, resync: false });
      expect(c3.ids).toEqual(missed.map((e) => e.id));
      expect(c2.socket.connected && c3.socket.connected).toBe(true);
      c2.close();
      c3.close();
    } finally {
      await a.close();
    }
  });
});

describe('Redis outage', () => {
  it('writes answer 503, /readyz turns 503, clients stay connected; all recovers without a restart', async () => {
    const srv = await startServer(env());
    try {
      const c = await NewsClient.connect(srv.url, { topics: ['outage'] });
      const before = await publish(srv, ['outage']);
      await c.waitForCount(1);
      expect((await api(srv.url, 'GET', '/readyz')).status).toBe(200);

      await redis.stopProcess();
      const write = await waitFor('a 503 write', async () => {
        const r = await api(srv.url, 'POST', '/api/v1/articles', article(['outage'], { id: 'during-outage' }), srv.auth);
        return r.status === 503 ? r : undefined;
      }, 10_000);
      expect(write.body.error.code).toBe('unavailable');
      await waitFor('readyz 503', async () => (await api(srv.url, 'GET', '/readyz')).status === 503, 10_000);
      expect((await api(srv.url, 'GET', '/healthz')).status).toBe(200);
      expect(c.socket.connected).toBe(true);
      // A replay that cannot read the history says so, then ends the connection so the client retries it whole.
      const other = await NewsClient.connect(srv.url);
      const ack = await other.request('subscribe', { topics: ['outage'], since: before.id });
      expect(ack).toMatchObject({ ok: false, error: { code: 'unavailable' } });
      await waitFor('the failed replay to end its connection', () => !other.socket.connected);

      await redis.startProcess();
      await waitFor('readyz 200 again', async () => (await api(srv.url, 'GET', '/readyz')).status === 200, 15_000);
      const after = await waitFor('a write after recovery', async () => {
        const r = await api(srv.url, 'POST', '/api/v1/articles', article(['outage']), srv.auth);
        return r.status === 201 ? (r.body.event as NewsEvent) : undefined;
      }, 15_000);
      await c.waitForCount(2, 15_000);
      expect(c.ids).toEqual([before.id, after.id]);
      expect(c.socket.connected).toBe(true);
      // The refused write was not stored half-way.
      expect((await api(srv.url, 'GET', '/api/v1/articles/during-outage')).status).toBe(404);
      c.close();
    } finally {
      await srv.close();
    }
  });
});
