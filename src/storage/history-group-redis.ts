import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { EventId, NewsEvent } from '../domain/event.ts';
import type { Logger } from '../ops/logger.ts';
import { Backoff, type GroupHandler, type HistoryGroup } from './history-group.ts';
import type { RedisFactory } from './redis-connection.ts';

const BATCH = 100;
const BLOCK_MS = 5_000;
/** Consumers (dead nodes) with nothing pending and idle this long are removed from the group. */
const FORGET_CONSUMER_MS = 3_600_000;

type Entry = [EventId, string[] | null];

export interface RedisGroupOptions {
  /** The group's name, one per kind of work (e.g. "push"). */
  group: string;
  /** How long an entry read by a node stays unacknowledged before another node takes it over. */
  takeoverMs: number;
  /** This node's name in the group (default: host name and a random suffix, fixed for the node's life). */
  consumer?: string;
}

/**
 * A Redis Streams consumer group on the history stream. `XGROUP CREATE ... $ MKSTREAM` once (every node tries;
 * the first wins), then each node reads new entries with `XREADGROUP ... >` under its own consumer name, and
 * acknowledges an entry (`XACK`) only once its handler has succeeded. After a failure the node re-reads its own
 * pending entries (id 0) before new ones. Every takeoverMs/2 each node claims entries left pending longer than
 * takeoverMs by any consumer (`XAUTOCLAIM`): those of a node that died between reading and acknowledging.
 */
export class RedisHistoryGroup implements HistoryGroup {
  private readonly conn: Redis;
  private readonly commands: Redis;
  private readonly key: string;
  readonly consumer: string;
  private handler: GroupHandler | null = null;
  private readonly inFlight = new Set<EventId>();
  /** The read loop's handler in flight (close waits for it, not for the loop: see close()). */
  private handling: Promise<void> | null = null;
  private claiming: Promise<void> | null = null;
  private claimTimer: NodeJS.Timeout | null = null;
  private nextSweep = 0;
  private readonly backoff = new Backoff();
  private closed = false;

  private constructor(
    factory: RedisFactory,
    private readonly opts: RedisGroupOptions,
    private readonly logger: Logger,
  ) {
    this.key = factory.keys.key('events');
    this.consumer = opts.consumer ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
    this.commands = factory.shared('commands');
    // Blocking reads get their own connection, which queues while Redis is away instead of failing.
    this.conn = factory.create('group', { enableOfflineQueue: true, maxRetriesPerRequest: null });
  }

  /** Creates the group if it does not exist yet, before this node writes anything it must not miss. */
  static async open(factory: RedisFactory, opts: RedisGroupOptions, logger: Logger): Promise<RedisHistoryGroup> {
    const g = new RedisHistoryGroup(factory, opts, logger);
    await factory.waitReady(g.commands);
    // Redis down at start: the read loop creates the group once it is back (no write can happen before).
    await g.ensureGroup().catch(() => undefined);
    return g;
  }

  private async ensureGroup(): Promise<void> {
    try {
      await this.commands.xgroup('CREATE', this.key, this.opts.group, '$', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
  }

  consume(handler: GroupHandler): () => Promise<void> {
    this.handler = handler;
    void this.run();
    this.scheduleClaim();
    return () => this.close();
  }

  private async run(): Promise<void> {
    // Own pending entries first: a restarted consumer of the same name, or entries whose handler failed.
    let pending: EventId | null = '0';
    let failures = 0;
    while (!this.closed) {
      try {
        const res = (await this.conn.xreadgroup(
          'GROUP', this.opts.group, this.consumer, 'COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', this.key, pending ?? '>',
        )) as Array<[string, Entry[]]> | null;
        const entries = res?.[0]?.[1] ?? [];
        if (pending !== null && entries.length === 0) pending = null;
        for (const entry of entries) {
          // Entries read but not handled before close stay pending: read again by this consumer or taken over.
          if (this.closed) break;
          this.handling = this.handle(entry);
          try {
            await this.handling;
          } finally {
            this.handling = null;
          }
          if (pending !== null) pending = entry[0];
        }
        if (failures > 0) this.logger.info({ group: this.opts.group, failures }, 'history consumer resumed');
        failures = 0;
        this.backoff.reset();
      } catch (err) {
        if (this.closed) break;
        if (/NOGROUP/.test((err as Error).message)) await this.ensureGroup().catch(() => undefined);
        if (failures++ === 0) this.logger.warn({ group: this.opts.group, err: (err as Error).message }, 'history consumer failed; retrying');
        pending = '0';
        await this.backoff.wait();
      }
    }
  }

  /** Runs the handler once per entry at a time on this node, then acknowledges. An entry trimmed meanwhile is only acknowledged. */
  private async handle([id, fields]: Entry): Promise<void> {
    if (this.inFlight.has(id)) return;
    this.inFlight.add(id);
    try {
      if (fields) await this.handler!({ id, ...(JSON.parse(fields[1]!) as Omit<NewsEvent, 'id'>) });
      await this.commands.xack(this.key, this.opts.group, id);
    } finally {
      this.inFlight.delete(id);
    }
  }

  private scheduleClaim(): void {
    if (this.closed) return;
    this.claimTimer = setTimeout(() => {
      this.claiming = this.claim()
        .catch((err) => this.logger.warn({ group: this.opts.group, err: (err as Error).message }, 'history claim failed'))
        .finally(() => {
          this.claiming = null;
          this.scheduleClaim();
        });
    }, Math.max(250, this.opts.takeoverMs / 2));
    this.claimTimer.unref();
  }

  /** Takes over entries some consumer read more than takeoverMs ago and never acknowledged. */
  private async claim(): Promise<void> {
    let cursor = '0-0';
    do {
      const [next, entries] = (await this.commands.xautoclaim(this.key, this.opts.group, this.consumer, this.opts.takeoverMs, cursor, 'COUNT', BATCH)) as [string, Entry[], string[]];
      for (const entry of entries) {
        if (this.closed) return;
        this.logger.info({ group: this.opts.group, eventId: entry[0] }, 'history entry taken over from a stopped consumer');
        await this.handle(entry);
      }
      cursor = next;
    } while (cursor !== '0-0' && !this.closed);
    if (Date.now() >= this.nextSweep) {
      this.nextSweep = Date.now() + FORGET_CONSUMER_MS / 6;
      await this.forgetDeadConsumers();
    }
  }

  /** Each node has its own consumer name; those of nodes long gone, with nothing pending, are removed. */
  private async forgetDeadConsumers(): Promise<void> {
    const consumers = (await this.commands.xinfo('CONSUMERS', this.key, this.opts.group)) as unknown[][];
    for (const fields of consumers) {
      const c = new Map<string, unknown>();
      for (let i = 0; i + 1 < fields.length; i += 2) c.set(String(fields[i]), fields[i + 1]);
      if (c.get('name') === this.consumer || Number(c.get('pending')) > 0 || Number(c.get('idle')) < FORGET_CONSUMER_MS) continue;
      await this.commands.xgroup('DELCONSUMER', this.key, this.opts.group, String(c.get('name')));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.claimTimer) clearTimeout(this.claimTimer);
    this.backoff.cancel();
    this.conn.disconnect();
    // Not the loop itself: a read queued on a connection that was reconnecting is never settled by disconnect()
    // (ioredis leaves it pending), and close would wait for ever; once closed, the loop starts no handler.
    await Promise.all([this.handling, this.claiming]);
  }
}
