import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Router, type Request, type RequestHandler } from 'express';
import { ApiError, parseOrThrow } from '../domain/errors.ts';
import { bearerToken } from '../http/auth.ts';
import { jsonBody } from '../http/body.ts';
import type { EndpointPolicy } from './endpoint.ts';
import type { SubscriptionStore } from './subscriptions.ts';
import { createSubscriptionSchema, preferencesPatchSchema, publicView, type Subscription } from './types.ts';

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

export interface PushRoutesDeps {
  subs: SubscriptionStore;
  policy: EndpointPolicy;
  publicKey: string;
  subscribeLimit: RequestHandler;
}

/** /api/v1/push: the VAPID key, and subscriptions managed with the token their creation returned. */
export function pushRoutes(d: PushRoutesDeps): Router {
  const r = Router();

  /** The subscription, if the bearer token is its own; otherwise 404, the same as an unknown id (no probing). */
  const owned = async (req: Request): Promise<Subscription> => {
    const s = await d.subs.get(String(req.params.id));
    const token = bearerToken(req);
    if (!s || !token || !timingSafeEqual(Buffer.from(hash(token), 'hex'), Buffer.from(s.tokenHash, 'hex'))) {
      throw new ApiError('not_found', 'No such subscription (or not yours).');
    }
    return s;
  };

  r.get('/key', (_req, res) => {
    res.json({ publicKey: d.publicKey });
  });

  r.post('/subscriptions', d.subscribeLimit, ...jsonBody(), async (req, res) => {
    const body = parseOrThrow(createSubscriptionSchema, req.body);
    // Stored in canonical form, so a variant of a known endpoint (FCM.googleapis.com, a trailing dot, :443) is that subscription.
    const endpoint = d.policy.check(body.subscription.endpoint).href;
    const token = randomBytes(32).toString('base64url');
    const { sub, created } = await d.subs.upsert({
      id: randomUUID(),
      endpoint,
      keys: body.subscription.keys,
      topics: [...new Set(body.topics)],
      maxUrgency: body.maxUrgency ?? 4,
      languages: body.languages ?? null,
      quietHours: body.quietHours ?? null,
      tokenHash: hash(token),
      createdAt: new Date().toISOString(),
    });
    res.status(created ? 201 : 200).json({ ...publicView(sub), token });
  });

  r.get('/subscriptions/:id', async (req, res) => {
    res.json(publicView(await owned(req)));
  });

  r.patch('/subscriptions/:id', ...jsonBody(), async (req, res) => {
    const s = await owned(req);
    const patch = parseOrThrow(preferencesPatchSchema, req.body ?? {});
    const updated = await d.subs.update(s.id, {
      ...(patch.topics ? { topics: [...new Set(patch.topics)] } : {}),
      ...(patch.maxUrgency !== undefined ? { maxUrgency: patch.maxUrgency } : {}),
      ...(patch.languages !== undefined ? { languages: patch.languages } : {}),
      ...(patch.quietHours !== undefined ? { quietHours: patch.quietHours } : {}),
    });
    if (!updated) throw new ApiError('not_found', 'No such subscription (or not yours).');
    res.json(publicView(updated));
  });

  r.delete('/subscriptions/:id', async (req, res) => {
    const s = await owned(req);
    await d.subs.delete(s.id);
    res.status(204).end();
  });

  return r;
}
