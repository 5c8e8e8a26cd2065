import type { Logger } from '../ops/logger.ts';
import type { NewsService } from './service.ts';

const BATCH = 50;

/**
 * Publishes held versions when their embargo ends. Held versions live in the store, so any node (or this one
 * after a restart) releases them; every node runs a scheduler, and the service's compare-and-set makes sure each
 * is published once (see NewsService.release). `now` is the clock that decides what is due.
 */
export class EmbargoScheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Set while ticks fail (storage down), so an outage is logged once, and its end once. */
  private failing = false;

  constructor(
    private readonly news: NewsService,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.tick().finally(() => {
        this.running = null;
      });
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Releases what is due now. What fails (storage down) is retried at the next tick. */
  async tick(): Promise<void> {
    let failed: unknown = null;
    try {
      for (const item of await this.news.dueHeld(this.now(), BATCH)) {
        try {
          const r = await this.news.release(item);
          if (r && 'released' in r) this.logger.info({ id: item.id, version: r.released.article.version, eventId: r.released.event?.id }, 'embargo lifted');
          else if (r) this.logger.info({ id: item.id, reason: r.dropped }, 'embargoed version dropped: it can no longer be published');
        } catch (err) {
          failed = err;
        }
      }
    } catch (err) {
      failed = err;
    }
    if (failed && !this.failing) this.logger.warn({ err: failed }, 'embargo release failed; retrying at every tick');
    else if (!failed && this.failing) this.logger.info('embargo releases work again');
    this.failing = failed !== null;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
