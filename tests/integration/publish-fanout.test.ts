import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sampleArticle } from '../support/articles.ts';
import { NewsClient } from '../support/clients.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { sleep, waitFor } from '../support/wait.ts';

let srv: TestServer;
const clients: NewsClient[] = [];
const connect = async (topics: string[], since?: string) => {
  const c = await NewsClient.connect(srv.url, { topics, ...(since ? { since } : {}) });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  srv = await startServer();
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(async () => {
  await srv.close();
});

describe('the newsroom walk-through from the README', () => {
  it('publishes, updates, ignores a retry, refuses a stale version, retracts; each follower sees each change once', async () => {
    const parent = await connect(['world']);
    const exact = await connect(['world/middle-east/iraq']);
    const politics = await connect(['us/politics']);
    const both = await connect(['world', 'us/politics']);
    const sport = await connect(['sport']);

    const v1 = await api(srv.url, 'POST', '/api/v1/articles', sampleArticle(), srv.auth);
    expect(v1.status).toBe(201);
    expect(v1.body.event.type).toBe('article.published');
    expect(v1.body.article).toMatchObject({ id: 'us-iraq-talks-2024-02-08', version: 1, status: 'published', urgency: 3, notify: true });
    expect(v1.body.article.updatedAt).toEqual(expect.any(String));

    const v2body = sampleArticle({ version: 2, changeNote: 'Adds Iraqi military statement', notify: false });
    const v2 = await api(srv.url, 'POST', '/api/v1/articles', v2body, srv.auth);
    expect(v2.status).toBe(200);
    expect(v2.body.event.type).toBe('article.updated');
    expect(v2.body.article.changeNote).toBe('Adds Iraqi military statement');

    const retry = await api(srv.url, 'POST', '/api/v1/articles', v2body, srv.auth);
    expect(retry.status).toBe(200);
    expect(retry.body.event).toBeNull();
    expect(retry.body.article.version).toBe(2);

    const stale = await api(srv.url, 'POST', '/api/v1/articles', sampleArticle({ version: 1 }), srv.auth);
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('stale_version');
    expect(stale.body.error.currentVersion).toBe(2);

    const sameVersionOtherContent = await api(srv.url, 'POST', '/api/v1/articles', sampleArticle({ version: 2, headline: 'Changed' }), srv.auth);
    expect(sameVersionOtherContent.status).toBe(409);

    const gone = await api(srv.url, 'DELETE', '/api/v1/articles/us-iraq-talks-2024-02-08', { reason: 'Report could not be confirmed' }, srv.auth);
    expect(gone.status).toBe(200);
    expect(gone.body.event.type).toBe('article.retracted');
    expect(gone.body.article).toMatchObject({ status: 'retracted', body: null, retraction: { reason: 'Report could not be confirmed' } });

    const again = await api(srv.url, 'DELETE', '/api/v1/articles/us-iraq-talks-2024-02-08', undefined, srv.auth);
    expect(again.status).toBe(200);
    expect(again.body.event).toBeNull();

    const republish = await api(srv.url, 'POST', '/api/v1/articles', sampleArticle({ version: 3 }), srv.auth);
    expect(republish.status).toBe(409);
    expect(republish.body.error.code).toBe('retracted');

    const expected = ['article.published', 'article.updated', 'article.retracted'];
    for (const c of [parent, exact, politics, both]) {
      await c.waitForCount(3);
      await sleep(100);
      expect(c.events.map((e) => e.type)).toEqual(expected);
      expect(c.events[2]!.article.body).toBeNull();
    }
    expect(sport.events).toEqual([]);
    // The event a browser gets is the one the publisher was answered with.
    expect(parent.events[0]).toEqual(v1.body.event);
  });

  it('sanitises body HTML on the way in and keeps the stored article readable', async () => {
    const r = await api(
      srv.url,
      'POST',
      '/api/v1/articles',
      { id: 'xss-1', headline: 'Hi', topics: ['tech'], body: '<p onclick="x()">ok<script>alert(1)</script><a href="javascript:alert(1)">l</a><img src=x onerror=alert(1)></p>' },
      srv.auth,
    );
    expect(r.status).toBe(201);
    expect(r.body.article.body).not.toMatch(/script|onclick|onerror|javascript:/i);
    expect(r.body.article.body).toContain('ok');
    const got = await api(srv.url, 'GET', '/api/v1/articles/xss-1');
    expect(got.body.article.body).toBe(r.body.article.body);
    expect(r.body.article).toMatchObject({ urgency: 5, language: 'en', notify: true, version: 1 });
  });

  it('PATCH bumps the version, honours ifVersion and does not notify by default', async () => {
    await api(srv.url, 'POST', '/api/v1/articles', { id: 'patch-1', headline: 'First', topics: ['world'] }, srv.auth);
    const c = await connect(['world']);
    const p = await api(srv.url, 'PATCH', '/api/v1/articles/patch-1', { headline: 'Second', changeNote: 'New headline', ifVersion: 1 }, srv.auth);
    expect(p.status).toBe(200);
    expect(p.body.article).toMatchObject({ version: 2, headline: 'Second', changeNote: 'New headline', notify: false });
    const conflict = await api(srv.url, 'PATCH', '/api/v1/articles/patch-1', { headline: 'Third', ifVersion: 1 }, srv.auth);
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.currentVersion).toBe(2);
    await c.waitForCount(1);
    expect(c.events[0]!.article.headline).toBe('Second');
    const missing = await api(srv.url, 'PATCH', '/api/v1/articles/nope', { headline: 'x' }, srv.auth);
    expect(missing.status).toBe(404);
  });
});

