import { expect, it } from 'vitest';
import { MemoryReports } from '../../src/reports/store.ts';
import { describeReportStore } from './report-store.contract.ts';

describeReportStore('memory', async () => ({ store: new MemoryReports(3_600), close: async () => {} }));

it('memory reports expire with the article TTL', async () => {
  let now = 1_000_000;
  const store = new MemoryReports(60, () => now);
  await store.apply([{ eventId: '1-0', meta: { eventId: '1-0', articleId: 'a', version: 1, type: 'article.published', headline: 'h', publishedAt: new Date(now).toISOString(), topics: ['x'], push: true }, counts: { sent: 1 } }]);
  now += 59_000;
  expect(await store.get('1-0')).not.toBeNull();
  now += 2_000;
  expect(await store.get('1-0')).toBeNull();
  expect(await store.forArticle('a')).toEqual([]);
});
