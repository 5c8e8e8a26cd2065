import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { article } from '../support/articles.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { SseReader } from '../support/sse.ts';
import { waitFor } from '../support/wait.ts';

let srv: TestServer;
const publish = async (topics: string[]) => (await api(srv.url, 'POST', '/api/v1/articles', article(topics), srv.auth)).body.event;

beforeAll(async () => {
  srv = await startServer({ RATE_LIMIT_PUBLISH_PER_SECOND: '0' });
});
afterAll(async () => {
  await srv.close();
});

describe('SSE delivery by topic index', () => {
  it('gives an event once to a stream following several topics it is under, and only what each stream follows', async () => {
    const many = await SseReader.open(`${srv.url}/api/v1/stream?topics=world,world/europe,*,world`);
    const europe = await SseReader.open(`${srv.url}/api/v1/stream?topics=world/europe`);
    const sport = await SseReader.open(`${srv.url}/api/v1/stream?topics=sport`);
    const a = await publish(['world/europe/france', 'world']);
    const b = await publish(['sport']);
    const c = await publish(['world/asia']);
    await waitFor('3 events on the stream following everything', () => many.data.length >= 3);
    await waitFor('the sport event', () => sport.data.length >= 1);
    await waitFor('the europe event', () => europe.data.length >= 1);
    // Count-based: one more event each stream follows marks the end of what it could have been sent.
    const end = await publish(['world/europe', 'sport']);
    for (const s of [many, europe, sport]) await waitFor('the closing event', () => s.messages.some((m) => m.id === end.id));
    expect(many.messages.map((m) => m.id)).toEqual([a.id, b.id, c.id, end.id]);
    expect(europe.messages.map((m) => m.id)).toEqual([a.id, end.id]);
    expect(sport.messages.map((m) => m.id)).toEqual([b.id, end.id]);
    await Promise.all([many.close(), europe.close(), sport.close()]);
  });

  it('stops writing to a stream that closed, and keeps serving the others', async () => {
    const gone = await SseReader.open(`${srv.url}/api/v1/stream?topics=science`);
    const stays = await SseReader.open(`${srv.url}/api/v1/stream?topics=science`);
    await gone.close();
    const metric = async () => Number(/newspush_connections\{channel="sse"\} (\d+)/.exec(await srv.app.metrics.registry.metrics())?.[1]);
    await waitFor('the closed stream to be gone', async () => (await metric()) === 1 || undefined);
    const e = await publish(['science']);
    await waitFor('the event', () => stays.data.length >= 1);
    expect(stays.data).toEqual([e]);
    await stays.close();
  });
});
