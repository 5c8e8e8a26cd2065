/**
 * npm run bench:fanout — Socket.IO fan-out of this server against a plain `ws` broadcast server, same machine,
 * same load generator, same run. Reports deliveries/s, publish-to-receipt latency p50/p99, memory per idle
 * subscribed connection, and the project's figures as ratios of the baseline.
 *
 *   BENCH_CLIENTS=10000 BENCH_ALERTS=20 BENCH_BURST_CLIENTS=2000 BENCH_BURST=200 npm run bench:fanout
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

type Kind = 'project' | 'ws';
const env = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const CLIENTS = env('BENCH_CLIENTS', 10_000);
const ALERTS = env('BENCH_ALERTS', 20);
const BURST_CLIENTS = env('BENCH_BURST_CLIENTS', 2_000);
const BURST = env('BENCH_BURST', 200);
const WORKERS = env('BENCH_WORKERS', 2);
const KEY = 'bench-key-0123456789abcdef';
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Server {
  kind: Kind;
  port: number;
  child: ChildProcess;
  rss(): Promise<number>;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
const stopAll = () => {
  for (const c of children) c.kill('SIGKILL');
};
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

function startServer(kind: Kind): Promise<Server> {
  const child = fork(fileURLToPath(new URL('./lib/servers.ts', import.meta.url)), [kind], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${kind} server did not start`)), 30_000);
    const exited = new Promise((r) => child.once('exit', r));
    child.once('message', (m: { type: string; port: number }) => {
      clearTimeout(t);
      resolve({
        kind,
        port: m.port,
        child,
        rss: () =>
          new Promise((res) => {
            child.once('message', (r: { rss: number }) => res(r.rss));
            child.send({ type: 'gc' });
          }),
        stop: async () => {
          child.kill('SIGKILL');
          children.delete(child);
          await exited;
        },
      });
    });
  });
}

class Load {
  private constructor(private readonly workers: Worker[]) {}

  static async start(kind: Kind, port: number, clients: number): Promise<Load> {
    const per = Math.ceil(clients / WORKERS);
    const workers = Array.from({ length: WORKERS }, (_, i) =>
      new Worker(fileURLToPath(new URL('./lib/loadgen.mjs', import.meta.url)), {
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
    return Promise.all(
      this.workers.map(
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

  async count(seqs: number[]): Promise<number> {
    return (await this.ask<{ n: number }>({ type: 'count', seqs }, 'count')).reduce((a, b) => a + b.n, 0);
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

let seqCounter = 0;
async function publish(server: Server, seq: number): Promise<void> {
  const article = { id: `bench-${server.kind}-${seq}-${Date.now()}`, headline: `bench ${seq}`, summary: 'A benchmark alert with a summary of ordinary length for a breaking news item.', topics: ['world/europe'], urgency: 2 };
  const url = server.kind === 'project' ? `http://127.0.0.1:${server.port}/api/v1/articles` : `http://127.0.0.1:${server.port}/publish`;
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` }, body: JSON.stringify(article) });
  if (res.status !== 201) throw new Error(`${server.kind} publish answered ${res.status}: ${await res.text()}`);
}

async function waitAll(load: Load, seqs: number[], expected: number, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await load.count(seqs)) < expected) {
    if (Date.now() > deadline) throw new Error(`only ${await load.count(seqs)} of ${expected} deliveries after ${ms} ms`);
    await sleep(5);
  }
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface Result {
  deliveriesPerSec: number;
  p50: number;
  p99: number;
  bytesPerConn?: number;
}

async function latencies(load: Load, t0: Map<number, number>): Promise<{ lat: number[]; first: number; last: number; total: number }> {
  const rec = await load.receipts([...t0.keys()]);
  const lat: number[] = [];
  let last = 0;
  for (const [seq, times] of rec) for (const t of times) {
    lat.push(t - t0.get(seq)!);
    last = Math.max(last, t);
  }
  lat.sort((a, b) => a - b);
  return { lat, first: Math.min(...t0.values()), last, total: lat.length };
}

/** (a) many clients, one alert at a time. */
async function sequential(kind: Kind): Promise<Result> {
  const server = await startServer(kind);
  try {
    const before = await server.rss();
    const load = await Load.start(kind, server.port, CLIENTS);
    await sleep(500);
    const after = await server.rss();
    for (let i = 0; i < 3; i++) {
      const s = ++seqCounter;
      await publish(server, s);
      await waitAll(load, [s], CLIENTS);
    }
    const t0 = new Map<number, number>();
    let busy = 0;
    for (let i = 0; i < ALERTS; i++) {
      const s = ++seqCounter;
      const start = now();
      t0.set(s, start);
      await publish(server, s);
      await waitAll(load, [s], CLIENTS);
      busy += now() - start;
    }
    const { lat, total } = await latencies(load, t0);
    await server.stop();
    await load.close();
    return { deliveriesPerSec: total / (busy / 1000), p50: pct(lat, 50), p99: pct(lat, 99), bytesPerConn: (after - before) / CLIENTS };
  } finally {
    await server.stop().catch(() => undefined);
  }
}

