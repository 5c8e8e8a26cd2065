import type { Request, RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { ApiError } from '../domain/errors.ts';

export interface LimitOptions {
  /** Requests allowed per `durationSeconds`; 0 turns the limit off. */
  points: number;
  durationSeconds: number;
  keyPrefix: string;
  /** Shared counters across nodes when given; while Redis is down, a per-node memory limiter stands in. */
  redis: Redis | null;
}

export function makeLimiter(o: LimitOptions): RateLimiterAbstract | null {
  if (o.points <= 0) return null;
  const memory = new RateLimiterMemory({ points: o.points, duration: o.durationSeconds, keyPrefix: o.keyPrefix });
  if (!o.redis) return memory;
  return new RateLimiterRedis({
    storeClient: o.redis,
    points: o.points,
    duration: o.durationSeconds,
    keyPrefix: o.keyPrefix,
    rejectIfRedisNotReady: true,
    insuranceLimiter: memory,
  });
}

/** Express middleware answering 429 `rate_limited` with Retry-After once `keyOf(req)` is over its limit. */
export function rateLimit(limiter: RateLimiterAbstract | null, keyOf: (req: Request, res: Parameters<RequestHandler>[1]) => string): RequestHandler {
  return async (req, res, next) => {
    if (!limiter) return next();
    try {
      await limiter.consume(keyOf(req, res));
      next();
    } catch (rej) {
      if (!(rej instanceof RateLimiterRes)) return next(rej);
      const retryAfter = String(Math.max(1, Math.ceil(rej.msBeforeNext / 1000)));
      next(new ApiError('rate_limited', `Too many requests; retry in ${retryAfter} s.`, undefined, undefined, { 'Retry-After': retryAfter }));
    }
  };
}
