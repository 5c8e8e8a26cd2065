import type { Article } from '../domain/article.ts';
import { compareIds, type Cursor, type EventId, type NewsEvent } from '../domain/event.ts';
import { sameHeld, type HeldVersion } from '../domain/held.ts';
import { audienceOf, matchesAny, type Topic } from '../domain/topic.ts';
import type { VersionRecord } from '../domain/history.ts';
import type { ArticleQuery, CommitRequest, CommitResult, HeldChange, HeldCommitRequest, HistoryPage, ListPosition, Retention, Store } from './store.ts';

/** Listing order, newest first: `a` comes after `b` when it is older, or as old with a smaller id (as Redis orders ties). */
function older(a: ListPosition, b: ListPosition): boolean {
  return a.updatedAt < b.updatedAt || (a.updatedAt === b.updatedAt && a.id < b.id);
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
  private events: NewsEvent[] = [];
  private lastId: EventId | null = null;
  /** Newest id no longer retained. Starts at this process's birth: older cursors are from a previous life. */
  private maxDeletedId: EventId;
  private readonly handlers = new Set<(e: NewsEvent) => void>();
  private readonly values = new Map<string, string>();
  private readonly held = new Map<string, HeldVersion>();
  /** Audit trail per article; goes when the article expires. */
  private readonly versions = new Map<string, VersionRecord[]>();
  private closed = false;

  constructor(
    private readonly retention: Retention,
    private readonly now: () => number = Date.now,
  ) {
    this.maxDeletedId = `${this.now() - 1}-0`;
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
    this.events.push(event);
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

  async readEvents(since: Cursor | null, topics: readonly Topic[] | null, limit: number): Promise<HistoryPage> {
    this.trim();
    const matching = (e: NewsEvent) => topics === null || matchesAny(topics, e.topics);
    if (since === null) {
      const all = this.events.filter(matching);
      return { events: structuredClone(all.slice(Math.max(0, all.length - limit))), head: this.lastId, resync: false };
    }
    if (this.isTooOld(since)) return { events: [], head: this.lastId, resync: true };
    const out: NewsEvent[] = [];
    for (const e of this.events) {
      if (compareIds(e.id, since) <= 0 || !matching(e)) continue;
      out.push(e);
      if (out.length >= limit) break;
    }
    return { events: structuredClone(out), head: this.lastId, resync: false };
  }

  tail(handler: (event: NewsEvent) => void, onStart?: (position: EventId | null) => void): () => void {
    this.handlers.add(handler);
    onStart?.(this.lastId);
    return () => this.handlers.delete(handler);
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

  /** A cursor is too old when an event after it was trimmed, and unknown when it is past the newest id. */
  private isTooOld(since: Cursor): boolean {
    if (compareIds(since, this.maxDeletedId) < 0) return true;
    return this.lastId === null ? compareIds(since, this.maxDeletedId) > 0 : compareIds(since, this.lastId) > 0;
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
    while (drop < this.events.length && Number(this.events[drop]!.id.split('-')[0]) < minMs) drop++;
    if (drop === 0) return;
    this.maxDeletedId = this.events[drop - 1]!.id;
    this.events = this.events.slice(drop);
  }
}
