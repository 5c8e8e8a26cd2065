import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../src/ops/logger.ts';
import { RedisReports } from '../../src/reports/store.ts';
import { RedisFactory, RedisKeys } from '../../src/storage/redis-connection.ts';
import { TestRedis } from '../support/redis.ts';
import { describeReportStore } from './report-store.contract.ts';

let redis: TestRedis;
let n = 0;
beforeAll(async () => {
  redis = await TestRedis.start();
});
afterAll(async () => {
  await redis?.stop();
});

const open = async (ttl = 3_600, prefix = `t${n++}`) => {
  const factory = new RedisFactory(redis.url, createLogger('silent'), new RedisKeys(prefix));
  await factory.waitReady(factory.shared('commands'));
  return { store: new RedisReports(factory, ttl), close: () => factory.close() };
};

describeReportStore('redis', () => open());

it('redis reports expire with the article TTL and survive a Redis restart', async () => {
  const a = await open(120, 'ttl');
  await a.store.apply([{ eventId: '1-0', meta: { eventId: '1-0', articleId: 'a', version: 1, type: 'article.published', headline: 'h', publishedAt: new Date().toISOString(), topics: ['x'], push: true }, counts: { sent: 4 } }]);
  await a.close();
  const c = redis.client();
  const ttl = await c.ttl('ttl:report:event:1-0');
  c.disconnect();
  expect(Number(ttl)).toBeGreaterThan(100);
  expect(Number(ttl)).toBeLessThanOrEqual(120);
  await redis.stopProcess();
  await redis.startProcess();
  const b = await open(120, 'ttl');
  try {
    expect((await b.store.get('1-0'))!.counts).toEqual({ sent: 4 });
  } finally {
    await b.close();
  }
});
