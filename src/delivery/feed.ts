import { compareIds, type Cursor, type EventId, type NewsEvent } from '../domain/event.ts';
import { matchesAny, type Topic } from '../domain/topic.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import { StoreUnavailableError, type HistoryPage, type HistoryReadOptions, type ResyncReason, type Store } from '../storage/store.ts';
import { EpochCheck, HistoryWindow, type WindowLimits } from './window.ts';

export type Sink = (event: NewsEvent) => void;
/** A live channel: returns how many of its clients it handed the event to (summed into the alert's report). */
export type LiveSink = (event: NewsEvent) => number | void;

/** Who counts deliveries for the alert reports (reports/recorder.ts). */
export interface DeliveryCounter {
  live(event: NewsEvent, clients: number): void;
  replayed(event: NewsEvent): void;
}

/** Why a client gets `resync`: the store's reasons, or more live events arrived while it waited than a replay may hold. */
export type { ResyncReason };

export interface CatchUpRequest {
  topics: readonly Topic[];
  since: Cursor;
  /** Events the client already has (e.g. got live before this call): not sent again. */
  alreadyHas?: (event: NewsEvent) => boolean;
  send: Sink;
  /**
   * Resolves once the client's transport has taken everything sent so far (its write buffer drained); rejects if
   * the client has gone. The next page is read only then, so a client holds at most a page in server memory.
   */
  drained: () => Promise<void>;
  /** Aborted when the client leaves: a waiting catch-up never starts, a running one stops at its next page. */
  signal?: AbortSignal;
  /**
   * Called instead of any (further) replay when the client cannot be replayed to, before live events. `head` is
   * where the client continues from: every event it is sent after this is later, and the events up to it are in
   * what it reloads (null: the history holds no event, there is nothing to continue after).
   */
  onResync: (reason: ResyncReason, head: EventId | null) => void;
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

export interface ReplayLimits {
  /** A client with more matching events than this to replay (or buffered while it waits) gets resync. */
  maxEvents: number;
  /** Catch-ups running at once on this node; the others wait their turn. */
  concurrency: number;
  /** Bytes of event JSON per page read and sent before waiting for the client to drain. */
  pageBytes: number;
  /** How long a client may take to drain a page before it is dropped. */
  drainTimeoutMs: number;
  /** The newest history kept in memory for catch-ups (see HistoryWindow). */
  window: WindowLimits;
}

export const DEFAULT_REPLAY_LIMITS: ReplayLimits = {
  maxEvents: 1_000,
  concurrency: 32,
  pageBytes: 512 * 1024,
  drainTimeoutMs: 30_000,
  window: { maxEvents: 2_000, maxBytes: 16 * 1024 * 1024 },
};

const PAGE = 200;

/** The client went away, or did not read within the deadline: its catch-up ends, the channel drops it. */
export class ClientGoneError extends Error {
  constructor(message = 'client gone') {
    super(message);
    this.name = 'ClientGoneError';
  }
}

/** At most `size` holders at once; the rest wait in arrival order, and leave the queue when their signal aborts. */
class Slots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly size: number) {}

  get queued(): number {
    return this.waiting.length;
  }

  acquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(new ClientGoneError());
    if (this.used < this.size) {
      this.used++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const turn = () => {
        signal.removeEventListener('abort', leave);
        this.used++;
        resolve();
      };
      const leave = () => {
        const i = this.waiting.indexOf(turn);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new ClientGoneError());
      };
      signal.addEventListener('abort', leave, { once: true });
      this.waiting.push(turn);
    });
  }

  release(): void {
    this.used--;
    this.waiting.shift()?.();
  }
}

/**
 * This node's feed of every event in the deployment, in id order, fed by the store's tail (events written by
 * any node). Delivery channels (Socket.IO, SSE) register sinks on it; `catchUp` gives a client exactly the
 * events it missed, once each and in order, then hands it over to live delivery without a gap.
 */
export class LiveFeed {
  /** Id of the newest event dispatched to the sinks on this node. */
  lastDispatched: EventId | null = null;
  private readonly sinks = new Set<LiveSink>();
  /** Set by the composition root when alert reports are on. */
  counter: DeliveryCounter | null = null;
  /** Called after every dispatch pass (channels flush what they held back for it, e.g. uncork sockets). */
  private readonly passEnds = new Set<() => void>();
  /** Events from the tail not dispatched yet: dispatched together in the next pass. */
  private pending: NewsEvent[] = [];
  /** Number of events in the dispatch pass under way (0 outside one). */
  passSize = 0;
  private waiters: Array<{ id: EventId; resolve: () => void }> = [];
  private readonly stopTail: () => void;
  private readonly slots: Slots;
  private readonly window: HistoryWindow;
  private readonly epoch: EpochCheck;

