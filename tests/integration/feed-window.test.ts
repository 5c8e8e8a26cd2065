import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_REPLAY_LIMITS, LiveFeed, type CatchUpRequest } from '../../src/delivery/feed.ts';
import type { Cursor, EventId, NewsEvent } from '../../src/domain/event.ts';
import { matchesAny, type Topic } from '../../src/domain/topic.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { Metrics } from '../../src/ops/metrics.ts';
import { NewsService } from '../../src/news/service.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { RedisFactory } from '../../src/storage/redis-connection.ts';
import { RedisStore } from '../../src/storage/redis.ts';
import type { HistoryReadOptions, Retention, Store } from '../../src/storage/store.ts';
import { TestRedis } from '../support/redis.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Catch-ups served from the node's in-memory window of the newest history (no storage read per client), on
 * both engines: exactly once, in order, with events written during the catch-up, and a cursor just older than
 * the window read from the store instead.
 */
const retention: Retention = { maxEvents: 10_000, maxAgeSeconds: 86_400, articleTtlSeconds: 3_600 };
const WINDOW = 8;

/** Counts the store's history reads and runs `beforeEpoch` hooks right before the window's epoch check. */
function instrument(store: Store) {
  const probe = { reads: 0, beforeEpoch: [] as Array<() => Promise<void>> };
  const read = store.readEvents.bind(store);
  const epoch = store.historyEpoch.bind(store);
  Object.assign(store, {
    readEvents: (since: Cursor | null, topics: readonly Topic[] | null, limit: number, opts?: HistoryReadOptions) => {
      probe.reads++;
      return read(since, topics, limit, opts);
    },
    historyEpoch: async () => {
      for (const f of probe.beforeEpoch.splice(0)) await f();
      return epoch();
    },
  });
  return probe;
}

let redis: TestRedis;
beforeAll(async () => {
  redis = await TestRedis.start();
});
afterAll(async () => {
  await redis.stop();
});

const engines: Array<[string, () => Promise<{ store: Store; cleanup: () => Promise<void> }>]> = [
  ['memory', async () => ({ store: new MemoryStore(retention), cleanup: async () => {} })],
  [
    'redis',
    async () => {
      await redis.flush();
      const factory = new RedisFactory(redis.url, createLogger('silent'));
      const store = await RedisStore.open(factory, retention);
      return { store, cleanup: async () => { await store.close(); await factory.close(); } };
    },
  ],
];

