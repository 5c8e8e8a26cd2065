import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewsEvent } from '../../src/domain/event.ts';
import { article } from '../support/articles.ts';
import { NewsClient } from '../support/clients.ts';
import { api, startServerOn, type TestServer } from '../support/server.ts';
import { sleep, waitFor } from '../support/wait.ts';

/** Every event of the deployment for these topics after `since`, as the reading API lists them. */
async function expectedAfter(srv: TestServer, topics: string[], since: string): Promise<string[]> {
  const r = await api(srv.url, 'GET', `/api/v1/events?topics=${topics.join(',')}&since=${since}&limit=1000`);
  return r.body.events.map((e: NewsEvent) => e.id);
}

function assertOrderedOnce(ids: string[]): void {
  expect(new Set(ids).size).toBe(ids.length);
  const sorted = [...ids].sort((a, b) => {
    const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
    const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
    return am === bm ? Number(as - bs) : Number(am - bm);
  });
  expect(ids).toEqual(sorted);
}

for (const engine of ['memory', 'redis'] as const) {
  describe(`replay of missed events (${engine} engine)`, () => {
    let srv: TestServer;
    const publish = (topics: string[], extra: Record<string, unknown> = {}) =>
      api(srv.url, 'POST', '/api/v1/articles', article(topics, extra), srv.auth).then((r) => {
        if (r.status !== 201) throw new Error(`publish failed: ${r.status} ${JSON.stringify(r.body)}`);
        return r.body.event as NewsEvent;
      });

    beforeAll(async () => {
      srv = await startServerOn(engine, { RATE_LIMIT_PUBLISH_PER_SECOND: '0' });
    });
    afterAll(async () => {
      await srv.close();
    });

    it('a client that was away gets exactly what it missed for its topics, in order, before the ack', async () => {
      const first = await publish(['world/europe']);
      const missed = [
        await publish(['world/middle-east/iraq']),
        await publish(['sport']),
        await publish(['us/politics', 'world']),
        await publish(['world']),
      ];
      const c = await NewsClient.connect(srv.url);
      const ack = await c.request('subscribe', { topics: ['world', 'us/politics'], since: first.id });
      // Replayed events arrive before the ack, so they are all here already.
      expect(c.ids).toEqual([missed[0]!.id, missed[2]!.id, missed[3]!.id]);
      expect(ack).toEqual({ ok: true, topics: ['world', 'us/politics'], replayed: 3, resync: false });
      const live = await publish(['world']);
      await c.waitForCount(4);
      expect(c.ids[3], JSON.stringify({ got: c.events.map((e) => [e.id, e.topics, e.article.id]), first: first.id, missed: missed.map((m) => m.id), live: live.id })).toBe(live.id);
      c.close();
    });

    it('handshake auth with since replays without an extra round trip', async () => {
      const cursor = await publish(['science']);
      const a = await publish(['science/space']);
      const b = await publish(['science']);
      const c = await NewsClient.connect(srv.url, { topics: ['science'], since: cursor.id });
      await c.waitForCount(2);
      expect(c.ids).toEqual([a.id, b.id]);
      c.close();
    });

    it('no gap and no duplicate while publishing goes on during the reconnect', async () => {
      const topics = ['busy'];
      const cursor = await publish(topics);
      // A fixed number of events, with clients connecting at given points of the run (not after given times),
      // so the interleaving is there however fast or slow the machine is.
      let published = 0;
      const publisher = (async () => {
        for (let i = 0; i < 120; i++) {
          await publish([i % 3 === 0 ? 'other' : 'busy/sub'], { urgency: 1 + (i % 9) });
          published++;
        }
      })();
      const clients: NewsClient[] = [];
      for (const at of [5, 30, 60, 90]) {
        await waitFor(`${at} events published`, () => published >= at, 20_000);
        clients.push(await NewsClient.connect(srv.url, { topics, since: cursor.id }));
      }
      await publisher;
      const expected = await expectedAfter(srv, topics, cursor.id);
      expect(expected.length).toBeGreaterThan(10);
      for (const c of clients) {
        await waitFor(`all ${expected.length} events`, () => c.events.length >= expected.length, 10_000);
        await sleep(50);
        assertOrderedOnce(c.ids);
        expect(c.ids).toEqual(expected);
        c.close();
      }
    });

    it('an event matching several followed topics arrives once, live and replayed', async () => {
      const cursor = await publish(['x']);
      const c = await NewsClient.connect(srv.url, { topics: ['culture', 'culture/film', 'tech'] });
      await c.request('subscribe', { topics: ['culture/film'] });
      const e = await publish(['culture/film/festivals', 'tech']);
      await c.waitForCount(1);
      await sleep(100);
      expect(c.ids).toEqual([e.id]);
      const r = await NewsClient.connect(srv.url, { topics: ['culture', 'tech'], since: cursor.id });
      await r.waitForCount(1);
      await sleep(100);
      expect(r.ids).toEqual([e.id]);
      c.close();
      r.close();
    });

    it('a live client that adds a topic with its cursor gets the new topic\'s missed events, nothing twice', async () => {
      const c = await NewsClient.connect(srv.url, { topics: ['health'] });
      const h1 = await publish(['health']);
      await c.waitForCount(1);
      const f1 = await publish(['food']);
      const both = await publish(['food', 'health']);
      await c.waitForCount(2);
      const ack = await c.request('subscribe', { topics: ['food'], since: h1.id });
      expect(ack.ok).toBe(true);
      const h2 = await publish(['health']);
      await c.waitForCount(4);
      await sleep(100);
      expect(c.ids).toEqual([h1.id, both.id, f1.id, h2.id]);
      c.close();
    });

    it('unsubscribe stops delivery for those topics', async () => {
      const c = await NewsClient.connect(srv.url, { topics: ['auto', 'travel'] });
      const ack = await c.request('unsubscribe', { topics: ['auto'] });
      expect(ack).toEqual({ ok: true, topics: ['travel'] });
      await publish(['auto']);
      const t = await publish(['travel']);
      await c.waitForCount(1);
      await sleep(100);
      expect(c.ids).toEqual([t.id]);
      c.close();
    });

    it('a client that starts on polling and upgrades to WebSocket keeps its subscription and its acks across the upgrade', async () => {
      const c = await NewsClient.connect(srv.url, { topics: ['garden'] }, ['polling', 'websocket']);
      const e1 = await publish(['garden']);
      await waitFor('the upgrade to WebSocket', () => c.socket.io.engine.transport.name === 'websocket', 5_000);
      expect(await c.request('subscribe', { topics: ['pets'] })).toMatchObject({ ok: true, topics: ['garden', 'pets'] });
      const e2 = await publish(['pets']);
      expect(await c.request('unsubscribe', { topics: ['garden'] })).toEqual({ ok: true, topics: ['pets'] });
      await publish(['garden']);
      const e3 = await publish(['pets']);
      await c.waitForCount(3);
      await sleep(100);
      expect(c.ids).toEqual([e1.id, e2.id, e3.id]);
      c.close();
    });

    it('bad subscriptions are refused and the connection stays usable', async () => {
      const c = await NewsClient.connect(srv.url);
      const badCursor = await c.request('subscribe', { topics: ['world'], since: 'yesterday' });
      expect(badCursor.ok).toBe(false);
      expect(badCursor.error.code).toBe('validation_failed');
      expect(badCursor.error.details[0].field).toBe('since');
      const many = Array.from({ length: 101 }, (_, i) => `t${i}`);
      const tooMany = await c.request('subscribe', { topics: many });
      expect(tooMany.ok).toBe(false);
      const badTopic = await c.request('subscribe', { topics: ['World News'] });
      expect(badTopic.ok).toBe(false);
      expect(badTopic.error.details[0].field).toBe('topics.0');
      const good = await c.request('subscribe', { topics: ['weather'] });
      expect(good.ok).toBe(true);
      const e = await publish(['weather']);
      await c.waitForCount(1);
      expect(c.ids).toEqual([e.id]);
      c.close();
    });

    it('a handshake with a malformed cursor is refused with a reason', async () => {
      await expect(NewsClient.connect(srv.url, { topics: ['world'], since: 'nope' })).rejects.toMatchObject({
        data: { code: 'validation_failed' },
      });
    });
  });
}

