import { createHmac } from 'node:crypto';
import { Router, type Request, type RequestHandler } from 'express';
import type { Config } from '../config.ts';
import { ApiError } from '../domain/errors.ts';
import { bearerToken, findPublisher, safeEqual, setPublisher } from '../http/auth.ts';
import { jsonBody, rawBodyOf } from '../http/body.ts';
import type { PublisherKeyRing } from '../http/publisher-keys.ts';
import type { NewsService } from '../news/service.ts';
import type { Logger } from '../ops/logger.ts';
import type { Store } from '../storage/store.ts';
import { mapNinjs } from './map.ts';
import { ninjsScope } from './scope.ts';
import { validateNinjs } from './validate.ts';

export interface NinjsDeps {
  config: Config;
  news: NewsService;
  logger: Logger;
  /** Rate limit per publisher (res.locals.publisher), as for the other writes. */
  publishLimit: RequestHandler;
  /** The app's clock: decides whether an embargo is still in the future. */
  now: () => Date;
  /** The publisher keys in force (rotated without a restart). */
  keys: PublisherKeyRing;
  /** Read-only: the scope check looks at the stored and held versions an ninjs document would touch. */
  store: Store;
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
 * POST /api/v1/ninjs: an IPTC ninjs (or Superdesk) document validated and mapped onto the news service's writes:
 * `usable` publishes (the same upsert as POST /api/v1/articles), `withheld` and a future `embargoed` hold the
 * version (202), `canceled` retracts. The rules of each (versions, retractions, held versions) are the service's.
 */
export function ninjsRouter(deps: NinjsDeps): Router {
  const r = Router();
  const rules = { map: deps.config.ninjsTopicMap, defaultTopic: deps.config.ninjsDefaultTopic };
  // The body is parsed (and its raw bytes kept) before authentication: the signature covers those bytes.
  r.post('/', ...jsonBody(), authenticate(deps.config, deps.keys), deps.publishLimit, ninjsScope(deps.store, rules, deps.now), async (req: Request, res) => {
    const flavour = validateNinjs(req.body);
    const intent = mapNinjs(req.body as Record<string, unknown>, flavour, rules, deps.now());
    deps.logger.info({ guid: intent.guid, id: intent.input.id, action: intent.action, flavour }, 'ninjs received');
    // The name of the key (or `superdesk`) goes with the version; `?audience=true` counts whom it reaches.
    const context = { author: String(res.locals.publisher), audience: req.query.audience === 'true' };
    const { status, ...answer } =
      intent.action === 'retract'
        ? await deps.news.retract(String(intent.input.id), { reason: 'Withdrawn by the newsroom (pubstatus canceled).' }, context)
        : intent.action === 'hold'
          ? await deps.news.hold(intent.input, { releaseAt: intent.embargoUntil, supersedes: intent.supersedes, ...context })
          : await deps.news.publish(intent.input, { supersedes: intent.supersedes, ...context });
    res.status(status).json(answer);
  });
  return r;
}
