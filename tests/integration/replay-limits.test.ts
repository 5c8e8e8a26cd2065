import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { compareIds, type NewsEvent } from '../../src/domain/event.ts';
import { article } from '../support/articles.ts';
import { NewsClient } from '../support/clients.ts';
import { fillHistory } from '../support/history.ts';
import { TestRedis } from '../support/redis.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { SseReader } from '../support/sse.ts';
import { sleep, waitFor } from '../support/wait.ts';

const publishVia = (srv: TestServer) => (topics: string[]) =>
  api(srv.url, 'POST', '/api/v1/articles', article(topics), srv.auth).then((r) => {
    if (r.status !== 201) throw new Error(`publish failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.event as NewsEvent;
  });

function expectOrderedOnce(ids: string[]): void {
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids).toEqual([...ids].sort(compareIds));
}

describe('200 clients, each 2,000 events behind (20 KB bodies), reconnecting at once (Redis engine)', () => {
  const TOPICS = 20;
  const CLIENTS = 200;
  let redis: TestRedis;
  let srv: TestServer;
  beforeAll(async () => {
    redis = await TestRedis.start({ persistent: false });
    // REPLAY_MAX_EVENTS 150: one topic (about 100 events behind) replays, two topics (about 200 behind) get resync.
    // REPLAY_CONCURRENCY stays at its default (32), so most clients wait their turn with live events buffered.
    // The 200 clients all come from 127.0.0.1.
    srv = await startServer({ REDIS_URL: redis.url, REPLAY_MAX_EVENTS: '150', RATE_LIMIT_HISTORY_PER_MINUTE: '0', RATE_LIMIT_PUBLISH_PER_SECOND: '0', MAX_CONNECTIONS_PER_ADDRESS: '0' });
  }, 60_000);
  afterAll(async () => {
    await srv.close();
    await redis.stop();
  });

  it('each replays every event exactly once in order, or gets resync; none is left with a gap', async () => {
    const history = await fillHistory(srv.app.store, { count: 2_001, bodyBytes: 20_000, topics: (i) => [`t${i % TOPICS}`] });
    const cursor = history[0]!.id;
    const follows = (k: number) => (k % 2 === 0 ? [`t${k % TOPICS}`] : [`t${k % TOPICS}`, `t${(k + 1) % TOPICS}`]);
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => NewsClient.connect(srv.url)));
    const publish = publishVia(srv);
    // All subscribe with the old cursor at once, while publishing goes on.
    const acks = Promise.all(clients.map((c, k) => c.socket.timeout(120_000).emitWithAck('subscribe', { topics: follows(k), since: cursor })));
    const during: NewsEvent[] = [];
    for (let i = 0; i < TOPICS * 2; i++) during.push(await publish([`t${i % TOPICS}`]));
    const answers = (await acks) as Array<{ ok: boolean; resync: boolean; replayed: number }>;
    // Then one more event on every topic: every client, replayed or resynced, must get its topics' ones live.
    const final: NewsEvent[] = [];
    for (let i = 0; i < TOPICS; i++) final.push(await publish([`t${i}`]));
    const all = [...history, ...during, ...final].sort((a, b) => compareIds(a.id, b.id));
    let replays = 0;
    let resyncs = 0;
    for (let k = 0; k < CLIENTS; k++) {
      const c = clients[k]!;
      const topics = follows(k);
      const mine = (e: NewsEvent) => topics.includes(e.topics[0]!);
      const lastOfMine = final.filter(mine).map((e) => e.id);
      await waitFor(`client ${k} to get the final events`, () => lastOfMine.every((id) => c.ids.includes(id)), 30_000);
      expect(answers[k]!.ok).toBe(true);
      expectOrderedOnce(c.ids);
      expect(c.events.every(mine)).toBe(true);
      if (answers[k]!.resync) {
        resyncs++;
        expect(c.resyncs).toHaveLength(1);
        expect(topics).toHaveLength(2);
        // Continuing from the head it was given misses nothing: it got every event of its topics after it.
        const head = (c.resyncs[0] as { head: string }).head;
        expect(c.ids).toEqual(all.filter((e) => mine(e) && compareIds(e.id, head) > 0).map((e) => e.id));
      } else {
        replays++;
        expect(c.resyncs).toEqual([]);
        expect(c.ids).toEqual(all.filter((e) => mine(e) && compareIds(e.id, cursor) > 0).map((e) => e.id));
      }
    }
    expect(replays).toBe(CLIENTS / 2);
    expect(resyncs).toBe(CLIENTS / 2);
    for (const c of clients) c.close();
  }, 180_000);
});

describe('a Redis that comes back empty', () => {
  let redis: TestRedis;
  let srv: TestServer;
  beforeAll(async () => {
    redis = await TestRedis.start({ persistent: false });
    srv = await startServer({ REDIS_URL: redis.url, RATE_LIMIT_PUBLISH_PER_SECOND: '0', RATE_LIMIT_HISTORY_PER_MINUTE: '0' });
  });
  afterAll(async () => {
    await srv.close();
    await redis.stop();
  });

  it('gives every client with an old cursor resync, also after new events were written', async () => {
    const publish = publishVia(srv);
    const clients = await Promise.all(Array.from({ length: 10 }, () => NewsClient.connect(srv.url, { topics: ['world'] })));
    const before: NewsEvent[] = [];
    for (let i = 0; i < 5; i++) before.push(await publish(['world']));
    for (const c of clients) await c.waitForCount(5);
    const cursors = clients.map((c, k) => c.ids[k % 5]!);
    for (const c of clients) c.close();
    // Redis dies and restarts without its data.
    await redis.stopProcess();
    await redis.startProcess();
    await waitFor('the server to be ready again', async () => (await api(srv.url, 'GET', '/readyz')).status === 200 || undefined, 20_000);
    const after: NewsEvent[] = [];
    for (let i = 0; i < 3; i++) after.push(await waitFor('a publication to succeed', () => publish(['world']).catch(() => undefined), 20_000));
    // Reconnecting with their old cursors after new events landed: every one is told to reload, none replays.
    const back = await Promise.all(cursors.map((since) => NewsClient.connect(srv.url, { topics: ['world'], since })));
    for (const c of back) await waitFor('resync', () => c.resyncs.length === 1);
    // Each is told where the new history stands: its newest event.
    for (const c of back) expect(c.resyncs).toEqual([{ topics: ['world'], reason: 'history_reset', head: after[2]!.id }]);
    expect(back.every((c) => c.events.length === 0)).toBe(true);
    // They are live afterwards.
    const next = await publish(['world']);
    for (const c of back) await waitFor('the next event', () => c.ids.includes(next.id));
    for (const c of back) c.close();
    // Reconnecting from the head they were given: no second resync, and what followed it replays once.
    const resumed = await NewsClient.connect(srv.url, { topics: ['world'], since: after[2]!.id });
    await waitFor('the replay from the head', () => resumed.ids.length >= 1);
    await sleep(100);
    expect(resumed.resyncs).toEqual([]);
    expect(resumed.ids).toEqual([next.id]);
    resumed.close();
    // The same answer over SSE and the events API.
    const sse = await SseReader.open(`${srv.url}/api/v1/stream?topics=world`, { 'Last-Event-ID': before[4]!.id });
    await waitFor('SSE resync', () => sse.messages.find((m) => m.event === 'resync'));
    const resync = sse.messages.find((m) => m.event === 'resync')!;
    expect(JSON.parse(resync.data)).toEqual({ topics: ['world'], reason: 'history_reset', head: next.id });
    expect(resync.id).toBe(next.id);
    expect(sse.data).toEqual([]);
    await sse.close();
    const sseBack = await SseReader.open(`${srv.url}/api/v1/stream?topics=world`, { 'Last-Event-ID': resync.id! });
    const later = await publish(['world']);
    await waitFor('the SSE event after the head', () => sseBack.data.length >= 1);
    await sleep(100);
    expect(sseBack.messages.map((m) => [m.event, m.id])).toEqual([['message', later.id]]);
    await sseBack.close();
    const old = await api(srv.url, 'GET', `/api/v1/events?topics=world&since=${before[2]!.id}`);
    expect(old.body).toMatchObject({ events: [], resync: true, reason: 'history_reset', head: later.id });
    // A cursor of the new history replays as before.
    const fresh = await api(srv.url, 'GET', `/api/v1/events?topics=world&since=${after[0]!.id}`);
    expect(fresh.body.events.map((e: NewsEvent) => e.id)).toEqual([after[1]!.id, after[2]!.id, next.id, later.id]);
  }, 90_000);

  it('the memory engine does the same after a restart', async () => {
    const first = await startServer({ RATE_LIMIT_PUBLISH_PER_SECOND: '0' });
    const old = await publishVia(first)(['world']);
    await first.close();
    await waitFor('the clock to move past the old id', () => Date.now() > Number(old.id.split('-')[0]) + 1);
    const second = await startServer({ RATE_LIMIT_PUBLISH_PER_SECOND: '0' });
    try {
      const fresh = await publishVia(second)(['world']);
      const c = await NewsClient.connect(second.url, { topics: ['world'], since: old.id });
      await waitFor('resync', () => c.resyncs.length === 1);
      expect(c.resyncs).toEqual([{ topics: ['world'], reason: 'history_reset', head: fresh.id }]);
      expect(c.events).toEqual([]);
      c.close();
      // From the head: no second resync.
      const back = await NewsClient.connect(second.url);
      expect(await back.request('subscribe', { topics: ['world'], since: fresh.id })).toEqual({ ok: true, topics: ['world'], replayed: 0, resync: false });
      back.close();
    } finally {
      await second.close();
    }
  });
});

describe('history reads are budgeted per client address', () => {
  it('answers 429 rate_limited with Retry-After on the events API, SSE and Socket.IO, and leaves cursor-less use alone', async () => {
    const srv = await startServer({ RATE_LIMIT_HISTORY_PER_MINUTE: '3', RATE_LIMIT_PUBLISH_PER_SECOND: '0' });
    try {
      const e = await publishVia(srv)(['world']);
      expect((await api(srv.url, 'GET', `/api/v1/events?topics=world&since=${e.id}`)).status).toBe(200); // 1
      const viaHandshake = await NewsClient.connect(srv.url, { topics: ['world'], since: e.id }); // 2
      expect(await viaHandshake.request('subscribe', { topics: ['sport'], since: e.id })).toMatchObject({ ok: true }); // 3
      // The budget is spent: every kind of history read is refused, with when to retry.
      const refused = await viaHandshake.request('subscribe', { topics: ['culture'], since: e.id });
      expect(refused).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
      expect(refused.error.retryAfter).toBeGreaterThan(0);
      const http = await api(srv.url, 'GET', `/api/v1/events?topics=world&since=${e.id}`);
      expect(http.status).toBe(429);
      expect(http.body.error.code).toBe('rate_limited');
      expect(Number(http.headers.get('retry-after'))).toBeGreaterThan(0);
      const sse = await SseReader.open(`${srv.url}/api/v1/stream?topics=world`, { 'Last-Event-ID': e.id });
      expect(sse.status).toBe(429);
      await expect(NewsClient.connect(srv.url, { topics: ['world'], since: e.id })).rejects.toMatchObject({ data: { code: 'rate_limited' } });
      // Following without a cursor costs no history read.
      const plain = await NewsClient.connect(srv.url, { topics: ['world'] });
      expect(await plain.request('subscribe', { topics: ['sport'] })).toMatchObject({ ok: true });
      const stream = await SseReader.open(`${srv.url}/api/v1/stream?topics=world`);
      expect(stream.status).toBe(200);
      await stream.close();
      plain.close();
      viaHandshake.close();
    } finally {
      await srv.close();
    }
  });
});

describe('the events API', () => {
  it('cuts an answer at 1 MiB of events and says more follow; the pages together give each event once', async () => {
    const srv = await startServer({ RATE_LIMIT_HISTORY_PER_MINUTE: '0' });
    try {
      const history = await fillHistory(srv.app.store, { count: 31, bodyBytes: 100_000, topics: () => ['big'] });
      const got: string[] = [];
      let since = history[0]!.id;
      for (let pages = 0; ; pages++) {
        expect(pages).toBeLessThan(10);
        const r = await fetch(`${srv.url}/api/v1/events?topics=big&since=${since}&limit=1000`);
        const text = await r.text();
        expect(text.length).toBeLessThan(1024 * 1024 + 110_000);
        const body = JSON.parse(text) as { events: NewsEvent[]; more: boolean };
        got.push(...body.events.map((e) => e.id));
        if (!body.more) break;
        expect(body.events.length).toBeGreaterThan(0);
        since = body.events.at(-1)!.id;
      }
      expect(got).toEqual(history.slice(1).map((e) => e.id));
    } finally {
      await srv.close();
    }
  });
});

describe('a socket that goes away', () => {
  it('has its queued subscriptions dropped, not run; at most a few may wait', async () => {
    const srv = await startServer({ RATE_LIMIT_HISTORY_PER_MINUTE: '0', REPLAY_CONCURRENCY: '1', REPLAY_MAX_EVENTS: '5000' });
    try {
      const history = await fillHistory(srv.app.store, { count: 301, bodyBytes: 1_000, topics: () => ['c'] });
      const since = history[0]!.id;
      const replays = async () => Number(/newspush_deliveries_total\{channel="socketio",kind="replay"\} (\d+)/.exec(await srv.app.metrics.registry.metrics())?.[1] ?? 0);
      const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/socket.io/?EIO=4&transport=websocket`);
      const acks: string[] = [];
      await new Promise<void>((resolve, reject) => {
        ws.once('error', reject);
        ws.on('message', (data) => {
          const m = String(data);
          if (m.startsWith('0')) ws.send('40');
          else if (m.startsWith('40')) {
            // Ten replays asked at once (with acks 0..9), then gone.
            for (let i = 0; i < 10; i++) ws.send(`42${i}${JSON.stringify(['subscribe', { topics: ['c'], since }])}`);
            resolve();
          } else if (m.startsWith('43')) acks.push(m);
        });
      });
      // Past the first four, the rest are refused at once rather than queued.
      await waitFor('the refusals', () => acks.filter((a) => a.includes('rate_limited')).length === 6);
      ws.terminate();
      await waitFor('the disconnect', async () => /newspush_connections\{channel="socketio"\} 0/.test(await srv.app.metrics.registry.metrics()) || undefined);
      // A new client's full replay goes through the one catch-up slot after whatever the gone socket still holds.
      const c = await NewsClient.connect(srv.url);
      expect(await c.socket.timeout(30_000).emitWithAck('subscribe', { topics: ['c'], since })).toMatchObject({ ok: true, replayed: 300 });
      c.close();
      // The gone socket ran at most the replay it had started: its three queued ones were dropped.
      expect(await replays()).toBeLessThanOrEqual(600);
    } finally {
      await srv.close();
    }
  });
});

