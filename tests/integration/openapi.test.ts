import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiPath } from '../../src/http/openapi.ts';
import { api, startServer, type TestServer } from '../support/server.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
  rawPath?: string;
  slash?: boolean;
}

/** Every method + path the Express app serves, found by walking its router stack (mounted routers included). */
function servedRoutes(stack: Layer[], prefix = ''): string[] {
  const out: string[] = [];
  for (const layer of stack) {
    if (layer.route) {
      for (const m of Object.keys(layer.route.methods)) {
        if (m === '_all') continue;
        out.push(`${m} ${openApiPath((prefix + layer.route.path).replace(/\/$/, '') || '/').path}`);
      }
    } else if (layer.handle.stack) {
      const mount = layer.slash || typeof layer.rawPath !== 'string' ? '' : layer.rawPath;
      out.push(...servedRoutes(layer.handle.stack, prefix + mount));
    }
  }
  return out;
}

/** The curl commands of README.md that send a body: method, path and the JSON they send. */
function readmeBodies(): Array<{ method: string; path: string; body: string }> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const out: Array<{ method: string; path: string; body: string }> = [];
  const re = /curl [^\n]*?-X (\w+) http:\/\/localhost:3000(\/[^\s?]*)[^\n]*? -d '((?:[^']|'"'"')*)'/g;
  for (const m of readme.matchAll(re)) out.push({ method: m[1]!.toLowerCase(), path: m[2]!, body: m[3]!.replaceAll(`'"'"'`, `'`) });
  return out;
}

describe('GET /api/v1/openapi.json', () => {
  let server: TestServer;
  let doc: any;
  let ajv: Ajv2020;

  /** The JSON Schema the document gives for the request body of method + concrete path, compiled against the document. */
  const bodySchema = (method: string, path: string) => {
    const template = Object.keys(doc.paths).find((t) => new RegExp(`^${t.replace(/\{\w+\}/g, '[^/]+')}$`).test(path));
    expect(template, `${method} ${path} documented`).toBeDefined();
    const pointer = ['paths', template!, method, 'requestBody', 'content', 'application/json', 'schema'].map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
    return ajv.getSchema(`openapi.json#/${pointer}`)!;
  };

  beforeAll(async () => {
    server = await startServer();
    const res = await api(server.url, 'GET', '/api/v1/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body;
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema(doc, 'openapi.json');
  });
  afterAll(() => server.close());

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents every route the app serves, and nothing it does not serve', () => {
    const served = servedRoutes((server.app.express as unknown as { router: { stack: Layer[] } }).router.stack);
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) => Object.keys(item).map((m) => `${m} ${path}`));
    expect(served.length).toBeGreaterThan(15);
    expect([...new Set(served)].sort()).toEqual([...new Set(documented)].sort());
  });

  it("accepts the README's example bodies, as the server does", async () => {
    const examples = readmeBodies();
    const checked = examples.filter((e) => !e.body.includes('<the '));
    expect(checked.length).toBeGreaterThanOrEqual(5);
    expect(examples.length - checked.length).toBeLessThanOrEqual(1); // the push subscription, which a browser makes
    for (const e of checked) {
      const body = JSON.parse(e.body);
      if (e.path === '/api/v1/ninjs') continue; // validated against the official IPTC schemas, see the ninjs tests
      const validate = bodySchema(e.method, e.path);
      expect(validate(body), `${e.method} ${e.path}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('refuses the bodies the routes refuse', async () => {
    const ok = { id: 'oa-1', headline: 'Fine', topics: ['world'] };
    const bad: Array<[string, string, unknown]> = [
      ['post', '/api/v1/articles', {}],
      ['post', '/api/v1/articles', { ...ok, topics: [] }],
      ['post', '/api/v1/articles', { ...ok, topics: ['World News'] }],
      ['post', '/api/v1/articles', { ...ok, hedline: 'typo' }],
      ['post', '/api/v1/articles', { ...ok, urgency: 0 }],
      ['post', '/api/v1/articles', { ...ok, headline: 'x'.repeat(301) }],
      ['post', '/api/v1/articles', { ...ok, id: '-starts-with-dash' }],
      ['post', '/api/v1/articles', { ...ok, publishedAt: 'yesterday' }],
      ['post', '/api/v1/articles', { ...ok, image: { url: 'not a url' } }],
      ['patch', '/api/v1/articles/oa-0', { ifVersion: 0 }],
      ['patch', '/api/v1/articles/oa-0', { status: 'published' }],
      ['delete', '/api/v1/articles/oa-0', { reason: 5 }],
      ['post', '/api/v1/push/subscriptions', { topics: ['world'] }],
      ['post', '/api/v1/push/subscriptions', { subscription: { endpoint: 'https://fcm.googleapis.com/x', keys: { p256dh: 'x', auth: 'y' } }, topics: [] }],
    ];
    // The article the PATCH and DELETE cases name exists, so the answer is about the body, not a 404.
    expect((await api(server.url, 'POST', '/api/v1/articles', { ...ok, id: 'oa-0' }, server.auth)).status).toBe(201);
    for (const [method, path, body] of bad) {
      const res = await api(server.url, method.toUpperCase(), path, body, server.auth);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      const validate = bodySchema(method, path);
      expect(validate(body), `the document refuses ${method} ${path} ${JSON.stringify(body)}`).toBe(false);
    }
    // And what the document accepts for them once corrected, the routes accept.
    expect(bodySchema('post', '/api/v1/articles')(ok)).toBe(true);
    expect((await api(server.url, 'POST', '/api/v1/articles', ok, server.auth)).status).toBe(201);
  });

  it('describes query parameters from the same schemas (a bad limit is refused by both)', async () => {
    const limit = doc.paths['/api/v1/articles'].get.parameters.find((p: { name: string }) => p.name === 'limit');
    expect(limit.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 100 });
    expect((await api(server.url, 'GET', '/api/v1/articles?limit=101')).status).toBe(400);
    expect((await api(server.url, 'GET', '/api/v1/articles?limit=100')).status).toBe(200);
    const topics = doc.paths['/api/v1/events'].get.parameters.find((p: { name: string }) => p.name === 'topics');
    expect(topics.required).toBe(true);
  });
});
