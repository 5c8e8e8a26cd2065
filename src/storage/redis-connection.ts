import { Redis, ReplyError, type RedisOptions } from 'ioredis';
import type { Logger } from '../ops/logger.ts';

/** Every Redis key is built here, under one prefix, so deployments can share a Redis and keys never collide. */
export class RedisKeys {
  constructor(readonly prefix = 'newspush') {}
  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }
}

export type RedisRole = 'commands' | 'tail' | 'group' | 'queue' | 'limits' | 'wait';

/** A primary found through Redis Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_NAME). */
export interface SentinelEndpoint {
  sentinels: Array<{ host: string; port: number }>;
  /** The master group name the sentinels monitor. */
  name: string;
  password?: string | null;
  sentinelPassword?: string | null;
}

/** A `redis://` URL, or the sentinels to ask for the current primary. */
export type RedisEndpoint = string | SentinelEndpoint;

/** How many replicas must have a write before it is acknowledged (REDIS_MIN_REPLICAS), and how long to wait. */
export interface Durability {
  minReplicas: number;
  waitTimeoutMs: number;
}

/** Fewer replicas than required confirmed the writes in time: answered 503, and the publisher retries. */
export class ReplicasUnconfirmedError extends Error {
  constructor(readonly confirmed: number, readonly required: number, cause?: unknown) {
    super(`${confirmed} of ${required} replicas confirmed the write${cause instanceof Error ? `: ${cause.message}` : ''}`, { cause });
    this.name = 'ReplicasUnconfirmedError';
  }
}

/**
 * Replies that mean "this server cannot take it now" (a primary turned replica, a replica loading its data, no
 * good replicas, out of memory), not a bug: answered 503 like an unreachable Redis.
 */
export function isTransientReplyError(err: unknown): boolean {
  return err instanceof ReplyError && /^(READONLY|LOADING|MASTERDOWN|TRYAGAIN|NOREPLICAS|OOM)\b/.test((err as Error).message);
}

/**
 * Makes Redis connections that fail fast while Redis is down (no offline queue, no endless retries of one
 * command), so a write answers 503 instead of hanging, and reconnect on their own when it is back. With
 * sentinels, every connection asks them for the current primary, and moves when they announce a failover.
 */
export class RedisFactory {
  private readonly clients = new Set<Redis>();
  private readonly sharedClients = new Map<RedisRole, Redis>();
  private readonly replicaWait: ReplicaWait | null;
  constructor(
    readonly endpoint: RedisEndpoint,
    /** Where connection trouble is logged (also by the parts that use these connections). */
    readonly logger: Logger,
    readonly keys = new RedisKeys(),
    readonly durability: Durability = { minReplicas: 0, waitTimeoutMs: 1_000 },
  ) {
    // Its own connection, made up front: WAIT blocks the connection it runs on, and nothing else should queue there.
    const waitConn = async () => {
      const c = this.shared('wait');
      await this.waitReady(c, durability.waitTimeoutMs);
      return c;
    };
    this.replicaWait = durability.minReplicas > 0 ? new ReplicaWait(waitConn, keys.key('wait-barrier'), durability, logger) : null;
    if (this.replicaWait) this.shared('wait');
  }

