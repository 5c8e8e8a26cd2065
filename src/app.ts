import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import cors from 'cors';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import proxyAddr from 'proxy-addr';
import type { Config } from './config.ts';
import { DEFAULT_REPLAY_LIMITS, LiveFeed } from './delivery/feed.ts';
import { ConnectionLimits } from './delivery/connections.ts';
import { SocketIoChannel } from './delivery/socketio.ts';
import { SseChannel } from './delivery/sse.ts';
import { articleRoutes } from './http/articles.ts';
import { errorHandler, notFoundHandler } from './http/errors.ts';
import { PublisherKeyRing, type ReloadResult } from './http/publisher-keys.ts';
import { openApiRoute } from './http/openapi.ts';
import { opsRoutes } from './http/ops.ts';
import { rateLimit } from './http/rate-limit.ts';
import { readingRoutes } from './http/reading.ts';
import { articleIdFor } from './ninjs/ids.ts';
import { ninjsRouter } from './ninjs/router.ts';
import { EmbargoScheduler } from './news/embargo.ts';
import type { RandomSource } from './news/ids.ts';
import { NewsService } from './news/service.ts';
import { pushAudience } from './push/audience.ts';
import { createPush } from './push/module.ts';
import { createReports } from './reports/module.ts';
import type { Resolver } from './push/endpoint.ts';
import { systemClock, type Clock } from './domain/clock.ts';
import { createLogger, type Logger } from './ops/logger.ts';
import { Metrics } from './ops/metrics.ts';
import { openEngine, type Engine } from './storage/engine.ts';
import type { Store } from './storage/store.ts';

export interface App {
  readonly config: Config;
  readonly logger: Logger;
  readonly server: Server;
  /** The Express application behind `server` (its router stack lists every route it serves). */
  readonly express: Express;
  readonly store: Store;
  readonly news: NewsService;
  readonly metrics: Metrics;
  /** Starts listening on config.host:config.port (port 0: a free one). */
  listen(): Promise<AddressInfo>;
  /** Re-reads PUBLISHER_KEYS_FILE (main.ts calls it on SIGHUP); invalid files keep the keys in force. */
  reloadPublisherKeys(): ReloadResult;
  /** Stops taking work, closes clients, channels and storage in reverse order of creation. */
  close(): Promise<void>;
}

export interface AppOptions {
  logger?: Logger;
  /** How often SSE streams get a comment line (the contract asks for at least every 30 s). */
  sseHeartbeatMs?: number;
  /** The time for time-dependent logic (quiet hours, push expiry, embargoes); default: the system clock. */
  clock?: Clock;
  /** How push service host names are resolved; default: the system resolver. */
  resolver?: Resolver;
  /** Random bytes for generated article ids; default: crypto.randomBytes. */
  random?: RandomSource;
  /**
   * Builds the stateful parts (default: openEngine, memory or Redis as the config says); the app closes what it
   * returns. The seam for embedding the server with parts of one's own, e.g. a push queue wrapped to fail.
   */
  engine?: (config: Config, logger: Logger) => Promise<Engine>;
}

/** The caller's X-Request-Id when it looks like one (a proxy's), else a fresh one; echoed on the response. */
function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/** A request line's level: errors (and 5xx) error, other refusals info, the rest debug. */
function logLevelOf(status: number, err?: unknown): 'error' | 'info' | 'debug' {
  return err || status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug';
}

const STREAM_PATH = '/api/v1/stream';

const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));
const PURIFY = fileURLToPath(import.meta.resolve('dompurify'));
// The newsroom console's rich-text editor: Quill's prebuilt browser bundle and theme.
const QUILL = fileURLToPath(import.meta.resolve('quill/dist/quill.js'));
const QUILL_CSS = fileURLToPath(import.meta.resolve('quill/dist/quill.snow.css'));

