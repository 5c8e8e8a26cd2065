import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.ts';
import { ClientGoneError, DEFAULT_REPLAY_LIMITS, LiveFeed, type CatchUpRequest, type ReplayLimits } from '../../src/delivery/feed.ts';
import type { Cursor, NewsEvent } from '../../src/domain/event.ts';
import type { Topic } from '../../src/domain/topic.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { Metrics } from '../../src/ops/metrics.ts';
import { NewsService } from '../../src/news/service.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import type { HistoryReadOptions } from '../../src/storage/store.ts';

const retention = { maxEvents: 10_000, maxAgeSeconds: 86_400, articleTtlSeconds: 3_600 };
const NO_WINDOW = { maxEvents: 0, maxBytes: 0 };

/**
 * A real MemoryStore whose history reads let the test run writes just before and just after the read itself:
 * the two races a catch-up must survive (an event both read and buffered; an event only buffered).
 */
class RacingStore extends MemoryStore {
  beforeRead: Array<() => Promise<void>> = [];
  afterRead: Array<() => Promise<void>> = [];
  reads = 0;
  override async readEvents(since: Cursor | null, topics: readonly Topic[] | null, limit: number, opts?: HistoryReadOptions) {
    this.reads++;
    for (const f of this.beforeRead.splice(0)) await f();
    const page = await super.readEvents(since, topics, limit, opts);
    for (const f of this.afterRead.splice(0)) await f();
    return page;
  }
}

async function setup(limits: Partial<ReplayLimits> = {}) {
  const store = new RacingStore(retention);
  const news = new NewsService({ store });
  // These tests force the races of reads from the store: no in-memory window (tests/integration/feed-window.test.ts).
  const feed = new LiveFeed(store, new Metrics(), createLogger('silent'), { ...DEFAULT_REPLAY_LIMITS, window: NO_WINDOW, ...limits });
  let n = 0;
  const publish = async (topics: string[]) => (await news.publish({ id: `f${++n}`, headline: `h${n}`, topics })).event!;
  return { store, feed, publish };
}

