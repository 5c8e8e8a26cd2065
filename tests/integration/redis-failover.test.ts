import { afterAll, describe, expect, it } from 'vitest';
import type { NewsEvent } from '../../src/domain/event.ts';
import { RedisKeys } from '../../src/storage/redis-connection.ts';
import { article } from '../support/articles.ts';
import { NewsClient } from '../support/clients.ts';
import { TestRedis } from '../support/redis.ts';
import { MASTER_NAME, TestSentinelGroup } from '../support/sentinel.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { sleep, waitFor } from '../support/wait.ts';

const keys = new RedisKeys();
const cleanups: Array<() => Promise<void>> = [];
// Several nodes, Redis servers and sentinels to stop, one after another.
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
}, 90_000);

interface Acked {
  id: string;
  status: number;
  event: NewsEvent | null;
}

/**
 * A newsroom tool that retries until it gets a 2xx: the same body (with its version) again is an idempotent
 * retry (200, `"event": null` once the first attempt was stored). Counts each outcome.
 */
class Publisher {
  readonly acked: Acked[] = [];
  readonly outcomes = new Map<string, number>();
  private stopping = false;
  private done: Promise<void> | null = null;

  constructor(private readonly srv: TestServer) {}

  start(): void {
    this.done = (async () => {
      while (!this.stopping) await this.publishOne(article(['world/europe'], { version: 1 }));
    })();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.done;
  }

