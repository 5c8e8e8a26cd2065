import type { Article } from '../domain/article.ts';
import { compareIds, type Cursor, type EventId, type NewsEvent } from '../domain/event.ts';
import { sameHeld, type HeldVersion } from '../domain/held.ts';
import { ALL_TOPICS, audienceOf, matchesAny, type Topic } from '../domain/topic.ts';
import type { VersionRecord } from '../domain/history.ts';
import type { ArticleQuery, CommitRequest, CommitResult, HeldChange, HeldCommitRequest, HistoryPage, HistoryReadOptions, ListPosition, Retention, Store } from './store.ts';

/** Listing order, newest first: `a` comes after `b` when it is older, or as old with a smaller id (as Redis orders ties). */
function older(a: ListPosition, b: ListPosition): boolean {
  return a.updatedAt < b.updatedAt || (a.updatedAt === b.updatedAt && a.id < b.id);
}

interface Entry {
  event: NewsEvent;
  /** Length of the event's JSON, for byte budgets. */
  bytes: number;
}

/** Entries of several id-ordered lists (which may share entries), merged in id order, each once. */
function* merged(lists: ReadonlyArray<readonly Entry[]>, starts: number[], descending: boolean): Generator<Entry> {
  const at = [...starts];
  let last: EventId | null = null;
  for (;;) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      const e = lists[i]![at[i]!];
      if (!e) continue;
      if (best < 0) best = i;
      else {
        const c = compareIds(e.event.id, lists[best]![at[best]!]!.event.id);
        if (descending ? c > 0 : c < 0) best = i;
      }
    }
    if (best < 0) return;
    const entry = lists[best]![at[best]!]!;
    at[best] = at[best]! + (descending ? -1 : 1);
    if (entry.event.id === last) continue;
    last = entry.event.id;
    yield entry;
  }
}

/** Index of the first entry whose id is after `id` (lists are in id order). */
function firstAfter(list: readonly Entry[], id: EventId): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareIds(list[mid]!.event.id, id) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface StoredArticle {
  article: Article;
  listed: boolean;
  expiresAt: number;
}