/** The composition root: builds every part from the validated config and wires them together. */
export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const metrics = new Metrics();
  if (config.weakPublisherKeys.length > 0) {
    logger.warn({ publishers: config.weakPublisherKeys }, 'publisher keys shorter than 16 characters are easy to guess');
  }
  if (config.trustProxy === true) {
    logger.warn(
      { trustProxy: true },
      'TRUST_PROXY=true believes every X-Forwarded-For address, so a client can send its own and step past per-address limits; set TRUST_PROXY to the number of proxies in front (e.g. 1) or their addresses',
    );
  }
  const closers: Array<[string, () => Promise<void> | void]> = [];
  let closing = false;
  const publisherKeys = new PublisherKeyRing(config.publisherKeys, config.publisherKeysFile, logger);
  publisherKeys.watch();
  closers.push(['publisher keys', () => publisherKeys.close()]);

  // The one place where memory or Redis is chosen: every stateful part comes from the engine.
  const engine = await (options.engine ?? openEngine)(config, logger);
  closers.push(['storage engine', () => engine.close()]);
  const { store } = engine;

  const clock = options.clock ?? systemClock;
  const now = () => new Date(clock());
  const news = new NewsService({ store, now, logger, random: options.random });

  // Readers may look an article up by the guid/uri its CMS gave it: the mapping is deterministic.
  const resolveId = async (id: string) => articleIdFor(id);
  const reports = await createReports({ config, engine, logger, publisherKeys, resolveId });
  closers.push(['reports', () => reports.close()]);
  const push = await createPush({ config, engine, logger, metrics, clock, resolver: options.resolver, reports });
  closers.push(['web push', () => push.close()]);

  const embargoes = new EmbargoScheduler(news, logger, now);
  embargoes.start();
  closers.push(['embargo scheduler', () => embargoes.close()]);

  const feed = new LiveFeed(store, metrics, logger, {
    ...DEFAULT_REPLAY_LIMITS,
    maxEvents: config.replayMaxEvents,
    concurrency: config.replayConcurrency,
    drainTimeoutMs: config.replayDrainTimeoutSeconds * 1000,
  });
  feed.counter = reports.counter;
  closers.push(['live feed', () => feed.close()]);

  const http = express();
  http.disable('x-powered-by');
  if (config.trustProxy !== undefined) http.set('trust proxy', config.trustProxy);
  const server = createServer(http);

  // History reads (the events API, and subscriptions with a cursor) are budgeted per client address.
  const historyLimiter = engine.limiter('history', config.rateLimitHistoryPerMinute, 60);
  const addressOf = (req: IncomingMessage) => proxyAddr(req, http.get('trust proxy fn'));
  const connections = new ConnectionLimits(config.maxConnectionsPerAddress, config.maxConnections, metrics);
  const sockets = new SocketIoChannel(server, feed, logger, metrics, config.corsOrigins, { limiter: historyLimiter, addressOf, connections });
  closers.push(['socket.io', () => sockets.close()]);
  const sse = new SseChannel(feed, logger, metrics, options.sseHeartbeatMs, historyLimiter);
  closers.push(['sse', () => sse.close()]);
  news.measureAudienceWith(async (event) => ({
    push: await pushAudience(engine.subscriptions, event, now()),
    live: (await sockets.followers(event.topics)) + sse.followers(event.topics),
  }));

  const publishLimiter = engine.limiter('publish', config.rateLimitPublishPerSecond, 1);
  const publishLimit = rateLimit(publishLimiter, (_req, res) => String(res.locals.publisher));

  const ready = async () => {
    if (closing) return false;
    await store.ping();
    return true;
  };
  const requestLog = pinoHttp({
    logger,
    // Probes and scrapes would drown the log; long-lived streams are logged when they end.
    autoLogging: { ignore: (req) => ['/healthz', '/readyz', '/metrics'].includes(req.url ?? '') },
    customLogLevel: (_req, res, err) => logLevelOf(res.statusCode, err),
    // Who wrote: the publisher's name (never the key) on every authenticated request's line.
    customProps: (_req, res) => ({ publisher: (res as { locals?: { publisher?: string } }).locals?.publisher }),
    // A request line says what was asked and how it ended (plus responseTime), not every header.
    genReqId: requestId,
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  });
  // An SSE stream lives for hours: it gets its request id and the same one line when it ends, without the two
  // child loggers and listeners pino-http keeps per request (most of them would sit with every open stream).
  const streamLog = (req: Request, res: Response, next: NextFunction) => {
    const id = requestId(req, res);
    const start = Date.now();
    res.once('close', () => {
      const level = logLevelOf(res.statusCode);
      const line = { req: { id, method: req.method, url: req.originalUrl }, res: { statusCode: res.statusCode }, responseTime: Date.now() - start };
      logger[level](line, level === 'error' ? 'request errored' : 'request completed');
    });
    next();
  };
  http.use((req, res, next) => (req.path === STREAM_PATH ? streamLog : requestLog)(req, res, next));
  const securityHeaders = (overHttps: boolean) =>
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          // Article pictures come from newsroom CDNs.
          imgSrc: ["'self'", 'https:', 'http:', 'data:'],
          connectSrc: ["'self'"],
          workerSrc: ["'self'"],
          objectSrc: ["'none'"],
          // The alerts page is meant to be embedded in news sites.
          frameAncestors: ['*'],
          // Only over https: on plain http (a LAN address, the compose stack) it would send every fetch to https.
          upgradeInsecureRequests: overHttps ? [] : null,
        },
      },
      frameguard: false,
      // Sites on other origins load /socket.io/socket.io.js and the API from here.
      crossOriginResourcePolicy: { policy: 'cross-origin' },
    });
  const [httpsHeaders, httpHeaders] = [securityHeaders(true), securityHeaders(false)];
  // req.secure: the connection, or X-Forwarded-Proto from a proxy that TRUST_PROXY trusts.
  http.use((req, res, next) => (req.secure ? httpsHeaders : httpHeaders)(req, res, next));
  http.use(opsRoutes(metrics, ready));
  // Receipts come from the news site's service worker, whatever CORS_ORIGINS says.
  http.use('/api/v1/push/receipts', reports.receipts);
  // The API, and the client modules (/client/*.js) that sites on those origins import.
  if (config.corsOrigins) http.use(['/api', '/client'], cors({ origin: config.corsOrigins.includes('*') ? true : config.corsOrigins }));
  http.use('/api/v1', reports.router);
  http.use('/api/v1/articles', articleRoutes({ news, publisherKeys, publishLimit, resolveId }));
  http.use('/api/v1/push', push.router);
  http.use('/api/v1/ninjs', ninjsRouter({ config, news, store, logger, publishLimit, keys: publisherKeys, now }));
  http.use(openApiRoute());
  const historyBudget = rateLimit(historyLimiter, (req) => req.ip ?? '');
  http.use('/api/v1', readingRoutes(store, config.topics, { budget: historyBudget, maxBehind: config.replayMaxEvents }, config.topicNames));
  http.get(STREAM_PATH, connections.sse(), sse.handler());
  // The pages load DOMPurify as an ES module straight from the installed package: no build step, no copy in git.
  http.get('/vendor/purify.js', (_req, res) => res.type('text/javascript').sendFile(PURIFY));
  http.get('/vendor/quill.js', (_req, res) => res.type('text/javascript').sendFile(QUILL));
  http.get('/vendor/quill.snow.css', (_req, res) => res.type('text/css').sendFile(QUILL_CSS));
  // Browsers ask for /favicon.ico before (or without) reading a page's <link rel="icon">.
  http.get('/favicon.ico', (_req, res) => res.redirect(301, '/favicon.svg'));
  http.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: '5m' }));
  http.use(notFoundHandler);
  http.use(errorHandler(logger, metrics));

  const shutdown = async () => {
    if (closing) return;
    closing = true;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const [name, close] of closers.reverse()) {
      try {
        await close();
      } catch (err) {
        logger.warn({ err, part: name }, 'error while closing');
      }
    }
    server.closeAllConnections();
    await stopped;
  };

  return {
    config,
    logger,
    server,
    express: http,
    store,
    news,
    metrics,
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    reloadPublisherKeys: () => publisherKeys.reload('SIGHUP'),
    close: shutdown,
  };
}
