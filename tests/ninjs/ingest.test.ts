import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { superdeskSignature } from '../../src/ninjs/router.ts';
import { NewsClient } from '../support/clients.ts';
import { PushService } from '../support/push-service.ts';
import { TestRedis } from '../support/redis.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { sleep, waitFor } from '../support/wait.ts';

const FIXTURES = new URL('../fixtures/ninjs/', import.meta.url);
const read = (path: string) => JSON.parse(readFileSync(new URL(path, FIXTURES), 'utf8')) as Record<string, unknown>;
const SECRET = 'newsroom-shared-secret';

/** Posts exactly as Superdesk's HTTP Push does: raw JSON body, signature header, no bearer key. */
async function push(srv: TestServer, doc: unknown, opts: { secret?: string; tamper?: boolean } = {}) {
  const body = JSON.stringify(doc);
  const signature = superdeskSignature(opts.secret ?? SECRET, body);
  const sent = opts.tamper ? body.replace('Quinoa', 'Qu1noa') : body;
  return api(srv.url, 'POST', '/api/v1/ninjs', sent, { 'x-superdesk-signature': signature });
}

describe('signature', () => {
  it("matches Superdesk's own test vector", () => {
    expect(superdeskSignature('123456789', 'test payload')).toBe('sha1=8be62a607898504f87559cb52dc23f9ebee65a21');
  });
});

describe('POST /api/v1/ninjs (memory engine)', () => {
  let srv: TestServer;
  let pushService: PushService;
  beforeAll(async () => {
    pushService = await PushService.start();
    srv = await startServer(
      { NINJS_HMAC_SECRET: SECRET, RATE_LIMIT_PUBLISH_PER_SECOND: '0', ...pushService.serverEnv },
    );
  });
  afterAll(async () => {
    await srv.close();
    await pushService.stop();
  });

  it('refuses a missing, wrong or tampered signature and stores nothing', async () => {
    const doc = read('superdesk/composite-package.json');
    expect((await api(srv.url, 'POST', '/api/v1/ninjs', doc)).status).toBe(401);
    expect((await push(srv, doc, { secret: 'wrong' })).status).toBe(401);
    expect((await push(srv, doc, { tamper: true })).status).toBe(401);
    expect((await api(srv.url, 'GET', `/api/v1/articles/${encodeURIComponent(String(doc.guid))}`)).status).toBe(404);
  });

  it('accepts a publisher key too, and answers invalid documents with the schema complaints', async () => {
    const bad = await api(srv.url, 'POST', '/api/v1/ninjs', { uri: 'urn:x:1', type: 'text', headline: 'x', urgency: 'high' }, srv.auth);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
    expect(bad.body.error.details.map((d: { field: string }) => d.field)).toContain('urgency');
    const photo = await api(srv.url, 'POST', '/api/v1/ninjs', read('iptc/2.1_ap_image.json'), srv.auth);
    expect(photo.status).toBe(400);
    expect(photo.body.error.message).toMatch(/picture item is not a news article/);
    const ok = await api(srv.url, 'POST', '/api/v1/ninjs', read('iptc/2.1_dpa_text.json'), srv.auth);
    expect(ok.status).toBe(201);
    expect(ok.body.article).toMatchObject({ id: 'urn:newsml:dpa.com:20090101:190510-99-167362', language: 'de', version: 2 });
    const late = await api(srv.url, 'POST', '/api/v1/ninjs', { ...read('iptc/2.1_dpa_text.json'), version: '1' }, srv.auth);
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('stale_version');
  });

  it('publish, correct, rewrite, kill as Superdesk sends them: readers and push subscribers see each once', async () => {
    const reader = await NewsClient.connect(srv.url, { topics: ['arts-culture-and-entertainment'] });
    const phone = pushService.subscriber('superdesk-reader');
    expect((await api(srv.url, 'POST', '/api/v1/push/subscriptions', { subscription: phone.subscription, topics: ['arts-culture-and-entertainment'], maxUrgency: 9 })).status).toBe(201);
    const item = read('superdesk/composite-package.json');
    const guid = String(item.guid);

    const published = await push(srv, item);
    expect(published.status).toBe(201);
    const again = await push(srv, item); // Superdesk retries on timeouts: idempotent
    expect(again.status).toBe(200);
    expect(again.body.event).toBeNull();

    const corrected = await push(srv, { ...item, version: '4', headline: 'Quinoa tattooed hashtag, corrected' });
    expect(corrected.status).toBe(200);
    expect(corrected.body.event.type).toBe('article.updated');

    const rewriteGuid = 'urn:newsml:localhost:2017-02-01T12:00:00.000000:rewrite-of-c1a2d498';
    const rewrite = await push(srv, { ...item, guid: rewriteGuid, version: '1', evolvedfrom: guid, headline: 'Quinoa: the full story' });
    expect(rewrite.status).toBe(201);
    expect(rewrite.body.article.supersedes).toBe(guid);

    const killed = await push(srv, { ...item, guid: rewriteGuid, version: '2', evolvedfrom: guid, pubstatus: 'canceled' });
    expect(killed.status).toBe(200);
    expect(killed.body.event.type).toBe('article.retracted');

    await reader.waitForCount(4);
    await sleep(100);
    expect(reader.events.map((e) => [e.type, e.article.id])).toEqual([
      ['article.published', guid],
      ['article.updated', guid],
      ['article.published', rewriteGuid],
      ['article.retracted', rewriteGuid],
    ]);
    // On the phone: the publication; the rewrite replacing it (same Topic) unless the kill overtook it; and the
    // withdrawal notice last, so the killed story is not what the phone keeps. The correction is a later version
    // without notify: it updates pages but does not buzz phones again.
    await waitFor('the withdrawal push', () => pushService.for('superdesk-reader').some((p) => p.payload.type === 'article.retracted'), 10_000);
    await sleep(300);
    const pushes = pushService.for('superdesk-reader').map((p) => [p.payload.type, p.payload.articleId, p.headers.topic]);
    expect(pushes[0]!.slice(0, 2)).toEqual(['article.published', guid]);
    expect(pushes[pushes.length - 1]!.slice(0, 2)).toEqual(['article.retracted', rewriteGuid]);
    expect(pushes.slice(1, -1).map((p) => p.slice(0, 2))).toEqual(pushes.length === 3 ? [['article.published', rewriteGuid]] : []);
    expect(new Set(pushes.map((p) => p[2])).size).toBe(1);
    // The superseded article left the listings; both are readable by guid.
    const listed = await api(srv.url, 'GET', '/api/v1/articles?topic=arts-culture-and-entertainment');
    expect(listed.body.articles.map((a: { id: string }) => a.id)).not.toContain(guid);
    expect((await api(srv.url, 'GET', `/api/v1/articles/${encodeURIComponent(guid)}`)).body.article.supersededBy).toBe(rewriteGuid);
    reader.close();
  });

  it('an id outside the article id rule is found by its uri as well as by its article id', async () => {
    const doc = read('iptc/3.1_004_simple_text_article.json');
    const r = await api(srv.url, 'POST', '/api/v1/ninjs', doc, srv.auth);
    expect(r.status).toBe(201);
    const byUri = await api(srv.url, 'GET', `/api/v1/articles/${encodeURIComponent(String(doc.uri))}`);
    expect(byUri.body.article.id).toBe(r.body.article.id);
    expect((await api(srv.url, 'GET', `/api/v1/articles/${r.body.article.id}`)).status).toBe(200);
  });

  it('withheld is stored and not fanned out until a usable version arrives', async () => {
    const reader = await NewsClient.connect(srv.url, { topics: ['global-warming'] });
    const doc = { ...read('superdesk/embargoed.json'), guid: 'withheld-item-1', embargoed: undefined };
    const held = await push(srv, { ...doc, pubstatus: 'withheld' });
    expect(held.status).toBe(202);
    expect(held.body.held).toMatchObject({ id: 'withheld-item-1', releaseAt: null });
    await sleep(700);
    expect(reader.events).toEqual([]);
    expect((await api(srv.url, 'GET', '/api/v1/articles/withheld-item-1')).status).toBe(404);
    const usable = await push(srv, { ...doc, version: '12' });
    expect(usable.status).toBe(201);
    await reader.waitForCount(1);
    expect(reader.events[0]!.article).toMatchObject({ id: 'withheld-item-1', version: 12 });
    reader.close();
  });
});

