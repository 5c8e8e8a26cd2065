import { afterAll, beforeAll, expect, it } from 'vitest';
import { article } from '../support/articles.ts';
import { PushService } from '../support/push-service.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

let push: PushService;
let srv: TestServer;

beforeAll(async () => {
  push = await PushService.start();
  srv = await startServer({ ...push.serverEnv, RATE_LIMIT_PUBLISH_PER_SECOND: '0', RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '0' });
});
afterAll(async () => {
  await srv?.close();
  await push?.stop();
});

it('memory engine: an alert withdrawn while it goes out counts the rest as superseded; the withdrawal has its own report', async () => {
  const n = 40;
  for (let i = 0; i < n; i++) {
    const sub = push.subscriber();
    const r = await api(srv.url, 'POST', '/api/v1/push/subscriptions', { subscription: sub.subscription, topics: ['withdrawn'] });
    expect(r.status).toBe(201);
  }
  // A slow push service: the withdrawal lands while the first pushes are still in flight.
  push.delayMs = 300;
  const published = await api(srv.url, 'POST', '/api/v1/articles', article(['withdrawn'], { urgency: 2 }), srv.auth);
  const id = published.body.article.id as string;
  await waitFor('the first pushes', () => push.received.some((p) => p.payload.articleId === id));
  expect((await api(srv.url, 'DELETE', `/api/v1/articles/${id}`, { reason: 'wrong' }, srv.auth)).status).toBe(200);
  const report = await waitFor(
    'both reports complete',
    async () => {
      const r = await api(srv.url, 'GET', `/api/v1/articles/${id}/report`, undefined, srv.auth);
      return r.body.versions?.length === 2 && r.body.versions.every((v: { complete: boolean }) => v.complete) ? r.body : undefined;
    },
    20_000,
  );
  push.delayMs = 0;
  const [alert, withdrawal] = report.versions;
  const got = push.received.filter((p) => p.payload.articleId === id && p.payload.type === 'article.published').length;
  expect(alert.push).toMatchObject({ matched: n, accepted: got, sent: got, retried: 0 });
  expect(alert.push.superseded).toBe(n - got);
  expect(alert.push.superseded).toBeGreaterThan(0);
  expect(withdrawal.type).toBe('article.retracted');
  expect(withdrawal.push).toMatchObject({ matched: got, sent: got });
});