/** (b) fewer clients, a burst of events published as fast as the API takes them. */
async function burst(kind: Kind): Promise<Result> {
  const server = await startServer(kind);
  try {
    const load = await Load.start(kind, server.port, BURST_CLIENTS);
    await sleep(300);
    const warm = ++seqCounter;
    await publish(server, warm);
    await waitAll(load, [warm], BURST_CLIENTS);
    const t0 = new Map<number, number>();
    const seqs = Array.from({ length: BURST }, () => ++seqCounter);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < seqs.length) {
          const s = seqs[next++]!;
          t0.set(s, now());
          await publish(server, s);
        }
      }),
    );
    await waitAll(load, seqs, BURST_CLIENTS * BURST, 120_000);
    const { lat, first, last, total } = await latencies(load, t0);
    await server.stop();
    await load.close();
    return { deliveriesPerSec: total / ((last - first) / 1000), p50: pct(lat, 50), p99: pct(lat, 99) };
  } finally {
    await server.stop().catch(() => undefined);
  }
}

const f = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main(): Promise<void> {
  console.log(`fan-out bench: ${CLIENTS} clients x ${ALERTS} sequential alerts; ${BURST_CLIENTS} clients x burst of ${BURST}; ${WORKERS} load workers; node ${process.version}`);
  const rows: Array<[string, Result, Result]> = [];
  const pA = await sequential('project');
  const wA = await sequential('ws');
  rows.push([`(a) ${CLIENTS} clients, 1 alert at a time`, pA, wA]);
  const pB = await burst('project');
  const wB = await burst('ws');
  rows.push([`(b) ${BURST_CLIENTS} clients, burst of ${BURST}`, pB, wB]);

  console.log('\n| scenario | server | deliveries/s | p50 ms | p99 ms |');
  console.log('| --- | --- | ---: | ---: | ---: |');
  for (const [name, p, w] of rows) {
    console.log(`| ${name} | newspush (Socket.IO) | ${f(p.deliveriesPerSec)} | ${f(p.p50, 1)} | ${f(p.p99, 1)} |`);
    console.log(`| ${name} | plain ws | ${f(w.deliveriesPerSec)} | ${f(w.p50, 1)} | ${f(w.p99, 1)} |`);
    console.log(`| ${name} | **ratio** | **${f(p.deliveriesPerSec / w.deliveriesPerSec, 2)}x** (target >= 0.9) | ${f(p.p50 / w.p50, 2)}x | **${f(p.p99 / w.p99, 2)}x** (target <= 1.5) |`);
  }
  console.log(`\nmemory per idle subscribed connection: newspush ${f(pA.bytesPerConn! / 1024, 1)} KB, plain ws ${f(wA.bytesPerConn! / 1024, 1)} KB (target <= 12 KB)`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
