import { describe, expect, it } from 'vitest';
import { LiveFeed } from '../../src/delivery/feed.ts';
import type { Cursor, NewsEvent } from '../../src/domain/event.ts';
import type { Topic } from '../../src/domain/topic.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { Metrics } from '../../src/ops/metrics.ts';
import { NewsService } from '../../src/news/service.ts';
import { MemoryStore } from '../../src/storage/memory.ts';

const retention = { maxEvents: 10_000, maxAgeSeconds: 86_400, articleTtlSeconds: 3_600 };

/**
 * A real MemoryStore whose history reads let the test run writes just before and just after the read itself:
 * the two races a catch-up must survive (an event both read and buffered; an event only buffered).
 */
class RacingStore extends MemoryStore {
  beforeRead: Array<() => Promise<void>> = [];
  afterRead: Array<() => Promise<void>> = [];
  override async readEvents(since: Cursor | null, topics: readonly Topic[] | null, limit: number) {
    for (const f of this.beforeRead.splice(0)) await f();
    const page = await super.readEvents(since, topics, limit);
    for (const f of this.afterRead.splice(0)) await f();
    return page;
  }
}

async function setup() {
  const store = new RacingStore(retention);
  const news = new NewsService({ store });
  const feed = new LiveFeed(store, new Metrics(), createLogger('silent'));
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
    const { feed, publish } = await setup();
    const cursor = await publish(['a']);
    const ids: string[] = [];
    for (let i = 0; i < 1_203; i++) ids.push((await publish([i % 2 ? 'a' : 'b'])).id);
    const sent: string[] = [];
    const has = new Set(ids.slice(0, 10));
    await feed.catchUp({ topics: ['a', 'b'], since: cursor.id, alreadyHas: (e) => has.has(e.id), send: (e) => sent.push(e.id), onResync: () => {}, goLive: () => {} });
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
    const r = await feed.catchUp({ topics: ['t'], since: first.id, send: (e) => sent.push(e.id), onResync: () => sent.push('resync'), goLive: () => {} });
    expect(r.resync).toBe(true);
    expect(sent).toEqual(['resync', live!.id]);
  });
});
