import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A free TCP port on 127.0.0.1 (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A private redis-server for one test file: its own port and temp dir, append-only so that a stop and start
 * (a Redis outage) keeps the data. Never the machine's shared Redis.
 */
export class TestRedis {
  private proc: ChildProcess | null = null;
  readonly dir = mkdtempSync(join(tmpdir(), 'newspush-redis-'));
  private constructor(
    readonly port: number,
    /** false: no AOF, so a restart comes back empty (as a Redis without persistence does). */
    private readonly persistent: boolean,
    private readonly extraArgs: string[],
  ) {}

  /** `args` go to redis-server after the defaults (e.g. `--replicaof 127.0.0.1 <port>`). */
  static async start(opts: { persistent?: boolean; args?: string[] } = {}): Promise<TestRedis> {
    const r = new TestRedis(await freePort(), opts.persistent ?? true, opts.args ?? []);
    await r.startProcess();
    return r;
  }

  /** The running redis-server's process id (for memory samples), or null while it is stopped. */
  get pid(): number | null {
    return this.proc?.pid ?? null;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server again after stop(), on the same port and with the same data (none if not persistent). */
  async startProcess(): Promise<void> {
    if (this.proc) return;
    const proc = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', ...(this.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']), ...this.extraArgs],
      { stdio: 'ignore' },
    );
    this.proc = proc;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        probe.disconnect();
        if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
        if (Date.now() > deadline) throw new Error('redis-server did not start within 10 s');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Sends `signal` to redis-server: SIGKILL (a crash; start it again with startProcess), SIGSTOP/SIGCONT (a stall). */
  kill(signal: NodeJS.Signals): void {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    if (signal === 'SIGKILL') this.proc = null;
    proc.kill(signal);
  }

  /** Stops redis-server (an outage); the data stays in the dir. */
  async stopProcess(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.proc = null;
    if (proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      proc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      proc.kill('SIGCONT'); // a stalled server (SIGSTOP) must run to hear SIGTERM
      proc.kill('SIGTERM');
    });
  }

  /** A client for assertions; the caller disconnects it. */
  client(): Redis {
    return new Redis(this.url, { maxRetriesPerRequest: 1 });
  }

  async flush(): Promise<void> {
    const c = this.client();
    await c.flushall();
    c.disconnect();
  }

  async stop(): Promise<void> {
    await this.stopProcess();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
