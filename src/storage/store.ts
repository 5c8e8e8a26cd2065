import type { Article } from '../domain/article.ts';
import type { Cursor, EventDraft, EventId, NewsEvent } from '../domain/event.ts';
import type { Topic } from '../domain/topic.ts';

/** A compare-and-set write of an article's new current version, with the event it causes. */
export interface CommitRequest {
  /** The version the caller read (null: none). The write happens only if it is still the stored one. */
  expected: Article | null;
  /** The new current version. */
  article: Article;
  /** The event to append to the history (and so fan out), or null to store silently. */
  event: EventDraft | null;
  /** Whether the article shows in listings (false once retracted or superseded). */
  listed: boolean;
}

export type CommitResult =
  | { ok: true; event: NewsEvent | null }
  /** Someone else changed the article in between: read again and retry. */
  | { ok: false };

export interface ArticleQuery {
  /** Articles of this topic and its subtopics; all when absent. */
  topic?: Topic;
  language?: string;
  limit: number;
}

export interface HistoryPage {
  events: NewsEvent[];
  /** Newest id in the whole history when it was read (null: none), so a reader can wait for its tail to reach it. */
  head: EventId | null;
  /** True (with no events) when the cursor is older than the retained history, or unknown. */
  resync: boolean;
}

export interface Retention {
  maxEvents: number;
  maxAgeSeconds: number;
  articleTtlSeconds: number;
}

/**
 * Where articles and the ordered event history live. Two engines implement it, memory (one node, nothing
 * survives a restart) and Redis (shared by every node), and both pass tests/storage.contract.ts.
 */
export interface Store extends HeldStore {
  readonly kind: 'memory' | 'redis';
  getArticle(id: string): Promise<Article | null>;
  commit(req: CommitRequest): Promise<CommitResult>;
  /** Latest listed articles, newest (by updatedAt) first. */
  listArticles(query: ArticleQuery): Promise<Article[]>;
  /** Listed articles per topic, counting each article under its topics and their ancestors. */
  topicCounts(): Promise<Map<Topic, number>>;
  /**
   * Retained events after `since` that touch any of `topics` (hierarchy included), oldest first, at most `limit`.
   * Without `since`: the latest `limit` matching events, oldest first. `topics` null: every topic.
   */
  readEvents(since: Cursor | null, topics: readonly Topic[] | null, limit: number): Promise<HistoryPage>;
  /** Id of the newest event ever appended, or null. */
  lastEventId(): Promise<EventId | null>;
  /**
   * Calls `handler` with every event appended from now on by any node, in id order, each once. `onStart` is told
   * the id the feed starts after (null: an empty history): events up to it are history, never handed to `handler`.
   * Returns a function that stops the feed.
   */
  tail(handler: (event: NewsEvent) => void, onStart?: (position: EventId | null) => void): () => void;
  /** Small named values (VAPID keys, id aliases): set only when absent; returns the value now stored. */
  setIfAbsent(key: string, value: string): Promise<string>;
  getValue(key: string): Promise<string | null>;
  /**
   * Resolves once everything this store holds so far is as durable as configured (Redis: on REDIS_MIN_REPLICAS
   * replicas), so that an answer about existing state (an idempotent retry) never promises more than a write
   * would. Throws StoreUnavailableError otherwise. `commit` does this itself.
   */
  durable(): Promise<void>;
  /** Throws when the backing service cannot serve. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A version held back (ninjs embargo or `withheld`), kept until it is released or replaced. */
export interface HeldItem {
  /** Article id: one held item per article, a newer one replaces it. */
  id: string;
  /** When to publish it; null: only stored, released by a later usable version. */
  releaseAt: string | null;
  /** What the holder needs to publish it later (opaque to the store). */
  payload: unknown;
}

/** Held versions (embargoes), shared by every node so that any node can release them, also after a restart. */
export interface HeldStore {
  hold(item: HeldItem): Promise<void>;
  getHeld(id: string): Promise<HeldItem | null>;
  /** Held items whose releaseAt is at or before `now`, earliest first. */
  dueHeld(now: Date, limit: number): Promise<HeldItem[]>;
  /** Removes the held item of `id` if it is still exactly `item` (so a newer one is never dropped). */
  dropHeld(item: HeldItem): Promise<void>;
}

/** The backing service cannot serve right now (Redis down): answered as 503 `unavailable`, never a silent loss. */
export class StoreUnavailableError extends Error {
  constructor(cause?: unknown) {
    super(`storage unavailable${cause instanceof Error ? `: ${cause.message}` : ''}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}