describe('LiveFeed.catchUp', () => {
  it('sends events written during the read once each, in order, then goes live in the same tick', async () => {
    const { store, feed, publish } = await setup();
    const cursor = await publish(['world']);
    const missed = await publish(['world']);
    let during: NewsEvent | undefined;
    let after: NewsEvent | undefined;
    store.beforeRead.push(async () => {
      during = await publish(['world/europe']); // buffered AND in the read
    });
    store.afterRead.push(async () => {
      after = await publish(['world']); // only buffered: the read had already happened
      await publish(['sport']); // not followed
    });
    const sent: string[] = [];
    let liveAt = -1;
    const r = await feed.catchUp({
      topics: ['world'],
      since: cursor.id,
      send: (e) => sent.push(e.id),
      drained: async () => {},
      onResync: () => sent.push('resync'),
      goLive: () => {
        liveAt = sent.length;
      },
    });
    expect(sent).toEqual([missed.id, during!.id, after!.id]);
    expect(liveAt).toBe(3);
    expect(r).toEqual({ replayed: 3, resync: false });
  });

  it('skips what the client already has and pages through long histories', async () => {
    const { feed, publish } = await setup({ maxEvents: 5_000 });
    const cursor = await publish(['a']);
    const ids: string[] = [];
    for (let i = 0; i < 1_203; i++) ids.push((await publish([i % 2 ? 'a' : 'b'])).id);
    const sent: string[] = [];
    const has = new Set(ids.slice(0, 10));
    await feed.catchUp({ topics: ['a', 'b'], since: cursor.id, alreadyHas: (e) => has.has(e.id), send: (e) => sent.push(e.id), drained: async () => {}, onResync: () => {}, goLive: () => {} });
    expect(sent).toEqual(ids.slice(10));
  });

  it('signals resync before any live event when the cursor is too old', async () => {
    const store = new RacingStore({ ...retention, maxEvents: 2 });
    const news = new NewsService({ store });
    const feed = new LiveFeed(store, new Metrics(), createLogger('silent'));
    const first = (await news.publish({ id: 'x1', headline: 'x', topics: ['t'] })).event!;
    for (let i = 2; i <= 4; i++) await news.publish({ id: `x${i}`, headline: 'x', topics: ['t'] });
    let live: NewsEvent | undefined;
    store.afterRead.push(async () => {
      live = (await news.publish({ id: 'x5', headline: 'x', topics: ['t'] })).event!;
    });
    const sent: string[] = [];
    const r = await feed.catchUp({ topics: ['t'], since: first.id, send: (e) => sent.push(e.id), drained: async () => {}, onResync: () => sent.push('resync'), goLive: () => {} });
    expect(r.resync).toBe(true);
    expect(sent).toEqual(['resync', live!.id]);
  });

  it('sends a page, then waits for the client to drain before reading the next', async () => {
    const { store, feed, publish } = await setup({ pageBytes: 4_000 });
    const cursor = await publish(['p']);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await publish(['p'])).id);
    const sent: string[] = [];
    const waits: Array<() => void> = [];
    const undrained: number[] = [];
    let sinceDrain = 0;
    const run = feed.catchUp({
      topics: ['p'],
      since: cursor.id,
      send: (e) => {
        sent.push(e.id);
        sinceDrain++;
      },
      drained: () =>
        new Promise<void>((resolve) => {
          undrained.push(sinceDrain);
          sinceDrain = 0;
          waits.push(resolve);
        }),
      onResync: () => {},
      goLive: () => {},
    });
    // The client does not read: the catch-up holds at one page, reading nothing more.
    await waitFor('the first page', () => waits.length === 1);
    const firstPage = sent.length;
    expect(firstPage).toBeGreaterThan(0);
    expect(firstPage).toBeLessThan(40);
    await new Promise((r) => setImmediate(r));
    expect(sent.length).toBe(firstPage);
    expect(store.reads).toBe(1);
    // Each drain lets exactly one more page go.
    for (let i = 0; sent.length < 40 && i < 100; i++) {
      await waitFor('a page waiting for its drain', () => waits.length > 0);
      waits.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    while (waits.length > 0) waits.shift()!();
    expect(await run).toEqual({ replayed: 40, resync: false });
    expect(sent).toEqual(ids);
    expect(Math.max(...undrained)).toBe(firstPage);
  });

  it('drops a client that does not drain within the deadline, and frees its slot', async () => {
    const { feed, publish } = await setup({ drainTimeoutMs: 200, concurrency: 1 });
    const cursor = await publish(['d']);
    await publish(['d']);
    const base = { topics: ['d'], since: cursor.id, send: () => {}, onResync: () => {}, goLive: () => {} };
    await expect(feed.catchUp({ ...base, drained: () => new Promise<void>(() => {}) })).rejects.toBeInstanceOf(ClientGoneError);
    expect(await feed.catchUp({ ...base, drained: async () => {} })).toEqual({ replayed: 1, resync: false });
  });

  it('runs at most `concurrency` catch-ups; a waiting one buffers live events, a cancelled one never starts', async () => {
    const { store, feed, publish } = await setup({ concurrency: 1, maxEvents: 3 });
    const cursor = await publish(['c']);
    await publish(['c']);
    let release: (() => void) | undefined;
    const quiet = { send: () => {}, onResync: () => {}, goLive: () => {} };
    // The first catch-up sends its page and waits for a drain that does not come yet: it holds the one slot.
    const first = feed.catchUp({ ...quiet, topics: ['c'], since: cursor.id, drained: () => new Promise<void>((r) => (release = r)) });
    await waitFor('the first catch-up to hold its slot', () => release !== undefined);
    const readsBefore = store.reads;
    const cancelled = new AbortController();
    const cancelledRun = feed.catchUp({ ...quiet, topics: ['c'], since: cursor.id, signal: cancelled.signal, drained: async () => {} });
    const log: string[] = [];
    const waiting = feed.catchUp({
      topics: ['c'], since: cursor.id, send: (e) => log.push(e.id), onResync: (reason, head) => log.push(`resync:${reason}:${head}`),
      goLive: () => log.push('live'), drained: async () => {},
    });
    cancelled.abort();
    await expect(cancelledRun).rejects.toBeInstanceOf(ClientGoneError);
    // Four live events while it waits: more than maxEvents (3) buffered -> resync and live at once, no replay.
    const four: string[] = [];
    for (let i = 0; i < 4; i++) four.push((await publish(['c'])).id);
    expect(await waiting).toEqual({ replayed: 0, resync: true });
    // It continues after the event that passed the bound (that one is in what it reloads, the next come live).
    expect(log).toEqual([`resync:too_far_behind:${four[3]}`, 'live']);
    expect(store.reads).toBe(readsBefore);
    release!();
    expect(await first).toEqual({ replayed: 0, resync: true }); // it buffered the same four: resync too
    // The slot is free again.
    expect((await feed.catchUp({ ...quiet, topics: ['c'], since: (await publish(['c'])).id, drained: async () => {} })).resync).toBe(false);
  });

  it('answers resync (too_far_behind) instead of replaying more than maxEvents', async () => {
    const { feed, publish } = await setup({ maxEvents: 5 });
    const cursor = await publish(['m']);
    let last = cursor;
    for (let i = 0; i < 6; i++) last = await publish(['m']);
    const log: string[] = [];
    const req: CatchUpRequest = { topics: ['m'], since: cursor.id, send: (e) => log.push(e.id), drained: async () => {}, onResync: (r, head) => log.push(`${r}:${head}`), goLive: () => log.push('live') };
    expect(await feed.catchUp(req)).toEqual({ replayed: 0, resync: true });
    expect(log).toEqual([`too_far_behind:${last.id}`, 'live']);
  });
});
