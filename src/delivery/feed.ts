import { compareIds, type Cursor, type EventId, type NewsEvent } from '../domain/event.ts';
import { matchesAny, type Topic } from '../domain/topic.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { Store } from '../storage/store.ts';

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
  private readonly stopTail: () => void;

  constructor(
    private readonly store: Store,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    this.stopTail = store.tail((e) => this.dispatch(e));
  }

  add(sink: Sink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  private dispatch(event: NewsEvent): void {
    this.lastDispatched = event.id;
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
      for (;;) {
        const page = await this.store.readEvents(cursor, req.topics, PAGE);
        if (page.resync) {
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
