import { Redis, ReplyError } from 'ioredis';

/** host:port of a Redis URL, without the credentials it may carry (for messages). */
export function redisEndpoint(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 6379}`;
  } catch {
    return 'the given address';
  }
}

/**
 * Connects to Redis and sends PING, retrying until `deadlineMs` has passed (Redis may be starting next to us), so
 * start-up can refuse an unreachable REDIS_URL instead of serving 503s. A refused password or an unknown database
 * fails at once: retrying will not fix it. Resolves when Redis answered; rejects with the last reason otherwise.
 */
export async function probeRedis(url: string, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  let last: unknown = new Error('no attempt');
  while (Date.now() < deadline) {
    const client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: Math.max(100, deadline - Date.now()),
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    });
    // connect() itself only says "Connection is closed."; the socket's error says why (ECONNREFUSED, ENOTFOUND).
    let socketError: Error | null = null;
    client.on('error', (err: Error) => (socketError = err));
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      return;
    } catch (err) {
      client.disconnect();
      if (err instanceof ReplyError) throw err;
      last = socketError ?? err;
    }
    await new Promise((r) => setTimeout(r, Math.min(250, Math.max(0, deadline - Date.now()))));
  }
  throw last;
}
