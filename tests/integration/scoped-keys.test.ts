import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NewsClient } from '../support/clients.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

const ADMIN = 'admin-key-0123456789abcdef';
const SPORT = 'sport-desk-key-0123456789';
const admin = { Authorization: `Bearer ${ADMIN}` };
const sport = { Authorization: `Bearer ${SPORT}` };

let srv: TestServer;
let reader: NewsClient;

beforeAll(async () => {
  srv = await startServer({ PUBLISHER_KEYS: `admin:${ADMIN},sport:${SPORT}:sport|culture/film`, RATE_LIMIT_PUBLISH_PER_SECOND: '0' });
  reader = await NewsClient.connect(srv.url, { topics: ['sport', 'sportswear', 'culture', 'world', 'politics', 'news'] });
});
afterAll(async () => {
  reader.close();
  await srv.close();
});

const write = (method: string, path: string, body: unknown, headers: Record<string, string>) => api(srv.url, method, path, body, headers);
const get = async (id: string) => (await api(srv.url, 'GET', `/api/v1/articles/${encodeURIComponent(id)}`)).body.article;

function expectForbidden(r: { status: number; body: any }, topic: string) {
  expect(r.status, JSON.stringify(r.body)).toBe(403);
  expect(r.body.error.code).toBe('forbidden');
  expect(r.body.error.message).toContain(topic);
  expect(r.body.error.scope).toEqual(['sport', 'culture/film']);
}

/** Every event the reader got, as `type id vN`, once the marker article (published last by admin) arrived. */
async function eventsUntil(marker: string): Promise<string[]> {
  expect((await write('POST', '/api/v1/articles', { id: marker, headline: 'marker', topics: ['news'] }, admin)).status).toBe(201);
  await waitFor(`marker ${marker}`, () => reader.events.some((e) => e.article.id === marker));
  const all = reader.events.splice(0).map((e) => `${e.type} ${e.article.id} v${e.article.version}`);
  return all.filter((e) => !e.includes(marker));
}

