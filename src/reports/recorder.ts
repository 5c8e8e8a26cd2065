import type { NewsEvent } from '../domain/event.ts';
import type { Logger } from '../ops/logger.ts';
import type { ReportDelta, ReportMeta, ReportStore } from './store.ts';

export function metaOf(event: NewsEvent): ReportMeta {
  return {
    eventId: event.id,
    articleId: event.article.id,
    version: event.article.version,
    type: event.type,
    headline: event.article.headline,
    publishedAt: event.at,
    topics: [...event.topics],
    push: event.type === 'article.retracted' || event.article.notify,
  };
}

/** How often counts gathered on this node go to the store (one pipeline for all of them). */
const FLUSH_MS = 250;
/** Events whose meta this node has written recently (so it is sent once per node, not with every count). */
const REMEMBERED = 1_000;

/**
 * Gathers counts in memory and writes them in one pipeline every FLUSH_MS (or when asked), so counting costs no
 * round trip per push or per client. Counts not yet flushed are lost if the process dies: reports are figures
 * for the newsroom, not the record of delivery (that is the push queue's `sent`/`got` sets).
 */
export class ReportRecorder {
  private pending = new Map<string, ReportDelta>();
  private readonly described = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    readonly store: ReportStore,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  private delta(event: NewsEvent): ReportDelta {
    let d = this.pending.get(event.id);
    if (!d) {
      d = { eventId: event.id, counts: {} };
      if (!this.described.has(event.id)) {
        d.meta = metaOf(event);
        this.described.add(event.id);
        if (this.described.size > REMEMBERED) this.described.delete(this.described.values().next().value!);
      }
      this.pending.set(event.id, d);
    }
    return d;
  }

  /** Adds `n` to counter `field` of the event's report (n may be 0: the report then exists with its meta). */
  add(event: NewsEvent, field: string, n = 1): void {
    const d = this.delta(event);
    if (n !== 0) d.counts[field] = (d.counts[field] ?? 0) + n;
  }

  /** One acceptance `ms` after publication: per-second bucket, and the first/last times. */
  accepted(event: NewsEvent, ms: number): void {
    const d = this.delta(event);
    const at = Math.max(0, Math.round(ms));
    d.counts.accepted = (d.counts.accepted ?? 0) + 1;
    const bucket = `s${Math.floor(at / 1000)}`;
    d.counts[bucket] = (d.counts[bucket] ?? 0) + 1;
    d.first = Math.min(d.first ?? Infinity, at);
    d.last = Math.max(d.last ?? -Infinity, at);
  }

  /** Writes what is gathered; runs after any flush in progress, so counts are written in order. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = [...this.pending.values()];
      this.pending = new Map();
      try {
        await this.store.apply(batch);
      } catch (err) {
        // Put them back (merged with newer counts) for the next flush: Redis may be back by then.
        for (const d of batch) {
          if (d.meta) this.described.delete(d.eventId);
          const now = this.pending.get(d.eventId);
          if (!now) this.pending.set(d.eventId, d);
          else {
            for (const [k, n] of Object.entries(d.counts)) now.counts[k] = (now.counts[k] ?? 0) + n;
            now.meta ??= d.meta;
            if (d.first !== undefined) now.first = Math.min(now.first ?? Infinity, d.first);
            if (d.last !== undefined) now.last = Math.max(now.last ?? -Infinity, d.last);
          }
        }
        this.logger.warn({ err }, 'report counts not written; retrying with the next flush');
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
