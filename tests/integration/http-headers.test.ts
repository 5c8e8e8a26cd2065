import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedLogger } from '../support/logs.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

const csp = (res: Response) => res.headers.get('content-security-policy') ?? '';

describe('Content-Security-Policy over http and https', () => {
  let direct: TestServer;
  let proxied: TestServer;
  beforeAll(async () => {
    direct = await startServer();
    proxied = await startServer({ TRUST_PROXY: 'loopback' });
  });
  afterAll(async () => {
    await direct.close();
    await proxied.close();
  });

  it('over plain http the pages are not upgraded to https (they work at http://<any address>:3000)', async () => {
    for (const path of ['/', '/newsroom.html', '/api/v1/topics']) {
      const res = await fetch(direct.url + path);
      expect(res.status).toBe(200);
      expect(csp(res)).toContain("default-src 'self'");
      expect(csp(res)).not.toContain('upgrade-insecure-requests');
    }
  });

  it('a forged X-Forwarded-Proto from a client that is not a trusted proxy changes nothing', async () => {
    const res = await fetch(direct.url + '/', { headers: { 'X-Forwarded-Proto': 'https' } });
    expect(csp(res)).not.toContain('upgrade-insecure-requests');
  });

  it('behind a trusted proxy (TRUST_PROXY) that says https, the policy upgrades insecure requests', async () => {
    const https = await fetch(proxied.url + '/', { headers: { 'X-Forwarded-Proto': 'https' } });
    expect(csp(https)).toContain('upgrade-insecure-requests');
    expect(csp(https)).toContain("default-src 'self'");
    const http = await fetch(proxied.url + '/', { headers: { 'X-Forwarded-Proto': 'http' } });
    expect(csp(http)).not.toContain('upgrade-insecure-requests');
  });

  it('serves a favicon, and /favicon.ico leads to it', async () => {
    const svg = await fetch(direct.url + '/favicon.svg');
    expect(svg.status).toBe(200);
    expect(svg.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(await svg.text()).toContain('<svg');
    const ico = await fetch(direct.url + '/favicon.ico', { redirect: 'manual' });
    expect(ico.status).toBe(301);
    expect(ico.headers.get('location')).toBe('/favicon.svg');
  });
});

describe('request log lines', () => {
  it('carry method, path, status, time and request id, and no headers', async () => {
    const { logger, lines } = capturedLogger('debug');
    const server = await startServer({}, { logger });
    try {
      const res = await fetch(server.url + '/api/v1/articles/nope?x=1', { headers: { 'X-Request-Id': 'edge-1234', Cookie: 'secret=1' } });
      expect(res.status).toBe(404);
      expect(res.headers.get('x-request-id')).toBe('edge-1234');
      const fresh = await fetch(server.url + '/api/v1/topics');
      const freshId = fresh.headers.get('x-request-id');
      expect(freshId).toMatch(/^[0-9a-f-]{36}$/);

      const line = await waitFor('the 404 request line', () => lines.find((l) => l.req?.id === 'edge-1234' && l.res));
      expect(line.req).toEqual({ id: 'edge-1234', method: 'GET', url: '/api/v1/articles/nope?x=1' });
      expect(line.res).toEqual({ statusCode: 404 });
      expect(typeof line.responseTime).toBe('number');
      const ok = await waitFor('the 200 request line', () => lines.find((l) => l.req?.id === freshId && l.res));
      expect(ok.res).toEqual({ statusCode: 200 });
      expect(JSON.stringify(lines)).not.toContain('secret=1');
      expect(JSON.stringify(lines)).not.toContain('content-security-policy');
    } finally {
      await server.close();
    }
  });

  it('an SSE stream echoes its request id and gets one such line when it ends', async () => {
    const { logger, lines } = capturedLogger('debug');
    const server = await startServer({}, { logger });
    try {
      const ctrl = new AbortController();
      const res = await fetch(server.url + '/api/v1/stream?topics=world', { headers: { 'X-Request-Id': 'edge-sse-1', Cookie: 'secret=1' }, signal: ctrl.signal });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toBe('edge-sse-1');
      expect(csp(res)).toContain("default-src 'self'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const reader = res.body!.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toContain(': connected');
      // Open: no line yet (it is written when the stream ends).
      expect(lines.filter((l) => l.req?.id === 'edge-sse-1')).toEqual([]);
      ctrl.abort();
      const line = await waitFor('the stream request line', () => lines.find((l) => l.req?.id === 'edge-sse-1' && l.res));
      expect(line.req).toEqual({ id: 'edge-sse-1', method: 'GET', url: '/api/v1/stream?topics=world' });
      expect(line.res).toEqual({ statusCode: 200 });
      expect(typeof line.responseTime).toBe('number');
      expect(lines.filter((l) => l.req?.id === 'edge-sse-1')).toHaveLength(1);
      expect(JSON.stringify(lines)).not.toContain('secret=1');
    } finally {
      await server.close();
    }
  });
});
