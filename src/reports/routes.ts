import cors from 'cors';
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { ApiError, parseOrThrow } from '../domain/errors.ts';
import { covers } from '../domain/topic.ts';
import { requirePublisher } from '../http/auth.ts';
import type { PublisherKeyRing } from '../http/publisher-keys.ts';
import type { Store } from '../storage/store.ts';
import type { ReceiptTokens } from './receipts.ts';
import type { RawReport, ReportStore } from './store.ts';
import { C, summary, versionReport } from './view.ts';

export const receiptBody = z.strictObject({ receipt: z.string().min(1).max(300), action: z.enum(['shown', 'opened']) });
export const reportsQuery = z.object({
  since: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** Bodies of receipts are tiny; sendBeacon sends them as text/plain. */
const MAX_RECEIPT_BYTES = 1_024;

export interface ReceiptRouteDeps {
  tokens: ReceiptTokens;
  reports: ReportStore;
  limit: RequestHandler;
}

/**
 * POST /api/v1/push/receipts: the service worker says it showed a notification or the reader opened it. Open to
 * any origin (the news site's worker posts it), no credentials; the token is the only proof, counted once per
 * (event, subscription, action). Every refusal leaves the figures as they were.
 */
export function receiptRoutes(d: ReceiptRouteDeps): Router {
  const r = Router();
  r.use(cors({ origin: '*', methods: ['POST'], credentials: false }));
  const text = express.text({ type: ['text/plain', 'application/json'], limit: MAX_RECEIPT_BYTES });
  r.post('/', d.limit, (req, res, next) =>
    text(req, res, (err?: unknown) => {
      if (!err) return next();
      const e = err as { type?: string };
      next(e.type === 'entity.too.large' ? new ApiError('payload_too_large', `A receipt is at most ${MAX_RECEIPT_BYTES} bytes.`) : new ApiError('validation_failed', 'The receipt body could not be read.'));
    }),
    async (req, res) => {
      let json: unknown;
      try {
        json = JSON.parse(typeof req.body === 'string' ? req.body : '');
      } catch {
        throw new ApiError('validation_failed', 'Send {"receipt": "<token>", "action": "shown" | "opened"} as JSON.');
      }
      const body = parseOrThrow(receiptBody, json);
      const checked = d.tokens.check(body.receipt);
      if (checked === 'malformed') throw new ApiError('validation_failed', 'The receipt token is malformed.', [{ field: 'receipt', message: 'not a receipt token' }]);
      if (checked === 'forged') throw new ApiError('forbidden', 'The receipt token does not verify.');
      if (!(await d.reports.get(checked.eventId))) throw new ApiError('not_found', 'No report for this event (any more).');
      const counted = await d.reports.receipt(checked.eventId, `${checked.subscriptionId}:${body.action}`, body.action === 'shown' ? C.shown : C.opened);
      res.json({ counted });
    },
  );
  return r;
}

export interface ReportRouteDeps {
  reports: ReportStore;
  store: Store;
  publisherKeys: PublisherKeyRing;
  resolveId: (id: string) => Promise<string>;
  /** Live report streams: how often figures are looked at (at most one update per period), and the heartbeat. */
  streamPeriodMs?: number;
  heartbeatMs?: number;
}

const visible = (res: Response, topics: readonly string[]) => {
  const scope = res.locals.scope as readonly string[] | null;
  return scope === null || topics.every((t) => scope.some((s) => covers(s, t)));
};

/** The reports: per article (and its live stream), and the recent alerts; publisher key, scoped keys see their scope. */
export function reportRoutes(d: ReportRouteDeps): { router: Router; close(): void } {
  const r = Router();
  const streams = new Set<Response>();
  const auth = requirePublisher(d.publisherKeys);

  /** The article's report, or 404 for an unknown article or one outside the key's scope (no probing). */
  const reportOf = async (req: Request, res: Response) => {
    const id = await d.resolveId(String(req.params.id));
    const article = await d.store.getArticle(id);
    if (!article || !visible(res, article.topics)) throw new ApiError('not_found', 'No such article.');
    return async () => ({ articleId: id, versions: (await d.reports.forArticle(id)).map(versionReport) });
  };

  r.get('/articles/:id/report', auth, async (req, res) => {
    res.json(await (await reportOf(req, res))());
  });

  r.get('/articles/:id/report/stream', auth, async (req, res) => {
    const read = await reportOf(req, res);
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    streams.add(res);
    let last = '';
    let busy = false;
    const send = async () => {
      if (busy || res.writableEnded) return;
      busy = true;
      try {
        const json = JSON.stringify(await read());
        if (json !== last && !res.writableEnded) res.write(`event: report\ndata: ${json}\n\n`);
        last = json;
      } catch {
        // Storage trouble: the next tick tries again; the stream stays open.
      } finally {
        busy = false;
      }
    };
    const tick = setInterval(() => void send(), d.streamPeriodMs ?? 1_000);
    const beat = setInterval(() => res.write(': heartbeat\n\n'), d.heartbeatMs ?? 15_000);
    tick.unref();
    beat.unref();
    res.on('close', () => {
      clearInterval(tick);
      clearInterval(beat);
      streams.delete(res);
    });
    await send();
  });

  r.get('/reports', auth, async (req, res) => {
    const q = parseOrThrow(reportsQuery, req.query);
    const since = q.since ? Date.parse(q.since) : 0;
    // Read more than asked when the key is scoped: reports outside its scope are dropped after reading.
    const scoped = res.locals.scope !== null;
    const found: RawReport[] = await d.reports.recent(since, scoped ? Math.min(q.limit * 10, 1_000) : q.limit);
    res.json({ reports: found.filter((x) => visible(res, x.meta.topics)).slice(0, q.limit).map(summary) });
  });

  return {
    router: r,
    close: () => {
      for (const s of streams) s.end();
      streams.clear();
    },
  };
}
