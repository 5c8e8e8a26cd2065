import { compareIds, type Cursor, type EventId, type NewsEvent } from '../domain/event.ts';
import { ALL_TOPICS, matchesAny, type Topic } from '../domain/topic.ts';
import type { HistoryPage, HistoryReadOptions, Retention } from '../storage/store.ts';

/** How much of the newest history a node keeps in memory to serve catch-ups without a storage round trip. */
export interface WindowLimits {
  /** Events kept (0: no window, every catch-up reads the store). Never more than the store retains. */
  maxEvents: number;
  /** Bytes of event JSON kept. */
  maxBytes: number;
}

interface Entry {
  event: NewsEvent;
  bytes: number;
}

/**
 * The newest events this node has dispatched, exactly as the store's tail gave them: contiguous in the history,
 * so for a cursor in [from, newest] the events after it are all here. A reconnect storm (every client of a node
 * that restarted coming to this one, each a few events behind) is then served from memory: no storage command
 * per client.
 *
 * What the window knows it covers:
 * - `from`: cursors at or after it and at or before the newest entry are covered. At start it is where the tail
 *   starts (events up to it are history this node never sees), or, for an empty history, the first event
 *   dispatched. Each entry dropped (count, bytes, age, as the store trims) moves it to the dropped entry's id.
 * - The history's epoch: a history that was emptied and began again (a Redis restarted without its data) keeps
 *   no cursor of the old one. Every read is preceded by a check of the epoch sent after the read was asked
 *   (shared by every read waiting at the time); entries from before the epoch are dropped, and the window starts
 *   again at the first event of the new history.
 */
export class HistoryWindow {
  private entries: Entry[] = [];
  /** Index of the oldest entry still kept (entries before it are dropped lazily, in batches). */
  private start = 0;
  private bytes = 0;
  private from: EventId | undefined;
  /** The epoch of the history the entries belong to (undefined: not checked yet; null: no history). */
  private epoch: EventId | null | undefined;
  private readonly capacity: number;

  constructor(
    private readonly limits: WindowLimits,
    private readonly retention: Pick<Retention, 'maxEvents' | 'maxAgeSeconds'>,
    private readonly now: () => number = Date.now,
  ) {
    this.capacity = Math.min(limits.maxEvents, retention.maxEvents);
  }

  get enabled(): boolean {
    return this.capacity > 0;
  }

  /** The tail starts after `position` (null: an empty history, the window starts at the first event). */
  started(position: EventId | null): void {
    if (position !== null && this.from === undefined && this.size === 0) this.from = position;
  }

  private get size(): number {
    return this.entries.length - this.start;
  }

  add(event: NewsEvent): void {
    if (!this.enabled) return;
    // An event from before the known epoch is a straggler of a history that no longer exists.
    if (this.epoch !== undefined && (this.epoch === null || compareIds(event.id, this.epoch) < 0)) return;
    if (this.from === undefined) this.from = event.id;
    const bytes = JSON.stringify(event).length;
    this.entries.push({ event, bytes });
    this.bytes += bytes;
    while (this.size > this.capacity || (this.size > 1 && this.bytes > this.limits.maxBytes)) this.dropOldest();
  }

  private dropOldest(): void {
    const e = this.entries[this.start++]!;
    this.bytes -= e.bytes;
    this.from = e.event.id;
    if (this.start > 1024 && this.start * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.start);
      this.start = 0;
    }
  }

  /** The store's epoch as just read: entries of an older history go, and the window restarts with the new one. */
  confirmEpoch(epoch: EventId | null): void {
    if (this.epoch === epoch) return;
    this.epoch = epoch;
    if (this.from !== undefined && (epoch === null || compareIds(this.from, epoch) < 0)) {
      while (this.size > 0 && (epoch === null || compareIds(this.entries[this.start]!.event.id, epoch) < 0)) this.dropOldest();
      // The first kept entry (if any) is of the new history: cursors from it on are covered.
      this.from = this.size > 0 ? this.entries[this.start]!.event.id : undefined;
    }
  }

  /** Drops what the store's age rule no longer retains (as its reads do, before answering). */
  private trimAge(): void {
    const minMs = this.now() - this.retention.maxAgeSeconds * 1000;
    while (this.size > 0 && Number(this.entries[this.start]!.event.id.split('-')[0]) < minMs) this.dropOldest();
  }

  /**
   * One page of what follows `since` for `topics`, like Store.readEvents, or null when the window does not cover
   * the cursor (the store answers it). Call only right after confirmEpoch with a freshly read epoch.
   */
  read(since: Cursor, topics: readonly Topic[] | null, limit: number, opts: HistoryReadOptions = {}): HistoryPage | null {
    if (!this.enabled || this.from === undefined || this.epoch === undefined || this.epoch === null) return null;
    this.trimAge();
    if (this.from === undefined || compareIds(this.from, this.epoch) < 0) return null;
    const head = this.size > 0 ? this.entries[this.entries.length - 1]!.event.id : this.from;
    if (compareIds(since, this.from) < 0 || compareIds(since, head) > 0) return null;
    const all = topics === null || topics.includes(ALL_TOPICS);
    const matches = (e: NewsEvent) => all || matchesAny(topics!, e.topics);
    const first = this.firstAfter(since);
    if (opts.maxBehind !== undefined) {
      let behind = 0;
      for (let i = first; i < this.entries.length && behind <= opts.maxBehind; i++) if (matches(this.entries[i]!.event)) behind++;
      if (behind > opts.maxBehind) return { events: [], head, resync: true, reason: 'too_far_behind', more: false };
    }
    const events: NewsEvent[] = [];
    const maxBytes = opts.maxBytes ?? Infinity;
    let bytes = 0;
    for (let i = first; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (!matches(e.event)) continue;
      if (events.length >= limit || (events.length > 0 && bytes + e.bytes > maxBytes)) return { events, head, resync: false, more: true };
      events.push(e.event);
      bytes += e.bytes;
    }
    return { events, head, resync: false, more: false };
  }

  private firstAfter(id: EventId): number {
    let lo = this.start;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareIds(this.entries[mid]!.event.id, id) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * Reads of the store's epoch shared by every caller that asked before the read was sent, at most one every
 * `spacingMs`: a storm of catch-ups costs a handful of storage commands, and each caller still gets an answer
 * read after it asked.
 */
export class EpochCheck {
  private scheduled: Promise<EventId | null> | null = null;
  private inflight: Promise<unknown> = Promise.resolve();
  private lastSent = 0;

  constructor(
    private readonly read: () => Promise<EventId | null>,
    private readonly spacingMs = 25,
  ) {}

  get(): Promise<EventId | null> {
    if (this.scheduled) return this.scheduled;
    const next = (async () => {
      await this.inflight.catch(() => undefined);
      const wait = this.lastSent + this.spacingMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait).unref());
      // Callers from here on wait for the next read: this one is sent now.
      this.scheduled = null;
      this.lastSent = Date.now();
      const sent = this.read();
      this.inflight = sent;
      return sent;
    })();
    this.scheduled = next;
    return next;
  }
}
