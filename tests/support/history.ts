import type { Article } from '../../src/domain/article.ts';
import { compareIds, type NewsEvent } from '../../src/domain/event.ts';
import type { Store } from '../../src/storage/store.ts';

/**
 * Writes `count` events through the store's real commit path (each the publication of a new article with a
 * `bodyBytes` body, several at a time), faster than the HTTP API for the large histories the load tests need.
 * Returns the events in id order.
 */
export async function fillHistory(store: Store, o: { count: number; bodyBytes: number; topics: (i: number) => string[] }): Promise<NewsEvent[]> {
  const body = `<p>${'x'.repeat(Math.max(0, o.bodyBytes - 7))}</p>`;
  const out: NewsEvent[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < o.count; i = next++) {
      const topics = o.topics(i);
      const now = new Date().toISOString();
      const a: Article = {
        id: `fill-${process.pid}-${Date.now()}-${i}`, version: 1, headline: `Fill ${i}`, summary: null, body, url: null, topics, urgency: 5,
        language: 'en', byline: null, image: null, publishedAt: now, changeNote: null, notify: false, updatedAt: now, status: 'published',
      };
      const r = await store.commit({ expected: null, article: a, event: { type: 'article.published', at: now, topics, article: a }, listed: true });
      if (!r.ok || !r.event) throw new Error('fill commit failed');
      out.push(r.event);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out.sort((x, y) => compareIds(x.id, y.id));
}
