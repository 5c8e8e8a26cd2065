import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleArticle } from '../support/articles.ts';
import { NewsClient } from '../support/clients.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { sleep } from '../support/wait.ts';

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
    const missing = await post({ topics: ['world'] });
    expect(missing.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['headline', 'id']);
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
