import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SubscriptionStore } from '../../src/push/subscriptions.ts';
import type { Subscription } from '../../src/push/types.ts';

export interface SubscriptionsUnderTest {
  subs: SubscriptionStore;
  cleanup: () => Promise<void>;
}

let n = 0;
function sub(topics: string[], extra: Partial<Subscription> = {}): Subscription {
  n += 1;
  return {
    id: `id-${n}`, endpoint: `https://push.example.com/send/${n}`, keys: { p256dh: `p${n}`, auth: `a${n}` }, tokenHash: `t${n}`,
    createdAt: new Date().toISOString(), topics, maxUrgency: 4, languages: null, quietHours: null, ...extra,
  };
}

/** The behaviour both subscription stores must have; run by subscriptions-memory.test.ts and subscriptions-redis.test.ts. */
export function describeSubscriptionsContract(name: string, make: () => Promise<SubscriptionsUnderTest>): void {
  describe(`SubscriptionStore contract: ${name}`, () => {
    let s: SubscriptionsUnderTest;
    let subs: SubscriptionStore;
    beforeEach(async () => {
      s = await make();
      subs = s.subs;
    });
    afterEach(async () => {
      await s.cleanup();
    });

    it('creates, then for the same endpoint replaces keys, preferences and token while keeping id and creation time', async () => {
      const first = sub(['world']);
      expect(await subs.upsert(first)).toEqual({ sub: first, created: true });
      const again = sub(['sport'], { endpoint: first.endpoint, maxUrgency: 2 });
      const r = await subs.upsert(again);
      expect(r.created).toBe(false);
      expect(r.sub).toEqual({ ...again, id: first.id, createdAt: first.createdAt });
      expect(await subs.get(first.id)).toEqual(r.sub);
      expect(await subs.get(again.id)).toBeNull();
      expect(await subs.followersOf(['world'])).toEqual([]);
      expect(await subs.followersOf(['sport'])).toEqual([first.id]);
    });

    it('reads many (unknown ids left out), updates preferences and re-indexes topics, deletes', async () => {
      const a = sub(['world', 'world/europe']);
      const b = sub(['sport']);
      await subs.upsert(a);
      await subs.upsert(b);
      expect((await subs.getMany([b.id, 'nope', a.id])).map((x) => x.id).sort()).toEqual([a.id, b.id].sort());
      expect(await subs.getMany([])).toEqual([]);
      const updated = await subs.update(a.id, { topics: ['culture'], quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Paris' } });
      expect(updated).toMatchObject({ id: a.id, topics: ['culture'], quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Paris' }, endpoint: a.endpoint });
      expect(await subs.get(a.id)).toEqual(updated);
      expect(await subs.followersOf(['world', 'world/europe'])).toEqual([]);
      expect(await subs.followersOf(['culture'])).toEqual([a.id]);
      expect(await subs.update('nope', { maxUrgency: 1 })).toBeNull();
      expect(await subs.delete(a.id)).toBe(true);
      expect(await subs.delete(a.id)).toBe(false);
      expect(await subs.get(a.id)).toBeNull();
      expect(await subs.followersOf(['culture'])).toEqual([]);
      // The endpoint is free again: subscribing it creates a new subscription.
      expect((await subs.upsert(sub(['culture'], { endpoint: a.endpoint }))).created).toBe(true);
    });

    it('finds followers of any of the given topics, each once', async () => {
      const a = sub(['world', 'world/europe']);
      const b = sub(['world/europe']);
      const c = sub(['sport']);
      for (const x of [a, b, c]) await subs.upsert(x);
      expect((await subs.followersOf(['world', 'world/europe'])).sort()).toEqual([a.id, b.id].sort());
      expect(await subs.followersOf([])).toEqual([]);
      expect(await subs.followersOf(['none'])).toEqual([]);
    });

    it('remembers who got an article and which deliveries of an event are done', async () => {
      await subs.markDelivered('art-1', ['s1', 's2'], 60);
      await subs.markDelivered('art-1', ['s3'], 60);
      await subs.markDelivered('art-1', [], 60);
      expect((await subs.deliveredTo('art-1')).sort()).toEqual(['s1', 's2', 's3']);
      expect(await subs.deliveredTo('art-2')).toEqual([]);
      expect(await subs.unsent('ev-1', ['s1', 's2', 's3'])).toEqual(['s1', 's2', 's3']);
      await subs.markSent('ev-1', ['s2'], 60);
      expect(await subs.unsent('ev-1', ['s1', 's2', 's3'])).toEqual(['s1', 's3']);
      expect(await subs.unsent('ev-2', ['s2'])).toEqual(['s2']);
      expect(await subs.unsent('ev-1', [])).toEqual([]);
    });

    it('remembers the withdrawal of an article, per article, as the event that withdrew it', async () => {
      expect(await subs.withdrawalOf('art-9')).toBeNull();
      const event = { id: '17-0', type: 'article.retracted' as const, at: new Date().toISOString(), topics: ['world'], article: { id: 'art-9' } };
      await subs.markWithdrawn('art-9', event as never, 60);
      expect(await subs.withdrawalOf('art-9')).toEqual(event);
      expect(await subs.withdrawalOf('art-10')).toBeNull();
    });
  });
}
