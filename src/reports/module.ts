import type { Router } from 'express';
import type { Config } from '../config.ts';
import type { DeliveryCounter } from '../delivery/feed.ts';
import { rateLimit } from '../http/rate-limit.ts';
import type { PublisherKeyRing } from '../http/publisher-keys.ts';
import type { Logger } from '../ops/logger.ts';
import type { Engine } from '../storage/engine.ts';
import { ReceiptTokens } from './receipts.ts';
import { ReportRecorder } from './recorder.ts';
import { receiptRoutes, reportRoutes } from './routes.ts';
import { C } from './view.ts';

export interface Reports {
  tokens: ReceiptTokens;
  recorder: ReportRecorder;
  /** For LiveFeed: clients handed each event on this node, and replays. */
  counter: DeliveryCounter;
  /** Mounted at /api/v1/push/receipts (before the API's CORS rules: any origin may post one). */
  receipts: Router;
  /** Mounted at /api/v1: /articles/:id/report, /articles/:id/report/stream, /reports. */
  router: Router;
  close(): Promise<void>;
}

/** Alert reports: counts per event in the engine's report store, receipts, and the routes that read them. */
export async function createReports(d: {
  config: Config;
  engine: Engine;
  logger: Logger;
  publisherKeys: PublisherKeyRing;
  resolveId: (id: string) => Promise<string>;
}): Promise<Reports> {
  const tokens = await ReceiptTokens.load(d.config.receiptSecret, d.engine.store);
  const recorder = new ReportRecorder(d.engine.reports, d.logger.child({ part: 'reports' }));
  const limiter = d.engine.limiter('receipts', d.config.rateLimitReceiptsPerMinute, 60);
  const routes = reportRoutes({ reports: d.engine.reports, store: d.engine.store, publisherKeys: d.publisherKeys, resolveId: d.resolveId });
  return {
    tokens,
    recorder,
    counter: {
      live: (event, clients) => recorder.add(event, C.liveDispatched, clients),
      replayed: (event) => recorder.add(event, C.replayed),
    },
    receipts: receiptRoutes({ tokens, reports: d.engine.reports, limit: rateLimit(limiter, (req) => req.ip ?? 'unknown') }),
    router: routes.router,
    close: async () => {
      routes.close();
      await recorder.close();
    },
  };
}
