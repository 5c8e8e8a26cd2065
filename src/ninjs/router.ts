import { createHmac } from 'node:crypto';
import { Router, type Request, type RequestHandler } from 'express';
import type { Config } from '../config.ts';
import { articleInputSchema } from '../domain/article.ts';
import { ApiError, parseOrThrow } from '../domain/errors.ts';
import { bearerToken, findPublisher, safeEqual, setPublisher } from '../http/auth.ts';
import { jsonBody, rawBodyOf } from '../http/body.ts';
import type { PublisherKeyRing } from '../http/publisher-keys.ts';
import type { NewsService } from '../news/service.ts';
import type { Logger } from '../ops/logger.ts';
import type { Store } from '../storage/store.ts';
import { mapNinjs, type NinjsIntent } from './map.ts';
import { ninjsScope } from './scope.ts';
import { validateNinjs } from './validate.ts';

/** What a held (embargoed or withheld) ninjs version keeps for its release. */
export interface HeldPayload {
  input: Record<string, unknown>;
  supersedes: string | null;
}

export interface NinjsDeps {
  config: Config;
  news: NewsService;
  store: Store;
  logger: Logger;
  /** Rate limit per publisher (res.locals.publisher), as for the other writes. */
  publishLimit: RequestHandler;
  /** The publisher keys in force (rotated without a restart). */
  keys: PublisherKeyRing;
}

/** Superdesk's HTTP Push signature: `sha1=<hex HMAC-SHA1 of the raw body>` with the output's secret token. */
export function superdeskSignature(secret: string, body: Buffer | string): string {
  return `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
}

/** A publisher key, or (when NINJS_HMAC_SECRET is set) a valid Superdesk signature over the raw body bytes. */
function authenticate(config: Config, keys: PublisherKeyRing): RequestHandler {
  return (req, res, next) => {
    const publisher = findPublisher(keys.current(), bearerToken(req));
    if (publisher) {
      setPublisher(res, publisher);
      return next();
    }
    const signature = req.headers['x-superdesk-signature'];
    if (config.ninjsHmacSecret && typeof signature === 'string' && safeEqual(signature.trim().toLowerCase(), superdeskSignature(config.ninjsHmacSecret, rawBodyOf(req)))) {
      setPublisher(res, { name: 'superdesk', scope: null });
      return next();
    }
    const how = config.ninjsHmacSecret ? 'Authorization: Bearer <publisher key> or a valid x-superdesk-signature' : 'Authorization: Bearer <publisher key>';
    next(new ApiError('unauthorized', `Send ${how}.`));
  };
}

/**
 * POST /api/v1/ninjs: an IPTC ninjs (or Superdesk) document mapped onto the same upsert as POST /api/v1/articles.
 * `usable` publishes, `withheld` and a future `embargoed` hold the version, `canceled` retracts.
 */
export function ninjsRouter(deps: NinjsDeps): Router {
  const r = Router();
  const rules = { map: deps.config.ninjsTopicMap, defaultTopic: deps.config.ninjsDefaultTopic };
  // The body is parsed (and its raw bytes kept) before authentication: the signature covers those bytes.
  r.post('/', ...jsonBody(), authenticate(deps.config, deps.keys), deps.publishLimit, ninjsScope(deps.store, rules), async (req: Request, res) => {
    const flavour = validateNinjs(req.body);
    const intent = mapNinjs(req.body as Record<string, unknown>, flavour, rules, new Date());
    deps.logger.info({ guid: intent.guid, id: intent.input.id, action: intent.action, flavour }, 'ninjs received');
    if (intent.action === 'retract') {
      const held = await deps.store.getHeld(String(intent.input.id));
      if (held) await deps.store.dropHeld(held);
      const result = await deps.news.retract(String(intent.input.id), { reason: 'Withdrawn by the newsroom (pubstatus canceled).' });
      res.status(result.status).json({ event: result.event, article: result.article });
      return;
    }
    if (intent.action === 'hold') {
      res.status(202).json(await hold(deps, intent));
      return;
    }
    const result = await deps.news.publish(intent.input, intent.supersedes ? { supersedes: intent.supersedes } : {});
    await releaseSuperseded(deps.store, String(intent.input.id), result.article.version);
    res.status(result.status).json({ event: result.event, article: result.article });
  });
  return r;
}

/** Keeps a version back; refused now (not at release time) when it is invalid or older than what is published. */
async function hold(deps: NinjsDeps, intent: NinjsIntent) {
  const input = parseOrThrow(articleInputSchema, intent.input);
  const current = await deps.store.getArticle(input.id);
  if (current?.status === 'retracted') throw new ApiError('retracted', `Article ${input.id} has been retracted.`, undefined, { currentVersion: current.version });
  if (current && input.version !== undefined && input.version <= current.version) {
    throw new ApiError('stale_version', `Article ${input.id} is already at version ${current.version}.`, undefined, { currentVersion: current.version });
  }
  const releaseAt = intent.embargoUntil ? intent.embargoUntil.toISOString() : null;
  const payload: HeldPayload = { input: intent.input, supersedes: intent.supersedes };
  await deps.store.hold({ id: input.id, releaseAt, payload });
  return { event: null, article: current, held: { id: input.id, version: input.version ?? null, releaseAt } };
}

/** A usable version published directly replaces a held one of the same or an older version. */
async function releaseSuperseded(store: Store, id: string, version: number): Promise<void> {
  const held = await store.getHeld(id);
  const heldVersion = (held?.payload as HeldPayload | undefined)?.input.version;
  if (held && (typeof heldVersion !== 'number' || heldVersion <= version)) await store.dropHeld(held);
}