  constructor(
    private readonly store: Store,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    readonly limits: ReplayLimits = DEFAULT_REPLAY_LIMITS,
  ) {
    this.slots = new Slots(limits.concurrency);
    this.window = new HistoryWindow(limits.window, store.retention);
    this.epoch = new EpochCheck(() => store.historyEpoch());
    // Events up to where the tail starts are history this node will never dispatch: count them as passed.
    this.stopTail = store.tail(
      (e) => this.enqueue(e),
      (position) => {
        this.window.started(position);
        if (position !== null) this.advance(position);
      },
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

  add(sink: LiveSink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  /** `end` runs after each dispatch pass; returns a function that removes it. */
  onPassEnd(end: () => void): () => void {
    this.passEnds.add(end);
    return () => this.passEnds.delete(end);
  }

  /**
   * Events the tail hands over in one turn of the event loop (a tail batch, or several commits answered in the
   * same turn) are dispatched together, in order, right after it: a channel can then write each client every
   * event of the pass in one system call. To the catch-up this is a tail a turn behind, which it already waits for.
   */
  private enqueue(event: NewsEvent): void {
    this.pending.push(event);
    if (this.pending.length === 1) setImmediate(() => this.pass()).unref();
  }

  private pass(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    this.passSize = batch.length;
    try {
      for (const e of batch) {
        // Outside the tail's call now: a throw here would end the process, and the pass's other events with it.
        try {
          this.dispatch(e);
        } catch (err) {
          this.logger.error({ err, eventId: e.id }, 'live dispatch failed');
        }
      }
    } finally {
      this.passSize = 0;
      for (const end of this.passEnds) {
        try {
          end();
        } catch (err) {
          this.logger.error({ err }, 'delivery pass end failed');
        }
      }
    }
  }

  private dispatch(event: NewsEvent): void {
    this.advance(event.id);
    this.window.add(event);
    this.metrics.fanoutLag.observe(Math.max(0, Date.now() - Date.parse(event.at)) / 1000);
    let clients = 0;
    for (const sink of this.sinks) {
      try {
        clients += sink(event) ?? 0;
      } catch (err) {
        this.logger.error({ err, eventId: event.id }, 'delivery sink failed');
      }
    }
    if (clients > 0) this.metrics.publicationToLive.observe(Math.max(0, Date.now() - Date.parse(event.at)) / 1000);
    this.counter?.live(event, clients);
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
   * Live events matching the client's topics are buffered from the start (at most `maxEvents`: beyond that the
   * client gets resync and goes live at once). The catch-up waits for one of `concurrency` slots, then reads the
   * history after the cursor a page at a time (bounded by count and bytes), sending each page and waiting for
   * the client to drain it before the next; buffered events the read already covered are dropped by id, the rest
   * follow the same way, and `goLive` runs in the same tick as the last send.
   */
  async catchUp(asked: CatchUpRequest): Promise<CatchUpResult> {
    const counter = this.counter;
    const req = counter ? { ...asked, send: (e: NewsEvent) => (asked.send(e), counter.replayed(e)) } : asked;
    const signal = req.signal ?? new AbortController().signal;
    /** Aborted on overflow: a catch-up still waiting for its turn stops waiting. */
    const overtaken = new AbortController();
    let buffer: NewsEvent[] = [];
    let overflowed = false;
    const stopBuffering = this.add((e) => {
      // An event at or before the cursor (a tail still handing over what was written before the client came back)
      // is one the client has: it must not count towards the bound.
      if (overflowed || !matchesAny(req.topics, e.topics) || compareIds(e.id, req.since) <= 0) return;
      buffer.push(e);
      if (buffer.length <= this.limits.maxEvents) return;
      // The client would be further behind than a replay may go: it reloads instead, and is live from here on
      // (this event is in what it reloads, being written before the resync is sent).
      overflowed = true;
      buffer = [];
      stopBuffering();
      this.metrics.resyncs.inc({ reason: 'too_far_behind' });
      req.onResync('too_far_behind', e.id);
      req.goLive();
      overtaken.abort();
    });
    const overflow = { replayed: 0, resync: true };
    let held = false;
    try {
      try {
        await this.slots.acquire(AbortSignal.any([signal, overtaken.signal]));
      } catch (err) {
        if (overflowed) return overflow;
        throw err;
      }
      held = true;
      if (overflowed) return overflow;
      let cursor = req.since;
      let lastSeen: EventId | null = null;
      let replayed = 0;
      let head: EventId | null = null;
      for (;;) {
        const page = await this.read(cursor, req.topics, {
          maxBytes: this.limits.pageBytes,
          ...(cursor === req.since ? { maxBehind: this.limits.maxEvents } : {}),
        });
        if (overflowed) return overflow;
        this.gone(signal);
        head = page.head;
        if (page.resync) {
          if (page.head !== null) await this.dispatched(page.head);
          if (overflowed) return overflow;
          this.metrics.resyncs.inc({ reason: page.reason ?? 'history_truncated' });
          // Events up to the head are in what the client reloads; it gets live only what follows.
          if (page.head !== null) buffer = buffer.filter((e) => compareIds(e.id, page.head!) > 0);
          req.onResync(page.reason ?? 'history_truncated', page.head);
          await this.flush(req, signal, () => buffer, () => overflowed);
          if (overflowed) return overflow;
          stopBuffering();
          req.goLive();
          return { replayed: 0, resync: true };
        }
        for (const e of page.events) {
          lastSeen = e.id;
          if (req.alreadyHas?.(e)) continue;
          req.send(e);
          replayed++;
        }
        // Buffered events this read covered need no room: only what the client still needs counts against the bound.
        if (lastSeen !== null) buffer = buffer.filter((e) => compareIds(e.id, lastSeen!) > 0);
        await this.drain(req, signal);
        if (overflowed) return overflow;
        if (!page.more) break;
        cursor = page.events[page.events.length - 1]!.id;
      }
      // Everything the read saw must have passed through this node's feed (and so the buffer) before going
      // live; otherwise a lagging tail would hand the socket an event it has just been replayed.
      if (head !== null) await this.dispatched(head);
      if (overflowed) return overflow;
      buffer = buffer.filter(
        (e) => !(lastSeen !== null && compareIds(e.id, lastSeen) <= 0) && !req.alreadyHas?.(e),
      );
      replayed += await this.flush(req, signal, () => buffer, () => overflowed);
      if (overflowed) return overflow;
      stopBuffering();
      req.goLive();
      return { replayed, resync: false };
    } finally {
      stopBuffering();
      if (held) this.slots.release();
    }
  }

  /** A page from this node's window of the newest history when it covers the cursor, from the store otherwise. */
  private async read(cursor: Cursor, topics: readonly Topic[], opts: HistoryReadOptions): Promise<HistoryPage> {
    if (this.window.enabled) {
      // The epoch read after this call says whether the window's events are still of the store's history.
      const epoch = await this.epoch.get().catch(() => undefined);
      if (epoch !== undefined) {
        this.window.confirmEpoch(epoch);
        const page = this.window.read(cursor, topics, PAGE, opts);
        if (page) return page;
      }
    }
    return this.store.readEvents(cursor, topics, PAGE, opts);
  }

  /**
   * Sends the buffered live events a page at a time, waiting for the client between pages; events that arrive
   * meanwhile join the buffer. Returns with the buffer empty, so that the caller goes live in the same tick.
   */
  private async flush(req: CatchUpRequest, signal: AbortSignal, buffer: () => NewsEvent[], overflowed: () => boolean): Promise<number> {
    let sent = 0;
    while (buffer().length > 0) {
      let bytes = 0;
      const b = buffer();
      let n = 0;
      while (n < b.length && (n === 0 || bytes < this.limits.pageBytes)) {
        req.send(b[n]!);
        bytes += JSON.stringify(b[n]!).length;
        n++;
      }
      b.splice(0, n);
      sent += n;
      if (b.length === 0) break;
      await this.drain(req, signal);
      if (overflowed()) return sent;
    }
    return sent;
  }

  /** Waits for the client to take what it was sent, or throws ClientGoneError after the drain deadline. */
  private async drain(req: CatchUpRequest, signal: AbortSignal): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ClientGoneError(`client did not read for ${this.limits.drainTimeoutMs} ms`)), this.limits.drainTimeoutMs);
      timer.unref();
    });
    try {
      await Promise.race([req.drained(), deadline]);
    } finally {
      clearTimeout(timer);
    }
    this.gone(signal);
  }

  private gone(signal: AbortSignal): void {
    if (signal.aborted) throw new ClientGoneError();
  }

  close(): void {
    this.stopTail();
    this.pending = [];
    this.sinks.clear();
    this.passEnds.clear();
  }
}