/**
 * The in-process engine: one node, nothing survives a restart. The safe default for `npm start` and for tests
 * of everything that is not about Redis itself.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private readonly articles = new Map<string, StoredArticle>();
  private events: Entry[] = [];
  /** The same entries per topic (each event under its topics and their ancestors), so reads skip what they do not follow. */
  private readonly byTopic = new Map<Topic, Entry[]>();
  private lastId: EventId | null = null;
  /** Where this history began (this process's birth): older cursors are from a previous life, and get resync. */
  private readonly epoch: EventId;
  /** Newest id no longer retained. */
  private maxDeletedId: EventId | null = null;
  private readonly handlers = new Set<(e: NewsEvent) => void>();
  private readonly values = new Map<string, string>();
  private readonly held = new Map<string, HeldVersion>();
  /** Audit trail per article; goes when the article expires. */
  private readonly versions = new Map<string, VersionRecord[]>();
  private closed = false;

  constructor(
    readonly retention: Retention,
    private readonly now: () => number = Date.now,
  ) {
    this.epoch = `${this.now()}-0`;
  }

  async getArticle(id: string): Promise<Article | null> {
    const a = this.live(id);
    return a ? structuredClone(a.article) : null;
  }

  async commit(req: CommitRequest): Promise<CommitResult> {
    this.assertOpen();
    if (!this.matches(req.article.id, req.expected, req.held)) return { ok: false };
    if (req.held) this.setHeld(req.article.id, req.held.next);
    this.articles.set(req.article.id, {
      article: structuredClone(req.article),
      listed: req.listed,
      expiresAt: this.now() + this.retention.articleTtlSeconds * 1000,
    });
    if (!req.event) return { ok: true, event: null };
    const event: NewsEvent = { id: this.nextId(), ...structuredClone(req.event) };
    if (req.record) this.versions.set(req.article.id, [...(this.versions.get(req.article.id) ?? []), { ...req.record, eventId: event.id }]);
    const entry = { event, bytes: JSON.stringify(event).length };
    this.events.push(entry);
    for (const t of audienceOf(event.topics)) {
      let list = this.byTopic.get(t);
      if (!list) this.byTopic.set(t, (list = []));
      list.push(entry);
    }
    this.trim();
    for (const h of this.handlers) h(structuredClone(event));
    return { ok: true, event };
  }

  async listArticles(q: ArticleQuery): Promise<Article[]> {
    const out: Article[] = [];
    const status = q.status ?? 'published';
    for (const id of this.articles.keys()) {
      const s = this.live(id);
      if (!s) continue;
      const retracted = s.article.status === 'retracted';
      if (status === 'published' ? !s.listed : status === 'retracted' ? !retracted : !s.listed && !retracted) continue;
      if (q.topic && !matchesAny([q.topic], s.article.topics)) continue;
      if (q.language && s.article.language !== q.language) continue;
      if (q.after && !older(s.article, q.after)) continue;
      out.push(s.article);
    }
    out.sort((a, b) => (older(a, b) ? 1 : older(b, a) ? -1 : 0));
    return structuredClone(out.slice(0, q.limit));
  }

  async articleHistory(id: string): Promise<VersionRecord[]> {
    return this.live(id) ? structuredClone(this.versions.get(id) ?? []) : [];
  }

  async topicCounts(): Promise<Map<Topic, number>> {
    const counts = new Map<Topic, number>();
    for (const id of this.articles.keys()) {
      const s = this.live(id);
      if (!s?.listed) continue;
      for (const t of audienceOf(s.article.topics)) counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    return counts;
  }

  async readEvents(since: Cursor | null, topics: readonly Topic[] | null, limit: number, opts: HistoryReadOptions = {}): Promise<HistoryPage> {
    this.trim();
    const head = this.lastId;
    const lists = topics === null || topics.includes(ALL_TOPICS) ? [this.events] : [...new Set(topics)].map((t) => this.byTopic.get(t) ?? []);
    const maxBytes = opts.maxBytes ?? Infinity;
    const page = (entries: Generator<Entry>) => {
      const out: NewsEvent[] = [];
      let bytes = 0;
      for (const entry of entries) {
        if (out.length >= limit || (out.length > 0 && bytes + entry.bytes > maxBytes)) return { out, more: true };
        out.push(entry.event);
        bytes += entry.bytes;
      }
      return { out, more: false };
    };
    if (since === null) {
      const { out, more } = page(merged(lists, lists.map((l) => l.length - 1), true));
      return { events: structuredClone(out.reverse()), head, resync: false, more };
    }
    const reason = this.unplaceable(since);
    if (reason) return { events: [], head, resync: true, reason, more: false };
    const starts = lists.map((l) => firstAfter(l, since));
    if (opts.maxBehind !== undefined) {
      const upperBound = lists.reduce((n, l, i) => n + l.length - starts[i]!, 0);
      if (upperBound > opts.maxBehind) {
        let behind = 0;
        for (const _ of merged(lists, starts, false)) if (++behind > opts.maxBehind) break;
        if (behind > opts.maxBehind) return { events: [], head, resync: true, reason: 'too_far_behind', more: false };
      }
    }
    const { out, more } = page(merged(lists, starts, false));
    return { events: structuredClone(out), head, resync: false, more };
  }

  tail(handler: (event: NewsEvent) => void, onStart?: (position: EventId | null) => void): () => void {
    this.handlers.add(handler);
    onStart?.(this.lastId);
    return () => this.handlers.delete(handler);
  }

  async historyEpoch(): Promise<EventId | null> {
    return this.epoch;
  }

  async setIfAbsent(key: string, value: string): Promise<string> {
    if (!this.values.has(key)) this.values.set(key, value);
    return this.values.get(key)!;
  }

  async getHeld(id: string): Promise<HeldVersion | null> {
    const h = this.held.get(id);
    return h ? structuredClone(h) : null;
  }

  async dueHeld(now: Date, limit: number): Promise<HeldVersion[]> {
    return [...this.held.values()]
      .filter((h) => h.releaseAt !== null && Date.parse(h.releaseAt) <= now.getTime())
      .sort((a, b) => Date.parse(a.releaseAt!) - Date.parse(b.releaseAt!))
      .slice(0, limit)
      .map((h) => structuredClone(h));
  }

  async commitHeld(req: HeldCommitRequest): Promise<boolean> {
    this.assertOpen();
    if (!this.matches(req.id, req.expected, req.held)) return false;
    this.setHeld(req.id, req.held.next);
    return true;
  }

  /** The compare of compare-and-set: the article (and, when given, its held version) are still what was read. */
  private matches(id: string, expected: Article | null, held: HeldChange | undefined): boolean {
    const current = this.live(id)?.article ?? null;
    if (JSON.stringify(current) !== JSON.stringify(expected)) return false;
    return !held || sameHeld(this.held.get(id) ?? null, held.expected);
  }

  private setHeld(id: string, next: HeldVersion | null): void {
    if (next) this.held.set(id, structuredClone(next));
    else this.held.delete(id);
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  /** Nothing to wait for: one process, nothing survives it anyway. */
  async durable(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store closed');
  }

  private live(id: string): StoredArticle | undefined {
    const s = this.articles.get(id);
    if (s && s.expiresAt <= this.now()) {
      this.articles.delete(id);
      this.versions.delete(id);
      return undefined;
    }
    return s;
  }

  /**
   * Why a cursor cannot be replayed, if it cannot: from before this history began or past its newest id (another
   * life's), or older than what is retained (an event after it was trimmed).
   */
  private unplaceable(since: Cursor): HistoryPage['reason'] | null {
    if (compareIds(since, this.epoch) < 0) return 'history_reset';
    if (this.lastId === null || compareIds(since, this.lastId) > 0) return 'history_reset';
    if (this.maxDeletedId !== null && compareIds(since, this.maxDeletedId) < 0) return 'history_truncated';
    return null;
  }

  /** Same format and rules as Redis Streams ids: `<ms>-<seq>`, strictly increasing even if the clock steps back. */
  private nextId(): EventId {
    const ms = this.now();
    let id: EventId;
    if (this.lastId === null) id = `${ms}-0`;
    else {
      const [lastMs, lastSeq] = this.lastId.split('-').map(Number) as [number, number];
      id = ms > lastMs ? `${ms}-0` : `${lastMs}-${lastSeq + 1}`;
    }
    this.lastId = id;
    return id;
  }

  private trim(): void {
    const minMs = this.now() - this.retention.maxAgeSeconds * 1000;
    let drop = Math.max(0, this.events.length - this.retention.maxEvents);
    while (drop < this.events.length && Number(this.events[drop]!.event.id.split('-')[0]) < minMs) drop++;
    if (drop === 0) return;
    this.maxDeletedId = this.events[drop - 1]!.event.id;
    for (const { event } of this.events.slice(0, drop)) {
      for (const t of audienceOf(event.topics)) {
        const list = this.byTopic.get(t);
        if (!list) continue;
        // Entries leave in id order, so every index holds them at its head.
        let n = 0;
        while (n < list.length && compareIds(list[n]!.event.id, this.maxDeletedId) <= 0) n++;
        if (n === list.length) this.byTopic.delete(t);
        else if (n > 0) list.splice(0, n);
      }
    }
    this.events = this.events.slice(drop);
  }
}
