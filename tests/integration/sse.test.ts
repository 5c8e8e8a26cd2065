import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { article } from '../support/articles.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { SseReader } from '../support/sse.ts';
import { sleep, waitFor } from '../support/wait.ts';

let srv: TestServer;
const publish = async (topics: string[]) => (await api(srv.url, 'POST', '/api/v1/articles', article(topics), srv.auth)).body.event;

beforeAll(async () => {
  srv = await startServer({ RATE_LIMIT_PUBLISH_PER_SECOND: '0', HISTORY_MAX_EVENTS: '20' }, { sseHeartbeatMs: 200 });
});
afterAll(async () => {
  await srv.close();
});

describe('Server-Sent Events', () => {
  it('streams live events for the followed topics with the event id as id:', async () => {
    const s = await SseReader.open(`${srv.url}/api/v1/stream?topics=world,us/politics`);
    expect(s.status).toBe(200);
    await publish(['sport']);
    const a = await publish(['world/europe']);
    const b = await publish(['us/politics']);
    await waitFor('2 SSE events', () => s.data.length >= 2);
    expect(s.messages.map((m) => m.id)).toEqual([a.id, b.id]);
    expect(s.data).toEqual([a, b]);
    await s.close();
  });

  it('replays from Last-Event-ID (over since=) before live events', async () => {
    const cursor = await publish(['science']);
    const missed = await publish(['science']);
    const s = await SseReader.open(`${srv.url}/api/v1/stream?topics=science&since=1-0`, { 'Last-Event-ID': cursor.id });
    await waitFor('replayed event', () => s.data.length >= 1);
    const live = await publish(['science']);
    await waitFor('live event', () => s.data.length >= 2);
    expect(s.messages.map((m) => m.id)).toEqual([missed.id, live.id]);
    await s.close();
  });

  it('sends event: resync when the cursor is too old, and heartbeats as comments', async () => {
    const first = await publish(['old']);
    for (let i = 0; i < 25; i++) await publish(['old']);
    const s = await SseReader.open(`${srv.url}/api/v1/stream?topics=old&since=${first.id}`);
    await waitFor('resync', () => s.messages.find((m) => m.event === 'resync'));
    const head = (await api(srv.url, 'GET', '/api/v1/events?topics=*&limit=1')).body.events[0].id;
    expect(JSON.parse(s.messages[0]!.data)).toEqual({ topics: ['old'], reason: 'history_truncated', head });
    // The resync's id: line is the head, so that EventSource's own reconnect sends it as Last-Event-ID.
    expect(s.messages[0]!.id).toBe(head);
    expect(s.data).toEqual([]);
    await waitFor('a heartbeat comment', () => s.comments >= 2, 3_000);
    await s.close();
  });

  it('a stream reopened from the resync head gets no second resync, and each later event once', async () => {
    const first = await publish(['gone']);
    for (let i = 0; i < 25; i++) await publish(['gone']);
    const s = await SseReader.open(`${srv.url}/api/v1/stream?topics=gone&since=${first.id}`);
    await waitFor('resync', () => s.messages.find((m) => m.event === 'resync'));
    await s.close();
    const lastEventId = s.messages[0]!.id!;
    // Reopened as EventSource would after a drop (its URL still holds the stale since=), nothing new yet.
    const again = await SseReader.open(`${srv.url}/api/v1/stream?topics=gone&since=${first.id}`, { 'Last-Event-ID': lastEventId });
    await waitFor('the stream to open', () => again.comments >= 1);
    const after = [await publish(['gone']), await publish(['gone'])];
    await waitFor('the events after the resync', () => again.data.length >= 2);
    await sleep(100);
    expect(again.messages.map((m) => [m.event, m.id])).toEqual(after.map((e) => ['message', e.id]));
    await again.close();
    // Away while one went out: reopening from the head replays it once.
    const missed = await publish(['gone']);
    const back = await SseReader.open(`${srv.url}/api/v1/stream?topics=gone`, { 'Last-Event-ID': lastEventId });
    await waitFor('the replay', () => back.data.length >= 3);
    await sleep(100);
    expect(back.messages.map((m) => [m.event, m.id])).toEqual([...after, missed].map((e) => ['message', e.id]));
    await back.close();
  });

  it('refuses a stream without topics or with a bad cursor', async () => {
    const none = await api(srv.url, 'GET', '/api/v1/stream');
    expect(none.status).toBe(400);
    expect(none.body.error.details[0].field).toBe('topics');
    const bad = await api(srv.url, 'GET', '/api/v1/stream?topics=world&since=x');
    expect(bad.status).toBe(400);
  });
});
