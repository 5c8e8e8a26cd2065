import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbargoScheduler } from '../../src/news/embargo.ts';
import { NewsClient } from '../support/clients.ts';
import { TestRedis } from '../support/redis.ts';
import { api, startServer, startServerOn, type TestServer } from '../support/server.ts';

const FIXTURES = new URL('../fixtures/ninjs/', import.meta.url);
const EMBARGOED = JSON.parse(readFileSync(new URL('superdesk/embargoed.json', FIXTURES), 'utf8')) as Record<string, unknown>;

// Embargoes an hour ahead: the servers' own schedulers (on the real clock) never release them during a test; the
// tests release them with schedulers on a clock they set.
const HOUR = 3_600_000;
const base = Math.ceil(Date.now() / 1000) * 1000;
const at = (ms: number) => new Date(base + ms);
const superdeskDate = (d: Date) => d.toISOString().replace('.000Z', '+0000');

/** The Superdesk embargoed sample as `guid`, version `version`, embargoed until `until` (its topic: agriculture). */
function embargoed(guid: string, version: number | null, until: Date, extra: Record<string, unknown> = {}) {
  return { ...EMBARGOED, guid, version: version === null ? undefined : String(version), embargoed: superdeskDate(until), ...extra };
}

const post = (srv: TestServer, doc: unknown) => api(srv.url, 'POST', '/api/v1/ninjs', doc, srv.auth);
const eventsOf = async (srv: TestServer, id: string) =>
  ((await api(srv.url, 'GET', '/api/v1/events?topics=agriculture&limit=1000')).body.events as Array<{ type: string; article: { id: string; version: number; headline: string } }>).filter(
    (e) => e.article.id === id,
  );