describe('a scoped key writes only under its topics', () => {
  it('publishes under its topics and their subtopics', async () => {
    for (const [id, topics] of [['s-1', ['sport']], ['s-2', ['sport/football/premier-league']], ['s-3', ['culture/film']], ['s-4', ['culture/film/festivals', 'sport/tennis']]] as const) {
      const r = await write('POST', '/api/v1/articles', { id, headline: id, topics }, sport);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    expect(await eventsUntil('m-1')).toEqual(['article.published s-1 v1', 'article.published s-2 v1', 'article.published s-3 v1', 'article.published s-4 v1']);
  });

  it('is refused (403, nothing stored or sent) outside them: a parent topic, a sibling, a lookalike, a mixed list', async () => {
    const cases: Array<[string, string[], string]> = [
      ['f-1', ['culture'], 'culture'],
      ['f-2', ['culture/music'], 'culture/music'],
      ['f-3', ['sportswear'], 'sportswear'],
      ['f-4', ['world'], 'world'],
      ['f-5', ['sport', 'politics'], 'politics'],
      ['f-6', ['culture/film', 'culture'], 'culture'],
    ];
    for (const [id, topics, named] of cases) {
      expectForbidden(await write('POST', '/api/v1/articles', { id, headline: id, topics }, sport), named);
      expect(await get(id)).toBeUndefined();
    }
    expect(await eventsUntil('m-2')).toEqual([]);
  });

  it('cannot overwrite, patch or retract an article filed outside its scope', async () => {
    expect((await write('POST', '/api/v1/articles', { id: 'w-1', headline: 'World story', topics: ['world'] }, admin)).status).toBe(201);
    // POST of the same id with in-scope topics would move another desk's article into sport: refused.
    expectForbidden(await write('POST', '/api/v1/articles', { id: 'w-1', headline: 'Hijacked', topics: ['sport'] }, sport), 'world');
    expectForbidden(await write('PATCH', '/api/v1/articles/w-1', { headline: 'Hijacked' }, sport), 'world');
    expectForbidden(await write('PATCH', '/api/v1/articles/w-1', { topics: ['sport'] }, sport), 'world');
    expectForbidden(await write('DELETE', '/api/v1/articles/w-1', { reason: 'no' }, sport), 'world');
    expect(await get('w-1')).toMatchObject({ version: 1, headline: 'World story', topics: ['world'], status: 'published' });
    expect(await eventsUntil('m-3')).toEqual(['article.published w-1 v1']);
  });

  it('PATCH cannot move its own article out of scope, or partly out', async () => {
    expectForbidden(await write('PATCH', '/api/v1/articles/s-1', { topics: ['world'] }, sport), 'world');
    expectForbidden(await write('PATCH', '/api/v1/articles/s-1', { topics: ['sport', 'culture'] }, sport), 'culture');
    const ok = await write('PATCH', '/api/v1/articles/s-1', { topics: ['sport/cycling'], headline: 'Moved within sport' }, sport);
    expect(ok.status).toBe(200);
    expect(await get('s-1')).toMatchObject({ version: 2, topics: ['sport/cycling'] });
    expect(await eventsUntil('m-4')).toEqual(['article.updated s-1 v2']);
  });

  it('an article another key moved out of scope is out of reach; its own articles it can retract', async () => {
    expect((await write('PATCH', '/api/v1/articles/s-2', { topics: ['sport/football', 'politics'] }, admin)).status).toBe(200);
    expectForbidden(await write('PATCH', '/api/v1/articles/s-2', { headline: 'x' }, sport), 'politics');
    expectForbidden(await write('DELETE', '/api/v1/articles/s-2', {}, sport), 'politics');
    expect((await write('DELETE', '/api/v1/articles/s-3', { reason: 'Wrong film' }, sport)).status).toBe(200);
    expect(await eventsUntil('m-5')).toEqual(['article.updated s-2 v2', 'article.retracted s-3 v1']);
    expect(await get('s-2')).toMatchObject({ version: 2, status: 'published' });
  });

  it('an invalid body from a scoped key is still a 400, not a 403', async () => {
    const r = await write('POST', '/api/v1/articles', { id: 'v-1', headline: 'x', topics: ['Not A Topic'] }, sport);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
  });
});

describe('the same rule on POST /api/v1/ninjs', () => {
  const doc = (uri: string, subject: string, extra: Record<string, unknown> = {}) => ({
    uri, type: 'text', version: '1', headline: `About ${subject}`, subject: [{ name: subject, code: subject.toLowerCase() }], ...extra,
  });

  it('publishes a document that maps into its scope, refuses one that does not', async () => {
    const ok = await write('POST', '/api/v1/ninjs', doc('urn:t:n-sport', 'Sport'), sport);
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expectForbidden(await write('POST', '/api/v1/ninjs', doc('urn:t:n-politics', 'Politics'), sport), 'politics');
    expect(await get('urn:t:n-politics')).toBeUndefined();
    expect(await eventsUntil('m-6')).toEqual(['article.published urn:t:n-sport v1']);
  });

  it('cannot kill, update or supersede an article filed outside its scope, nor drop a held version', async () => {
    expect((await write('POST', '/api/v1/ninjs', doc('urn:t:n-world', 'World'), admin)).status).toBe(201);
    expectForbidden(await write('POST', '/api/v1/ninjs', doc('urn:t:n-world', 'Sport', { pubstatus: 'canceled' }), sport), 'world');
    expectForbidden(await write('POST', '/api/v1/ninjs', doc('urn:t:n-world', 'Sport', { version: '2' }), sport), 'world');
    // Superdesk's rewrite (evolvedfrom) would take the old article out of the listings.
    const rewrite = { guid: 'urn:t:n-rewrite', type: 'text', version: '1', headline: 'Rewrite', subject: [{ name: 'Sport', code: 'sport' }], evolvedfrom: 'urn:t:n-world' };
    expectForbidden(await write('POST', '/api/v1/ninjs', rewrite, sport), 'world');
    expect(await get('urn:t:n-world')).toMatchObject({ version: 1, status: 'published', topics: ['world'] });
    expect((await get('urn:t:n-world')).supersededBy ?? null).toBeNull();
    expect(await get('urn:t:n-rewrite')).toBeUndefined();

    // A version held back (withheld) under politics: the sport key cannot cancel it away.
    expect((await write('POST', '/api/v1/ninjs', doc('urn:t:n-held', 'Politics', { pubstatus: 'withheld' }), admin)).status).toBe(202);
    expectForbidden(await write('POST', '/api/v1/ninjs', doc('urn:t:n-held', 'Sport', { pubstatus: 'canceled' }), sport), 'politics');
    expect(await srv.app.store.getHeld('urn:t:n-held')).not.toBeNull();
    expect(await eventsUntil('m-7')).toEqual(['article.published urn:t:n-world v1']);
  });

  it('its own ninjs article it can update and kill', async () => {
    expect((await write('POST', '/api/v1/ninjs', doc('urn:t:n-sport', 'Sport', { version: '2' }), sport)).status).toBe(200);
    expect((await write('POST', '/api/v1/ninjs', doc('urn:t:n-sport', 'Sport', { version: '3', pubstatus: 'canceled' }), sport)).status).toBe(200);
    expect(await eventsUntil('m-8')).toEqual(['article.updated urn:t:n-sport v2', 'article.retracted urn:t:n-sport v2']);
  });
});

describe('an unscoped key', () => {
  it('writes under any topic, and over what a scoped key wrote', async () => {
    expect((await write('POST', '/api/v1/articles', { id: 'u-1', headline: 'x', topics: ['politics', 'sport'] }, admin)).status).toBe(201);
    expect((await write('PATCH', '/api/v1/articles/s-4', { topics: ['world'] }, admin)).status).toBe(200);
    expect(await eventsUntil('m-9')).toEqual(['article.published u-1 v1', 'article.updated s-4 v2']);
  });
});
