import type { Request, RequestHandler } from 'express';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { consume } from '../ops/limits.ts';

/** Express middleware answering 429 `rate_limited` with Retry-After once `keyOf(req)` is over its limit. */
export function rateLimit(limiter: RateLimiterAbstract | null, keyOf: (req: Request, res: Parameters<RequestHandler>[1]) => string): RequestHandler {
  return async (req, res, next) => {
    if (!limiter) return next();
    try {
      await consume(limiter, keyOf(req, res));
      next();
    } catch (err) {
      next(err);
    }
  };
}