describe.each(engines)('catch-up from the in-memory window (%s)', (_name, open) => {
  async function setup() {
    const { store, cleanup } = await open();
    const probe = instrument(store);
    const news = new NewsService({ store });
    const feed = new LiveFeed(store, new Metrics(), createLogger('silent'), { ...DEFAULT_REPLAY_LIMITS, window: { maxEvents: WINDOW, maxBytes: 1 << 20 } });
    // The Redis tail starts asynchronously: wait until it has, so that what follows is in the window.
    await waitFor('the tail to start', async () => {
      const e = (await news.publish({ id: `warm-${Date.now()}`, headline: 'w', topics: ['warm'] })).event!;
      return waitFor('the warm-up event', () => feed.lastDispatched === e.id, 2_000).then(() => true);
    });
    let n = 0;
    const publish = async (topics: string[]) => (await news.publish({ id: `a${++n}`, headline: `h${n}`, topics })).event!;
    const reached = (id: EventId) => waitFor(`the feed to dispatch ${id}`, () => feed.lastDispatched === id || undefined);
    /** A client as the channels make one: replayed events, then (from goLive) live events of its topics. */
    const catchUp = async (since: Cursor, topics: Topic[], sent: string[], extra: Partial<CatchUpRequest> = {}) => {
      let liveAt = -1;
      let live = false;
      const stop = feed.add((e) => {
        if (live && matchesAny(topics, e.topics)) sent.push(e.id);
      });
      const r = await feed.catchUp({
        topics, since, send: (e) => sent.push(e.id), drained: async () => {}, onResync: (reason) => sent.push(`resync:${reason}`),
        goLive: () => {
          liveAt = sent.length;
          live = true;
        },
        ...extra,
      });
      return { ...r, liveAt, stop };
    };
    return { store, probe, feed, publish, reached, catchUp, cleanup: async () => { feed.close(); await cleanup(); } };
  }

  it('replays from memory, once each and in order, with an event written during the catch-up', async () => {
    const s = await setup();
    try {
      const cursor = await s.publish(['world']);
      const missed = [await s.publish(['world/europe']), await s.publish(['sport']), await s.publish(['world'])];
      await s.reached(missed[2]!.id);
      let during: NewsEvent | undefined;
      s.probe.beforeEpoch.push(async () => {
        during = await s.publish(['world']);
      });
      const sent: string[] = [];
      const r = await s.catchUp(cursor.id, ['world'], sent);
      // The event written during the catch-up comes once: from the window or the buffer if this node had
      // dispatched it by then, else live; then one more live event ends what the client could get.
      const end = await s.publish(['world']);
      await waitFor('the next live event', () => sent.includes(end.id));
      expect(sent).toEqual([missed[0]!.id, missed[2]!.id, during!.id, end.id]);
      expect(r.resync).toBe(false);
      expect(r.liveAt).toBeGreaterThanOrEqual(2);
      expect(s.probe.reads).toBe(0);
      r.stop();
    } finally {
      await s.cleanup();
    }
  });

  it('covers a cursor as old as the window reaches, and reads the store for one just older', async () => {
    const s = await setup();
    try {
      const events: NewsEvent[] = [];
      for (let i = 0; i < WINDOW * 2; i++) events.push(await s.publish([i % 3 === 0 ? 'sport' : 'world']));
      await s.reached(events.at(-1)!.id);
      const after = (k: number) => events.slice(k + 1).filter((e) => e.topics[0] === 'world').map((e) => e.id);
      // The window keeps the last WINDOW events, so it covers cursors from the one just before them.
      const oldestCovered = events.length - WINDOW - 1;
      const inWindow: string[] = [];
      await s.catchUp(events[oldestCovered]!.id, ['world'], inWindow);
      expect(inWindow).toEqual(after(oldestCovered));
      expect(s.probe.reads).toBe(0);

      const older: string[] = [];
      let during: NewsEvent | undefined;
      s.probe.beforeEpoch.push(async () => {
        during = await s.publish(['world']);
      });
      const r = await s.catchUp(events[oldestCovered - 1]!.id, ['world'], older);
      const end = await s.publish(['world']);
      await waitFor('the next live event', () => older.includes(end.id));
      expect(older).toEqual([...after(oldestCovered - 1), during!.id, end.id]);
      r.stop();
      expect(s.probe.reads).toBeGreaterThan(0);
    } finally {
      await s.cleanup();
    }
  });

  it('answers too_far_behind from the window as the store would', async () => {
    const s = await setup();
    try {
      const old = await s.publish(['m']);
      const newest = await s.publish(['m']);
      await s.reached(newest.id);
      // A feed started now: its window begins where the tail is (after `newest`), so `old` is older than the window.
      const small = new LiveFeed(s.store, new Metrics(), createLogger('silent'), { ...DEFAULT_REPLAY_LIMITS, maxEvents: 3, window: { maxEvents: WINDOW, maxBytes: 1 << 20 } });
      try {
        const start = await s.publish(['m']);
        let end!: NewsEvent;
        for (let i = 0; i < 4; i++) end = await s.publish(['m']);
        await waitFor('the new feed to dispatch the last event', () => small.lastDispatched === end.id || undefined);
        const run = async (since: Cursor) => {
          const log: string[] = [];
          const r = await small.catchUp({ topics: ['m'], since, send: (e) => log.push(e.id), drained: async () => {}, onResync: (x) => log.push(x), goLive: () => log.push('live') });
          return { r, log };
        };
        // Four events after `start`, more than maxEvents (3): from the window, no read.
        expect(await run(start.id)).toEqual({ r: { replayed: 0, resync: true }, log: ['too_far_behind', 'live'] });
        expect(s.probe.reads).toBe(0);
        // `old` is before the window began: the store answers, the same way.
        expect(await run(old.id)).toEqual({ r: { replayed: 0, resync: true }, log: ['too_far_behind', 'live'] });
        expect(s.probe.reads).toBe(1);
        // Three behind: replayed from the window.
        const three = await run((await waitFor('events', async () => (await s.store.readEvents(start.id, ['m'], 1)).events[0]))!.id);
        expect(three.r).toEqual({ replayed: 3, resync: false });
        expect(s.probe.reads).toBe(2);
      } finally {
        small.close();
      }
    } finally {
      await s.cleanup();
    }
  });
});
