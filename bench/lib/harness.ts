/** Shared by the benches: servers in child processes and the thin-client load generator in worker threads. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

export type Kind = 'project' | 'ws';
/** What the load generator's clients speak: Socket.IO (project), plain ws frames (ws), or the project's SSE stream. */
export type ClientKind = Kind | 'sse';
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
export const KEY = 'bench-key-0123456789abcdef';
/** Milliseconds on the performance clock shared by every thread (the load generator's receipts use it too). */
export const now = () => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Server {
  kind: Kind;
  port: number;
  child: ChildProcess;
  rss(): Promise<number>;
  /** After GC: resident memory and where it goes (process.memoryUsage() incl. heapUsed, and V8's committed heap spaces), bytes. */
  memory(): Promise<Record<string, number>>;
  /** CPU time the server process has used so far (microseconds). */
  cpu(): Promise<number>;
  stop(): Promise<void>;
}

export const children = new Set<ChildProcess>();
const stopAll = () => {
  for (const c of children) c.kill('SIGKILL');
};
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

export function startServer(kind: Kind, env: Record<string, string> = {}): Promise<Server> {
  const child = fork(fileURLToPath(new URL('./servers.ts', import.meta.url)), [kind], {
    // BENCH_PROFILE=<dir> writes a CPU profile of the server to <dir> (node --cpu-prof) for finding hot spots.
    execArgv: ['--import', 'tsx', '--expose-gc', ...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${kind} server did not start`)), 30_000);
    const exited = new Promise((r) => child.once('exit', r));
    const memory = () =>
      new Promise<Record<string, number>>((res) => {
        child.once('message', (r: { detail: Record<string, number> }) => res(r.detail));
        child.send({ type: 'gc' });
      });
    child.once('message', (m: { type: string; port: number }) => {
      clearTimeout(t);
      resolve({
        kind,
        port: m.port,
        child,
        rss: async () => (await memory()).rss!,
        memory,
        cpu: () =>
          new Promise((res) => {
            child.once('message', (r: { micros: number }) => res(r.micros));
            child.send({ type: 'cpu' });
          }),
        stop: async () => {
          // Closing the IPC channel lets the child exit by itself (and write a CPU profile); then it is killed.
          if (child.connected) child.disconnect();
          const killer = setTimeout(() => child.kill('SIGKILL'), process.env.BENCH_PROFILE ? 10_000 : 500);
          await exited;
          clearTimeout(killer);
          children.delete(child);
        },
      });
    });
  });
}

/** Sends `msg` to every worker and collects each one's first answer of `type`. */
export function askWorkers<T>(workers: Worker[], msg: unknown, type: string): Promise<T[]> {
  return Promise.all(
    workers.map(
      (w) =>
        new Promise<T>((resolve) => {
          const on = (m: { type: string }) => {
            if (m.type !== type) return;
            w.off('message', on);
            resolve(m as T);
          };
          w.on('message', on);
          w.postMessage(msg);
        }),
    ),
  );
}

export class Load {
  private constructor(private readonly workers: Worker[]) {}

  static async start(kind: ClientKind, port: number, clients: number): Promise<Load> {
    const per = Math.ceil(clients / WORKERS);
    const workers = Array.from({ length: WORKERS }, (_, i) =>
      new Worker(fileURLToPath(new URL('./loadgen.mjs', import.meta.url)), {
        execArgv: [], // plain JavaScript: tsx's loader hooks are not needed in the load generator
        workerData: { kind, port, clients: Math.min(per, clients - i * per), topics: ['world'] },
      }),
    );
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.once('message', (m: { type: string; message?: string }) => (m.type === 'ready' ? resolve() : reject(new Error(m.message))));
            w.once('error', reject);
          }),
      ),
    );
    return new Load(workers);
  }

  private ask<T>(msg: unknown, type: string): Promise<T[]> {
    return askWorkers<T>(this.workers, msg, type);
  }

  async count(seqs: number[]): Promise<number> {
    return (await this.ask<{ n: number }>({ type: 'count', seqs }, 'count')).reduce((a, b) => a + b.n, 0);
  }

  /** CPU time the load generator's threads have used so far (microseconds, summed over the workers). */
  async cpu(): Promise<number> {
    return (await this.ask<{ micros: number }>({ type: 'cpu' }, 'cpu')).reduce((a, b) => a + b.micros, 0);
  }

  async receipts(seqs: number[]): Promise<Map<number, number[]>> {
    const all = new Map<number, number[]>();
    for (const r of await this.ask<{ receipts: Array<[number, number[]]> }>({ type: 'receipts', seqs }, 'receipts')) {
      for (const [seq, times] of r.receipts) all.set(seq, [...(all.get(seq) ?? []), ...times]);
    }
    return all;
  }

  async close(): Promise<void> {
    await this.ask({ type: 'close' }, 'closed');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Publishes alert number `seq` (the load generator finds it by its headline, "bench <seq>"). */
export async function publish(server: Server, seq: number, extra: Record<string, unknown> = {}): Promise<void> {
  const article = { id: `bench-${server.kind}-${seq}-${Date.now()}`, headline: `bench ${seq}`, summary: 'A benchmark alert with a summary of ordinary length for a breaking news item.', topics: ['world/europe'], urgency: 2, ...extra };
  const url = server.kind === 'project' ? `http://127.0.0.1:${server.port}/api/v1/articles` : `http://127.0.0.1:${server.port}/publish`;
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` }, body: JSON.stringify(article) });
  if (res.status !== 201) throw new Error(`${server.kind} publish answered ${res.status}: ${await res.text()}`);
}

export async function waitAll(load: Load, seqs: number[], expected: number, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await load.count(seqs)) < expected) {
    if (Date.now() > deadline) throw new Error(`only ${await load.count(seqs)} of ${expected} deliveries after ${ms} ms`);
    await sleep(5);
  }
}

export function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
