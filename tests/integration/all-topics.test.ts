import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewsEvent } from '../../src/domain/event.ts';
import { article } from '../support/articles.ts';
import { NewsClient } from '../support/clients.ts';
import { SseReader } from '../support/sse.ts';
import { api, startServerOn, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

// `*` follows every topic: what the alerts page does on a server with no TOPICS.
for (const engine of ['memory', 'redis'] as const) describe(`following every topic with * (${engine} engine)`, () => {
  let srv: TestServer;
  const publish = async (topics: string[]) => {
    const r = await api(srv.url, 'POST', '/api/v1/articles', article(topics), srv.auth);
    if (r.status !== 201) throw new Error(`publish failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.event as NewsEvent;
  };

  beforeAll(async () => {
    srv = await startServerOn(engine, { RATE_LIMIT_PUBLISH_PER_SECOND: '0', TOPICS: 'world/middle-east=Middle East,sport' });
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('Socket.IO, SSE and /events deliver every topic, live and replayed, each event once', async () => {
    const first = await publish(['culture']);
    const live = await NewsClient.connect(srv.url, { topics: ['*'] });
    const sse = await SseReader.open(`${srv.url}/api/v1/stream?topics=*`);
    const replaying = await NewsClient.connect(srv.url, { topics: ['*', 'world'], since: first.id });
    try {
      expect(sse.status).toBe(200);
      const a = await publish(['world/europe', 'world/asia']);
      const b = await publish(['weather']);
      await live.waitForCount(2);
      await waitFor('two SSE events', () => sse.data.length >= 2);
      await replaying.waitForCount(2);
      expect(live.ids).toEqual([a.id, b.id]);
      expect(sse.data.map((e: NewsEvent) => e.id)).toEqual([a.id, b.id]);
      expect(replaying.ids).toEqual([a.id, b.id]);

      const listed = await api(srv.url, 'GET', `/api/v1/events?topics=*&since=${first.id}`);
      expect(listed.body.events.map((e: NewsEvent) => e.id)).toEqual([a.id, b.id]);
    } finally {
      live.close();
      replaying.close();
      await sse.close();
    }
  });

  it("the README's Socket.IO example: an auth function that calls back with the latest cursor, on every connect", async () => {
    const before = await publish(['world']);
    let cursor: string | undefined = before.id;
    const got: NewsEvent[] = [];
    const socket = io(srv.url, { transports: ['websocket'], auth: (cb) => cb({ topics: ['*'], ...(cursor ? { since: cursor } : {}) }) });
    socket.on('news', (e: NewsEvent) => {
      got.push(e);
      cursor = e.id;
    });
    try {
      await waitFor('connected', () => socket.connected);
      const a = await publish(['sport']);
      await waitFor('the live event', () => got.length >= 1);
      socket.io.engine.close(); // the transport drops; Socket.IO reconnects by itself, asking auth again
      const b = await publish(['culture']);
      await waitFor('the missed event', () => got.length >= 2, 10_000);
      expect(got.map((e) => e.id)).toEqual([a.id, b.id]);
    } finally {
      socket.close();
    }
  });

  it('refuses * inside a topic, and * in an article', async () => {
    expect((await api(srv.url, 'GET', '/api/v1/events?topics=world/*')).status).toBe(400);
    expect((await api(srv.url, 'POST', '/api/v1/articles', article(['*']), srv.auth)).status).toBe(400);
    await expect(NewsClient.connect(srv.url, { topics: ['*/x'] })).rejects.toThrow();
  });

  it('lists the topics the site offers with their display names', async () => {
    const r = await api(srv.url, 'GET', '/api/v1/topics');
    const byTopic = Object.fromEntries(r.body.topics.map((t: { topic: string }) => [t.topic, t]));
    expect(byTopic['world/middle-east']).toEqual({ topic: 'world/middle-east', name: 'Middle East', offered: true, articles: 0 });
    expect(byTopic.sport).toMatchObject({ topic: 'sport', name: 'sport', offered: true });
    expect(byTopic.culture).toMatchObject({ topic: 'culture', name: 'culture', offered: false });
  });
});
