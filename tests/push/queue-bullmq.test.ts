import { afterAll, beforeAll } from 'vitest';
import { BullQueue } from '../../src/push/queue.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { RedisFactory } from '../../src/storage/redis-connection.ts';
import { TestRedis } from '../support/redis.ts';
import { describeQueueContract } from './queue.contract.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await TestRedis.start();
});
afterAll(async () => {
  await redis.stop();
});

describeQueueContract('BullMQ', async () => {
  await redis.flush();
  const factory = new RedisFactory(redis.url, createLogger('silent'));
  const queue = new BullQueue<{ n: number }>('contract', factory, createLogger('silent'));
  return { queue, cleanup: async () => { await queue.close(); await factory.close(); } };
});