  async publishOne(body: Record<string, unknown>, ms = 60_000): Promise<Acked> {
    const deadline = Date.now() + ms;
    for (;;) {
      let status: number | string;
      let res: Awaited<ReturnType<typeof api>> | null = null;
      try {
        res = await api(this.srv.url, 'POST', '/api/v1/articles', body, this.srv.auth);
        status = res.status;
      } catch (err) {
        status = `network: ${(err as Error).message}`;
      }
      this.outcomes.set(String(status), (this.outcomes.get(String(status)) ?? 0) + 1);
      if (res && res.status >= 200 && res.status < 300) {
        const a = { id: body.id as string, status: res.status, event: res.body.event as NewsEvent | null };
        this.acked.push(a);
        return a;
      }
      if (res && res.status !== 503) throw new Error(`publish answered ${res.status}: ${JSON.stringify(res.body)}`);
      if (Date.now() > deadline) throw new Error(`no 2xx for ${body.id as string} within ${ms} ms (last: ${status})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('REDIS_MIN_REPLICAS: acknowledged only once a replica has it', () => {
  it('a write no replica confirms answers 503; the retry is acknowledged once the replica has it, and clients see it once', async () => {
    const primary = await TestRedis.start();
    cleanups.push(() => primary.stop());
    const replica = await TestRedis.start({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
    cleanups.push(() => replica.stop());
    const onReplica = replica.client();
    cleanups.push(async () => onReplica.disconnect());
    await waitFor('replica in sync', async () => /master_link_status:up/.test(await onReplica.info('replication')), 15_000);

    const srv = await startServer({ REDIS_URL: primary.url, REDIS_MIN_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '300', RATE_LIMIT_PUBLISH_PER_SECOND: '0' });
    cleanups.push(() => srv.close());
    const client = await NewsClient.connect(srv.url, { topics: ['world'] });
    cleanups.push(async () => client.close());
    const onReplicaNow = async (id: string) => (await onReplica.get(keys.key('art', id))) !== null;

    const a1 = article(['world'], { version: 1 });
    const r1 = await api(srv.url, 'POST', '/api/v1/articles', a1, srv.auth);
    expect(r1.status).toBe(201);
    expect(await onReplicaNow(a1.id as string)).toBe(true); // on the replica at the moment of the 201

    replica.kill('SIGSTOP'); // the replica stalls: connected, but confirms nothing
    const a2 = article(['world']); // no version: a retry of the same content is still idempotent
    const r2 = await api(srv.url, 'POST', '/api/v1/articles', a2, srv.auth);
    expect(r2.status).toBe(503);
    expect(r2.body.error.code).toBe('unavailable');
    expect(r2.headers.get('retry-after')).toBe('1');
    // The retry finds the article stored on the primary, but still may not acknowledge it.
    expect((await api(srv.url, 'POST', '/api/v1/articles', a2, srv.auth)).status).toBe(503);
    const patch = await api(srv.url, 'PATCH', `/api/v1/articles/${a1.id as string}`, { headline: 'Changed while stalled' }, srv.auth);
    expect(patch.status).toBe(503);
    // Many writers at once share the WAIT rounds: every one is answered, none is acknowledged.
    const burst = Array.from({ length: 20 }, () => article(['world/europe'], { version: 1 }));
    const answers = await Promise.all(burst.map((x) => api(srv.url, 'POST', '/api/v1/articles', x, srv.auth)));
    expect(answers.map((r) => r.status)).toEqual(burst.map(() => 503));
    expect((await api(srv.url, 'GET', '/readyz')).status).toBe(200); // readers are still served

    replica.kill('SIGCONT');
    const r2again = await api(srv.url, 'POST', '/api/v1/articles', a2, srv.auth);
    expect(r2again.status).toBe(200);
    expect(r2again.body.event).toBeNull(); // the first attempt's write, now confirmed
    expect(await onReplicaNow(a2.id as string)).toBe(true);
    const a3 = article(['world'], { version: 1 });
    expect((await api(srv.url, 'POST', '/api/v1/articles', a3, srv.auth)).status).toBe(201);

    const history = (await api(srv.url, 'GET', '/api/v1/events?topics=world&limit=1000')).body.events as NewsEvent[];
    // The 503 writes were stored on the primary (and reach readers): a 503 means "not acknowledged", not "not stored".
    const order = history.map((e) => e.article.id);
    expect(order.slice(0, 3)).toEqual([a1.id, a2.id, a1.id]);
    expect(new Set(order.slice(3, -1))).toEqual(new Set(burst.map((x) => x.id)));
    expect(order.slice(-1)).toEqual([a3.id]);
    expect(order).toHaveLength(24);
    await client.waitForCount(history.length);
    expect(client.ids).toEqual(history.map((e) => e.id));
  });
});

describe('Redis Sentinel failover', () => {
  it('primary SIGKILLed while publishing: every acknowledged article survives, clients get each event once in order, the server recovers by itself', async () => {
    // Two replicas: with REDIS_MIN_REPLICAS=1 the promoted one still has a replica to confirm writes.
    const group = await TestSentinelGroup.start({ replicas: 2 });
    cleanups.push(() => group.stop());
    const env = {
      REDIS_SENTINELS: group.sentinelList,
      REDIS_SENTINEL_NAME: MASTER_NAME,
      REDIS_MIN_REPLICAS: '1',
      REDIS_WAIT_TIMEOUT_MS: '500',
      RATE_LIMIT_PUBLISH_PER_SECOND: '0',
      // Every test client comes from 127.0.0.1: reconnects after the failover must not share one history budget.
      RATE_LIMIT_HISTORY_PER_MINUTE: '0',
    };
    const a = await startServer(env);
    cleanups.push(() => a.close());
    const b = await startServer(env);
    cleanups.push(() => b.close());
    const clients: NewsClient[] = [];
    for (const srv of [a, b, a, b, a, b]) clients.push(await NewsClient.connect(srv.url, { topics: ['world'] }));
    cleanups.push(async () => clients.forEach((c) => c.close()));

    const publishers = [new Publisher(a), new Publisher(b)];
    const acked = () => publishers.reduce((n, p) => n + p.acked.length, 0);
    publishers.forEach((p) => p.start());
    await waitFor('10 acknowledged publications', () => acked() >= 10, 15_000);

    const oldPrimary = await group.primaryPort();
    (await group.server(oldPrimary)).kill('SIGKILL');
    const newPrimary = await group.waitForFailover(oldPrimary, 40_000);
    expect(newPrimary).not.toBe(oldPrimary);
    const atFailover = acked();
    // Publishing goes on through the new primary, without restarting anything.
    await waitFor('10 more acknowledged publications after the failover', () => acked() >= atFailover + 10, 60_000); // a busy machine (CI runs two test files at once) may take a while to resync the replica
    await Promise.all(publishers.map((p) => p.stop()));

    const all = publishers.flatMap((p) => p.acked);
    // A sentinel that learns of the new primary after the others announces it again (here up to a second later),
    // and each connection that listened to it reconnects once more (about 100 ms): a read just then answers 503,
    // as during the failover itself, and a reader retries it. Anything else is the answer.
    const read = async (srv: TestServer, path: string) => {
      for (let tries = 1; ; tries++) {
        const res = await api(srv.url, 'GET', path);
        if (res.status !== 503 || tries === 20) return res;
        await sleep(100);
      }
    };
    for (const srv of [a, b]) {
      expect((await read(srv, '/readyz')).status).toBe(200);
      for (const x of all) expect((await read(srv, `/api/v1/articles/${x.id}`)).status, x.id).toBe(200);
    }
    const history = (await read(a, '/api/v1/events?topics=world&limit=1000')).body.events as NewsEvent[];
    const historyIds = history.map((e) => e.id);
    // Every acknowledged article has its event in the history (the idempotent 200s carry no event: find it there).
    const published = new Set(history.map((e) => e.article.id));
    for (const x of all) expect(published.has(x.id), x.id).toBe(true);
    for (const x of all) if (x.event) expect(historyIds).toContain(x.event.id);

    const inHistory = new Set(historyIds);
    for (const c of clients) {
      await waitFor(
        'every event in the history on every client (or a resync)',
        () => c.resyncs.length > 0 || c.ids.filter((id) => inHistory.has(id)).length >= historyIds.length,
        15_000,
      );
      expect(c.socket.connected).toBe(true);
      expect(new Set(c.ids).size).toBe(c.ids.length); // nothing twice
      if (c.resyncs.length === 0) expect(c.ids.filter((id) => inHistory.has(id))).toEqual(historyIds); // all, in order
    }
    const outcomes = new Map<string, number>();
    for (const p of publishers) for (const [k, v] of p.outcomes) outcomes.set(k, (outcomes.get(k) ?? 0) + v);
    console.log(`failover: ${all.length} acknowledged, outcomes ${JSON.stringify(Object.fromEntries(outcomes))}, history ${historyIds.length}, primary ${oldPrimary} -> ${newPrimary}`);
    // A new article is acknowledged (retried after a 503, like the reads above).
    expect((await new Publisher(b).publishOne(article(['world'], { version: 1 }), 5_000)).status).toBe(201);
  }, 150_000);
});
