import type { NewsEvent } from '../domain/event.ts';
import type { Logger } from '../ops/logger.ts';
import type { Store } from './store.ts';

export type GroupHandler = (event: NewsEvent) => Promise<void>;

/**
 * A consumer of the history shared by the whole deployment: each event appended from the group's creation on is
 * handed to one node, and handed again (to this node or another) until its handler has succeeded. So work that
 * must happen once per event, whatever node wrote it (Web Push fan-out), survives a failed step and a dead node.
 * Handlers must be idempotent: an event whose node died after its work was done, but before it was acknowledged,
 * is handed out again. The memory group is here, the Redis one in history-group-redis.ts.
 */
export interface HistoryGroup {
  /** Starts handing events to `handler`; returns a function that stops and waits for the handler in flight. */
  consume(handler: GroupHandler): () => Promise<void>;
  close(): Promise<void>;
}

/** A wait that close() can cut short, for retry backoffs (100 ms doubling up to 2 s). */
export class Backoff {
  private delay = 100;
  private wake: (() => void) | null = null;
  reset(): void {
    this.delay = 100;
  }
  wait(): Promise<void> {
    const ms = this.delay;
    this.delay = Math.min(this.delay * 2, 2_000);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      t.unref();
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
  cancel(): void {
    this.wake?.();
  }
}

/**
 * One node, so the group is this node: events from the store's in-process tail, handled one at a time in id
 * order; a failed handler is retried (with backoff) before the next event.
 */
export class MemoryHistoryGroup implements HistoryGroup {
  private readonly backlog: NewsEvent[] = [];
  private handler: GroupHandler | null = null;
  private readonly stopTail: () => void;
  private draining: Promise<void> | null = null;
  private readonly backoff = new Backoff();
  private closed = false;

  constructor(
    store: Store,
    private readonly logger: Logger,
  ) {
    // Like the Redis group, it exists from its creation: events appended before consume() are kept for it. The
    // tail calls its handlers inside the commit; the push work starts in a microtask after them, and the live
    // feed's pass (sockets) runs at the end of the same turn, before any push service can have answered.
    this.stopTail = store.tail((e) => {
      this.backlog.push(e);
      queueMicrotask(() => this.pump());
    });
  }

  consume(handler: GroupHandler): () => Promise<void> {
    this.handler = handler;
    this.pump();
    return () => this.close();
  }

  private pump(): void {
    if (this.draining || this.closed || !this.handler) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
    });
  }

  private async drain(): Promise<void> {
    while (this.backlog.length > 0 && !this.closed) {
      const event = this.backlog[0]!;
      try {
        await this.handler!(event);
        this.backlog.shift();
        this.backoff.reset();
      } catch (err) {
        this.logger.warn({ err, eventId: event.id }, 'history consumer failed; retrying');
        await this.backoff.wait();
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopTail();
    this.backoff.cancel();
    await this.draining;
  }
}
