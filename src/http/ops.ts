import { Router } from 'express';
import type { Metrics } from '../ops/metrics.ts';

/** Liveness, readiness (can it serve: storage reachable, not shutting down) and Prometheus metrics. */
export function opsRoutes(metrics: Metrics, ready: () => Promise<boolean>): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const ok = await ready().catch(() => false);
    res.status(ok ? 200 : 503).json(ok ? { status: 'ready' } : { error: { code: 'unavailable', message: 'Not ready: storage unreachable or shutting down.' } });
  });
  r.get('/metrics', async (_req, res) => {
    res.set('Content-Type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return r;
}
