import { compareIds, type Cursor, type EventId, type NewsEvent } from '../domain/event.ts';
import { matchesAny, type Topic } from '../domain/topic.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import { StoreUnavailableError, type Store } from '../storage/store.ts';

export type Sink = (event: NewsEvent) => void;

export interface CatchUpRequest {
  topics: readonly Topic[];
  since: Cursor;
  /** Events the client already has (e.g. got live before this call): not sent again. */
  alreadyHas?: (event: NewsEvent) => boolean;
  send: Sink;
  /** Called instead of any replay when the cursor is older than the retained history, before live events. */
  onResync: () => void;
  /**
   * Called synchronously right after the last missed event is sent, in the same tick, so that no live event can
   * fall between the replay and the client's live subscription.
   */
  goLive: () => void;
}

export interface CatchUpResult {
  replayed: number;
  resync: boolean;
}

const PAGE = 500;

/**
 * This node's feed of every event in the deployment, in id order, fed by the store's tail (events written by
 * any node). Delivery channels (Socket.IO, SSE) register sinks on it; `catchUp` gives a client exactly the
 * events it missed, once each and in order, then hands it over to live delivery without a gap.
 */
export class LiveFeed {
  /** Id of the newest event dispatched to the sinks on this node. */
  lastDispatched: EventId | null = null;
  private readonly sinks = new Set<Sink>();
  private waiters: Array<{ id: EventId; resolve: () => void }> = [];
  private readonly stopTail: () => void;

  constructor(
    private readonly store: Store,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    // Events up to where the tail starts are history this node will never dispatch: count them as passed.
    this.stopTail = store.tail(
      (e) => this.dispatch(e),
      (position) => position !== null && this.advance(position),
    );
  }

  private advance(id: EventId): void {
    if (this.lastDispatched !== null && compareIds(this.lastDispatched, id) >= 0) return;
    this.lastDispatched = id;
    if (this.waiters.length > 0) {
      const due = this.waiters.filter((w) => compareIds(w.id, id) <= 0);
      this.waiters = this.waiters.filter((w) => compareIds(w.id, id) > 0);
      for (const w of due) w.resolve();
    }
  }

  add(sink: Sink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  private dispatch(event: NewsEvent): void {
    this.advance(event.id);
    this.metrics.fanoutLag.observe(Math.max(0, Date.now() - Date.parse(event.at)) / 1000);
    for (const sink of this.sinks) {
      try {
        sink(event);
      } catch (err) {
        this.logger.error({ err, eventId: event.id }, 'delivery sink failed');
      }
    }
  }

  /**
   * Resolves once this node has dispatched `id` (the tail can lag a read of the history by a few milliseconds).
   * Rejects after `ms`: a tail that cannot keep up means storage trouble.
   */
  private dispatched(id: EventId, ms = 5_000): Promise<void> {
    if (this.lastDispatched !== null && compareIds(this.lastDispatched, id) >= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { id, resolve: () => { clearTimeout(timer); resolve(); } };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new StoreUnavailableError(new Error(`live feed did not reach ${id} within ${ms} ms`)));
      }, ms);
      timer.unref();
      this.waiters.push(waiter);
    });
  }

  /**
   * Live events are buffered from the start; the history is read after the cursor; buffered events the read
   * already covered are dropped by id, the rest follow, then `goLive` runs in the same tick.
   */
  async catchUp(req: CatchUpRequest): Promise<CatchUpResult> {
    const buffer: NewsEvent[] = [];
    const stopBuffering = this.add((e) => {
      if (matchesAny(req.topics, e.topics)) buffer.push(e);
    });
    try {
      let cursor = req.since;
      let lastSeen: EventId | null = null;
      let replayed = 0;
      let head: EventId | null = null;
      for (;;) {
        const page = await this.store.readEvents(cursor, req.topics, PAGE);
        head = page.head;
        if (page.resync) {
          if (page.head !== null) await this.dispatched(page.head);
          stopBuffering();
          req.onResync();
          for (const e of buffer) req.send(e);
          req.goLive();
          return { replayed: 0, resync: true };
        }
        for (const e of page.events) {
          lastSeen = e.id;
          if (req.alreadyHas?.(e)) continue;
          req.send(e);
          replayed++;
        }
        if (page.events.length < PAGE) break;
        cursor = page.events[page.events.length - 1]!.id;
      }
      // Everything the read saw must have passed through this node's feed (and so the buffer) before going
      // live; otherwise a lagging tail would hand the socket an event it has just been replayed.
      if (head !== null) await this.dispatched(head);
      stopBuffering();
      for (const e of buffer) {
        if (lastSeen !== null && compareIds(e.id, lastSeen) <= 0) continue;
        if (compareIds(e.id, req.since) <= 0 || req.alreadyHas?.(e)) continue;
        req.send(e);
        replayed++;
      }
      req.goLive();
      return { replayed, resync: false };
    } finally {
      stopBuffering();
    }
  }

  close(): void {
    this.stopTail();
    this.sinks.clear();
  }
}
