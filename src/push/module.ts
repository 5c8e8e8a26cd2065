import { Gauge } from 'prom-client';
import type { Router } from 'express';
import type { Config } from '../config.ts';
import type { Clock } from '../domain/clock.ts';
import { rateLimit } from '../http/rate-limit.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { Engine } from '../storage/engine.ts';
import { EndpointPolicy, type Resolver } from './endpoint.ts';
import { PushEngine } from './engine.ts';
import { pushRoutes } from './routes.ts';
import { PushSender } from './sender.ts';
import { loadVapid } from './vapid.ts';

export interface PushDeps {
  config: Config;
  engine: Engine;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  resolver?: Resolver;
}

export interface PushModule {
  router: Router;
  /** Stops consuming the history and taking jobs; running batches finish (what is left stays queued). */
  close(): Promise<void>;
}

/**
 * Web Push as a consumer of the history: the engine's push feed hands each event to one node of the deployment,
 * which queues its fan-out; the feed acknowledges the event only once that job is queued, so an event is never
 * lost between its commit and its fan-out (a failed queue write is retried, a dead node's event taken over).
 */
export async function createPush(d: PushDeps): Promise<PushModule> {
  const logger = d.logger.child({ part: 'push' });
  const { store, subscriptions, pushQueue: queue, pushFeed } = d.engine;
  const vapid = await loadVapid(d.config, store);
  const policy = new EndpointPolicy(d.config.pushEndpointHosts, { allowPrivateNetworks: d.config.pushAllowPrivateNetworks, resolver: d.resolver });
  if (d.config.pushAllowPrivateNetworks) {
    logger.warn({ hosts: d.config.pushEndpointHosts }, 'PUSH_ALLOW_PRIVATE_NETWORKS is on: these push hosts may resolve to private and loopback addresses');
  }
  const sender = new PushSender(vapid, policy);
  const engine = new PushEngine(subscriptions, queue, sender, logger, {
      ttlSeconds: d.config.pushTtlSeconds,
      articleTtlSeconds: d.config.articleTtlSeconds,
      current: (id) => store.getArticle(id),
    }, d.metrics.registry, d.clock);
  const stopWorkers = engine.start();
  const stopConsuming = pushFeed.consume(async (event) => {
    await engine.queueFanout(event);
    d.metrics.eventsPublished.inc({ type: event.type });
  });

  new Gauge({
    name: 'newspush_push_queue_depth',
    help: 'Push jobs waiting, delayed or running',
    registers: [d.metrics.registry],
    async collect() {
      this.set(await queue.depth().catch(() => -1));
    },
  });

  const limiter = d.engine.limiter('subscribe', d.config.rateLimitSubscribePerMinute, 60);
  const router = pushRoutes({ subs: subscriptions, policy, publicKey: vapid.publicKey, subscribeLimit: rateLimit(limiter, (req) => req.ip ?? 'unknown') });

  return {
    router,
    close: async () => {
      await stopConsuming();
      await stopWorkers();
      sender.close();
    },
  };
}
