import { timingSafeEqual, createHash } from 'node:crypto';
import type { RequestHandler, Request } from 'express';
import type { PublisherKey } from '../config.ts';
import { ApiError } from '../domain/errors.ts';

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

/** Requires `Authorization: Bearer <publisher key>`; sets `res.locals.publisher`. */
export function requirePublisher(keys: readonly PublisherKey[]): RequestHandler {
  return (req, res, next) => {
    const publisher = findPublisher(keys, bearerToken(req));
    if (!publisher) return next(new ApiError('unauthorized', 'Send Authorization: Bearer <publisher key>.'));
    res.locals.publisher = publisher.name;
    next();
  };
}
