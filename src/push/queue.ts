import { Queue, Worker } from 'bullmq';
import type { Logger } from '../ops/logger.ts';
import type { RedisFactory } from '../storage/redis-connection.ts';

export interface EnqueueOptions {
  delayMs?: number;
  /** Deduplicates: a job with the same id is not added again while it is waiting, delayed or running. */
  jobId?: string;
  /**
   * After the job is done its id goes on refusing duplicates this long (an event's fan-out, queued again when
   * its history entry is handed out again after its node died between queueing and acknowledging).
   */
  rememberSeconds?: number;
}

/**
 * Pending push work. With Redis it is BullMQ, so jobs survive a crash: a job whose node died is picked up by
 * another node once its lock expires. Without Redis, an in-process queue with the same behaviour on one node.
 * Both pass tests/push/queue.contract.ts.
 */
export interface JobQueue<T> {
  add(data: T, opts?: EnqueueOptions): Promise<void>;
  addBulk(items: Array<{ data: T; opts?: EnqueueOptions }>): Promise<void>;
  /**
   * Starts `concurrency` handlers. A handler that throws is retried with backoff (up to 5 attempts). Returns a
   * function that stops taking jobs and waits for the running ones.
   */
  process(handler: (data: T) => Promise<void>, concurrency: number): () => Promise<void>;
  /** Jobs waiting, delayed or running. */
  depth(): Promise<number>;
  /** Stops taking jobs and waits for running ones. */
  close(): Promise<void>;
}

const ATTEMPTS = 5;
/** First retry delay of a failed job; it doubles with each attempt. */
const BACKOFF_MS = 1_000;

interface MemoryJob<T> {
  data: T;
  attempt: number;
  opts: EnqueueOptions;
}

export class MemoryQueue<T> implements JobQueue<T> {
  private readonly ready: Array<MemoryJob<T>> = [];
  /** Job ids refusing duplicates, until when (Infinity while the job is not done). */
  private readonly ids = new Map<string, number>();
  private nextPrune = 0;
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
      const now = Date.now();
      if (now >= this.nextPrune) {
        this.nextPrune = now + 60_000;
        for (const [id, until] of this.ids) if (until <= now) this.ids.delete(id);
      }
      if ((this.ids.get(opts.jobId) ?? 0) > now) return;
      this.ids.set(opts.jobId, Number.POSITIVE_INFINITY);
    }
    this.schedule({ data, attempt: 0, opts }, opts.delayMs ?? 0);
  }

  async addBulk(items: Array<{ data: T; opts?: EnqueueOptions }>): Promise<void> {
    for (const i of items) await this.add(i.data, i.opts);
  }

  private schedule(job: MemoryJob<T>, delayMs: number): void {
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

  process(handler: (data: T) => Promise<void>, concurrency: number): () => Promise<void> {
    this.handler = handler;
    this.concurrency = concurrency;
    this.pump();
    return async () => {
      this.handler = null;
      await this.drained();
    };
  }

  private done(job: MemoryJob<T>): void {
    const id = job.opts.jobId;
    if (!id) return;
    if (job.opts.rememberSeconds) this.ids.set(id, Date.now() + job.opts.rememberSeconds * 1000);
    else this.ids.delete(id);
  }

  private pump(): void {
    while (!this.closed && this.handler && this.active < this.concurrency && this.ready.length > 0) {
      const job = this.ready.shift()!;
      this.active++;
      this.handler(job.data)
        .then(
          () => this.done(job),
          (err) => {
            if (job.attempt + 1 < ATTEMPTS) return this.schedule({ ...job, attempt: job.attempt + 1 }, BACKOFF_MS * 2 ** job.attempt);
            this.logger.error({ err }, 'push job failed for good');
            this.done(job);
          },
        )
        .finally(() => {
          this.active--;
          if (this.active === 0) for (const f of this.idle.splice(0)) f();
          this.pump();
        });
    }
  }

  private async drained(): Promise<void> {
    if (this.active > 0) await new Promise<void>((r) => this.idle.push(r));
  }

  async depth(): Promise<number> {
    return this.ready.length + this.timers.size + this.active;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.drained();
  }
}

export class BullQueue<T> implements JobQueue<T> {
  private readonly queue: Queue;
  private readonly workers = new Set<Worker>();

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
      backoff: { type: 'exponential', delay: BACKOFF_MS },
      removeOnComplete: opts.rememberSeconds ? { age: opts.rememberSeconds } : true,
      removeOnFail: 1000,
    };
  }

  async add(data: T, opts?: EnqueueOptions): Promise<void> {
    await this.queue.add('push', data, this.jobOptions(opts));
  }

  async addBulk(items: Array<{ data: T; opts?: EnqueueOptions }>): Promise<void> {
    await this.queue.addBulk(items.map((i) => ({ name: 'push', data: i.data, opts: this.jobOptions(i.opts) })));
  }

  process(handler: (data: T) => Promise<void>, concurrency: number): () => Promise<void> {
    const worker = new Worker(this.name, async (job) => handler(job.data as T), {
      connection: this.connection(),
      prefix: this.factory.keys.key('bull'),
      concurrency,
      lockDuration: this.lockMs,
      stalledInterval: Math.max(1_000, this.lockMs / 2),
      maxStalledCount: 10,
    });
    worker.on('error', (err) => this.logger.warn({ err: err.message }, 'push worker error'));
    worker.on('failed', (job, err) => this.logger.warn({ jobId: job?.id, err: err.message }, 'push job failed'));
    this.workers.add(worker);
    return async () => {
      this.workers.delete(worker);
      await worker.close();
    };
  }

  async depth(): Promise<number> {
    const c = await this.queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
    return Object.values(c).reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers].map((w) => w.close()));
    this.workers.clear();
    await this.queue.close();
  }
}
