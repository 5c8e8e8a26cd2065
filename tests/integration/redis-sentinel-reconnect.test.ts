import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/ops/logger.ts';
import { RedisFactory } from '../../src/storage/redis-connection.ts';
import { MASTER_NAME, TestSentinelGroup } from '../support/sentinel.ts';
import { TestRedis } from '../support/redis.ts';
import { api, startServer } from '../support/server.ts';
import { article } from '../support/articles.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { sleep, waitFor } from '../support/wait.ts';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
}, 60_000);

describe('Redis connections (RedisFactory)', () => {
  it('a connection still asking a sentinel for the primary when the failover is announced reconnects to the new primary', async () => {
    const group = await TestSentinelGroup.start({ replicas: 1 });
    cleanups.push(() => group.stop());
    // The app knows one sentinel, through a proxy that can be made slow; ioredis also learns the others from it,
    // and listens on all of them for +switch-master.
    const first = Number(group.sentinelList.split(',')[0]!.split(':')[1]);
    const proxy = await TcpProxy.start(first);
    cleanups.push(() => proxy.close());
    const factory = new RedisFactory({ sentinels: [{ host: '127.0.0.1', port: proxy.port }], name: MASTER_NAME }, createLogger('silent'));
    cleanups.push(() => factory.close());
    const conn = factory.create('commands');
    await factory.waitReady(conn, 10_000);
    expect(await conn.set('k', 'before')).toBe('OK');

    // The reconnect after the crash asks the slow sentinel first; the answer comes after the failover is
    // announced by the others (the sentinels take 2-3 s to agree).
    proxy.delayMs = 8_000;
    const oldPrimary = await group.primaryPort();
    (await group.server(oldPrimary)).kill('SIGKILL');
    const newPrimary = await group.waitForFailover(oldPrimary, 30_000);
    expect(newPrimary).not.toBe(oldPrimary);
    proxy.delayMs = 0;

    // The connection comes back by itself, on the new primary.
    // Within the slow sentinel's delay and some: a reconnect may ask it again while it is still slow.
    await waitFor('a write through the same connection after the failover', () => conn.set('k', 'after').then((r) => r === 'OK', () => false), 30_000).catch(
      (err: Error) => {
        throw new Error(`${err.message} (connection ${conn.status})`);
      },
    );
    const onNew = (await group.server(newPrimary)).client();
    cleanups.push(async () => onNew.disconnect());
    expect(await onNew.get('k')).toBe('after');
  }, 90_000);

  it('a connection its owner closes (disconnect, quit, or a copy of it disconnected) stays closed', async () => {
    const redis = await TestRedis.start({ persistent: false });
    cleanups.push(() => redis.stop());
    const factory = new RedisFactory(redis.url, createLogger('silent'));
    cleanups.push(() => factory.close());
    const [a, b] = [factory.create('commands'), factory.create('tail')];
    await Promise.all([factory.waitReady(a), factory.waitReady(b)]);
    const copy = a.duplicate();
    await factory.waitReady(copy);
    expect(await copy.ping()).toBe('PONG');
    a.disconnect();
    await b.quit();
    copy.disconnect();
    await sleep(500); // several reconnect delays
    expect([a.status, b.status, copy.status]).toEqual(['end', 'end', 'end']);
  });

  it('a connection its owner closes between two connect attempts rejects what waited for it, and ends', async () => {
    const redis = await TestRedis.start({ persistent: false });
    cleanups.push(() => redis.stop());
    const factory = new RedisFactory(redis.url, createLogger('silent'));
    cleanups.push(() => factory.close());
    // Queues while away, as the blocking readers' and BullMQ's connections do.
    const conn = factory.create('group', { enableOfflineQueue: true, maxRetriesPerRequest: null });
    await factory.waitReady(conn);
    redis.kill('SIGKILL');
    await waitFor('waiting to reconnect', () => conn.status === 'reconnecting');
    const waiting = conn.get('k').then(() => 'answered', (err: Error) => err.message);
    conn.disconnect();
    expect(await Promise.race([waiting, sleep(3_000).then(() => 'still waiting')])).toBe('Connection is closed.');
    expect(conn.status).toBe('end');
  });

  it('a node closed during a failover, its connections waiting to reconnect, stops at once', async () => {
    const group = await TestSentinelGroup.start({ replicas: 1 });
    cleanups.push(() => group.stop());
    const srv = await startServer({ REDIS_SENTINELS: group.sentinelList, REDIS_SENTINEL_NAME: MASTER_NAME });
    cleanups.push(() => srv.close());
    // Its Web Push fan-out job is queued, and the worker's blocking read waits for the next.
    expect((await api(srv.url, 'POST', '/api/v1/articles', article(['world'], { version: 1 }), srv.auth)).status).toBe(201);
    (await group.server(await group.primaryPort())).kill('SIGKILL');
    await sleep(1_000); // before the sentinels agree: every connection, BullMQ's too, waits for its next attempt
    const closed = await Promise.race([srv.close().then(() => true), sleep(5_000).then(() => false)]);
    expect(closed).toBe(true);
  }, 60_000);
});
