import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTICLE_ID_RE } from '../../src/domain/article.ts';
import { superdeskSignature } from '../../src/ninjs/router.ts';
import { sampleArticle } from '../support/articles.ts';
import { NewsClient } from '../support/clients.ts';
import { PushService } from '../support/push-service.ts';
import { TestRedis } from '../support/redis.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { SseReader } from '../support/sse.ts';
import { sleep, waitFor } from '../support/wait.ts';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdefgh';
const SPORTS = 'sports-key-0123456789abcdef';
const HMAC = 'superdesk-secret-0123456789';
const as = (key: string) => ({ Authorization: `Bearer ${key}` });
const SUFFIX = '[a-z2-7]{6}';

/** The editor's API (issue 12) over real HTTP, Socket.IO, SSE and the local push service; run on both engines. */
export function describeEditorApi(engine: 'memory' | 'redis'): void {
  let push: PushService;
  let redis: TestRedis | null = null;
  let srv: TestServer;
  /** Random bytes the next generated ids get (the seam the app offers); crypto's once this is empty. */
  const nextRandom: number[][] = [];
  const random = (n: number) => (nextRandom.length ? Uint8Array.from(nextRandom.shift()!) : randomBytes(n));
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (logs.push(JSON.parse(String(chunk))), done()) }));

  const env = () => ({
    ...push.serverEnv,
    PUBLISHER_KEYS: `alice:${ALICE},bob:${BOB},sports:${SPORTS}:sport`,
    NINJS_HMAC_SECRET: HMAC,
    RATE_LIMIT_PUBLISH_PER_SECOND: '0',
    RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '0',
    ...(redis ? { REDIS_URL: redis.url } : {}),
  });

  beforeAll(async () => {
    push = await PushService.start();
    if (engine === 'redis') redis = await TestRedis.start();
    srv = await startServer(env(), { random, logger });
  });
  afterAll(async () => {
    await srv.close();
    await push.stop();
    await redis?.stop();
  });

  const post = (body: unknown, key = ALICE, query = '') => api(srv.url, 'POST', `/api/v1/articles${query}`, body, as(key));
  const list = (query: string, key?: string) => api(srv.url, 'GET', `/api/v1/articles?${query}`, undefined, key ? as(key) : {});
  async function subscribe(prefs: Record<string, unknown>) {
    const sub = push.subscriber();
    const r = await api(srv.url, 'POST', '/api/v1/push/subscriptions', { subscription: sub.subscription, ...prefs });
    expect(r.status).toBe(201);
    return sub.name;
  }

  describe(`ids made for the editor (${engine})`, () => {
    it('makes a readable id from the headline and the date: Latin, diacritics, Arabic, an over-long headline', async () => {
      const cases: Array<[string, RegExp]> = [
        ['US to resume talks with Iraqi armed forces', new RegExp(`^us-to-resume-talks-with-iraqi-armed-forces-20240208-${SUFFIX}$`)],
        ['Ærøskøbing: Straße nach Łódź — déjà vu!', new RegExp(`^aeroskobing-strasse-nach-lodz-deja-vu-20240208-${SUFFIX}$`)],
        ['الولايات المتحدة تستأنف المحادثات مع القوات العراقية', new RegExp(`^article-20240208-${SUFFIX}$`)],
        ['Parliament '.repeat(20).trim(), new RegExp(`^(parliament-){4}parliament-20240208-${SUFFIX}$`)],
      ];
      for (const [headline, id] of cases) {
        const r = await post({ headline, topics: ['ids'], publishedAt: '2024-02-08T23:59:00Z' });
        expect(r.status).toBe(201);
        expect(r.body.article.id).toMatch(id);
        expect(r.body.article.id).toMatch(ARTICLE_ID_RE);
        expect(r.body.event.article.id).toBe(r.body.article.id);
        expect((await api(srv.url, 'GET', `/api/v1/articles/${r.body.article.id}`)).body.article.headline).toBe(headline);
      }
      // The same headline twice is two articles; the date is today's (UTC) without publishedAt.
      const [a, b] = [await post({ headline: 'Twice', topics: ['ids'] }), await post({ headline: 'Twice', topics: ['ids'] })];
      expect(a.body.article.id).not.toBe(b.body.article.id);
      expect(a.body.article.id).toMatch(new RegExp(`^twice-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}-${SUFFIX}$`));
      // Tools that send ids keep them.
      const sent = await post(sampleArticle({ id: `tool-id-${engine}` }));
      expect(sent.status).toBe(201);
      expect(sent.body.article.id).toBe(`tool-id-${engine}`);
    });

    it('draws a new suffix when the id is taken, and gives up with 409 after a few', async () => {
      const zeros = [0, 0, 0, 0, 0, 0];
      const taken = await post({ id: 'collide-20240208-aaaaaa', headline: 'Taken first', topics: ['ids'] });
      expect(taken.status).toBe(201);
      nextRandom.push(zeros, [1, 1, 1, 1, 1, 1]);
      const r = await post({ headline: 'Collide', topics: ['ids'], publishedAt: '2024-02-08T10:00:00Z' });
      expect(r.status).toBe(201);
      expect(r.body.article.id).toBe('collide-20240208-bbbbbb');
      expect((await api(srv.url, 'GET', '/api/v1/articles/collide-20240208-aaaaaa')).body.article).toMatchObject({ headline: 'Taken first', version: 1 });
      nextRandom.push(zeros, zeros, zeros, zeros, zeros);
      const stuck = await post({ headline: 'Collide', topics: ['ids'], publishedAt: '2024-02-08T10:00:00Z' });
      expect(stuck.status).toBe(409);
      expect(stuck.body.error.code).toBe('conflict');
      expect(nextRandom).toEqual([]);
      expect((await api(srv.url, 'GET', '/api/v1/articles/collide-20240208-aaaaaa')).body.article.headline).toBe('Taken first');
    });
  });

  describe(`paging, status and updatedBy (${engine})`, () => {
    it('pages newest first with a cursor that stays stable while articles are published and updated', async () => {
      for (let i = 1; i <= 5; i++) expect((await post({ id: `pg-${i}`, headline: `Page ${i}`, topics: ['paging'] })).status).toBe(201);
      const first = await list('topic=paging&limit=2');
      expect(first.body.articles.map((a: { id: string }) => a.id)).toEqual(['pg-5', 'pg-4']);
      expect(first.body.next).toEqual(expect.any(String));
      // Meanwhile: a new article, and an update of one already seen.
      await post({ id: 'pg-6', headline: 'Page 6', topics: ['paging'] });
      await post({ id: 'pg-4', headline: 'Page 4, updated', topics: ['paging'] });
      const second = await list(`topic=paging&limit=2&cursor=${first.body.next}`);
      expect(second.body.articles.map((a: { id: string }) => a.id)).toEqual(['pg-3', 'pg-2']);
      const third = await list(`topic=paging&limit=2&cursor=${second.body.next}`);
      expect(third.body).toEqual({ articles: [expect.objectContaining({ id: 'pg-1' })], next: null });
      expect((await list('topic=paging&limit=2')).body.articles.map((a: { id: string }) => a.id)).toEqual(['pg-4', 'pg-6']);
      const bad = await list('topic=paging&cursor=not-a-cursor');
      expect(bad.status).toBe(400);
      expect(bad.body.error.details[0].field).toBe('cursor');
    });

    it('shows retracted articles and updatedBy only to publishers; events never carry updatedBy', async () => {
      await post({ id: 'vis-kept', headline: 'Kept', topics: ['vis'] }, ALICE);
      await post({ id: 'vis-gone', headline: 'Gone', topics: ['vis'] }, ALICE);
      expect((await api(srv.url, 'DELETE', '/api/v1/articles/vis-gone', { reason: 'Wrong' }, as(BOB))).status).toBe(200);
      for (const status of ['retracted', 'all']) {
        expect((await list(`topic=vis&status=${status}`)).status).toBe(401);
        expect((await list(`topic=vis&status=${status}`, 'not-a-key-0123456789')).status).toBe(401);
      }
      const open = await list('topic=vis');
      expect(open.body.articles.map((a: { id: string }) => a.id)).toEqual(['vis-kept']);
      expect(open.body.articles[0]).not.toHaveProperty('updatedBy');
      expect((await list('topic=vis', ALICE)).body.articles[0].updatedBy).toBe('alice');
      const retracted = await list('topic=vis&status=retracted', ALICE);
      expect(retracted.body.articles.map((a: { id: string; status: string; updatedBy: string }) => [a.id, a.status, a.updatedBy])).toEqual([['vis-gone', 'retracted', 'bob']]);
      expect((await list('topic=vis&status=all', BOB)).body.articles.map((a: { id: string }) => a.id)).toEqual(['vis-gone', 'vis-kept']);
      expect((await api(srv.url, 'GET', '/api/v1/articles/vis-gone')).body.article).not.toHaveProperty('updatedBy');
      expect((await api(srv.url, 'GET', '/api/v1/articles/vis-gone', undefined, as(ALICE))).body.article.updatedBy).toBe('bob');
      const events = (await api(srv.url, 'GET', '/api/v1/events?topics=vis')).body.events as Array<{ article: object }>;
      expect(events).toHaveLength(3);
      for (const e of events) expect(e.article).not.toHaveProperty('updatedBy');
    });
  });

  describe(`audit trail (${engine})`, () => {
    it('records who made every version and when, through POST, PATCH, DELETE and ninjs; publishers only', async () => {
      const v1 = await post({ id: 'trail', headline: 'Talks resume', topics: ['trail'] }, ALICE);
      const v2 = await post({ id: 'trail', version: 2, changeNote: 'Adds a statement', headline: 'Talks resume', summary: 'Statement', topics: ['trail'] }, BOB);
      const v3 = await api(srv.url, 'PATCH', '/api/v1/articles/trail', { headline: 'Talks to resume', changeNote: 'Sharper headline' }, as(ALICE));
      const v4 = await api(srv.url, 'DELETE', '/api/v1/articles/trail', { reason: 'Could not be confirmed' }, as(BOB));
      const answers = [v1, v2, v3, v4];
      expect(answers.map((a) => a.body.article.updatedBy)).toEqual(['alice', 'bob', 'alice', 'bob']);
      expect((await api(srv.url, 'GET', '/api/v1/articles/trail/history')).status).toBe(401);
      expect((await api(srv.url, 'GET', '/api/v1/articles/nothing-here/history', undefined, as(ALICE))).status).toBe(404);
      const expected = [
        { version: 1, type: 'article.published', author: 'alice', changeNote: null },
        { version: 2, type: 'article.updated', author: 'bob', changeNote: 'Adds a statement' },
        { version: 3, type: 'article.updated', author: 'alice', changeNote: 'Sharper headline' },
        { version: 3, type: 'article.retracted', author: 'bob', changeNote: 'Could not be confirmed' },
      ].map((v, i) => ({ ...v, at: answers[i]!.body.event.at, eventId: answers[i]!.body.event.id }));
      const history = await api(srv.url, 'GET', '/api/v1/articles/trail/history', undefined, as(BOB));
      expect(history.body).toEqual({ versions: expected });

      // ninjs: the key's name, or `superdesk` when signed.
      const doc = (version: string, headline: string) => ({
        uri: 'urn:newsml:example.com:20240208:trail-ninjs', version, type: 'text', language: 'en', urgency: 3,
        headlines: [{ role: 'main', value: headline }], subjects: [{ name: 'Trail' }],
      });
      expect((await api(srv.url, 'POST', '/api/v1/ninjs', doc('1', 'By key'), as(BOB))).status).toBe(201);
      const signed = JSON.stringify(doc('2', 'Signed'));
      const r = await api(srv.url, 'POST', '/api/v1/ninjs', signed, { 'Content-Type': 'application/json', 'x-superdesk-signature': superdeskSignature(HMAC, signed) });
      expect(r.status).toBe(200);
      const ninjs = await api(srv.url, 'GET', `/api/v1/articles/${r.body.article.id}/history`, undefined, as(ALICE));
      expect(ninjs.body.versions.map((v: { author: string }) => v.author)).toEqual(['bob', 'superdesk']);

      // The log line of every write names the publisher, never the key; so does a refused write's request line.
      const mark = logs.length;
      expect((await post({ id: 'trail', version: 9, headline: 'Too late', topics: ['trail'] }, BOB)).status).toBe(409);
      const stored = logs.filter((l) => l.msg === 'article version stored' && l.articleId === 'trail');
      expect(stored.map((l) => l.publisher)).toEqual(['alice', 'bob', 'alice', 'bob']);
      const refused = logs.slice(mark).filter((l) => (l.res as { statusCode?: number } | undefined)?.statusCode === 409);
      expect(refused.map((l) => l.publisher)).toEqual(['bob']);
      expect(JSON.stringify(stored)).not.toMatch(new RegExp(`${ALICE}|${BOB}`));

      if (engine === 'redis') {
        // After a restart, from Redis.
        await srv.close();
        srv = await startServer(env(), { random, logger });
        expect((await api(srv.url, 'GET', '/api/v1/articles/trail/history', undefined, as(ALICE))).body).toEqual({ versions: expected });
      }
    });

    it('an embargo release is authored by the publisher that held it', async () => {
      const inAMoment = new Date(Date.now() + 1_500).toISOString();
      const held = await api(srv.url, 'POST', '/api/v1/ninjs', {
        uri: 'urn:newsml:example.com:20240208:trail-embargo', version: '1', type: 'text', language: 'en', embargoed: inAMoment,
        headlines: [{ role: 'main', value: 'Embargoed' }], subjects: [{ name: 'Trail' }],
      }, as(BOB));
      expect(held.status).toBe(202);
      const id = held.body.held.id as string;
      const versions = await waitFor('the release', async () => {
        const h = await api(srv.url, 'GET', `/api/v1/articles/${id}/history`, undefined, as(ALICE));
        return h.status === 200 && h.body.versions.length > 0 ? h.body.versions : undefined;
      }, 10_000);
      expect(versions).toMatchObject([{ version: 1, type: 'article.published', author: 'bob' }]);
    });
  });

  describe(`dry run and audience (${engine})`, () => {
    it('a dry run answers what would happen and whom it would reach, and stores and sends nothing', async () => {
      const sub = await subscribe({ topics: ['dry'] });
      const reader = await NewsClient.connect(srv.url, { topics: ['dry'] });
      await waitFor('the reader in its room', async () => (await dryRun()).body.audience.live === 1 || undefined);
      async function dryRun(body: Record<string, unknown> = { headline: 'Not yet', topics: ['dry'], urgency: 3 }, key = ALICE) {
        return post(body, key, '?dryRun=true');
      }
      const r = await dryRun();
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        dryRun: true,
        event: { type: 'article.published', topics: ['dry'] },
        article: expect.objectContaining({ id: expect.stringMatching(new RegExp(`^not-yet-\\d{8}-${SUFFIX}$`)), version: 1, headline: 'Not yet', updatedBy: 'alice' }),
        audience: { push: 1, live: 1 },
      });
      expect((await api(srv.url, 'GET', `/api/v1/articles/${r.body.article.id}`)).status).toBe(404);
      expect((await list('topic=dry', ALICE)).body.articles).toEqual([]);
      expect((await api(srv.url, 'POST', '/api/v1/articles?dryRun=true', { headline: 'x', topics: ['dry'] })).status).toBe(401);
      expect((await dryRun({ headline: '', topics: [] })).status).toBe(400);
      // A scoped key previews only what it may publish.
      expect((await dryRun({ headline: 'Off side', topics: ['dry'] }, SPORTS)).status).toBe(403);
      expect((await dryRun({ headline: 'On side', topics: ['sport'] }, SPORTS)).body.article.updatedBy).toBe('sports');

      // The same version rules: a stale version is refused, a repeat would change nothing.
      await post({ id: 'dry-known', headline: 'Known', topics: ['dry-other'], notify: false });
      await post({ id: 'dry-known', version: 2, headline: 'Known, v2', topics: ['dry-other'] });
      const stale = await dryRun({ id: 'dry-known', version: 1, headline: 'Old', topics: ['dry-other'] });
      expect(stale.status).toBe(409);
      expect(stale.body.error.code).toBe('stale_version');
      expect((await dryRun({ id: 'dry-known', version: 2, headline: 'Known, v2', topics: ['dry-other'] })).body).toMatchObject({ event: null, audience: { push: 0, live: 0 }, article: { version: 2 } });
      expect((await dryRun({ id: 'dry-known', version: 3, headline: 'Known, v3', topics: ['dry'], urgency: 3, notify: true })).body).toMatchObject({ event: { type: 'article.updated' }, audience: { push: 1, live: 1 } });
      expect((await api(srv.url, 'GET', '/api/v1/articles/dry-known')).body.article.version).toBe(2);

      // Nothing reached anyone: a real publication afterwards is the first and only thing the reader and the phone get.
      const marker = await post({ headline: 'Marker', topics: ['dry'], urgency: 3 }, ALICE, '?audience=true');
      expect(marker.body.audience).toEqual({ push: 1, live: 1 });
      await reader.waitForCount(1);
      await waitFor('the marker push', () => push.for(sub).length >= 1 || undefined);
      await sleep(300);
      expect(reader.events.map((e) => e.article.id)).toEqual([marker.body.article.id]);
      expect(push.for(sub).map((p) => p.payload.articleId)).toEqual([marker.body.article.id]);
      reader.close();
    });

    it('the audience of a write equals what the push service then receives, and the clients following its topics', async () => {
      const hour = new Date().getUTCHours();
      const pad = (h: number) => String((h + 24) % 24).padStart(2, '0');
      const subs = {
        all: await subscribe({ topics: ['aud'], maxUrgency: 9 }),
        parent: await subscribe({ topics: ['aud'], maxUrgency: 4 }),
        exact: await subscribe({ topics: ['aud/x', 'aud'], maxUrgency: 9 }),
        urgentOnly: await subscribe({ topics: ['aud'], maxUrgency: 2 }),
        french: await subscribe({ topics: ['aud'], maxUrgency: 9, languages: ['fr'] }),
        sleeping: await subscribe({ topics: ['aud'], maxUrgency: 9, quietHours: { start: `${pad(hour - 1)}:00`, end: `${pad(hour + 2)}:00`, timeZone: 'UTC' } }),
        awake: await subscribe({ topics: ['aud'], maxUrgency: 9, quietHours: { start: `${pad(hour + 3)}:00`, end: `${pad(hour + 4)}:00`, timeZone: 'UTC' } }),
        elsewhere: await subscribe({ topics: ['sport'], maxUrgency: 9 }),
      };
      const readers = [
        await NewsClient.connect(srv.url, { topics: ['aud'] }),
        await NewsClient.connect(srv.url, { topics: ['*'] }),
        await NewsClient.connect(srv.url, { topics: ['aud/x/y', 'aud/x'] }),
        await NewsClient.connect(srv.url, { topics: ['sport'] }),
      ];
      const streams = [await SseReader.open(`${srv.url}/api/v1/stream?topics=aud`), await SseReader.open(`${srv.url}/api/v1/stream?topics=sport`)];
      const live = 3 + 1;
      await waitFor('the readers in their rooms', async () => (await post({ headline: 'Probe', topics: ['aud/x'] }, ALICE, '?dryRun=true')).body.audience.live === live || undefined);

      // Without ?audience=true a write does not count (it costs about what the push fan-out's lookup costs).
      expect((await post({ headline: 'Not counted', topics: ['aud-none'] })).body).not.toHaveProperty('audience');
      const delivered = async () => Number(/newspush_push_requests_total\{outcome="delivered",status="201"\} (\d+)/.exec(await (await fetch(`${srv.url}/metrics`)).text())?.[1] ?? 0);
      const before = await delivered();
      const published = await post({ headline: 'Audience', topics: ['aud/x'], urgency: 3, language: 'en' }, ALICE, '?audience=true');
      expect(published.status).toBe(201);
      const id = published.body.article.id as string;
      const got = () => push.received.filter((p) => p.payload.articleId === id && p.payload.type === 'article.published').map((p) => p.subscriber).sort();
      expect(published.body.audience).toEqual({ push: 4, live });
      await waitFor('the pushes', () => got().length >= 4 || undefined);
      // Delivery is recorded right after the push service answers; once the metric counts them, so does the record.
      await waitFor('the deliveries counted', async () => (await delivered()) >= before + 4 || undefined);
      await sleep(300);
      expect(got()).toEqual([subs.all, subs.parent, subs.exact, subs.awake].sort());
      await Promise.all(readers.slice(0, 3).map((r) => r.waitForCount(1)));

      // A retraction goes to those who got the article.
      const retracted = await api(srv.url, 'DELETE', `/api/v1/articles/${id}?audience=true`, {}, as(BOB));
      expect(retracted.body.audience).toEqual({ push: 4, live });
      await waitFor('the withdrawals', () => push.received.filter((p) => p.payload.articleId === id && p.payload.type === 'article.retracted').length >= 4 || undefined, 10_000);
      // An update that does not notify pushes to nobody.
      const quiet = await post({ headline: 'Quiet', topics: ['aud'] });
      const update = await api(srv.url, 'PATCH', `/api/v1/articles/${quiet.body.article.id}?audience=true`, { headline: 'Quiet, updated' }, as(ALICE));
      expect(update.body.audience).toEqual({ push: 0, live: 3 });
      // A write that changes nothing reaches nobody; ninjs counts too when asked.
      expect((await post({ id: quiet.body.article.id, headline: 'Quiet, updated', topics: ['aud'] }, ALICE, '?audience=true')).body).toMatchObject({ event: null, audience: { push: 0, live: 0 } });
      const ninjs = await api(srv.url, 'POST', '/api/v1/ninjs?audience=true', {
        uri: 'urn:newsml:example.com:20240208:aud', version: '1', type: 'text', language: 'en', urgency: 3,
        headlines: [{ role: 'main', value: 'Audience by ninjs' }], subjects: [{ name: 'Aud' }],
      }, as(ALICE));
      expect(ninjs.body.audience).toEqual({ push: 4, live: 3 });
      for (const r of readers) r.close();
      for (const s of streams) await s.close();
      expect(subs.elsewhere).toBeDefined();
    });
  });
}