/** Publishes a marker article and waits until `reader` has it: everything fanned out before it has arrived too. */
async function settle(srv: TestServer, reader: NewsClient): Promise<void> {
  const id = `marker-${reader.events.length}-${Date.now()}`;
  expect((await api(srv.url, 'POST', '/api/v1/articles', { id, headline: 'marker', topics: ['agriculture'] }, srv.auth)).status).toBe(201);
  await waitForMarker(reader, id);
}
async function waitForMarker(reader: NewsClient, id: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!reader.events.some((e) => e.article.id === id)) {
    if (Date.now() > deadline) throw new Error(`marker ${id} did not arrive`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const nonMarkers = (reader: NewsClient) => reader.events.filter((e) => !e.article.id.startsWith('marker-')).map((e) => [e.type, e.article.id, e.article.version]);

for (const engine of ['memory', 'redis'] as const) {
  describe(`held versions (${engine} engine)`, () => {
    let srv: TestServer;
    const clock = { now: at(0) };
    let scheduler: EmbargoScheduler;
    beforeAll(async () => {
      srv = await startServerOn(engine, { RATE_LIMIT_PUBLISH_PER_SECOND: '0' });
      scheduler = new EmbargoScheduler(srv.app.news, srv.app.logger, () => clock.now);
    });
    afterAll(async () => {
      await srv.close();
    });

    it('publishes at the embargo time on the scheduler clock, not a millisecond before', async () => {
      const reader = await NewsClient.connect(srv.url, { topics: ['agriculture'] });
      const held = await post(srv, embargoed(`clock-${engine}`, 11, at(HOUR)));
      expect(held.status).toBe(202);
      expect(held.body).toMatchObject({ event: null, article: null, held: { id: `clock-${engine}`, version: 11, releaseAt: at(HOUR).toISOString() } });
      clock.now = at(HOUR - 1);
      await scheduler.tick();
      expect((await api(srv.url, 'GET', `/api/v1/articles/clock-${engine}`)).status).toBe(404);
      clock.now = at(HOUR);
      await scheduler.tick();
      expect((await api(srv.url, 'GET', `/api/v1/articles/clock-${engine}`)).body.article).toMatchObject({ version: 11, headline: 'Trouble is brewing for the future of beer' });
      await scheduler.tick(); // nothing is left to release
      await settle(srv, reader);
      expect(nonMarkers(reader)).toEqual([['article.published', `clock-${engine}`, 11]]);
      reader.close();
    });

    it('a held version replaced by a newer one after a node read it is not published in its old form', async () => {
      const reader = await NewsClient.connect(srv.url, { topics: ['agriculture'] });
      const id = `replaced-${engine}`;
      expect((await post(srv, embargoed(id, 2, at(HOUR)))).status).toBe(202);
      // A node reads the due list (its clock is past the embargo) and is slow to act on it...
      const stale = (await srv.app.news.dueHeld(at(2 * HOUR), 100)).find((h) => h.id === id)!;
      expect(stale.input.version).toBe(2);
      // ...meanwhile the newsroom sends version 3 with a later embargo.
      expect((await post(srv, embargoed(id, 3, at(3 * HOUR), { headline: 'Beer: the corrected story' }))).status).toBe(202);
      expect(await srv.app.news.release(stale)).toBeNull();
      expect((await api(srv.url, 'GET', `/api/v1/articles/${id}`)).status).toBe(404);
      clock.now = at(2 * HOUR);
      await scheduler.tick();
      expect((await api(srv.url, 'GET', `/api/v1/articles/${id}`)).status).toBe(404);
      clock.now = at(3 * HOUR);
      await scheduler.tick();
      expect((await api(srv.url, 'GET', `/api/v1/articles/${id}`)).body.article).toMatchObject({ version: 3, headline: 'Beer: the corrected story' });
      await settle(srv, reader);
      expect(nonMarkers(reader)).toEqual([['article.published', id, 3]]);
      reader.close();
    });

    it('a usable version published before the embargo replaces the held one; a late older version is refused', async () => {
      const reader = await NewsClient.connect(srv.url, { topics: ['agriculture'] });
      const id = `usable-${engine}`;
      expect((await post(srv, embargoed(id, 5, at(HOUR)))).status).toBe(202);
      const stale = (await srv.app.news.dueHeld(at(2 * HOUR), 100)).find((h) => h.id === id)!;
      expect((await post(srv, { ...embargoed(id, 4, at(HOUR)) })).body.error?.code).toBe('stale_version'); // older than the held one
      const usable = await post(srv, { ...embargoed(id, 6, at(0)), embargoed: undefined, headline: 'Lifted early' });
      expect(usable.status).toBe(201);
      expect(await srv.app.news.release(stale)).toBeNull();
      clock.now = at(2 * HOUR);
      await scheduler.tick();
      expect((await api(srv.url, 'GET', `/api/v1/articles/${id}`)).body.article).toMatchObject({ version: 6, headline: 'Lifted early' });
      expect((await post(srv, embargoed(id, 6, at(HOUR)))).body.error?.code).toBe('stale_version'); // already published
      await settle(srv, reader);
      expect(nonMarkers(reader)).toEqual([['article.published', id, 6]]);
      reader.close();
    });

    it('canceled drops the held version; a version held after a retraction is refused', async () => {
      const id = `canceled-${engine}`;
      expect((await post(srv, embargoed(id, 2, at(HOUR)))).status).toBe(202);
      const killed = await post(srv, { ...embargoed(id, 3, at(HOUR)), pubstatus: 'canceled' });
      expect(killed.status).toBe(404); // never published: nothing to retract, and nothing is held any more
      expect((await srv.app.news.dueHeld(at(2 * HOUR), 100)).map((h) => h.id)).not.toContain(id);

      const published = `retracted-${engine}`;
      expect((await post(srv, { ...embargoed(published, 1, at(0)), embargoed: undefined })).status).toBe(201);
      expect((await post(srv, embargoed(published, 2, at(HOUR)))).status).toBe(202);
      expect((await post(srv, { ...embargoed(published, 3, at(0)), embargoed: undefined, pubstatus: 'canceled' })).body.event.type).toBe('article.retracted');
      expect((await srv.app.news.dueHeld(at(2 * HOUR), 100)).map((h) => h.id)).not.toContain(published);
      const late = await post(srv, embargoed(published, 4, at(HOUR)));
      expect(late.status).toBe(409);
      expect(late.body.error.code).toBe('retracted');
      expect((await eventsOf(srv, published)).map((e) => e.type)).toEqual(['article.published', 'article.retracted']);
    });

    it('a repeated delivery of a held version changes nothing', async () => {
      const id = `repeat-${engine}`;
      const first = await post(srv, embargoed(id, 7, at(HOUR)));
      const again = await post(srv, embargoed(id, 7, at(HOUR)));
      expect(again.status).toBe(202);
      expect(again.body).toEqual(first.body);
      expect((await srv.app.news.dueHeld(at(2 * HOUR), 100)).filter((h) => h.id === id)).toHaveLength(1);
    });
  });
}

describe('two nodes on one Redis racing to release the same embargoed items', () => {
  let redis: TestRedis;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    redis = await TestRedis.start();
    const env = { REDIS_URL: redis.url, RATE_LIMIT_PUBLISH_PER_SECOND: '0' };
    a = await startServer(env);
    b = await startServer(env);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await redis.stop();
  });

  it('publishes each once, whichever node wins', async () => {
    const readerA = await NewsClient.connect(a.url, { topics: ['agriculture'] });
    const readerB = await NewsClient.connect(b.url, { topics: ['agriculture'] });
    const ids = Array.from({ length: 20 }, (_, i) => `race-${i}`);
    // Half with a version, half without (the release then builds the next version itself).
    for (const [i, id] of ids.entries()) expect((await post(i % 2 ? a : b, embargoed(id, i % 2 ? 1 : null, at(HOUR + i * 1000)))).status).toBe(202);
    const later = at(2 * HOUR);
    const [dueA, dueB] = await Promise.all([a.app.news.dueHeld(later, 100), b.app.news.dueHeld(later, 100)]);
    expect(dueA.map((h) => h.id)).toEqual(ids);
    expect(dueB).toEqual(dueA);
    // Both nodes release everything they read, at the same time.
    const outcomes = await Promise.all([...dueA.map((h) => a.app.news.release(h)), ...dueB.map((h) => b.app.news.release(h))]);
    const released = outcomes.filter((o) => o && 'released' in o);
    expect(released).toHaveLength(ids.length);
    expect(outcomes.filter((o) => o === null)).toHaveLength(ids.length);
    expect(await a.app.news.dueHeld(later, 100)).toEqual([]);
    for (const id of ids) expect((await eventsOf(a, id)).map((e) => [e.type, e.article.version])).toEqual([['article.published', 1]]);
    // Then both schedulers, on a clock past every embargo, find nothing more to publish.
    await Promise.all([new EmbargoScheduler(a.app.news, a.app.logger, () => later).tick(), new EmbargoScheduler(b.app.news, b.app.logger, () => later).tick()]);
    await settle(a, readerA);
    await waitForMarker(readerB, readerA.events.at(-1)!.article.id);
    for (const reader of [readerA, readerB]) {
      expect(nonMarkers(reader).map(([, id]) => id).sort()).toEqual([...ids].sort());
    }
    readerA.close();
    readerB.close();
  });
});
