import { systemClock, type Clock } from '../domain/clock.ts';
import { ApiError } from '../domain/errors.ts';
import type { NewsService } from '../news/service.ts';
import type { Logger } from '../ops/logger.ts';
import type { Store } from '../storage/store.ts';
import type { HeldPayload } from './router.ts';

/**
 * Publishes embargoed versions when their time comes. Held versions live in the store, so any node (or this one
 * after a restart) releases them. Publishing comes before dropping: publishing is idempotent, so a crash in
 * between, or two nodes releasing the same item, repeats a no-op rather than losing the alert.
 */
export class EmbargoScheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly news: NewsService,
    private readonly logger: Logger,
    private readonly intervalMs = 500,
    private readonly clock: Clock = systemClock,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.tick().finally(() => {
        this.running = null;
      });
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Releases what is due now; exported for tests and for the first tick after a restart. */
  async tick(): Promise<void> {
    let due;
    try {
      due = await this.store.dueHeld(new Date(this.clock()), 50);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'embargo check failed; retrying');
      return;
    }
    for (const item of due) {
      const payload = item.payload as HeldPayload;
      try {
        const r = await this.news.publish(payload.input, payload.supersedes ? { supersedes: payload.supersedes } : {});
        this.logger.info({ id: item.id, version: r.article.version, eventId: r.event?.id }, 'embargo lifted');
      } catch (err) {
        if (!(err instanceof ApiError) || err.status >= 500) {
          this.logger.warn({ id: item.id, err: (err as Error).message }, 'embargoed publication failed; will retry');
          continue;
        }
        // Refused for good (a newer version or a retraction came first): the held version is obsolete.
        this.logger.info({ id: item.id, code: err.code }, 'embargoed version dropped');
      }
      await this.store.dropHeld(item).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
