import { afterAll, beforeAll } from 'vitest';
import { RedisSubscriptions } from '../../src/push/subscriptions-redis.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { RedisFactory } from '../../src/storage/redis-connection.ts';
import { TestRedis } from '../support/redis.ts';
import { describeSubscriptionsContract } from './subscriptions.contract.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await TestRedis.start();
});
afterAll(async () => {
  await redis.stop();
});

describeSubscriptionsContract('redis', async () => {
  await redis.flush();
  const factory = new RedisFactory(redis.url, createLogger('silent'));
  const subs = await RedisSubscriptions.open(factory);
  return { subs, cleanup: async () => { await subs.close(); await factory.close(); } };
});
