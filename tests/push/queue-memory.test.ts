import { MemoryQueue } from '../../src/push/queue.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { describeQueueContract } from './queue.contract.ts';

describeQueueContract('in-process', async () => {
  const queue = new MemoryQueue<{ n: number }>(createLogger('silent'));
  return { queue, cleanup: () => queue.close() };
});