describe('embargo', () => {
  const embargoed = (guid: string, at: Date) => ({ ...read('superdesk/embargoed.json'), guid, embargoed: at.toISOString().replace('.000Z', '+0000') });

  it('publishes at the embargo time, not before', async () => {
    const srv = await startServer({ NINJS_HMAC_SECRET: SECRET });
    try {
      const reader = await NewsClient.connect(srv.url, { topics: ['agriculture'] });
      const at = new Date(Math.ceil((Date.now() + 2_500) / 1000) * 1000);
      const r = await push(srv, embargoed('embargo-mem-1', at));
      expect(r.status).toBe(202);
      expect(r.body.held.releaseAt).toBe(at.toISOString());
      const e = await waitFor('the embargoed alert', () => reader.events[0], 10_000);
      const receivedAt = Date.now();
      expect(receivedAt).toBeGreaterThanOrEqual(at.getTime());
      expect(receivedAt - at.getTime()).toBeLessThan(5_000); // released within a poll or two, even on a busy machine
      expect(e.article.id).toBe('embargo-mem-1');
      reader.close();
    } finally {
      await srv.close();
    }
  });

  it('with Redis, a restart between receipt and embargo loses nothing', async () => {
    const redis = await TestRedis.start();
    try {
      const env = { NINJS_HMAC_SECRET: SECRET, REDIS_URL: redis.url };
      const first = await startServer(env);
      const at = new Date(Date.now() + 2_000);
      expect((await push(first, embargoed('embargo-redis-1', at))).status).toBe(202);
      await first.close();
      await sleep(Math.max(0, at.getTime() - Date.now()) + 300); // the embargo passes while no node runs
      const second = await startServer(env);
      try {
        const article = await waitFor('the released article', async () => {
          const r = await api(second.url, 'GET', '/api/v1/articles/embargo-redis-1');
          return r.status === 200 ? r.body.article : undefined;
        }, 10_000);
        expect(article.headline).toBe('Trouble is brewing for the future of beer');
        const events = await api(second.url, 'GET', '/api/v1/events?topics=agriculture');
        expect(events.body.events.filter((e: { article: { id: string } }) => e.article.id === 'embargo-redis-1')).toHaveLength(1);
      } finally {
        await second.close();
      }
    } finally {
      await redis.stop();
    }
  });
});
