import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/storage/memory.ts';
import { describeStoreContract } from './store.contract.ts';

describeStoreContract('memory', async (retention, now) => {
  const store = new MemoryStore(retention, now);
  return { store, cleanup: () => store.close() };
});

describe('MemoryStore specifics', () => {
  it('treats a cursor from before this process as too old: its history is gone', async () => {
    const store = new MemoryStore({ maxEvents: 10, maxAgeSeconds: 60, articleTtlSeconds: 60 });
    expect(await store.readEvents('1-0', null, 10)).toMatchObject({ events: [], resync: true });
  });

  it('expires articles and events by age on its clock', async () => {
    let t = 1_700_000_000_000;
    const store = new MemoryStore({ maxEvents: 100, maxAgeSeconds: 60, articleTtlSeconds: 30 }, () => t);
    const a = { id: 'x', version: 1, headline: 'h', summary: null, body: null, url: null, topics: ['w'], urgency: 5, language: 'en', byline: null, image: null, publishedAt: new Date(t).toISOString(), changeNote: null, notify: true, updatedAt: new Date(t).toISOString(), status: 'published' as const };
    const record = { version: 1, type: 'article.published' as const, at: a.updatedAt, author: 'alice', changeNote: null };
    const r = await store.commit({ expected: null, article: a, event: { type: 'article.published', at: a.updatedAt, topics: ['w'], article: a }, listed: true, record });
    expect(await store.articleHistory('x')).toHaveLength(1);
    t += 31_000;
    expect(await store.getArticle('x')).toBeNull();
    expect(await store.articleHistory('x')).toEqual([]);
    expect(await store.listArticles({ limit: 10, status: 'all' })).toEqual([]);
    expect(await store.listArticles({ limit: 10 })).toEqual([]);
    t += 30_000;
    expect(r.ok && (await store.readEvents(`${t - 120_000}-0`, null, 10)).resync).toBe(true);
  });
});
