import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { article } from '../support/articles.ts';
import { NewsClient } from '../support/clients.ts';
import { api, startServerOn, type TestServer } from '../support/server.ts';

for (const engine of ['memory', 'redis'] as const) {
  describe(`a retry without a version (${engine} engine)`, () => {
    let srv: TestServer;
    beforeAll(async () => {
      srv = await startServerOn(engine, { RATE_LIMIT_PUBLISH_PER_SECOND: '0' });
    });
    afterAll(async () => {
      await srv.close();
    });

    const publish = (body: Record<string, unknown>) => api(srv.url, 'POST', '/api/v1/articles', body, srv.auth);

    it('with the content of the current version is an idempotent retry: 200, no event, no new version, nothing fanned out', async () => {
      const reader = await NewsClient.connect(srv.url, { topics: ['world'] });
      const body = article(['world/europe'], { summary: 'First take', urgency: 2 });
      const first = await publish(body);
      expect(first.status).toBe(201);
      const retry = await publish(body);
      expect(retry.status).toBe(200);
      expect(retry.body.event).toBeNull();
      expect(retry.body.article).toEqual(first.body.article);

      // Also after an update made without versions: the retry compares with the current version, not the first.
      const updated = await publish({ ...body, summary: 'Second take' });
      expect(updated.status).toBe(200);
      expect(updated.body.event.type).toBe('article.updated');
      expect(updated.body.article.version).toBe(2);
      const retryOfUpdate = await publish({ ...body, summary: 'Second take' });
      expect(retryOfUpdate.body).toEqual({ event: null, article: updated.body.article });

      // What the reader got, up to a marker published last: one event per real change, nothing for the retries.
      const marker = await publish(article(['world']));
      await reader.waitForCount(3);
      expect(reader.events.map((e) => [e.type, e.article.id, e.article.version])).toEqual([
        ['article.published', body.id, 1],
        ['article.updated', body.id, 2],
        ['article.published', marker.body.article.id, 1],
      ]);
      expect((await api(srv.url, 'GET', `/api/v1/articles/${String(body.id)}`)).body.article.version).toBe(2);
      const history = await api(srv.url, 'GET', '/api/v1/events?topics=world');
      expect(history.body.events.filter((e: { article: { id: string } }) => e.article.id === body.id)).toHaveLength(2);
      reader.close();
    });
  });
}
