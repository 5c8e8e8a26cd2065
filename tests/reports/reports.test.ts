import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { article } from '../support/articles.ts';
import { NewsClient } from '../support/clients.ts';
import { PushService } from '../support/push-service.ts';
import { TestRedis } from '../support/redis.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { SseReader } from '../support/sse.ts';
import { waitFor } from '../support/wait.ts';

const SECRET = 'receipt-secret-for-tests-0123456789';
let push: PushService;
let redis: TestRedis;
let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  push = await PushService.start();
  redis = await TestRedis.start();
  const env = {
    ...push.serverEnv,
    REDIS_URL: redis.url,
    RATE_LIMIT_PUBLISH_PER_SECOND: '0',
    RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '0',
    RATE_LIMIT_RECEIPTS_PER_MINUTE: '40',
    PUSH_TTL_SECONDS: '4',
    RECEIPT_SECRET: SECRET,
    PUBLISHER_KEYS: 'desk:desk-key-0123456789abcdef,sport:sport-key-0123456789abcdef:sport',
  };
  a = await startServer(env);
  b = await startServer(env);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await push?.stop();
  await redis?.stop();
});

const desk = { Authorization: 'Bearer desk-key-0123456789abcdef' };
const sportKey = { Authorization: 'Bearer sport-key-0123456789abcdef' };
const pad = (h: number) => String((h + 24) % 24).padStart(2, '0');

async function subscribe(s: TestServer, prefs: Record<string, unknown>) {
  const sub = push.subscriber();
  const r = await api(s.url, 'POST', '/api/v1/push/subscriptions', { subscription: sub.subscription, ...prefs });
  if (r.status !== 201) throw new Error(`subscribe: ${r.status} ${JSON.stringify(r.body)}`);
  return { ...sub, id: r.body.id as string };
}

/** Sums a Prometheus counter's samples matching `labels` over the servers' /metrics. */
async function metric(servers: TestServer[], name: string, labels: string): Promise<number> {
  let sum = 0;
  for (const s of servers) {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    for (const line of text.split('\n')) if (line.startsWith(name) && line.includes(labels)) sum += Number(line.split(' ').pop());
  }
  return sum;
}

