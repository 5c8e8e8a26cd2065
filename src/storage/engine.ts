import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config.ts';
import { makeLimiter } from '../ops/limits.ts';
import type { Logger } from '../ops/logger.ts';
import type { PushJob } from '../push/engine.ts';
import { MemoryReports, RedisReports, type ReportStore } from '../reports/store.ts';
import { BullQueue, MemoryQueue, type JobQueue } from '../push/queue.ts';
import { MemorySubscriptions, type SubscriptionStore } from '../push/subscriptions.ts';
import { RedisSubscriptions } from '../push/subscriptions-redis.ts';
import { MemoryHistoryGroup, type HistoryGroup } from './history-group.ts';
import { RedisHistoryGroup } from './history-group-redis.ts';
import { MemoryStore } from './memory.ts';
import { RedisFactory } from './redis-connection.ts';
import { RedisStore } from './redis.ts';
import type { Store } from './store.ts';

/**
 * Every stateful part, built for one engine: memory (one node, nothing survives a restart) or Redis (shared by
 * every node). The choice is made here once; each pair passes one contract suite (tests/storage/store.contract.ts,
 * tests/push/subscriptions.contract.ts, tests/push/queue.contract.ts, tests/storage/history-group.test.ts).
 */
export interface Engine {
  readonly kind: 'memory' | 'redis';
  readonly store: Store;
  readonly subscriptions: SubscriptionStore;
  /** Web Push work: fan-outs, batches, retries. */
  readonly pushQueue: JobQueue<PushJob>;
  /** The history as Web Push consumes it: each event handed to one node of the deployment. */
  readonly pushFeed: HistoryGroup;
  /** Alert reports: counters per event, shared by every node with Redis. */
  readonly reports: ReportStore;
  /** A rate limiter named `name` (counters shared by every node with Redis); null when `points` is 0 (off). */
  limiter(name: string, points: number, durationSeconds: number): RateLimiterAbstract | null;
  /** Closes every part, then the connections. */
  close(): Promise<void>;
}

async function closeInOrder(logger: Logger, parts: Array<[string, () => Promise<void> | void]>): Promise<void> {
  for (const [name, close] of parts) {
    try {
      await close();
    } catch (err) {
      logger.warn({ err, part: name }, 'error while closing');
    }
  }
}

/** Builds the engine the config asks for: Redis when REDIS_URL or REDIS_SENTINELS is set, memory otherwise. */
export async function openEngine(config: Config, logger: Logger): Promise<Engine> {
  const retention = {
    maxEvents: config.historyMaxEvents,
    maxAgeSeconds: config.historyMaxAgeSeconds,
    articleTtlSeconds: config.articleTtlSeconds,
  };
  const log = logger.child({ part: 'push' });
  const redisEndpoint = config.redisSentinel ?? config.redisUrl;
  if (!redisEndpoint) {
    const store = new MemoryStore(retention);
    const subscriptions = new MemorySubscriptions();
    const pushQueue = new MemoryQueue<PushJob>(log);
    const pushFeed = new MemoryHistoryGroup(store, log);
    const reports = new MemoryReports(config.articleTtlSeconds);
    return {
      kind: 'memory',
      store,
      subscriptions,
      pushQueue,
      pushFeed,
      reports,
      limiter: (name, points, durationSeconds) => makeLimiter({ points, durationSeconds, keyPrefix: name, redis: null }),
      close: () => closeInOrder(logger, [['reports', () => reports.close()], ['push feed', () => pushFeed.close()], ['push queue', () => pushQueue.close()], ['subscriptions', () => subscriptions.close()], ['store', () => store.close()]]),
    };
  }
  const redis = new RedisFactory(redisEndpoint, logger, undefined, { minReplicas: config.redisMinReplicas, waitTimeoutMs: config.redisWaitTimeoutMs });
  const store = await RedisStore.open(redis, retention);
  const subscriptions = await RedisSubscriptions.open(redis);
  const pushQueue = new BullQueue<PushJob>('push', redis, log, config.pushTakeoverMs);
  const pushFeed = await RedisHistoryGroup.open(redis, { group: 'push', takeoverMs: config.pushTakeoverMs }, log);
  const reports = new RedisReports(redis, config.articleTtlSeconds);
  return {
    kind: 'redis',
    store,
    subscriptions,
    pushQueue,
    pushFeed,
    reports,
    limiter: (name, points, durationSeconds) => makeLimiter({ points, durationSeconds, keyPrefix: redis.keys.key('rl', name), redis: redis.shared('limits') }),
    close: () =>
      closeInOrder(logger, [
        ['push feed', () => pushFeed.close()],
        ['push queue', () => pushQueue.close()],
        ['subscriptions', () => subscriptions.close()],
        ['reports', () => reports.close()],
        ['store', () => store.close()],
        ['redis connections', () => redis.close()],
      ]),
  };
}