describe('reading API', () => {
  it('lists by topic including subtopics, newest first, without retracted ones; topics with counts; events with a cursor', async () => {
    const s = await startServer({ TOPICS: 'sport,culture/film' });
    try {
      const post = (body: Record<string, unknown>) => api(s.url, 'POST', '/api/v1/articles', body, s.auth);
      const a = await post({ id: 'r-1', headline: 'Iraq', topics: ['world/middle-east/iraq'] });
      await post({ id: 'r-2', headline: 'France', topics: ['world/europe/france'], language: 'fr' });
      await post({ id: 'r-3', headline: 'Gone', topics: ['world'] });
      await api(s.url, 'DELETE', '/api/v1/articles/r-3', undefined, s.auth);
      await post({ id: 'r-4', headline: 'Vote', topics: ['us/politics'] });

      const world = await api(s.url, 'GET', '/api/v1/articles?topic=world');
      expect(world.body.articles.map((x: { id: string }) => x.id)).toEqual(['r-2', 'r-1']);
      const fr = await api(s.url, 'GET', '/api/v1/articles?topic=world&language=fr');
      expect(fr.body.articles.map((x: { id: string }) => x.id)).toEqual(['r-2']);
      const limited = await api(s.url, 'GET', '/api/v1/articles?limit=1');
      expect(limited.body.articles.map((x: { id: string }) => x.id)).toEqual(['r-4']);
      expect((await api(s.url, 'GET', '/api/v1/articles?limit=101')).status).toBe(400);
      expect((await api(s.url, 'GET', '/api/v1/articles/r-3')).body.article.status).toBe('retracted');
      expect((await api(s.url, 'GET', '/api/v1/articles/none')).status).toBe(404);

      const topics = await api(s.url, 'GET', '/api/v1/topics');
      const counts = Object.fromEntries(topics.body.topics.map((t: { topic: string; articles: number }) => [t.topic, t.articles]));
      expect(counts).toMatchObject({ world: 2, 'world/middle-east/iraq': 1, 'us/politics': 1, sport: 0, 'culture/film': 0 });

      const ev = await api(s.url, 'GET', `/api/v1/events?topics=world&since=${a.body.event.id}`);
      expect(ev.body.resync).toBe(false);
      expect(ev.body.events.map((e: { article: { id: string }; type: string }) => `${e.article.id}:${e.type}`)).toEqual([
        'r-2:article.published',
        'r-3:article.published',
        'r-3:article.retracted',
      ]);
      const bad = await api(s.url, 'GET', '/api/v1/events?topics=world&since=banana');
      expect(bad.status).toBe(400);
      expect(bad.body.error.details[0].field).toBe('since');
    } finally {
      await s.close();
    }
  });
});
