import { timingSafeEqual, createHash } from 'node:crypto';
import type { RequestHandler, Request, Response } from 'express';
import type { PublisherKey } from '../config.ts';
import { ApiError } from '../domain/errors.ts';
import { covers, TOPIC_RE, type Topic } from '../domain/topic.ts';
import type { PublisherKeyRing } from './publisher-keys.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time string comparison (hashing first so the lengths do not leak either). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export function bearerToken(req: Request): string | null {
  const h = req.headers.authorization;
  if (!h) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1]! : null;
}

/** Finds the publisher whose key was presented, comparing every key in constant time. */
export function findPublisher(keys: readonly PublisherKey[], token: string | null): PublisherKey | null {
  if (!token) return null;
  let found: PublisherKey | null = null;
  for (const k of keys) if (safeEqual(k.key, token)) found = k;
  return found;
}

/** Who is writing: `res.locals.publisher` (rate limits, logs) and `res.locals.scope` (what it may write). */
export function setPublisher(res: Response, publisher: Pick<PublisherKey, 'name' | 'scope'>): void {
  res.locals.publisher = publisher.name;
  res.locals.scope = publisher.scope;
}

/** Requires `Authorization: Bearer <publisher key>` (one of the keys in force now); see setPublisher. */
export function requirePublisher(keys: PublisherKeyRing): RequestHandler {
  return (req, res, next) => {
    const publisher = findPublisher(keys.current(), bearerToken(req));
    if (!publisher) return next(new ApiError('unauthorized', 'Send Authorization: Bearer <publisher key>.'));
    setPublisher(res, publisher);
    next();
  };
}

/** The scope of the authenticated writer; a request that did not pass through setPublisher may write nothing. */
function scopeOf(res: Response): readonly Topic[] | null {
  const scope = res.locals.scope as readonly Topic[] | null | undefined;
  if (scope === undefined) throw new ApiError('forbidden', 'No publisher authenticated for this write.');
  return scope;
}

/**
 * Refuses (403 `forbidden`) a write by a scoped key that touches a topic outside its scope: every topic of the
 * article as sent and, when it exists, as stored must fall under one of the key's topics (a topic covers its
 * subtopics). Strings that are not topics are left to validation (400). Unscoped keys may write anything.
 */
export function assertInScope(res: Response, topics: unknown, what: string): void {
  const scope = scopeOf(res);
  if (scope === null || !Array.isArray(topics)) return;
  const outside = topics.filter((t): t is string => typeof t === 'string' && TOPIC_RE.test(t) && !scope.some((s) => covers(s, t)));
  if (outside.length === 0) return;
  throw new ApiError(
    'forbidden',
    `The key of ${JSON.stringify(res.locals.publisher)} may write only under ${scope.join(', ')}; ${what} ${outside.join(', ')}.`,
    undefined,
    { scope },
  );
}
