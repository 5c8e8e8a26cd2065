/** A server node as the operator runs it (`src/main.ts` in its own process), for the soak and the WAIT bench. */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { children, sleep } from './harness.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

/** Resident memory of a process from /proc (Linux), in bytes; null when it is gone. */
export function rssOf(pid: number | null | undefined): number | null {
  if (!pid) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export class NodeProcess {
  private child: ChildProcess | null = null;

  /** `logFile` gets the node's stdout and stderr (JSON log lines). */
  constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly logFile: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Starts the node and resolves once /readyz answers 200 (within `ms`). */
  async start(ms = 60_000): Promise<void> {
    const out = openSync(this.logFile, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: { ...process.env, ...this.env, PORT: String(this.port), HOST: '127.0.0.1' },
      stdio: ['ignore', out, out],
    });
    this.child = child;
    children.add(child);
    child.once('exit', () => children.delete(child));
    const deadline = Date.now() + ms;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${this.name} exited with ${child.exitCode}; see ${this.logFile}`);
      try {
        if ((await fetch(`${this.url}/readyz`)).status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${this.name} not ready within ${ms} ms; see ${this.logFile}`);
      await sleep(100);
    }
  }

  /** A crash: SIGKILL, nothing finishes. */
  kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    return exited;
  }

  /** A clean stop: SIGTERM (the node closes clients and Redis), SIGKILL after 12 s. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const t = setTimeout(() => child.kill('SIGKILL'), 12_000);
    child.kill('SIGTERM');
    await exited;
    clearTimeout(t);
  }

  rss(): number | null {
    return rssOf(this.pid);
  }
}
