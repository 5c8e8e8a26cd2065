import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The Prometheus registry of one server instance (not the global one, so several servers can run in one test
 * process). Modules register their own metrics on `registry`; the shared ones are here.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly eventsPublished = new Counter({
    name: 'newspush_events_published_total',
    help: 'Events taken from the history by this node for Web Push (each event once per deployment), by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly writesRejected = new Counter({
    name: 'newspush_http_errors_total',
    help: 'Error answers by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: 'newspush_deliveries_total',
    help: 'Events sent to connected clients, by channel (socketio, sse) and kind (live, replay)',
    labelNames: ['channel', 'kind'] as const,
    registers: [this.registry],
  });
  readonly connections = new Gauge({
    name: 'newspush_connections',
    help: 'Connected clients by channel',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });
  readonly connectionsRefused = new Counter({
    name: 'newspush_connections_refused_total',
    help: 'Socket.IO and SSE connections refused by MAX_CONNECTIONS_PER_ADDRESS (reason address) or MAX_CONNECTIONS (node), by channel',
    labelNames: ['channel', 'reason'] as const,
    registers: [this.registry],
  });
  readonly resyncs = new Counter({
    name: 'newspush_resyncs_total',
    help: 'Clients told to resync (reload) instead of a replay, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly fanoutLag = new Histogram({
    name: 'newspush_fanout_lag_seconds',
    help: 'Time from an event being written to this node handing it to its clients',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly publicationToAcceptance = new Histogram({
    name: 'newspush_publication_to_acceptance_seconds',
    help: 'From publication to a push service accepting the alert (each accepted push)',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800],
    registers: [this.registry],
  });
  readonly publicationToLive = new Histogram({
    name: 'newspush_publication_to_live_seconds',
    help: 'From publication to this node handing the event to its connected clients (events with at least one)',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
