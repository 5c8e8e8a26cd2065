import { Queue, Worker } from 'bullmq';
import type { Logger } from '../ops/logger.ts';
import type { RedisFactory } from '../storage/redis-connection.ts';

export interface EnqueueOptions {
  delayMs?: number;
  /** Deduplicates: a job with the same id is not added twice (e.g. one fan-out per event). */
  jobId?: string;
}

/**
 * Pending push work. With Redis it is BullMQ, so jobs survive a crash: a job whose node died is picked up by
 * another node once its lock expires. Without Redis, an in-process queue with the same behaviour on one node.
 */
export interface JobQueue<T> {
  add(data: T, opts?: EnqueueOptions): Promise<void>;
  addBulk(items: Array<{ data: T; opts?: EnqueueOptions }>): Promise<void>;
  /** Starts `concurrency` handlers. A handler that throws is retried with backoff (up to 5 attempts). */
  process(handler: (data: T) => Promise<void>, concurrency: number): void;
  /** Jobs waiting, delayed or running. */
  depth(): Promise<number>;
  /** Stops taking jobs; waits for running ones unless `force`. */
  close(force?: boolean): Promise<void>;
}

const ATTEMPTS = 5;

export class MemoryQueue<T> implements JobQueue<T> {
  private readonly ready: Array<{ data: T; attempt: number }> = [];
  private readonly ids = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private handler: ((data: T) => Promise<void>) | null = null;
  private concurrency = 1;
  private active = 0;
  private closed = false;
  private idle: Array<() => void> = [];

  constructor(private readonly logger: Logger) {}

  async add(data: T, opts: EnqueueOptions = {}): Promise<void> {
    if (this.closed) throw new Error('queue closed');
    if (opts.jobId) {
      if (this.ids.has(opts.jobId)) return;
      this.ids.add(opts.jobId);
    }
    this.schedule({ data, attempt: 0 }, opts.delayMs ?? 0);
  }

  async addBulk(items: Array<{ data: T; opts?: EnqueueOptions }>): Promise<void> {
    for (const i of items) await this.add(i.data, i.opts);
  }

  private schedule(job: { data: T; attempt: number }, delayMs: number): void {
    if (delayMs <= 0) {
      this.ready.push(job);
      this.pump();
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.ready.push(job);
      this.pump();
    }, delayMs);
    t.unref();
    this.timers.add(t);
  }

  process(handler: (data: T) => Promise<void>, concurrency: number): void {
    this.handler = handler;
    this.concurrency = concurrency;
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.handler && this.active < this.concurrency && this.ready.length > 0) {
      const job = this.ready.shift()!;
      this.active++;
      this.handler(job.data)
        .catch((err) => {
          if (job.attempt + 1 >= ATTEMPTS) return this.logger.error({ err }, 'push job failed for good');
          this.schedule({ data: job.data, attempt: job.attempt + 1 }, 1000 * 2 ** job.attempt);
        })
        .finally(() => {
          this.active--;
          if (this.active === 0) for (const f of this.idle.splice(0)) f();
          this.pump();
        });
    }
  }

  async depth(): Promise<number> {
    return this.ready.length + this.timers.size + this.active;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.active > 0) await new Promise<void>((r) => this.idle.push(r));
  }
}

export class BullQueue<T> implements JobQueue<T> {
  private readonly queue: Queue;
  private worker: Worker | null = null;

  constructor(
    private readonly name: string,
    private readonly factory: RedisFactory,
    private readonly logger: Logger,
    /** How long a job stays locked to a node that stopped renewing it (a crashed node) before another takes it. */
    private readonly lockMs = 10_000,
  ) {
    this.queue = new Queue(name, { connection: this.connection(), prefix: factory.keys.key('bull') });
    this.queue.on('error', (err) => logger.warn({ err: err.message }, 'push queue error'));
  }

  private connection() {
    // BullMQ needs connections that retry forever and queue while reconnecting.
    return this.factory.create('queue', { maxRetriesPerRequest: null, enableOfflineQueue: true });
  }

  private jobOptions(opts: EnqueueOptions = {}) {
    return {
      ...(opts.jobId ? { jobId: opts.jobId } : {}),
      ...(opts.delayMs ? { delay: opts.delayMs } : {}),
      attempts: ATTEMPTS,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: true,
      removeOnFail: 1000,
    };
  }

  async add(data: T, opts?: EnqueueOptions): Promise<void> {
    await this.queue.add('push', data, this.jobOptions(opts));
  }

  async addBulk(items: Array<{ data: T; opts?: EnqueueOptions }>): Promise<void> {
    await this.queue.addBulk(items.map((i) => ({ name: 'push', data: i.data, opts: this.jobOptions(i.opts) })));
  }

  process(handler: (data: T) => Promise<void>, concurrency: number): void {
    this.worker = new Worker(this.name, async (job) => handler(job.data as T), {
      connection: this.connection(),
      prefix: this.factory.keys.key('bull'),
      concurrency,
      lockDuration: this.lockMs,
      stalledInterval: Math.max(1_000, this.lockMs / 2),
      maxStalledCount: 10,
    });
    this.worker.on('error', (err) => this.logger.warn({ err: err.message }, 'push worker error'));
    this.worker.on('failed', (job, err) => this.logger.warn({ jobId: job?.id, err: err.message }, 'push job failed'));
  }

  async depth(): Promise<number> {
    const c = await this.queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
    return Object.values(c).reduce((a, b) => a + b, 0);
  }

  async close(force = false): Promise<void> {
    await this.worker?.close(force);
    await this.queue.close();
  }
}
