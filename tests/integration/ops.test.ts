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
