import type { AppOptions } from '../../src/app.ts';
import type { PushJob } from '../../src/push/engine.ts';
import type { EnqueueOptions, JobQueue } from '../../src/push/queue.ts';
import { openEngine } from '../../src/storage/engine.ts';

/**
 * The app's engine seam with the push queue wrapped: each fan-out job is queued through `around(eventId, add)`,
 * which may wait, throw as a refused write would, or watch how the real `add` ends. Everything else is the real
 * engine.
 */
export function wrapFanout(around: (eventId: string, add: () => Promise<void>) => Promise<void>): NonNullable<AppOptions['engine']> {
  return async (config, logger) => {
    const engine = await openEngine(config, logger);
    const q = engine.pushQueue;
    const pushQueue: JobQueue<PushJob> = {
      add: async (data: PushJob, opts?: EnqueueOptions) => {
        if (data.kind === 'fanout') return around(data.event.id, () => q.add(data, opts));
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
