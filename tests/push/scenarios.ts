import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { article } from '../support/articles.ts';
import { PushService } from '../support/push-service.ts';
import { api, startServer, startServerOn, type TestServer } from '../support/server.ts';
import { sleep, waitFor } from '../support/wait.ts';

let push: PushService;
let srv: TestServer;

/** The Web Push scenarios, run on both engines (push-memory.test.ts, push-redis-engine.test.ts). */
export function describePushScenarios(engine: 'memory' | 'redis'): void {
  beforeAll(async () => {
    push = await PushService.start();
    srv = await startServerOn(engine, { ...push.serverEnv, RATE_LIMIT_PUBLISH_PER_SECOND: '0', RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '0', PUSH_TTL_SECONDS: '60' });
  });
  afterAll(async () => {
    await srv.close();
    await push.stop();
  });

  async function subscribe(prefs: Record<string, unknown>, s = srv) {
    const sub = push.subscriber();
    const r = await api(s.url, 'POST', '/api/v1/push/subscriptions', { subscription: sub.subscription, ...prefs });
    if (r.status !== 201) throw new Error(`subscribe: ${r.status} ${JSON.stringify(r.body)}`);
    return { ...sub, id: r.body.id as string, token: r.body.token as string };
  }
  const publish = async (body: Record<string, unknown>, s = srv) => {
    const r = await api(s.url, 'POST', '/api/v1/articles', body, s.auth);
    if (r.status >= 300) throw new Error(`publish: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };

  describe('subscriptions', () => {
    it('creates, re-subscribes the same endpoint, reads, changes and removes with its token', async () => {
      expect((await api(srv.url, 'GET', '/api/v1/push/key')).body.publicKey).toMatch(/^[A-Za-z0-9_-]{87}$/);
      const sub = push.subscriber();
      const created = await api(srv.url, 'POST', '/api/v1/push/subscriptions', { subscription: sub.subscription, topics: ['world'] });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({ id: expect.any(String), token: expect.any(String), topics: ['world'], maxUrgency: 4, languages: null, quietHours: null });
      const again = await api(srv.url, 'POST', '/api/v1/push/subscriptions', { subscription: sub.subscription, topics: ['sport'], maxUrgency: 2, languages: ['en'] });
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(created.body.id);
      expect(again.body.token).not.toBe(created.body.token);
      const path = `/api/v1/push/subscriptions/${created.body.id}`;
      const as = (token: string) => ({ Authorization: `Bearer ${token}` });
      expect((await api(srv.url, 'GET', path, undefined, as(created.body.token))).status).toBe(404); // the old token is gone
      expect((await api(srv.url, 'GET', path, undefined, as('not-the-token'))).status).toBe(404);
      expect((await api(srv.url, 'GET', path)).status).toBe(404);
      const read = await api(srv.url, 'GET', path, undefined, as(again.body.token));
      expect(read.body).toEqual({ id: created.body.id, topics: ['sport'], maxUrgency: 2, languages: ['en'], quietHours: null });
      const patched = await api(srv.url, 'PATCH', path, { topics: ['sport', 'culture'], quietHours: { start: '22:00', end: '07:00', timeZone: 'Asia/Dubai' } }, as(again.body.token));
      expect(patched.body).toMatchObject({ topics: ['sport', 'culture'], quietHours: { start: '22:00', end: '07:00', timeZone: 'Asia/Dubai' }, maxUrgency: 2 });
      const badPatch = await api(srv.url, 'PATCH', path, { maxUrgency: 12, quietHours: { start: '25:00', end: '07:00', timeZone: 'Mars/Olympus' } }, as(again.body.token));
      expect(badPatch.status).toBe(400);
      expect(badPatch.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['maxUrgency', 'quietHours.start', 'quietHours.timeZone']);
      expect((await api(srv.url, 'DELETE', path, undefined, as(again.body.token))).status).toBe(204);
      expect((await api(srv.url, 'GET', path, undefined, as(again.body.token))).status).toBe(404);
    });

    it.each([
      ['http://localhost/push/x', 'must be https'],
      ['https://127.0.0.1/push/x', 'not an IP address'],
      ['https://169.254.169.254/latest/meta-data', 'not an IP address'],
      ['https://[::1]/push/x', 'not an IP address'],
      ['https://push.example.org/x', 'not an allowed push service'],
      ['https://evil.example/x.push.apple.com/', 'not an allowed push service'],
      ['https://localhost.evil.example/push/x', 'not an allowed push service'],
      ['https://localhost:1/push/x', 'not an allowed push service'],
    ])('refuses the endpoint %s', async (endpoint, why) => {
      const sub = push.subscriber();
      const r = await api(srv.url, 'POST', '/api/v1/push/subscriptions', { subscription: { ...sub.subscription, endpoint }, topics: ['world'] });
      expect(r.status).toBe(400);
      expect(r.body.error.details[0]).toMatchObject({ field: 'subscription.endpoint', message: expect.stringContaining(why) });
    });

    it('checks the keys: p256dh a P-256 point, auth 16 bytes; topics 1 to 50', async () => {
      const sub = push.subscriber();
      const notOnCurve = Buffer.alloc(65, 1);
      notOnCurve[0] = 4;
      const r = await api(srv.url, 'POST', '/api/v1/push/subscriptions', { subscription: { ...sub.subscription, keys: { p256dh: notOnCurve.toString('base64url'), auth: 'AAAA' } }, topics: [] });
      expect(r.status).toBe(400);
      expect(r.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['subscription.keys.auth', 'subscription.keys.p256dh', 'topics']);
    });
  });

  describe('delivery', () => {
    it('one encrypted push per subscriber however many topics match, with TTL, Urgency and Topic headers', async () => {
      const s = await subscribe({ topics: ['world', 'world/europe', 'us'] });
      const body = await publish(article(['world/europe/france', 'us/politics'], { urgency: 2, summary: 'Summary text', url: 'https://news.example.com/a', image: { url: 'https://news.example.com/i.jpg' } }));
      const [got] = await waitFor('the push', () => (push.for(s.name).length ? push.for(s.name) : undefined));
      await sleep(300);
      expect(push.for(s.name)).toHaveLength(1);
      expect(got!.payload).toEqual({
        type: 'article.published', eventId: body.event.id, articleId: body.article.id, version: 1, title: body.article.headline,
        body: 'Summary text', url: 'https://news.example.com/a', image: 'https://news.example.com/i.jpg', urgency: 2,
        storyId: body.article.id, lang: 'en', dir: 'ltr',
        receipt: expect.stringMatching(/^[A-Za-z0-9_-]{100,200}$/),
      });
      expect(got!.headers.ttl).toBe('60');
      expect(got!.headers.urgency).toBe('high');
      expect(got!.headers.topic).toMatch(/^[A-Za-z0-9]{1,32}$/);
    });

    it('applies each preference: topics, urgency, language, quiet hours (urgency 1 passes), notify', async () => {
      const hour = new Date().getUTCHours();
      const pad = (h: number) => String((h + 24) % 24).padStart(2, '0');
      const quietNow = { start: `${pad(hour - 1)}:00`, end: `${pad(hour + 2)}:00`, timeZone: 'UTC' };
      const quietLater = { start: `${pad(hour + 3)}:00`, end: `${pad(hour + 4)}:00`, timeZone: 'UTC' };
      const all = await subscribe({ topics: ['prefs'], maxUrgency: 9 });
      const urgentOnly = await subscribe({ topics: ['prefs'], maxUrgency: 2 });
      const french = await subscribe({ topics: ['prefs'], maxUrgency: 9, languages: ['fr'] });
      const sleeping = await subscribe({ topics: ['prefs'], maxUrgency: 9, quietHours: quietNow });
      const awake = await subscribe({ topics: ['prefs'], maxUrgency: 9, quietHours: quietLater });
      const other = await subscribe({ topics: ['sport'], maxUrgency: 9 });

      const routine = await publish(article(['prefs'], { urgency: 5, language: 'en' }));
      const flash = await publish(article(['prefs'], { urgency: 1, language: 'fr-CA' }));
      await publish({ ...article(['prefs']), id: routine.article.id, version: 2, notify: false, headline: 'quiet update' });
      await waitFor('all deliveries', () => push.for(all.name).length >= 2 && push.for(urgentOnly.name).length >= 1 && push.for(sleeping.name).length >= 1);
      await sleep(500);
      const ids = (name: string) => push.for(name).map((p) => p.payload.eventId);
      expect(ids(all.name)).toEqual([routine.event.id, flash.event.id]);
      expect(ids(urgentOnly.name)).toEqual([flash.event.id]);
      expect(ids(french.name)).toEqual([flash.event.id]);
      expect(ids(sleeping.name)).toEqual([flash.event.id]);
      expect(ids(awake.name)).toEqual([routine.event.id, flash.event.id]);
      expect(ids(other.name)).toEqual([]);
    });

    it('an update with notify replaces the alert (same Topic); a retraction goes to those who got it', async () => {
      const early = await subscribe({ topics: ['story'] });
      const v1 = await publish(article(['story'], { urgency: 3 }));
      await waitFor('v1', () => push.for(early.name).length === 1);
      const late = await subscribe({ topics: ['story'] });
      await publish({ id: v1.article.id, version: 2, headline: 'Updated headline', topics: ['story'], urgency: 3, notify: true, changeNote: 'New facts' });
      await waitFor('v2 to both', () => push.for(early.name).length === 2 && push.for(late.name).length === 1);
      expect(push.for(early.name)[1]!.headers.topic).toBe(push.for(early.name)[0]!.headers.topic);
      expect(push.for(early.name)[1]!.payload).toMatchObject({ type: 'article.updated', version: 2, title: 'Updated headline' });
      const third = await subscribe({ topics: ['story'] }); // follows the topic, never got this article
      await api(srv.url, 'DELETE', `/api/v1/articles/${v1.article.id}`, { reason: 'Based on a false report' }, srv.auth);
      await waitFor('the withdrawal', () => push.for(early.name).length === 3 && push.for(late.name).length === 2);
      await sleep(300);
      expect(push.for(early.name)[2]!.payload).toMatchObject({ type: 'article.retracted', title: expect.stringMatching(/^Withdrawn: /), body: 'Based on a false report', image: null });
      expect(push.for(early.name)[2]!.headers.topic).toBe(push.for(early.name)[0]!.headers.topic);
      expect(push.for(third.name)).toEqual([]);
    });

    it('410 removes the subscription; 429 is retried after Retry-After; 413 is not retried', async () => {
      const gone = await subscribe({ topics: ['faults'] });
      const busy = await subscribe({ topics: ['faults'] });
      const tooBig = await subscribe({ topics: ['faults'] });
      push.respond(gone.name, 410);
      push.respond(busy.name, { status: 429, retryAfter: '1' });
      push.respond(tooBig.name, 413);
      const sentAt = Date.now();
      await publish(article(['faults'], { urgency: 3 }));
      await waitFor('the retried push', () => push.for(busy.name)[0], 10_000);
      expect(push.for(busy.name)[0]!.at - sentAt).toBeGreaterThanOrEqual(1_000);
      await sleep(1_500);
      expect(push.for(busy.name)).toHaveLength(1);
      expect(push.for(tooBig.name)).toEqual([]);
      const owner = await api(srv.url, 'GET', `/api/v1/push/subscriptions/${gone.id}`, undefined, { Authorization: `Bearer ${gone.token}` });
      expect(owner.status).toBe(404);
      expect((await api(srv.url, 'GET', `/api/v1/push/subscriptions/${tooBig.id}`, undefined, { Authorization: `Bearer ${tooBig.token}` })).status).toBe(200);
      const metrics = await (await fetch(`${srv.url}/metrics`)).text();
      expect(metrics).toMatch(/newspush_push_requests_total\{outcome="gone",status="410"\} 1/);
      expect(metrics).toMatch(/newspush_push_requests_total\{outcome="retry",status="429"\} 1/);
      expect(metrics).toMatch(/newspush_push_requests_total\{outcome="rejected",status="413"\} 1/);
      expect(push.rejected).toEqual([]);
    });

    it('a withdrawal is the last thing a phone gets, and an alert for a withdrawn article stops going out', async () => {
      const names: string[] = [];
      for (let i = 0; i < 40; i++) names.push((await subscribe({ topics: ['killed'] })).name);
      // A push service that holds its answers: the alert is still going out when the kill comes, whatever the load.
      let release!: () => void;
      push.gate = new Promise<void>((r) => (release = r));
      try {
        const v1 = await publish(article(['killed'], { urgency: 2 }));
        await waitFor('the alert to be under way', () => names.some((n) => push.for(n).length > 0), 10_000);
        const killed = await api(srv.url, 'DELETE', `/api/v1/articles/${v1.article.id}`, { reason: 'Killed' }, srv.auth);
        expect(killed.status).toBe(200);
        // The push service answers only after the withdrawal has looked for who got the alert (it waits 1 s): the
        // alerts that land late are sent their withdrawal by the batch that delivered them.
        await sleep(1_500);
        release();
        await waitFor('the withdrawals', () => names.filter((n) => push.for(n).some((p) => p.payload.type === 'article.retracted')).length > 0, 10_000);
        await sleep(2_500);
        const got = names.map((n) => push.for(n).map((p) => p.payload.type));
        const alerted = got.filter((g) => g.includes('article.published')).length;
        expect(alerted).toBeGreaterThan(0);
        expect(alerted).toBeLessThan(40); // the rest were never sent an alert for a killed story
        for (const g of got) {
          // Nothing, or the alert and then its withdrawal: never the alert alone, never the alert after the withdrawal.
          expect([[], ['article.published', 'article.retracted']]).toContainEqual(g);
        }
      } finally {
        release();
        push.gate = null;
      }
    });

    it('gives up on a push whose Retry-After runs past the alert\'s TTL', async () => {
      const s = await subscribe({ topics: ['expiring'] });
      push.respond(s.name, { status: 503, retryAfter: '120' }); // PUSH_TTL_SECONDS is 60 here
      await publish(article(['expiring'], { urgency: 1 }));
      await waitFor('the push to be given up', async () => /newspush_push_requests_total\{outcome="expired",status="503"\} 1/.test(await (await fetch(`${srv.url}/metrics`)).text()));
      expect(push.for(s.name)).toEqual([]);
    });

    it('keeps payloads under 3,000 bytes, cutting the summary on a word boundary', async () => {
      const s = await subscribe({ topics: ['long'] });
      await publish(article(['long'], { urgency: 4, summary: 'word '.repeat(199) + 'end', headline: 'h'.repeat(300), image: { url: `https://news.example.com/${'i'.repeat(1500)}.jpg` } }));
      const [got] = await waitFor('the push', () => (push.for(s.name).length ? push.for(s.name) : undefined));
      expect(Buffer.byteLength(JSON.stringify(got!.payload))).toBeLessThan(3_000);
      expect(got!.payload.body).toMatch(/^(word )+word…$|^(word )*word…$/);
    });
  });

  describe('subscription rate limit', () => {
    it('answers 429 past RATE_LIMIT_SUBSCRIBE_PER_MINUTE per client address', async () => {
      const s = await startServer({ ...push.serverEnv, RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '2' });
      try {
        const statuses = [];
        for (let i = 0; i < 3; i++) statuses.push((await api(s.url, 'POST', '/api/v1/push/subscriptions', { subscription: push.subscriber().subscription, topics: ['x'] })).status);
        expect(statuses).toEqual([201, 201, 429]);
      } finally {
        await s.close();
      }
    });
  });
}
