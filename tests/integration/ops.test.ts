import { describe, expect, it } from 'vitest';
import { article } from '../support/articles.ts';
import { NewsClient } from '../support/clients.ts';
import { api, startServer } from '../support/server.ts';

describe('operations endpoints', () => {
  it('healthz, readyz and Prometheus metrics that count what happened', async () => {
    const srv = await startServer();
    try {
      expect(await api(srv.url, 'GET', '/healthz')).toMatchObject({ status: 200 });
      expect(await api(srv.url, 'GET', '/readyz')).toMatchObject({ status: 200 });
      const c = await NewsClient.connect(srv.url, { topics: ['world'] });
      await api(srv.url, 'POST', '/api/v1/articles', article(['world']), srv.auth);
      await c.waitForCount(1);
      await api(srv.url, 'POST', '/api/v1/articles', { id: 'x' }, srv.auth);
      const m = await fetch(`${srv.url}/metrics`);
      expect(m.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await m.text();
      expect(text).toMatch(/newspush_events_published_total\{type="article.published"\} 1/);
      expect(text).toMatch(/newspush_connections\{channel="socketio"\} 1/);
      expect(text).toMatch(/newspush_http_errors_total\{code="validation_failed"\} 1/);
      expect(text).toMatch(/newspush_deliveries_total\{channel="socketio",kind="live"\} 1/);
      expect(text).toMatch(/process_resident_memory_bytes/);
      c.close();
    } finally {
      await srv.close();
    }
  });
});

describe('CORS', () => {
  it('answers browsers from CORS_ORIGINS and only those; same origin only by default', async () => {
    const open = await startServer({ CORS_ORIGINS: 'https://news.example.com' });
    const closed = await startServer();
    try {
      const ask = (url: string, origin: string) => fetch(`${url}/api/v1/topics`, { headers: { Origin: origin } });
      expect((await ask(open.url, 'https://news.example.com')).headers.get('access-control-allow-origin')).toBe('https://news.example.com');
      expect((await ask(open.url, 'https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
      expect((await ask(closed.url, 'https://news.example.com')).headers.get('access-control-allow-origin')).toBeNull();
      const preflight = await fetch(`${open.url}/api/v1/articles`, {
        method: 'OPTIONS',
        headers: { Origin: 'https://news.example.com', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    } finally {
      await open.close();
      await closed.close();
    }
  });
});
