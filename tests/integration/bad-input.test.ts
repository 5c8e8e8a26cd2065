import { createECDH, randomBytes } from 'node:crypto';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/http/body.ts';
import { sampleArticle } from '../support/articles.ts';
import { NewsClient } from '../support/clients.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { sleep, waitFor } from '../support/wait.ts';

let srv: TestServer;
let watcher: NewsClient;

beforeAll(async () => {
  srv = await startServer({ RATE_LIMIT_PUBLISH_PER_SECOND: '0' });
  watcher = await NewsClient.connect(srv.url, { topics: ['world', 'us', 'tech'] });
});
afterAll(async () => {
  watcher.close();
  await srv.close();
});

const post = (body: unknown, headers: Record<string, string> = srv.auth) => api(srv.url, 'POST', '/api/v1/articles', body, headers);

describe('rejected requests store and fan out nothing', () => {
  it('401 without a key or with a wrong one', async () => {
    const attempts: Array<Record<string, string>> = [{}, { Authorization: 'Bearer wrong-key-wrong-key-wrong' }, { Authorization: srv.publisherKey }];
    for (const headers of attempts) {
      const r = await post(sampleArticle({ id: 'auth-1' }), headers);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('unauthorized');
    }
    expect((await api(srv.url, 'DELETE', '/api/v1/articles/x', undefined, {})).status).toBe(401);
  });

  it('400 for malformed JSON, 415 for another content type, 413 over 1 MiB', async () => {
    const malformed = await api(srv.url, 'POST', '/api/v1/articles', '{"id": "x",', srv.auth);
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('invalid_json');

    const form = await fetch(`${srv.url}/api/v1/articles`, {
      method: 'POST',
      headers: { ...srv.auth, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'id=x&headline=y',
    });
    expect(form.status).toBe(415);
    expect((await form.json()).error.code).toBe('unsupported_media_type');

    const huge = await post(sampleArticle({ id: 'huge-1', body: `<p>${'x'.repeat(1024 * 1024 + 10)}</p>` }));
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('payload_too_large');

    // Under 1 MiB but over the 256 KiB body limit: a validation error naming the field.
    const big = await post(sampleArticle({ id: 'big-1', body: `<p>${'x'.repeat(300 * 1024)}</p>` }));
    expect(big.status).toBe(400);
    expect(big.body.error.details.map((d: { field: string }) => d.field)).toEqual(['body']);
  });

  it('400 naming each bad field', async () => {
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ topics: ['World'] }, ['topics.0']],
      [{ topics: ['a/b/c/d/e'] }, ['topics.0']],
      [{ topics: [] }, ['topics']],
      [{ id: 'has space' }, ['id']],
      [{ id: '-leading' }, ['id']],
      [{ url: 'ftp://news.example.com/x' }, ['url']],
      [{ url: 'javascript:alert(1)' }, ['url']],
      [{ image: { url: 'not a url' } }, ['image.url']],
      [{ urgency: 0 }, ['urgency']],
      [{ urgency: 10 }, ['urgency']],
      [{ urgency: 2.5 }, ['urgency']],
      [{ language: 'english please' }, ['language']],
      [{ headline: '' }, ['headline']],
      [{ headline: 'x'.repeat(301) }, ['headline']],
      [{ changeNote: 'x'.repeat(281) }, ['changeNote']],
      [{ publishedAt: 'last tuesday' }, ['publishedAt']],
      [{ version: 0 }, ['version']],
      [{ colour: 'red' }, ['(body)']],
      [{ urgency: 0, url: 'nope', language: '12' }, ['urgency', 'url', 'language']],
    ];
    for (const [override, fields] of cases) {
      const r = await post(sampleArticle({ id: 'bad-1', ...override }));
      expect(r.status, JSON.stringify(override)).toBe(400);
      expect(r.body.error.code).toBe('validation_failed');
      expect(r.body.error.details.map((d: { field: string }) => d.field).sort(), JSON.stringify(override)).toEqual([...fields].sort());
    }
    // Without an id the server makes one from the headline, so only the headline is missing.
    const missing = await post({ topics: ['world'] });
    expect(missing.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['headline']);
    const notObject = await post([1, 2]);
    expect(notObject.status).toBe(400);
  });

  it('404 for unknown articles and routes', async () => {
    expect((await api(srv.url, 'DELETE', '/api/v1/articles/unknown-1', {}, srv.auth)).status).toBe(404);
    const route = await api(srv.url, 'GET', '/api/v1/nothing-here');
    expect(route.status).toBe(404);
    expect(route.body.error.code).toBe('not_found');
  });

  it('nothing was stored or sent for any of the above', async () => {
    await sleep(200);
    expect(watcher.events).toEqual([]);
    for (const id of ['auth-1', 'huge-1', 'big-1', 'bad-1']) {
      expect((await api(srv.url, 'GET', `/api/v1/articles/${id}`)).status).toBe(404);
    }
    expect((await api(srv.url, 'GET', '/api/v1/articles')).body.articles).toEqual([]);
  });
});

