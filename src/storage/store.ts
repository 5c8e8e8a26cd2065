import type { Article } from '../domain/article.ts';
import type { Cursor, EventDraft, EventId, NewsEvent } from '../domain/event.ts';
import type { HeldVersion } from '../domain/held.ts';
import type { VersionRecord } from '../domain/history.ts';
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
  /** Also compare-and-set the article's held version; absent: the held version is neither checked nor changed. */
  held?: HeldChange;
  /** With an event: the version's entry in the article's audit trail (the store adds the event id). */
  record?: Omit<VersionRecord, 'eventId'>;
}

/** A held version as the caller read it, and what it becomes (null: none). */
export interface HeldChange {
  expected: HeldVersion | null;
  next: HeldVersion | null;
}

/** A change to an article's held version alone: made only if the article and its held version are still as read. */
export interface HeldCommitRequest {
  id: string;
  /** The article as the caller read it (null: none); it is not changed. */
  expected: Article | null;
  held: HeldChange;
}

export type CommitResult =
  | { ok: true; event: NewsEvent | null }
  /** Someone else changed the article in between: read again and retry. */
  | { ok: false };

/** Which articles a listing shows: listed (published, not superseded) ones, retracted ones, or both. */
export type ListStatus = 'published' | 'retracted' | 'all';

/** A place in a listing: the last article of a page, by (updatedAt, id) descending. */
export interface ListPosition {
  updatedAt: string;
  id: string;
}

export interface ArticleQuery {
  /** Articles of this topic and its subtopics; all when absent. */
  topic?: Topic;
  language?: string;
  limit: number;
  /** Default `published`. */
  status?: ListStatus;
  /** Only articles after this position (older, or as old with a smaller id): the next page. */
  after?: ListPosition;
}

/**
 * Why a cursor cannot be replayed: older than the retained history; from a history that no longer exists (a Redis
 * that came back empty, a memory engine that restarted, or a cursor past the newest id); or further behind than a
 * replay may go.
 */
export type ResyncReason = 'history_truncated' | 'history_reset' | 'too_far_behind';

export interface HistoryPage {
  events: NewsEvent[];
  /** Newest id in the whole history when it was read (null: none), so a reader can wait for its tail to reach it. */
  head: EventId | null;
  /** True (with no events) when the cursor cannot be replayed; `reason` says why. */
  resync: boolean;
  reason?: ResyncReason;
  /** More matching events follow the last one returned (the page was cut by its limit or byte budget). */
  more: boolean;
}

/** Bounds of one history read, so that no read costs more than a page whatever the backlog. */
export interface HistoryReadOptions {
  /** Stop adding events once the page holds this many bytes of event JSON (one event is always returned). */
  maxBytes?: number;
  /** With a cursor: resync (`too_far_behind`) instead of events when more than this many matching events follow it. */
  maxBehind?: number;
}

export interface Retention {
  maxEvents: number;
  maxAgeSeconds: number;
  articleTtlSeconds: number;
}

/**
 * Where articles and the ordered event history live. Two engines implement it, memory (one node, nothing
 * survives a restart) and Redis (shared by every node), and both pass tests/storage/store.contract.ts.
 */
export interface Store extends HeldStore {
  readonly kind: 'memory' | 'redis';
  getArticle(id: string): Promise<Article | null>;
  commit(req: CommitRequest): Promise<CommitResult>;
  /** Latest articles of the query's status, newest (by updatedAt, then id) first. */
  listArticles(query: ArticleQuery): Promise<Article[]>;
  /** The audit trail of an article, oldest first; kept as long as the article ([] when unknown). */
  articleHistory(id: string): Promise<VersionRecord[]>;
  /** Listed articles per topic, counting each article under its topics and their ancestors. */
  topicCounts(): Promise<Map<Topic, number>>;
  /**
   * Retained events after `since` that touch any of `topics` (hierarchy included), oldest first, at most `limit`
   * (and `opts.maxBytes`). Without `since`: the latest matching events, oldest first. `topics` null: every topic.
   * Reads go through per-topic indexes of event ids: a filter that matches nothing costs nothing, whatever the
   * history's length. A cursor from before the store's epoch (the moment this history began) gets resync.
   */
  readEvents(since: Cursor | null, topics: readonly Topic[] | null, limit: number, opts?: HistoryReadOptions): Promise<HistoryPage>;
  /**
   * Calls `handler` with every event appended from now on by any node, in id order, each once. `onStart` is told
   * the id the feed starts after (null: an empty history): events up to it are history, never handed to `handler`.
   * Returns a function that stops the feed.
   */
  tail(handler: (event: NewsEvent) => void, onStart?: (position: EventId | null) => void): () => void;
  /**
   * Where this history began (null: no history yet). It changes only when the history is lost and begins again
   * (a Redis restarted without its data), so a reader holding events can tell they are still of this history.
   */
  historyEpoch(): Promise<EventId | null>;
  /** What the history keeps (count and age): a copy of it elsewhere must not keep more. */
  readonly retention: Retention;
  /** Small named values (the VAPID keys): set only when absent; returns the value now stored. */
  setIfAbsent(key: string, value: string): Promise<string>;
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

/** Held versions (embargoes), shared by every node so that any node can release them, also after a restart. */
export interface HeldStore {
  getHeld(id: string): Promise<HeldVersion | null>;
  /** Held versions whose releaseAt is at or before `now`, earliest first. */
  dueHeld(now: Date, limit: number): Promise<HeldVersion[]>;
  /** Compare-and-set of a held version alone; false when the article or its held version changed meanwhile. */
  commitHeld(req: HeldCommitRequest): Promise<boolean>;
}

/** Thrown by the engines when the backing service cannot serve; defined with the error catalogue that maps it. */
export { StoreUnavailableError } from '../domain/errors.ts';
