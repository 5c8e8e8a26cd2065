import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, TestRedis } from './redis.ts';
import { waitFor } from './wait.ts';

export const MASTER_NAME = 'newspush';

/** One redis-sentinel process (Debian's `redis-sentinel`) with its own config file in a temp dir. */
class TestSentinel {
  private proc: ChildProcess | null = null;
  private constructor(readonly port: number, readonly dir: string) {}

  static async start(masterPort: number, quorum: number): Promise<TestSentinel> {
    const s = new TestSentinel(await freePort(), mkdtempSync(join(tmpdir(), 'newspush-sentinel-')));
    const conf = join(s.dir, 'sentinel.conf');
    // Small timeouts so a failover fits in a test: down after 1 s, a failed failover retried after 5 s.
    writeFileSync(
      conf,
      [
        `port ${s.port}`,
        'bind 127.0.0.1',
        `dir ${s.dir}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} ${quorum}`,
        `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
        `sentinel failover-timeout ${MASTER_NAME} 5000`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
        '',
      ].join('\n'),
    );
    s.proc = spawn('redis-sentinel', [conf], { stdio: 'ignore' });
    const probe = s.client();
    try {
      await waitFor(`sentinel on ${s.port}`, () => probe.ping().then(() => true), 10_000);
    } finally {
      probe.disconnect();
    }
    return s;
  }

  client(): Redis {
    const c = new Redis({ port: this.port, host: '127.0.0.1', maxRetriesPerRequest: 1, lazyConnect: false });
    c.on('error', () => undefined);
    return c;
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        proc.kill('SIGTERM');
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A primary, `replicas` replicas and three sentinels (quorum 2), each redis-server on a free port in a temp dir,
 * append-only. Never the machine's Redis.
 */
export class TestSentinelGroup {
  private constructor(
    readonly servers: TestRedis[],
    private readonly sentinels: TestSentinel[],
  ) {}

  static async start(opts: { replicas: number }): Promise<TestSentinelGroup> {
    const primary = await TestRedis.start();
    const servers = [primary];
    for (let i = 0; i < opts.replicas; i++) servers.push(await TestRedis.start({ args: ['--replicaof', '127.0.0.1', String(primary.port)] }));
    const sentinels: TestSentinel[] = [];
    const group = new TestSentinelGroup(servers, sentinels);
    try {
      for (let i = 0; i < 3; i++) sentinels.push(await TestSentinel.start(primary.port, 2));
      // Ready when every replica is in sync and every sentinel knows the replicas and the other sentinels
      // (they find each other through the primary every 2 s; a failover needs a majority of them).
      for (const r of servers.slice(1)) {
        const c = r.client();
        try {
          await waitFor('replica in sync', async () => /master_link_status:up/.test(await c.info('replication')), 15_000);
        } finally {
          c.disconnect();
        }
      }
      for (const s of sentinels) {
        const c = s.client();
        try {
          await waitFor(
            'sentinel sees the group',
            async () => {
              const m = fields((await c.call('SENTINEL', 'MASTER', MASTER_NAME)) as string[]);
              return Number(m['num-slaves']) === opts.replicas && Number(m['num-other-sentinels']) === 2;
            },
            20_000,
          );
        } finally {
          c.disconnect();
        }
      }
      return group;
    } catch (err) {
      await group.stop();
      throw err;
    }
  }

  /** REDIS_SENTINELS for the app. */
  get sentinelList(): string {
    return this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');
  }

  /** The port of the server the sentinels call the primary now. */
  async primaryPort(): Promise<number> {
    const c = this.sentinels[0]!.client();
    try {
      const [, port] = (await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as [string, string];
      return Number(port);
    } finally {
      c.disconnect();
    }
  }

  async server(port: number): Promise<TestRedis> {
    const s = this.servers.find((x) => x.port === port);
    if (!s) throw new Error(`no server on ${port}`);
    return s;
  }

  /** Waits until every sentinel names a primary other than `oldPort`, and that server says it is a primary. */
  async waitForFailover(oldPort: number, ms = 30_000): Promise<number> {
    return waitFor(
      'failover to a new primary',
      async () => {
        const ports = new Set<number>();
        for (const s of this.sentinels) {
          const c = s.client();
          try {
            const [, port] = (await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as [string, string];
            ports.add(Number(port));
          } finally {
            c.disconnect();
          }
        }
        const [port] = [...ports];
        if (ports.size !== 1 || port === oldPort) return false;
        const c = (await this.server(port!)).client();
        try {
          return /role:master/.test(await c.info('replication')) ? port : false;
        } finally {
          c.disconnect();
        }
      },
      ms,
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.sentinels.map((s) => s.stop()));
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}

function fields(reply: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) out[reply[i]!] = reply[i + 1]!;
  return out;
}
