import { createHash } from 'node:crypto';
import type { NewsEvent } from '../domain/event.ts';
import type { Topic } from '../domain/topic.ts';
import type { Preferences, Subscription } from './types.ts';

/**
 * Where push subscriptions live, indexed by followed topic so that an alert finds its audience without scanning
 * every subscription, plus two small records per alert: who got an article (its retraction goes to them) and
 * which deliveries of an event are done (a batch re-run after a crash skips them). Memory and Redis engines
 * pass tests/push/subscriptions.contract.ts.
 */
export interface SubscriptionStore {
  /** Creates it, or (same endpoint) replaces its keys, preferences and token, keeping its id. */
  upsert(sub: Subscription): Promise<{ sub: Subscription; created: boolean }>;
  get(id: string): Promise<Subscription | null>;
  getMany(ids: readonly string[]): Promise<Subscription[]>;
  update(id: string, prefs: Partial<Preferences>): Promise<Subscription | null>;
  delete(id: string): Promise<boolean>;
  /** Ids of subscriptions following any of `topics` (pass an event's audience: its topics and their ancestors). */
  followersOf(topics: readonly Topic[]): Promise<string[]>;
  markDelivered(article: string, ids: readonly string[], ttlSeconds: number): Promise<void>;
  deliveredTo(article: string): Promise<string[]>;
  /**
   * Records that `article`'s alert is being withdrawn by `event`. The withdrawal fan-out records it before it reads
   * deliveredTo, and an alert batch reads it after markDelivered: whichever comes second sees the other, so every
   * phone that got the alert is sent the withdrawal after it (a duplicate is skipped by markSent/unsent).
   */
  markWithdrawn(article: string, event: NewsEvent, ttlSeconds: number): Promise<void>;
  withdrawalOf(article: string): Promise<NewsEvent | null>;
  markSent(eventId: string, ids: readonly string[], ttlSeconds: number): Promise<void>;
  /** The ids among `ids` not yet marked sent for this event. */
  unsent(eventId: string, ids: readonly string[]): Promise<string[]>;
  close(): Promise<void>;
}

export const endpointKey = (endpoint: string) => createHash('sha256').update(endpoint).digest('base64url');

export class MemorySubscriptions implements SubscriptionStore {
  private readonly subs = new Map<string, Subscription>();
  private readonly byEndpoint = new Map<string, string>();
  private readonly byTopic = new Map<Topic, Set<string>>();
  private readonly delivered = new Map<string, { ids: Set<string>; until: number }>();
  private readonly sent = new Map<string, { ids: Set<string>; until: number }>();
  private readonly withdrawn = new Map<string, { event: NewsEvent; until: number }>();

  private index(s: Subscription, add: boolean): void {
    for (const t of s.topics) {
      let set = this.byTopic.get(t);
      if (!set) this.byTopic.set(t, (set = new Set()));
      if (add) set.add(s.id);
      else set.delete(s.id);
    }
  }

  async upsert(sub: Subscription) {
    const existingId = this.byEndpoint.get(endpointKey(sub.endpoint));
    const existing = existingId ? this.subs.get(existingId) : undefined;
    const next = existing ? { ...sub, id: existing.id, createdAt: existing.createdAt } : sub;
    if (existing) this.index(existing, false);
    this.subs.set(next.id, structuredClone(next));
    this.byEndpoint.set(endpointKey(next.endpoint), next.id);
    this.index(next, true);
    return { sub: structuredClone(next), created: !existing };
  }

  async get(id: string) {
    const s = this.subs.get(id);
    return s ? structuredClone(s) : null;
  }

  async getMany(ids: readonly string[]) {
    return ids.map((id) => this.subs.get(id)).filter((s): s is Subscription => s !== undefined);
  }

  async update(id: string, prefs: Partial<Preferences>) {
    const s = this.subs.get(id);
    if (!s) return null;
    this.index(s, false);
    const next = { ...s, ...prefs };
    this.subs.set(id, next);
    this.index(next, true);
    return structuredClone(next);
  }

  async delete(id: string) {
    const s = this.subs.get(id);
    if (!s) return false;
    this.index(s, false);
    this.subs.delete(id);
    this.byEndpoint.delete(endpointKey(s.endpoint));
    return true;
  }

  async followersOf(topics: readonly Topic[]) {
    const ids = new Set<string>();
    for (const t of topics) for (const id of this.byTopic.get(t) ?? []) ids.add(id);
    return [...ids];
  }

  private mark(map: Map<string, { ids: Set<string>; until: number }>, key: string, ids: readonly string[], ttl: number) {
    const now = Date.now();
    for (const [k, v] of map) if (v.until < now) map.delete(k);
    let entry = map.get(key);
    if (!entry) map.set(key, (entry = { ids: new Set(), until: 0 }));
    entry.until = now + ttl * 1000;
    for (const id of ids) entry.ids.add(id);
  }

  async markDelivered(article: string, ids: readonly string[], ttlSeconds: number) {
    this.mark(this.delivered, article, ids, ttlSeconds);
  }

  async deliveredTo(article: string) {
    return [...(this.delivered.get(article)?.ids ?? [])];
  }

  async markWithdrawn(article: string, event: NewsEvent, ttlSeconds: number) {
    const now = Date.now();
    for (const [k, v] of this.withdrawn) if (v.until < now) this.withdrawn.delete(k);
    this.withdrawn.set(article, { event: structuredClone(event), until: now + ttlSeconds * 1000 });
  }

  async withdrawalOf(article: string) {
    const w = this.withdrawn.get(article);
    return w && w.until >= Date.now() ? structuredClone(w.event) : null;
  }

  async markSent(eventId: string, ids: readonly string[], ttlSeconds: number) {
    this.mark(this.sent, eventId, ids, ttlSeconds);
  }

  async unsent(eventId: string, ids: readonly string[]) {
    const done = this.sent.get(eventId)?.ids;
    return done ? ids.filter((id) => !done.has(id)) : [...ids];
  }

  async close() {}
}