describe('a live socket that stops reading', () => {
  it('is dropped once its events have waited past the drain deadline; a reading one keeps everything', async () => {
    const srv = await startServer({ REPLAY_DRAIN_TIMEOUT_SECONDS: '1' });
    try {
      const reading = await NewsClient.connect(srv.url, { topics: ['live'] });
      const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/socket.io/?EIO=4&transport=websocket`);
      await new Promise<void>((resolve, reject) => {
        ws.once('error', reject);
        ws.on('message', (data) => {
          const m = String(data);
          if (m.startsWith('0')) ws.send(`40${JSON.stringify({ topics: ['live'] })}`);
          else if (m.startsWith('40')) {
            ws.pause();
            resolve();
          }
        });
      });
      const connections = async () => Number(/newspush_connections\{channel="socketio"\} (\d+)/.exec(await srv.app.metrics.registry.metrics())?.[1]);
      expect(await connections()).toBe(2);
      // 50 MB of live events: more than the kernel's socket buffers take (up to 32 MB here), so the stalled socket's queue grows.
      const events = await fillHistory(srv.app.store, { count: 500, bodyBytes: 100_000, topics: () => ['live'] });
      await waitFor('the stalled socket to be dropped', async () => (await connections()) === 1 || undefined, 20_000);
      await reading.waitForCount(500, 20_000);
      expect(reading.ids).toEqual(events.map((e) => e.id));
      expect(reading.socket.connected).toBe(true);
      reading.close();
      ws.terminate();
    } finally {
      await srv.close();
    }
  }, 60_000);
});
