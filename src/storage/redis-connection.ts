import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../ops/logger.ts';

/** Every Redis key is built here, under one prefix, so deployments can share a Redis and keys never collide. */
export class RedisKeys {
  constructor(readonly prefix = 'newspush') {}
  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }
}

export type RedisRole = 'commands' | 'tail' | 'group' | 'queue' | 'limits';

/**
 * Makes Redis connections that fail fast while Redis is down (no offline queue, no endless retries of one
 * command), so a write answers 503 instead of hanging, and reconnect on their own when it is back.
 */
export class RedisFactory {
  private readonly clients = new Set<Redis>();
  private readonly sharedClients = new Map<RedisRole, Redis>();
  constructor(
    readonly url: string,
    /** Where connection trouble is logged (also by the parts that use these connections). */
    readonly logger: Logger,
    readonly keys = new RedisKeys(),
  ) {}

  create(role: RedisRole, extra: RedisOptions = {}): Redis {
    const client = new Redis(this.url, {
      connectionName: `newspush:${role}`,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
      ...extra,
    });
    let down = false;
    client.on('error', (err) => {
      if (!down) this.logger.warn({ role, err: err.message }, 'redis connection error');
      down = true;
    });
    client.on('ready', () => {
      if (down) this.logger.info({ role }, 'redis connection back');
      down = false;
    });
    this.clients.add(client);
    return client;
  }

  /** One connection per role for the whole app, for parts that only send short commands (rate limits). */
  shared(role: RedisRole): Redis {
    let c = this.sharedClients.get(role);
    if (!c) this.sharedClients.set(role, (c = this.create(role)));
    return c;
  }

  /**
   * Resolves once `client` is connected, or after `ms` (the server still starts while Redis is down, and reports
   * not ready): connections without an offline queue refuse commands until then.
   */
  waitReady(client: Redis, ms = 5_000): Promise<void> {
    if (client.status === 'ready') return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      t.unref();
      client.once('ready', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Disconnects every connection it made. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.clients].map(async (c) => {
        try {
          await c.quit();
        } catch {
          c.disconnect();
        }
      }),
    );
    this.clients.clear();
    this.sharedClients.clear();
  }
}
