import type { AppOptions } from '../../src/app.ts';
import type { PushJob } from '../../src/push/engine.ts';
import type { EnqueueOptions, JobQueue } from '../../src/push/queue.ts';
import { openEngine } from '../../src/storage/engine.ts';

/**
 * The app's engine seam with the push queue wrapped: `beforeFanout` runs before each fan-out job is really
 * queued (it may wait, or throw as a refused write would). Everything else is the real engine.
 */
export function wrapFanout(beforeFanout: (eventId: string) => Promise<void>): NonNullable<AppOptions['engine']> {
  return async (config, logger) => {
    const engine = await openEngine(config, logger);
    const q = engine.pushQueue;
    const pushQueue: JobQueue<PushJob> = {
      add: async (data: PushJob, opts?: EnqueueOptions) => {
        if (data.kind === 'fanout') await beforeFanout(data.event.id);
        return q.add(data, opts);
      },
      addBulk: (items) => q.addBulk(items),
      process: (handler, concurrency) => q.process(handler, concurrency),
      depth: () => q.depth(),
      close: () => q.close(),
    };
    return { ...engine, pushQueue };
  };
}