const receipt = (s: TestServer, body: unknown, type = 'text/plain') =>
  fetch(`${s.url}/api/v1/push/receipts`, { method: 'POST', headers: { 'Content-Type': type, Origin: 'https://news.example.org' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('alert reports on two nodes sharing Redis', () => {
  let articleId = '';
  let eventId = '';
  const subs: Record<string, Awaited<ReturnType<typeof subscribe>>> = {};
  let stream: SseReader;

  it('counts one alert exactly: live clients on both nodes, replays, every push outcome, with live report updates', async () => {
    const hour = new Date().getUTCHours();
    subs.ok = await subscribe(a, { topics: ['rep'] });
    subs.gone = await subscribe(b, { topics: ['rep'] });
    subs.busy = await subscribe(a, { topics: ['rep'] });
    subs.broken = await subscribe(b, { topics: ['rep/sub', 'rep'] });
    subs.urgent = await subscribe(a, { topics: ['rep'], maxUrgency: 1 });
    subs.french = await subscribe(a, { topics: ['rep'], languages: ['fr'] });
    subs.asleep = await subscribe(b, { topics: ['rep'], quietHours: { start: `${pad(hour - 1)}:00`, end: `${pad(hour + 2)}:00`, timeZone: 'UTC' } });
    await subscribe(a, { topics: ['elsewhere'] });
    push.respond(subs.gone.name, 410);
    push.respond(subs.busy.name, { status: 429, retryAfter: '1' });
    push.respond(subs.broken.name, ...Array.from({ length: 20 }, () => 500));

    // Live: two sockets on node A (one follows two matching topics), one SSE stream on node B, one socket elsewhere.
    const s1 = await NewsClient.connect(a.url);
    await s1.request('subscribe', { topics: ['rep', 'rep/sub'] });
    const s2 = await NewsClient.connect(a.url);
    await s2.request('subscribe', { topics: ['rep'] });
    const other = await NewsClient.connect(b.url);
    await other.request('subscribe', { topics: ['elsewhere'] });
    const sse = await SseReader.open(`${b.url}/api/v1/stream?topics=rep`);
    await waitFor('the SSE stream', () => sse.comments > 0 || sse.status === 200);
    const before = await api(a.url, 'POST', '/api/v1/articles', article(['elsewhere'], { notify: false }), desk);

    const published = await api(a.url, 'POST', '/api/v1/articles', article(['rep/sub'], { urgency: 3, language: 'en', headline: 'Alert under test' }), desk);
    expect(published.status).toBe(201);
    articleId = published.body.article.id;
    eventId = published.body.event.id;
    stream = await SseReader.open(`${b.url}/api/v1/articles/${articleId}/report/stream`, desk);
    expect(stream.status).toBe(200);

    await waitFor('the live clients', () => s1.events.length === 1 && s2.events.length === 1 && sse.data.length === 1);
    const replay = await NewsClient.connect(b.url, { topics: ['rep'], since: before.body.event.id });
    await waitFor('the replay', () => replay.events.length === 1);

    const report = await waitFor(
      'the complete report',
      async () => {
        const r = await api(b.url, 'GET', `/api/v1/articles/${articleId}/report`, undefined, desk);
        return r.body.versions?.[0]?.complete && r.body.versions[0].live.replayed === 1 ? r.body : undefined;
      },
      20_000,
    );
    const retries = await metric([a, b], 'newspush_push_requests_total', 'outcome="retry"');
    expect(retries).toBeGreaterThanOrEqual(2); // the 429 once, the 500 at least once before its TTL ran out
    const v = report.versions[0];
    const accepted = push.for(subs.ok.name).concat(push.for(subs.busy.name));
    expect(accepted).toHaveLength(2);
    const times = accepted.map((p) => p.at - Date.parse(published.body.event.at));
    expect(report).toEqual({
      articleId,
      versions: [
        {
          version: 1, eventId, type: 'article.published', headline: 'Alert under test', publishedAt: published.body.event.at,
          live: { dispatched: 3, replayed: 1 },
          push: {
            matched: 7,
            skipped: { urgency: 1, language: 1, quietHours: 1 },
            sent: 4,
            accepted: 2,
            failed: { gone: 1, tooLarge: 0, otherClient: 0, server: 1, network: 0, refused: 0 },
            retried: retries,
            expired: 1,
            superseded: 0,
            firstAcceptedMs: v.push.firstAcceptedMs,
            p50AcceptedMs: v.push.p50AcceptedMs,
            p90AcceptedMs: v.push.p90AcceptedMs,
            lastAcceptedMs: v.push.lastAcceptedMs,
            acceptedOverTime: v.push.acceptedOverTime,
          },
          shown: 0, opened: 0, complete: true,
        },
      ],
    });
    // The times (one clock: the push service's arrival times come before the server saw each answer).
    const [first, last] = [v.push.firstAcceptedMs as number, v.push.lastAcceptedMs as number];
    expect(first).toBeGreaterThanOrEqual(Math.min(...times) - 5);
    expect(last).toBeGreaterThanOrEqual(Math.max(...times) - 5);
    expect(last).toBeGreaterThanOrEqual(1_000); // the busy one waited its Retry-After of 1 s
    const [s1st, sLast] = [Math.floor(first / 1000), Math.floor(last / 1000)];
    expect(v.push.acceptedOverTime).toEqual(s1st === sLast ? [[s1st, 2]] : [[s1st, 1], [sLast, 1]]);
    expect(v.push.p50AcceptedMs).toBe(Math.min(last, s1st * 1000 + 999));
    expect(v.push.p90AcceptedMs).toBe(last);

    // The stream sent the report while it was going out, and the complete one at the end.
    const updates = await waitFor('the final stream update', () => {
      const all = stream.messages.filter((m) => m.event === 'report').map((m) => JSON.parse(m.data));
      return all.length > 0 && all[all.length - 1].versions[0]?.complete ? all : undefined;
    });
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(updates[0].versions[0]?.complete ?? false).toBe(false);
    expect(updates.at(-1)).toEqual(report);

    // The list, and Prometheus.
    const list = await api(a.url, 'GET', '/api/v1/reports?limit=5', undefined, desk);
    expect(list.body.reports[0]).toEqual({
      articleId, version: 1, eventId, headline: 'Alert under test', publishedAt: published.body.event.at,
      audience: 10, pushMatched: 7, liveDispatched: 3, acceptedPct: 50, openedPct: 0, timeTo90Ms: v.push.p90AcceptedMs,
    });
    expect(await metric([a, b], 'newspush_publication_to_acceptance_seconds_count', '')).toBe(2);
    expect(await metric([a, b], 'newspush_publication_to_live_seconds_count', '')).toBeGreaterThanOrEqual(2);
    for (const c of [s1, s2, other, replay]) c.socket.close();
    await sse.close();
  }, 40_000);

  it('counts a receipt once per action; forged, malformed, unknown and replayed receipts change nothing', async () => {
    const token = push.for(subs.ok!.name)[0]!.payload.receipt as string;
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    const first = await receipt(a, { receipt: token, action: 'shown' });
    expect(first.status).toBe(200);
    expect(first.headers.get('access-control-allow-origin')).toBe('*');
    expect(await first.json()).toEqual({ counted: true });
    expect(await (await receipt(b, { receipt: token, action: 'shown' }, 'application/json')).json()).toEqual({ counted: false });
    expect(await (await receipt(b, { receipt: token, action: 'opened' })).json()).toEqual({ counted: true });
    const busy = push.for(subs.busy!.name)[0]!.payload.receipt as string;
    expect(await (await receipt(a, { receipt: busy, action: 'shown' })).json()).toEqual({ counted: true });

    const [ev, sub] = Buffer.from(token, 'base64url').toString().split('.');
    const mac = (e: string, s: string, key = SECRET) => createHmac('sha256', key).update(`${e}\n${s}`).digest().subarray(0, 16).toString('base64url');
    const make = (e: string, s: string, m: string) => Buffer.from(`${e}.${s}.${m}`).toString('base64url');
    const refusals: Array<[unknown, number, string]> = [
      [{ receipt: make(ev!, subs.gone!.id, mac(ev!, sub!)), action: 'shown' }, 403, 'forbidden'], // another subscription's mac
      [{ receipt: make(ev!, sub!, mac(ev!, sub!, 'another-secret')), action: 'opened' }, 403, 'forbidden'],
      [{ receipt: make('1-0', sub!, mac('1-0', sub!)), action: 'shown' }, 404, 'not_found'],
      [{ receipt: 'bm90LWEtdG9rZW4', action: 'shown' }, 400, 'validation_failed'],
      [{ receipt: token, action: 'clicked' }, 400, 'validation_failed'],
      ['{"receipt":', 400, 'validation_failed'],
      [{ receipt: token, action: 'shown', extra: 1 }, 400, 'validation_failed'],
      [JSON.stringify({ receipt: token, action: 'shown', pad: 'x'.repeat(2_000) }), 413, 'payload_too_large'],
    ];
    for (const [body, status, code] of refusals) {
      const r = await receipt(a, body);
      expect([r.status, ((await r.json()) as { error: { code: string } }).error.code]).toEqual([status, code]);
    }
    const r = await api(a.url, 'GET', `/api/v1/articles/${articleId}/report`, undefined, desk);
    expect([r.body.versions[0].shown, r.body.versions[0].opened]).toEqual([2, 1]);
    expect((await api(a.url, 'GET', '/api/v1/reports?limit=1', undefined, desk)).body.reports[0].openedPct).toBe(50);
  });

  it('needs a publisher key (401), answers 404 for an unknown article or one outside a scoped key', async () => {
    for (const path of [`/api/v1/articles/${articleId}/report`, `/api/v1/articles/${articleId}/report/stream`, '/api/v1/reports']) {
      const r = await api(a.url, 'GET', path);
      expect([r.status, r.body.error.code]).toEqual([401, 'unauthorized']);
    }
    expect((await api(a.url, 'GET', '/api/v1/articles/no-such-article/report', undefined, desk)).status).toBe(404);
    expect((await api(a.url, 'GET', `/api/v1/articles/${articleId}/report`, undefined, sportKey)).status).toBe(404);
    const sport = await api(a.url, 'POST', '/api/v1/articles', article(['sport']), sportKey);
    await waitFor('the sport report', async () => (await api(a.url, 'GET', `/api/v1/articles/${sport.body.article.id}/report`, undefined, sportKey)).body.versions?.length === 1);
    const seen = (await api(a.url, 'GET', '/api/v1/reports', undefined, sportKey)).body.reports.map((x: { articleId: string }) => x.articleId);
    expect(seen).toEqual([sport.body.article.id]);
    expect((await api(a.url, 'GET', '/api/v1/reports?limit=0', undefined, desk)).status).toBe(400);
    await stream.close();
  });

  it('rate limits receipts per address (429) without counting', async () => {
    const token = push.for(subs.ok!.name)[0]!.payload.receipt as string;
    let status = 200;
    for (let i = 0; i < 60 && status !== 429; i++) status = (await receipt(a, { receipt: token, action: 'opened' })).status;
    expect(status).toBe(429);
    const r = await api(a.url, 'GET', `/api/v1/articles/${articleId}/report`, undefined, desk);
    expect(r.body.versions[0].opened).toBe(1);
  });
});