describe('rate limit per publisher key', () => {
  it('answers 429 rate_limited with Retry-After past the limit', async () => {
    const s = await startServer({ RATE_LIMIT_PUBLISH_PER_SECOND: '2' });
    try {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 4; i++) {
        const r = await api(s.url, 'POST', '/api/v1/articles', { id: `rl-${i}`, headline: 'x', topics: ['world'] }, s.auth);
        statuses.push(r.status);
        if (r.status === 429) {
          retryAfter = r.headers.get('retry-after');
          expect(r.body.error.code).toBe('rate_limited');
        }
      }
      expect(statuses.slice(0, 2)).toEqual([201, 201]);
      expect(statuses).toContain(429);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    } finally {
      await s.close();
    }
  });
});

/**
 * Every route that takes a body, x every kind of bad body: each answer is the 4xx the contract names, with the
 * error envelope, never a 500, and nothing is stored or sent.
 */
describe('bad bodies on every route that takes one', () => {
  let s: TestServer;
  let subId: string;
  let subToken: string;
  let live: NewsClient;

  beforeAll(async () => {
    s = await startServer({ RATE_LIMIT_PUBLISH_PER_SECOND: '0', RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '0' });
    expect((await api(s.url, 'POST', '/api/v1/articles', { id: 'bb-existing', headline: 'Existing', topics: ['world'] }, s.auth)).status).toBe(201);
    const created = await api(s.url, 'POST', '/api/v1/push/subscriptions', { subscription: pushSubscription(), topics: ['world'], languages: ['en'] });
    expect(created.status).toBe(201);
    subId = created.body.id;
    subToken = created.body.token;
    live = await NewsClient.connect(s.url, { topics: ['world', 'us', 'news', 'sport'] });
  });
  afterAll(async () => {
    live.close();
    await s.close();
  });

  function pushSubscription() {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    return {
      endpoint: `https://fcm.googleapis.com/fcm/send/${randomBytes(8).toString('hex')}`,
      expirationTime: null,
      keys: { p256dh: ecdh.getPublicKey('base64url'), auth: randomBytes(16).toString('base64url') },
    };
  }

  interface Route {
    name: string;
    method: string;
    path: () => string;
    headers: () => Record<string, string>;
    /** A body this route would accept, with `text` in one of its text fields. */
    valid: (text: string) => Record<string, unknown>;
    /** The field `text` lands in, as details name it. */
    field: string;
  }
  const routes: Route[] = [
    { name: 'POST /api/v1/articles', method: 'POST', path: () => '/api/v1/articles', headers: () => s.auth, valid: (t) => ({ id: 'bb-new', headline: t, topics: ['world'] }), field: 'headline' },
    { name: 'PATCH /api/v1/articles/:id', method: 'PATCH', path: () => '/api/v1/articles/bb-existing', headers: () => s.auth, valid: (t) => ({ headline: t }), field: 'headline' },
    { name: 'DELETE /api/v1/articles/:id', method: 'DELETE', path: () => '/api/v1/articles/bb-existing', headers: () => s.auth, valid: (t) => ({ reason: t }), field: 'reason' },
    {
      name: 'POST /api/v1/ninjs', method: 'POST', path: () => '/api/v1/ninjs', headers: () => s.auth,
      valid: (t) => ({ uri: 'urn:test:bb-ninjs', type: 'text', headlines: [{ role: 'main', value: t }], subjects: [{ name: 'Sport' }] }), field: 'headlines.0.value',
    },
    {
      // Superdesk's dialect goes through more of the ninjs code (date fixing, pruning): 4,000 levels broke it.
      name: 'POST /api/v1/ninjs (Superdesk)', method: 'POST', path: () => '/api/v1/ninjs', headers: () => s.auth,
      valid: (t) => ({ guid: 'bb-superdesk', type: 'text', version: '1', headline: t, versioncreated: '2026-01-01T10:00:00+0000', subject: [{ name: 'Sport', code: 'x' }] }), field: 'headline',
    },
    {
      name: 'POST /api/v1/push/subscriptions', method: 'POST', path: () => '/api/v1/push/subscriptions', headers: () => ({}),
      valid: (t) => ({ subscription: pushSubscription(), topics: ['world'], quietHours: { start: '22:00', end: '07:00', timeZone: t } }), field: 'quietHours.timeZone',
    },
    {
      name: 'PATCH /api/v1/push/subscriptions/:id', method: 'PATCH', path: () => `/api/v1/push/subscriptions/${subId}`, headers: () => ({ Authorization: `Bearer ${subToken}` }),
      valid: (t) => ({ languages: [t] }), field: 'languages.0',
    },
  ];

  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  /** JSON text `depth` levels deep (built as text: the test's own JSON.stringify would overflow its stack). */
  const nested = (depth: number) => '['.repeat(depth - 1) + '{}' + ']'.repeat(depth - 1);
  const withDeep = (r: Route, depth: number) => Buffer.from(JSON.stringify(r.valid('x')).replace(/}$/, `,"deep":${nested(depth)}}`));
  /** The body with `bytes` where the text field's value goes. */
  const spliced = (r: Route, bytes: number[]) => {
    const [before, after] = JSON.stringify(r.valid('@@')).split('@@');
    return Buffer.concat([Buffer.from(before!), Buffer.from(bytes), Buffer.from(after!)]);
  };
  interface Bad {
    kind: string;
    body: (r: Route) => Buffer;
    headers?: Record<string, string>;
    status: number;
    code: string;
    /** Fields named in details, when the answer names them. */
    fields?: (r: Route) => string[];
  }
  const bads: Bad[] = [
    { kind: 'malformed JSON', body: () => Buffer.from('{"headline": "x",'), status: 400, code: 'invalid_json' },
    { kind: 'corrupt gzip', body: () => Buffer.from('this is not gzip at all'), headers: { 'Content-Encoding': 'gzip' }, status: 400, code: 'invalid_json' },
    { kind: 'corrupt deflate', body: () => Buffer.from('this is not deflate at all'), headers: { 'Content-Encoding': 'deflate' }, status: 400, code: 'invalid_json' },
    { kind: 'corrupt br', body: () => Buffer.from([0x1b, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 0x02, 0x03]), headers: { 'Content-Encoding': 'br' }, status: 400, code: 'invalid_json' },
    { kind: 'truncated gzip', body: (r) => { const z = gzipSync(json(r.valid('x'))); return z.subarray(0, z.length - 12); }, headers: { 'Content-Encoding': 'gzip' }, status: 400, code: 'invalid_json' },
    { kind: 'gzip header on a plain body', body: (r) => json(r.valid('x')), headers: { 'Content-Encoding': 'gzip' }, status: 400, code: 'invalid_json' },
    { kind: 'unsupported Content-Encoding', body: (r) => json(r.valid('x')), headers: { 'Content-Encoding': 'compress' }, status: 415, code: 'unsupported_media_type' },
    { kind: 'not JSON (text/plain)', body: (r) => json(r.valid('x')), headers: { 'Content-Type': 'text/plain' }, status: 415, code: 'unsupported_media_type' },
    { kind: 'charset utf-16', body: (r) => Buffer.from(JSON.stringify(r.valid('x')), 'utf16le'), headers: { 'Content-Type': 'application/json; charset=utf-16' }, status: 415, code: 'unsupported_media_type' },
    { kind: 'charset latin1', body: (r) => Buffer.from(JSON.stringify(r.valid('café')), 'latin1'), headers: { 'Content-Type': 'application/json; charset=iso-8859-1' }, status: 415, code: 'unsupported_media_type' },
    { kind: 'invalid UTF-8 bytes', body: (r) => spliced(r, [0x63, 0x61, 0x66, 0xe9]), status: 400, code: 'invalid_json' },
    { kind: 'CESU-8 encoded surrogate', body: (r) => spliced(r, [0xed, 0xa0, 0xbd]), status: 400, code: 'invalid_json' },
    { kind: 'over 1 MiB', body: (r) => json(r.valid('x'.repeat(1024 * 1024 + 10))), status: 413, code: 'payload_too_large' },
    { kind: 'gzip bomb (over 1 MiB once inflated)', body: (r) => gzipSync(json(r.valid(' '.repeat(20 * 1024 * 1024)))), headers: { 'Content-Encoding': 'gzip' }, status: 413, code: 'payload_too_large' },
    { kind: 'br bomb (over 1 MiB once inflated)', body: (r) => brotliCompressSync(json(r.valid(' '.repeat(20 * 1024 * 1024)))), headers: { 'Content-Encoding': 'br' }, status: 413, code: 'payload_too_large' },
    { kind: 'nested 4,000 levels deep', body: (r) => withDeep(r, 4000), status: 400, code: 'validation_failed' },
    { kind: 'nested 20,000 levels deep', body: (r) => withDeep(r, 20_000), status: 400, code: 'validation_failed' },
    { kind: 'nested 4,000 levels deep, deflated', body: (r) => deflateSync(withDeep(r, 4000)), headers: { 'Content-Encoding': 'deflate' }, status: 400, code: 'validation_failed' },
    { kind: `nested ${MAX_JSON_DEPTH + 1} levels deep`, body: (r) => withDeep(r, MAX_JSON_DEPTH), status: 400, code: 'validation_failed', fields: () => [`deep${'.0'.repeat(MAX_JSON_DEPTH - 1)}`] },
    { kind: 'a bare array 4,000 deep', body: () => Buffer.from(nested(4000)), status: 400, code: 'validation_failed' },
    { kind: 'NUL in a text field', body: (r) => json(r.valid('Breaking\u0000news')), status: 400, code: 'validation_failed', fields: (r) => [r.field] },
    { kind: 'lone high surrogate in a text field', body: (r) => json(r.valid('Fire \ud83d')), status: 400, code: 'validation_failed', fields: (r) => [r.field] },
    { kind: 'lone low surrogate in a text field', body: (r) => json(r.valid('\ude00 Fire')), status: 400, code: 'validation_failed', fields: (r) => [r.field] },
    { kind: 'NUL in a field name', body: (r) => json({ ...r.valid('x'), 'we\u0000ird': 1 }), status: 400, code: 'validation_failed', fields: () => ['we\u0000ird'] },
    { kind: 'not an object', body: () => json([1, 2, 3]), status: 400, code: 'validation_failed' },
    { kind: 'a bare number', body: () => json(42), status: 400, code: 'validation_failed' },
  ];

  const cases = routes.flatMap((r) => bads.map((b) => [`${r.name}: ${b.kind}`, r, b] as const));
  it.each(cases)('%s', async (_name, route, bad) => {
    const payload = new Uint8Array(bad.body(route));
    // Making a bomb blocks this process for seconds on a busy machine: let the client see the server close the
    // idle keep-alive connection (after 5 s) before it sends, instead of writing into a socket already closed.
    await new Promise((r) => setTimeout(r, 20));
    const res = await fetch(s.url + route.path(), {
      method: route.method,
      headers: { 'Content-Type': 'application/json', ...route.headers(), ...bad.headers },
      body: payload,
    });
    const text = await res.text();
    expect(res.status, text.slice(0, 300)).toBe(bad.status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = JSON.parse(text);
    expect(body.error.code).toBe(bad.code);
    expect(typeof body.error.message).toBe('string');
    if (bad.fields) expect(body.error.details.map((d: { field: string }) => d.field)).toEqual(bad.fields(route));
  });

  it('the good version of each body is accepted (the table tests the bad part, not the rest)', async () => {
    for (const route of routes.filter((r) => r.method !== 'DELETE')) {
      const valid = route.field === 'quietHours.timeZone' ? route.valid('Europe/Paris') : route.field === 'languages.0' ? route.valid('fr') : route.valid('Fine words');
      const res = await api(s.url, route.method, route.path(), valid, route.headers());
      expect(res.status, `${route.name}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
    }
  });

  it('a bad path segment is a 400, not a 500', async () => {
    for (const path of ['/api/v1/articles/%E0%A4%A', '/api/v1/push/subscriptions/%zz']) {
      const res = await api(s.url, 'GET', path);
      expect(res.status, path).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
  });

  it('nothing from the bad bodies was stored or sent', async () => {
    // Only the good bodies of the test above changed anything: the existing article is at version 2 (its PATCH),
    // not retracted; the two ninjs documents and the new article were published once each.
    const existing = await api(s.url, 'GET', '/api/v1/articles/bb-existing');
    expect(existing.body.article).toMatchObject({ version: 2, headline: 'Fine words', status: 'published' });
    const sub = await api(s.url, 'GET', `/api/v1/push/subscriptions/${subId}`, undefined, { Authorization: `Bearer ${subToken}` });
    expect(sub.body.languages).toEqual(['fr']);
    await waitFor('the four good writes', () => live.events.length >= 4);
    await sleep(100);
    expect(live.events.map((e) => `${e.type} ${e.article.id} v${e.article.version}`).sort()).toEqual(
      ['article.published bb-new v1', 'article.published urn:test:bb-ninjs v1', 'article.published bb-superdesk v1', 'article.updated bb-existing v2'].sort(),
    );
  });
});
