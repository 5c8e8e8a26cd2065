import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobQueue } from '../../src/push/queue.ts';
import { sleep, waitFor } from '../support/wait.ts';

export interface QueueUnderTest {
  queue: JobQueue<{ n: number }>;
  cleanup: () => Promise<void>;
}

/** The behaviour both job queues must have; run by queue-memory.test.ts and queue-bullmq.test.ts. */
export function describeQueueContract(name: string, make: () => Promise<QueueUnderTest>): void {
  describe(`JobQueue contract: ${name}`, () => {
    let q: QueueUnderTest;
    let queue: JobQueue<{ n: number }>;
    let stop: (() => Promise<void>) | null = null;
    const seen: number[] = [];
    const run = (handler: (n: number) => Promise<void> = async () => undefined, concurrency = 2) => {
      stop = queue.process(async ({ n }) => {
        await handler(n);
        seen.push(n);
      }, concurrency);
    };
    beforeEach(async () => {
      q = await make();
      queue = q.queue;
      seen.length = 0;
      stop = null;
    });
    afterEach(async () => {
      await stop?.();
      await q.cleanup();
    });

    it('runs every job added, one by one or in bulk, once each', async () => {
      run();
      await queue.add({ n: 1 });
      await queue.addBulk([{ data: { n: 2 } }, { data: { n: 3 }, opts: { jobId: 'three' } }]);
      await waitFor('3 jobs', () => seen.length >= 3, 10_000);
      await sleep(200);
      expect(seen.sort()).toEqual([1, 2, 3]);
      await waitFor('an empty queue', async () => (await queue.depth()) === 0);
    });

    it('refuses a job id already queued; after it ran, only if asked to remember it', async () => {
      await queue.add({ n: 1 }, { jobId: 'same' });
      await queue.add({ n: 2 }, { jobId: 'same' });
      await queue.add({ n: 3 }, { jobId: 'kept', rememberSeconds: 60 });
      expect(await queue.depth()).toBe(2);
      run();
      await waitFor('2 jobs', () => seen.length >= 2, 10_000);
      await queue.add({ n: 4 }, { jobId: 'kept', rememberSeconds: 60 }); // done, remembered: refused
      await queue.add({ n: 5 }, { jobId: 'same' }); // done, forgotten: runs
      await waitFor('the forgotten id to run again', () => seen.includes(5), 10_000);
      await sleep(200);
      expect(seen.sort()).toEqual([1, 3, 5]);
    });

    it('holds a delayed job back at least its delay', async () => {
      run();
      const at = Date.now();
      await queue.add({ n: 1 }, { delayMs: 700 });
      expect(await queue.depth()).toBe(1);
      await waitFor('the delayed job', () => seen.length === 1, 10_000);
      expect(Date.now() - at).toBeGreaterThanOrEqual(700);
    });

    it('retries a job whose handler throws', async () => {
      let failures = 1;
      run(async () => {
        if (failures-- > 0) throw new Error('transient');
      });
      await queue.add({ n: 7 });
      await waitFor('the retried job', () => seen.length === 1, 10_000);
      expect(seen).toEqual([7]);
      expect(failures).toBe(-1);
    });

    it('stopping its handlers waits for the running job and takes no more', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let started = 0;
      run(async () => {
        started++;
        await gate;
      }, 1);
      await queue.add({ n: 1 });
      await waitFor('the job to start', () => started === 1, 10_000);
      let stopped = false;
      const stopping = stop!().then(() => (stopped = true));
      stop = null;
      await sleep(200);
      expect(stopped).toBe(false);
      release();
      await stopping;
      expect(seen).toEqual([1]);
      await queue.add({ n: 2 });
      await sleep(300);
      expect(seen).toEqual([1]);
    });
  });
}
