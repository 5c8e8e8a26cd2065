import { Gauge } from 'prom-client';
import type { Router } from 'express';
import type { Config } from '../config.ts';
import type { Clock } from '../domain/clock.ts';
import { makeLimiter, rateLimit } from '../http/rate-limit.ts';
import type { NewsService } from '../news/service.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { RedisFactory } from '../storage/redis-connection.ts';
import type { Store } from '../storage/store.ts';
import { EndpointPolicy, type Resolver } from './endpoint.ts';
import { PushEngine, type PushJob } from './engine.ts';
import { BullQueue, MemoryQueue, type JobQueue } from './queue.ts';
import { pushRoutes } from './routes.ts';
import { PushSender } from './sender.ts';
import { MemorySubscriptions, type SubscriptionStore } from './subscriptions.ts';
import { RedisSubscriptions } from './subscriptions-redis.ts';
import { loadVapid } from './vapid.ts';

export interface PushDeps {
  config: Config;
  store: Store;
  news: NewsService;
  redis: RedisFactory | null;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  resolver?: Resolver;
}

export interface PushModule {
  router: Router;
  subscriptions: SubscriptionStore;
  /** Stops taking work; running batches finish (their unfinished parts stay queued in Redis). */
  close(force?: boolean): Promise<void>;
}

export async function createPush(d: PushDeps): Promise<PushModule> {
  const logger = d.logger.child({ part: 'push' });
  const vapid = await loadVapid(d.config, d.store);
  const policy = new EndpointPolicy(d.config.pushEndpointHosts, { allowPrivateNetworks: d.config.pushAllowPrivateNetworks, resolver: d.resolver });
  if (d.config.pushAllowPrivateNetworks) {
    logger.warn({ hosts: d.config.pushEndpointHosts }, 'PUSH_ALLOW_PRIVATE_NETWORKS is on: these push hosts may resolve to private and loopback addresses');
  }
  const subscriptions: SubscriptionStore = d.redis ? await RedisSubscriptions.open(d.redis) : new MemorySubscriptions();
  const queue: JobQueue<PushJob> = d.redis ? new BullQueue<PushJob>('push', d.redis, logger, d.config.pushJobLockMs) : new MemoryQueue<PushJob>(logger);
  const sender = new PushSender(vapid, policy);
  const engine = new PushEngine(subscriptions, queue, sender, logger, {
      ttlSeconds: d.config.pushTtlSeconds,
      articleTtlSeconds: d.config.articleTtlSeconds,
      current: (id) => d.store.getArticle(id),
    }, d.metrics.registry, d.clock);
  engine.start();
  d.news.onCommitted((event) => engine.onEvent(event));

  new Gauge({
    name: 'newspush_push_queue_depth',
    help: 'Push jobs waiting, delayed or running',
    registers: [d.metrics.registry],
    async collect() {
      this.set(await queue.depth().catch(() => -1));
    },
  });

  const limiter = makeLimiter({
    points: d.config.rateLimitSubscribePerMinute,
    durationSeconds: 60,
    keyPrefix: d.redis ? d.redis.keys.key('rl', 'subscribe') : 'subscribe',
    redis: d.redis ? d.redis.shared('limits') : null,
  });
  const router = pushRoutes({ subs: subscriptions, policy, publicKey: vapid.publicKey, subscribeLimit: rateLimit(limiter, (req) => req.ip ?? 'unknown') });

  return {
    router,
    subscriptions,
    close: async (force = false) => {
      if (force) engine.stop();
      await queue.close(force);
      sender.close();
      await subscriptions.close();
    },
  };
}
