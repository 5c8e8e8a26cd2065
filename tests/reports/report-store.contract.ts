import { describe, expect, it } from 'vitest';
import type { ReportMeta, ReportStore } from '../../src/reports/store.ts';

const meta = (eventId: string, articleId: string, version: number, publishedAt: string, topics = ['world']): ReportMeta => ({
  eventId, articleId, version, type: 'article.published', headline: `H ${articleId} ${version}`, publishedAt, topics, push: true,
});

/** The report store's contract, run on both engines (report-store-memory.test.ts, report-store-redis.test.ts). */
export function describeReportStore(name: string, open: () => Promise<{ store: ReportStore; close: () => Promise<void>; restart?: () => Promise<ReportStore> }>): void {
  describe(`report store (${name})`, () => {
    it('adds counters from several writers, keeps min/max times, and reads them back with the meta', async () => {
      const { store, close } = await open();
      try {
        const m = meta('1000-0', 'a1', 1, '2026-01-01T10:00:00.000Z');
        await store.apply([{ eventId: '1000-0', meta: m, counts: { sent: 2, s0: 1 }, first: 400, last: 400 }]);
        await store.apply([{ eventId: '1000-0', counts: { sent: 3, s0: 1, s2: 1 }, first: 120, last: 2500 }, { eventId: '1000-0', counts: { sent: 1 } }]);
        expect(await store.get('1000-0')).toEqual({ meta: m, counts: { sent: 6, s0: 2, s2: 1, first: 120, last: 2500 } });
        expect(await store.get('9-0')).toBeNull();
      } finally {
        await close();
      }
    });

    it('lists an article\'s reports oldest first and recent reports newest first, since a time, limited', async () => {
      const { store, close } = await open();
      try {
        // Recent times: the recent list keeps what is younger than the article TTL.
        const base = Date.now();
        const at = (minutesAgo: number) => new Date(base - minutesAgo * 60_000).toISOString();
        await store.apply([
          { eventId: '1-0', meta: meta('1-0', 'b', 1, at(30)), counts: {} },
          { eventId: '2-0', meta: meta('2-0', 'c', 1, at(20)), counts: {} },
          { eventId: '3-0', meta: meta('3-0', 'b', 2, at(10)), counts: { live: 0 } },
        ]);
        expect((await store.forArticle('b')).map((r) => r.meta.eventId)).toEqual(['1-0', '3-0']);
        expect(await store.forArticle('zzz')).toEqual([]);
        expect((await store.recent(0, 10)).map((r) => r.meta.eventId)).toEqual(['3-0', '2-0', '1-0']);
        expect((await store.recent(Date.parse(at(20)), 10)).map((r) => r.meta.eventId)).toEqual(['3-0', '2-0']);
        expect((await store.recent(0, 1)).map((r) => r.meta.eventId)).toEqual(['3-0']);
      } finally {
        await close();
      }
    });

    it('counts a receipt once per key, and none for an unknown event', async () => {
      const { store, close } = await open();
      try {
        await store.apply([{ eventId: '5-0', meta: meta('5-0', 'd', 1, '2026-01-01T10:00:00.000Z'), counts: {} }]);
        expect(await store.receipt('5-0', 'sub1:shown', 'shown')).toBe(true);
        expect(await store.receipt('5-0', 'sub1:shown', 'shown')).toBe(false);
        expect(await store.receipt('5-0', 'sub1:opened', 'opened')).toBe(true);
        expect(await store.receipt('5-0', 'sub2:shown', 'shown')).toBe(true);
        expect((await store.get('5-0'))!.counts).toEqual({ shown: 2, opened: 1 });
      } finally {
        await close();
      }
    });
  });
}
