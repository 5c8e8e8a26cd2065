/**
 * Rate limiters (rate-limiter-flexible) shared by every channel: HTTP routes wrap them in `http/rate-limit.ts`,
 * Socket.IO and SSE call `consume` directly.
 */
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

/**
 * Takes one point from `key`'s budget, or throws 429 `rate_limited` with Retry-After (as a header over HTTP and
 * as `retryAfter` seconds in the error, for Socket.IO acks and connect errors).
 */
export async function consume(limiter: RateLimiterAbstract | null, key: string): Promise<void> {
  if (!limiter) return;
  try {
    await limiter.consume(key);
  } catch (rej) {
    if (!(rej instanceof RateLimiterRes)) throw rej;
    const seconds = Math.max(1, Math.ceil(rej.msBeforeNext / 1000));
    throw new ApiError('rate_limited', `Too many requests; retry in ${seconds} s.`, undefined, { retryAfter: seconds }, { 'Retry-After': String(seconds) });
  }
}

