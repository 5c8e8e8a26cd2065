import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Article } from '../../src/domain/article.ts';
import { compareIds, type EventDraft, type NewsEvent } from '../../src/domain/event.ts';
import type { HeldVersion } from '../../src/domain/held.ts';
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

    it('lists by status (published, retracted, all) and pages after a position, ties ordered by id', async () => {
      const t = (ms: number) => new Date(Date.parse('2030-01-01T00:00:00.000Z') + ms).toISOString();
      const a = art('p-a', ['world'], { updatedAt: t(1) });
      const b = art('p-b', ['world/europe'], { updatedAt: t(2) });
      const c1 = art('p-c1', ['sport'], { updatedAt: t(3) });
      const c2 = art('p-c2', ['world'], { updatedAt: t(3) });
      const gone = art('p-gone', ['world'], { updatedAt: t(4) });
      const old = art('p-old', ['world'], { updatedAt: t(0) });
      for (const x of [a, b, c1, c2, gone, old]) await put(x);
      await put({ ...gone, status: 'retracted', version: 2, updatedAt: t(5) }, gone, false);
      // Superseded: out of every listing but `retracted` (it is not retracted).
      expect((await store.commit({ expected: old, article: { ...old, supersededBy: 'p-a' }, event: null, listed: false })).ok).toBe(true);
      const ids = async (q: Parameters<Store['listArticles']>[0]) => (await store.listArticles(q)).map((x) => x.id);
      expect(await ids({ limit: 10 })).toEqual(['p-c2', 'p-c1', 'p-b', 'p-a']);
      expect(await ids({ limit: 10, status: 'retracted' })).toEqual(['p-gone']);
      expect(await ids({ limit: 10, status: 'all' })).toEqual(['p-gone', 'p-c2', 'p-c1', 'p-b', 'p-a']);
      expect(await ids({ limit: 10, status: 'all', topic: 'world' })).toEqual(['p-gone', 'p-c2', 'p-b', 'p-a']);
      expect(await ids({ limit: 10, status: 'retracted', topic: 'sport' })).toEqual([]);
      // Pages: after the last of the previous page, including a tie on updatedAt.
      expect(await ids({ limit: 2, after: { updatedAt: t(3), id: 'p-c2' } })).toEqual(['p-c1', 'p-b']);
      expect(await ids({ limit: 2, after: { updatedAt: t(3), id: 'p-c1' } })).toEqual(['p-b', 'p-a']);
      expect(await ids({ limit: 2, status: 'all', after: { updatedAt: t(5), id: 'p-gone' } })).toEqual(['p-c2', 'p-c1']);
      expect(await ids({ limit: 2, topic: 'world', after: { updatedAt: t(2), id: 'p-b' } })).toEqual(['p-a']);
    });

    it('keeps each article\'s audit trail with its event ids, oldest first; only commits with an event add to it', async () => {
      const v1 = art('trail', ['world']);
      const e1 = await store.commit({ expected: null, article: v1, event: draft(v1), listed: true, record: { version: 1, type: 'article.published', at: v1.updatedAt, author: 'alice', changeNote: null } });
      const v2 = { ...v1, version: 2, changeNote: 'Adds a quote' };
      const e2 = await store.commit({ expected: v1, article: v2, event: draft(v2, 'article.updated'), listed: true, record: { version: 2, type: 'article.updated', at: v2.updatedAt, author: 'bob', changeNote: 'Adds a quote' } });
      const v3 = { ...v2, supersededBy: 'other' };
      expect((await store.commit({ expected: v2, article: v3, event: null, listed: false, record: { version: 2, type: 'article.updated', at: v2.updatedAt, author: 'x', changeNote: null } })).ok).toBe(true);
      expect(e1.ok && e2.ok).toBe(true);
      expect(await store.articleHistory('trail')).toEqual([
        { version: 1, type: 'article.published', at: v1.updatedAt, author: 'alice', changeNote: null, eventId: e1.ok ? e1.event!.id : null },
        { version: 2, type: 'article.updated', at: v2.updatedAt, author: 'bob', changeNote: 'Adds a quote', eventId: e2.ok ? e2.event!.id : null },
      ]);
      expect(await store.articleHistory('unknown')).toEqual([]);
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
        expect(await small.store.readEvents(ev[0]!.id, ['x'], 10)).toMatchObject({ events: [], resync: true, reason: 'history_truncated' });
        const edge = await small.store.readEvents(ev[2]!.id, ['x'], 10);
        expect(edge.resync).toBe(false);
        expect(edge.events.map((e) => e.id)).toEqual(ev.slice(3).map((e) => e.id));
        expect(await small.store.readEvents('99999999999999-0', ['x'], 10)).toMatchObject({ events: [], resync: true, reason: 'history_reset' });
      } finally {
        await small.cleanup();
      }
    });

    it('pages by count and bytes through the topic indexes, each event once, saying whether more follow', async () => {
      const e0 = await put(art('p0', ['world']));
      const ids: string[] = [];
      for (let i = 1; i <= 12; i++) ids.push((await put(art(`p${i}`, i % 3 === 0 ? ['sport'] : ['world/europe', 'world']))).id);
      const world = ids.filter((_, i) => (i + 1) % 3 !== 0);
      // Overlapping topics (a topic and its subtopic) give each event once.
      const first = await store.readEvents(e0.id, ['world', 'world/europe'], 5);
      expect(first.events.map((e) => e.id)).toEqual(world.slice(0, 5));
      expect(first.more).toBe(true);
      const rest = await store.readEvents(first.events[4]!.id, ['world'], 100);
      expect(rest.events.map((e) => e.id)).toEqual(world.slice(5));
      expect(rest.more).toBe(false);
      // A byte budget cuts the page (one event always comes, so a reader always moves on).
      const size = JSON.stringify(first.events[0]).length;
      const small = await store.readEvents(e0.id, ['world'], 100, { maxBytes: size * 2 + 10 });
      expect(small.events.map((e) => e.id)).toEqual(world.slice(0, 2));
      expect(small.more).toBe(true);
      expect((await store.readEvents(e0.id, ['world'], 100, { maxBytes: 1 })).events).toHaveLength(1);
      // The latest events, cut by bytes, keep the newest.
      const latest = await store.readEvents(null, ['world'], 100, { maxBytes: size * 2 + 10 });
      expect(latest.events.map((e) => e.id)).toEqual(world.slice(-2));
      expect(latest.more).toBe(true);
      // A topic nobody wrote to: nothing, and nothing more.
      expect(await store.readEvents(e0.id, ['culture'], 100)).toMatchObject({ events: [], resync: false, more: false });
      expect((await store.readEvents(e0.id, null, 100)).events.map((e) => e.id)).toEqual(ids);
    });

    it('answers resync (too_far_behind) when more matching events than maxBehind follow the cursor', async () => {
      const e0 = await put(art('b0', ['a']));
      for (let i = 1; i <= 6; i++) await put(art(`b${i}`, i <= 3 ? ['a', 'a/x'] : ['b']));
      // Three events match a, a/x; three match b: a cursor 3 behind on a is fine with 3, not with 2.
      expect((await store.readEvents(e0.id, ['a', 'a/x'], 10, { maxBehind: 3 })).events).toHaveLength(3);
      expect(await store.readEvents(e0.id, ['a', 'a/x'], 10, { maxBehind: 2 })).toMatchObject({ events: [], resync: true, reason: 'too_far_behind' });
      expect(await store.readEvents(e0.id, null, 10, { maxBehind: 5 })).toMatchObject({ resync: true, reason: 'too_far_behind' });
      expect((await store.readEvents(e0.id, null, 10, { maxBehind: 6 })).events).toHaveLength(6);
    });

    it('gives every cursor from before an empty restart resync, also after new events were written', async () => {
      const old = await put(art('e1', ['x']));
      const older = await put(art('e2', ['x']));
      await waitFor('the clock to move past the old ids', () => Date.now() > Number(older.id.split('-')[0]) + 1);
      await s.cleanup();
      s = await make(retention); // the same store, restarted empty (memory: a new process; Redis: a flushed one)
      store = s.store;
      expect(await store.readEvents(old.id, ['x'], 10)).toMatchObject({ events: [], resync: true, reason: 'history_reset' });
      const fresh = await put(art('e3', ['x']));
      await put(art('e4', ['x']));
      for (const cursor of [old.id, older.id]) {
        expect(await store.readEvents(cursor, ['x'], 10)).toMatchObject({ events: [], resync: true, reason: 'history_reset' });
        expect(await store.readEvents(cursor, null, 10)).toMatchObject({ events: [], resync: true, reason: 'history_reset' });
      }
      expect((await store.readEvents(fresh.id, ['x'], 10)).events.map((e) => e.article.id)).toEqual(['e4']);
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

    it('holds versions until due, earliest first, compare-and-set with the article', async () => {
      const now = Date.now();
      const at = (ms: number | null) => (ms === null ? null : new Date(now + ms).toISOString());
      const held = (id: string, ms: number | null, version = 2): HeldVersion => ({
        id, releaseAt: at(ms), input: { id, version, headline: `held ${id} v${version}`, topics: ['world'] }, supersedes: null,
      });
      const hold = (h: HeldVersion, expectedHeld: HeldVersion | null = null, expected: Article | null = null) =>
        store.commitHeld({ id: h.id, expected, held: { expected: expectedHeld, next: h } });
      const [later, soon, sooner, withheld] = [held('h1', 60_000), held('h2', -1_000), held('h3', -2_000), held('h4', null)];
      for (const h of [later, soon, sooner, withheld]) expect(await hold(h)).toBe(true);
      expect((await store.dueHeld(new Date(now), 10)).map((h) => h.id)).toEqual(['h3', 'h2']);
      expect(await store.getHeld('h4')).toEqual(withheld);
      // A writer that read an older held version, or an older article, changes nothing.
      const replaced = held('h2', 30_000, 3);
      expect(await hold(replaced, soon)).toBe(true);
      expect(await hold(held('h2', -1_000, 4), soon)).toBe(false);
      expect(await store.getHeld('h2')).toEqual(replaced);
      const v1 = art('h2', ['world']);
      await put(v1);
      expect(await hold(held('h2', -1_000, 4), replaced, null)).toBe(false);
      expect(await store.getHeld('h2')).toEqual(replaced);
      // Dropping it: only with the held version as read; its release time goes with it.
      expect(await store.commitHeld({ id: 'h2', expected: v1, held: { expected: soon, next: null } })).toBe(false);
      expect(await store.commitHeld({ id: 'h2', expected: v1, held: { expected: replaced, next: null } })).toBe(true);
      expect(await store.getHeld('h2')).toBeNull();
      expect((await store.dueHeld(new Date(now + 60_000), 10)).map((h) => h.id)).toEqual(['h3', 'h1']);
    });

    it('a commit that names the held version publishes and drops it in one step, or does neither', async () => {
      const h: HeldVersion = { id: 'rel', releaseAt: new Date(Date.now() - 1_000).toISOString(), input: { id: 'rel', version: 1, headline: 'h', topics: ['world'] }, supersedes: null };
      expect(await store.commitHeld({ id: 'rel', expected: null, held: { expected: null, next: h } })).toBe(true);
      const a = art('rel', ['world']);
      const release = () => store.commit({ expected: null, article: a, event: draft(a), listed: true, held: { expected: h, next: null } });
      const first = await release();
      expect(first.ok && first.event?.article.id).toBe('rel');
      expect(await store.getHeld('rel')).toBeNull();
      // A second node releasing what it read before: the article is not what it expected, nothing happens.
      expect(await release()).toEqual({ ok: false });
      // Expecting a held version that is not there fails even when the article matches.
      const b = { ...a, version: 2 };
      expect(await store.commit({ expected: a, article: b, event: draft(b, 'article.updated'), listed: true, held: { expected: h, next: null } })).toEqual({ ok: false });
      expect(await store.getArticle('rel')).toEqual(a);
      expect((await store.readEvents(null, ['world'], 10)).events.map((e) => e.article.version)).toEqual([1]);
      // A commit that does not name it neither checks nor changes the held version.
      const next = { ...h, input: { ...h.input, version: 3 } };
      expect(await store.commitHeld({ id: 'rel', expected: a, held: { expected: null, next } })).toBe(true);
      expect((await store.commit({ expected: a, article: b, event: null, listed: true })).ok).toBe(true);
      expect(await store.getHeld('rel')).toEqual(next);
    });
  });
}
