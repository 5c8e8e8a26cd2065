import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Article } from '../../src/domain/article.ts';
import { compareIds, type EventDraft, type NewsEvent } from '../../src/domain/event.ts';
import type { Retention, Store } from '../../src/storage/store.ts';
import { waitFor } from '../support/wait.ts';

export interface StoreUnderTest {
  store: Store;
  cleanup: () => Promise<void>;
}
export type MakeStore = (retention: Retention, now?: () => number) => Promise<StoreUnderTest>;

const retention: Retention = { maxEvents: 100, maxAgeSeconds: 3_600, articleTtlSeconds: 3_600 };

let seq = 0;
function art(id: string, topics: string[], extra: Partial<Article> = {}): Article {
  seq += 1;
  return {
    id, version: 1, headline: `h ${id}`, summary: null, body: null, url: null, topics, urgency: 5, language: 'en', byline: null,
    image: null, publishedAt: '2024-02-08T15:04:00.000Z', changeNote: null, notify: true,
    updatedAt: new Date(Date.now() + seq).toISOString(), status: 'published', ...extra,
  };
}
const draft = (a: Article, type: EventDraft['type'] = 'article.published'): EventDraft => ({ type, at: new Date().toISOString(), topics: a.topics, article: a });

/** The behaviour both storage engines must have; run by memory.test.ts and redis.test.ts. */
export function describeStoreContract(name: string, make: MakeStore): void {
  describe(`Store contract: ${name}`, () => {
    let s: StoreUnderTest;
    let store: Store;
    const put = async (a: Article, expected: Article | null = null, listed = true) => {
      const r = await store.commit({ expected, article: a, event: draft(a, expected ? 'article.updated' : 'article.published'), listed });
      if (!r.ok || !r.event) throw new Error('commit failed');
      return r.event;
    };

    beforeEach(async () => {
      s = await make(retention);
      store = s.store;
    });
    afterEach(async () => {
      await s.cleanup();
    });

    it('commits are compare-and-set: a writer with a stale view changes nothing', async () => {
      const v1 = art('cas', ['world']);
      await put(v1);
      const v2 = { ...v1, version: 2, headline: 'two' };
      expect((await store.commit({ expected: v1, article: v2, event: draft(v2, 'article.updated'), listed: true })).ok).toBe(true);
      const stale = { ...v1, version: 2, headline: 'other' };
      const lost = await store.commit({ expected: v1, article: stale, event: draft(stale, 'article.updated'), listed: true });
      expect(lost).toEqual({ ok: false });
      expect((await store.getArticle('cas'))?.headline).toBe('two');
      expect((await store.commit({ expected: null, article: v1, event: null, listed: true })).ok).toBe(false);
      expect((await store.readEvents(null, null, 10)).events).toHaveLength(2);
    });

    it('gives strictly increasing ids and returns the event with its id', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push((await put(art(`inc-${i}`, ['t']))).id);
      const sorted = [...ids].sort(compareIds);
      expect(ids).toEqual(sorted);
      expect(new Set(ids).size).toBe(20);
      expect((await store.readEvents(null, null, 1)).head).toBe(ids[19]);
    });

    it('a commit without an event stores silently', async () => {
      const a = art('silent', ['world']);
      expect(await store.commit({ expected: null, article: a, event: null, listed: true })).toEqual({ ok: true, event: null });
      expect(await store.getArticle('silent')).toEqual(a);
      expect((await store.readEvents(null, null, 10)).events).toEqual([]);
    });

    it('lists by topic with subtopics, language, limit, newest first, unlisted left out, moving with topic changes', async () => {
      const iraq = art('l-iraq', ['world/middle-east/iraq']);
      const fr = art('l-fr', ['world/europe/france'], { language: 'fr' });
      const us = art('l-us', ['us/politics']);
      const gone = art('l-gone', ['world']);
      for (const a of [iraq, fr, us, gone]) await put(a);
      await put({ ...gone, status: 'retracted', updatedAt: new Date(Date.now() + 10_000).toISOString() }, gone, false);
      const ids = async (q: { topic?: string; language?: string; limit: number }) => (await store.listArticles(q)).map((a) => a.id);
      expect(await ids({ topic: 'world', limit: 10 })).toEqual(['l-fr', 'l-iraq']);
      expect(await ids({ topic: 'sport', limit: 10 })).toEqual([]);
      expect(await ids({ topic: 'world', language: 'fr', limit: 10 })).toEqual(['l-fr']);
      expect(await ids({ limit: 2 })).toEqual(['l-us', 'l-fr']);
      const moved = { ...iraq, version: 2, topics: ['sport'], updatedAt: new Date(Date.now() + 20_000).toISOString() };
      await put(moved, iraq);
      expect(await ids({ topic: 'world', limit: 10 })).toEqual(['l-fr']);
      expect(await ids({ topic: 'sport', limit: 10 })).toEqual(['l-iraq']);
      const counts = Object.fromEntries(await store.topicCounts());
      expect(counts).toEqual({ world: 1, 'world/europe': 1, 'world/europe/france': 1, us: 1, 'us/politics': 1, sport: 1 });
    });

    it('reads events after a cursor for topics (hierarchy), oldest first, with a limit; latest N without a cursor', async () => {
      const e1 = await put(art('r1', ['world']));
      const e2 = await put(art('r2', ['world/europe']));
      await put(art('r3', ['sport']));
      const e4 = await put(art('r4', ['us', 'world']));
      const after = await store.readEvents(e1.id, ['world'], 10);
      expect(after.events.map((e) => e.id)).toEqual([e2.id, e4.id]);
      expect(after.resync).toBe(false);
      expect(after.head).toBe(e4.id);
      expect((await store.readEvents(e1.id, ['world'], 1)).events.map((e) => e.id)).toEqual([e2.id]);
      expect((await store.readEvents(null, ['world'], 2)).events.map((e) => e.id)).toEqual([e2.id, e4.id]);
      expect((await store.readEvents(e4.id, ['world'], 10))).toMatchObject({ events: [], resync: false });
      const full = (await store.readEvents(e1.id, null, 10)).events as NewsEvent[];
      expect(full.map((e) => e.article.id)).toEqual(['r2', 'r3', 'r4']);
      expect(full[0]).toMatchObject({ type: 'article.published', topics: ['world/europe'], article: { id: 'r2' } });
    });

    it('asks for a resync when events after the cursor were trimmed, or the cursor is unknown', async () => {
      const small = await make({ ...retention, maxEvents: 3 });
      try {
        const ev: NewsEvent[] = [];
        for (let i = 0; i < 6; i++) {
          const a = art(`t${i}`, ['x']);
          const r = await small.store.commit({ expected: null, article: a, event: draft(a), listed: true });
          if (r.ok && r.event) ev.push(r.event);
        }
        expect(await small.store.readEvents(ev[0]!.id, ['x'], 10)).toMatchObject({ events: [], resync: true });
        const edge = await small.store.readEvents(ev[2]!.id, ['x'], 10);
        expect(edge.resync).toBe(false);
        expect(edge.events.map((e) => e.id)).toEqual(ev.slice(3).map((e) => e.id));
        expect(await small.store.readEvents('99999999999999-0', ['x'], 10)).toMatchObject({ events: [], resync: true });
      } finally {
        await small.cleanup();
      }
    });

    it('tail delivers every later event once, in order', async () => {
      const before = await put(art('before', ['a']));
      const got: string[] = [];
      let start: string | null | undefined;
      const stop = store.tail((e) => got.push(e.id), (position) => (start = position));
      // The tail starts after the newest id at this point, and says so.
      await waitFor('the tail to start', () => start !== undefined);
      expect(start).toBe(before.id);
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) ids.push((await put(art(`tail-${i}`, ['a']))).id);
      await waitFor('30 tailed events', () => got.length >= 30);
      await new Promise((r) => setTimeout(r, 50));
      expect(got).toEqual(ids);
      stop();
    });

    it('keeps small values set-once', async () => {
      expect(await store.setIfAbsent('vapid', 'one')).toBe('one');
      expect(await store.setIfAbsent('vapid', 'two')).toBe('one');
      expect(await store.setIfAbsent('other', 'three')).toBe('three');
    });

    it('holds versions until due, earliest first, and never drops a replaced one', async () => {
      const now = Date.now();
      const later = { id: 'h1', releaseAt: new Date(now + 60_000).toISOString(), payload: { v: 1 } };
      const soon = { id: 'h2', releaseAt: new Date(now - 1_000).toISOString(), payload: { v: 1 } };
      const sooner = { id: 'h3', releaseAt: new Date(now - 2_000).toISOString(), payload: { v: 1 } };
      const withheld = { id: 'h4', releaseAt: null, payload: { v: 1 } };
      for (const h of [later, soon, sooner, withheld]) await store.hold(h);
      expect((await store.dueHeld(new Date(now), 10)).map((h) => h.id)).toEqual(['h3', 'h2']);
      expect(await store.getHeld('h4')).toEqual(withheld);
      const replaced = { ...soon, payload: { v: 2 } };
      await store.hold(replaced);
      await store.dropHeld(soon);
      expect(await store.getHeld('h2')).toEqual(replaced);
      await store.dropHeld(replaced);
      expect(await store.getHeld('h2')).toBeNull();
      expect((await store.dueHeld(new Date(now), 10)).map((h) => h.id)).toEqual(['h3']);
    });
  });
}