  create(role: RedisRole, extra: RedisOptions = {}): Redis {
    const options: RedisOptions = {
      connectionName: `newspush:${role}`,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
      // A primary demoted under us answers READONLY: reconnect (through the sentinels) without resending.
      reconnectOnError: (err) => /^READONLY\b/.test(err.message),
      ...extra,
    };
    const ep = this.endpoint;
    const client =
      typeof ep === 'string'
        ? new Redis(ep, options)
        : new Redis({
            sentinels: ep.sentinels,
            name: ep.name,
            ...(ep.password ? { password: ep.password } : {}),
            ...(ep.sentinelPassword ? { sentinelPassword: ep.sentinelPassword } : {}),
            // Subscribes to +switch-master, so a connection to a primary that was replaced (but is still up,
            // e.g. behind a partition) moves to the new one instead of writing where nobody reads.
            failoverDetector: true,
            sentinelRetryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
            ...options,
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
    this.keepAlive(client, role);
    this.clients.add(client);
    return client;
  }

  /**
   * Only a connection's owner ends it (disconnect() or quit()); any other end is connected again. ioredis ends a
   * Sentinel connection for good (every command then fails with "Connection is closed.") when a failover is
   * announced while the connection is reconnecting and waiting for a sentinel to name the primary: the failover
   * detector of its previous, dead socket still listens for +switch-master and cancels that connect, and a
   * cancelled connect is taken as the owner's disconnect. After a primary crashes every connection reconnects
   * just then, so any of them could be lost that way, and all writes answered 503 until a restart.
   */
  private keepAlive(client: Redis, role: RedisRole): void {
    let released = false;
    const disconnect = client.disconnect.bind(client);
    const quit = client.quit.bind(client);
    client.disconnect = (reconnect = false) => {
      if (reconnect) return disconnect(true);
      released = true;
      // Between two connect attempts ioredis's disconnect() only cancels the next one, and the commands queued for
      // it stay pending for ever (a blocking read, and a close() that waits for it: BullMQ's worker does). An
      // attempt started and cancelled at once ends the connection as a failed connect does, rejecting them all
      // with "Connection is closed.".
      if (client.status === 'reconnecting') client.connect().catch(() => undefined);
      disconnect();
    };
    client.quit = ((...args: Parameters<Redis['quit']>) => {
      released = true;
      return quit(...args);
    }) as Redis['quit'];
    // BullMQ makes its blocking connections as copies of the one it is given: they need the same care.
    const duplicate = client.duplicate.bind(client);
    client.duplicate = (override) => {
      const copy = duplicate(override);
      this.keepAlive(copy, role);
      return copy;
    };
    client.on('end', () => {
      if (released) return;
      this.logger.warn({ role }, 'redis connection ended without being closed; connecting again');
      setTimeout(() => {
        if (!released && client.status === 'end') client.connect().catch(() => undefined);
      }, 100).unref();
    });
  }

  /** One connection per role for the whole app, for parts that only send short commands (rate limits). */
  shared(role: RedisRole): Redis {
    let c = this.sharedClients.get(role);
    if (!c) this.sharedClients.set(role, (c = this.create(role)));
    return c;
  }

  /**
   * Resolves once every write Redis has executed so far (by any connection) is on REDIS_MIN_REPLICAS replicas;
   * throws ReplicasUnconfirmedError when they do not confirm within REDIS_WAIT_TIMEOUT_MS. Resolves at once when
   * no replica is required.
   */
  replicated(): Promise<void> {
    return this.replicaWait ? this.replicaWait.confirm() : Promise.resolve();
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

  /**
   * Disconnects every connection it made: QUIT on a connected one, so what it sent is answered first; any other
   * is cut (a QUIT queued on a connection that is not connected would wait for Redis to come back).
   */
  async close(): Promise<void> {
    await Promise.all(
      [...this.clients].map(async (c) => {
        if (c.status !== 'ready') return c.disconnect();
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

/**
 * WAIT counts the replicas that have every write of the connection it runs on, so a small write on its own
 * connection (the barrier) followed by WAIT confirms everything the primary executed before that write, from
 * any connection. Callers that arrive while a round is in flight share the next round (group commit): one
 * blocked WAIT at a time, and a stalled replica costs each writer at most two rounds, not a growing queue.
 */
class ReplicaWait {
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private failing = false;

  constructor(
    private readonly conn: () => Promise<Redis>,
    private readonly barrierKey: string,
    private readonly durability: Durability,
    private readonly logger: Logger,
  ) {}

  confirm(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) return (this.running = this.round());
    // A round already sent its barrier, maybe before the caller's write: the caller needs the next one.
    this.queued = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return (this.running = this.round());
      });
    return this.queued;
  }

  private async round(): Promise<void> {
    const { minReplicas, waitTimeoutMs } = this.durability;
    try {
      let confirmed = 0;
      try {
        const res = (await (await this.conn()).pipeline().incr(this.barrierKey).wait(minReplicas, waitTimeoutMs).exec()) ?? [];
        const err = res[0]?.[0] ?? res[1]?.[0];
        if (err) throw err;
        confirmed = Number(res[1]?.[1] ?? 0);
      } catch (err) {
        throw this.failed(new ReplicasUnconfirmedError(0, minReplicas, err));
      }
      if (confirmed < minReplicas) throw this.failed(new ReplicasUnconfirmedError(confirmed, minReplicas));
      if (this.failing) this.logger.info({ replicas: confirmed }, 'replicas confirm writes again');
      this.failing = false;
    } finally {
      this.running = null;
    }
  }

  private failed(err: ReplicasUnconfirmedError): ReplicasUnconfirmedError {
    if (!this.failing) this.logger.warn({ err: err.message }, 'writes not confirmed by enough replicas: answering 503');
    this.failing = true;
    return err;
  }
}