for (const engine of ['memory', 'redis'] as const) {
  describe(`resync when the cursor is older than the retained history (${engine} engine)`, () => {
    it('sends resync with the head to continue from instead of a partial replay, over Socket.IO and the events API', async () => {
      const srv = await startServerOn(engine, { HISTORY_MAX_EVENTS: '5', RATE_LIMIT_PUBLISH_PER_SECOND: '0' });
      try {
        const events: NewsEvent[] = [];
        for (let i = 0; i < 8; i++) {
          const r = await api(srv.url, 'POST', '/api/v1/articles', article(['world']), srv.auth);
          events.push(r.body.event);
        }
        const head = events[7]!.id;
        const c = await NewsClient.connect(srv.url);
        const ack = await c.request('subscribe', { topics: ['world'], since: events[0]!.id });
        expect(ack).toMatchObject({ ok: true, replayed: 0, resync: true });
        expect(c.resyncs).toEqual([{ topics: ['world'], reason: 'history_truncated', head }]);
        expect(c.events).toEqual([]);
        // Still live afterwards.
        const next = await api(srv.url, 'POST', '/api/v1/articles', article(['world']), srv.auth);
        await c.waitForCount(1);
        expect(c.ids).toEqual([next.body.event.id]);
        c.close();
        const old = await api(srv.url, 'GET', `/api/v1/events?topics=world&since=${events[0]!.id}`);
        expect(old.body).toEqual({ events: [], resync: true, reason: 'history_truncated', head: next.body.event.id, more: false });
        // The boundary itself is fine: the newest trimmed event's id still replays everything retained.
        const edge = await api(srv.url, 'GET', `/api/v1/events?topics=world&since=${events[4]!.id}`);
        expect(edge.body.resync).toBe(false);
        expect(edge.body.events).toHaveLength(4);
        expect(edge.body).not.toHaveProperty('head');
      } finally {
        await srv.close();
      }
    });

    it('a client that reconnects from the head is not told to resync again, and misses nothing after it', async () => {
      const srv = await startServerOn(engine, { HISTORY_MAX_EVENTS: '3', RATE_LIMIT_PUBLISH_PER_SECOND: '0' });
      const publish = async (topics: string[]) => (await api(srv.url, 'POST', '/api/v1/articles', article(topics), srv.auth)).body.event as NewsEvent;
      try {
        const first = await publish(['world']);
        for (let i = 0; i < 5; i++) await publish(['world']);
        const last = await publish(['sport']); // the newest event of the history, of another topic
        // Handshake with the stale cursor: resync, naming the newest event of the whole history.
        const a = await NewsClient.connect(srv.url, { topics: ['world'], since: first.id });
        await waitFor('resync', () => a.resyncs.length === 1);
        expect(a.resyncs).toEqual([{ topics: ['world'], reason: 'history_truncated', head: last.id }]);
        a.close();
        // Back with the head, nothing new: no second resync, nothing replayed.
        const b = await NewsClient.connect(srv.url);
        const ack = await b.request('subscribe', { topics: ['world'], since: last.id });
        expect(ack).toEqual({ ok: true, topics: ['world'], replayed: 0, resync: false });
        b.close();
        // Events published after the resync, while away: a reconnect from the head replays each once, then live.
        const away = [await publish(['world']), await publish(['sport']), await publish(['world/europe'])];
        const c = await NewsClient.connect(srv.url, { topics: ['world'], since: last.id });
        await c.waitForCount(2);
        const live = await publish(['world']);
        await c.waitForCount(3);
        await sleep(100);
        expect(c.resyncs).toEqual([]);
        expect(c.ids).toEqual([away[0]!.id, away[2]!.id, live.id]);
        c.close();
      } finally {
        await srv.close();
      }
    });
  });
}
