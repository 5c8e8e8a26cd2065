/**
 * npm run bench:fanout — Socket.IO fan-out of this server against a plain `ws` broadcast server, same machine,
 * same load generator, same run. Reports deliveries/s, publish-to-receipt latency p50/p99, memory per idle
 * subscribed connection, and the project's figures as ratios of the baseline.
 *
 *   BENCH_CLIENTS=10000 BENCH_ALERTS=20 BENCH_BURST_CLIENTS=2000 BENCH_BURST=200 npm run bench:fanout
 */
import { Load, now, pct, publish, sleep, startServer, waitAll, type ClientKind, type Kind } from './lib/harness.ts';

const env = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const CLIENTS = env('BENCH_CLIENTS', 10_000);
const ALERTS = env('BENCH_ALERTS', 20);
const BURST_CLIENTS = env('BENCH_BURST_CLIENTS', 2_000);
const BURST = env('BENCH_BURST', 200);
const SSE_CLIENTS = env('BENCH_SSE_CLIENTS', 10_000);
const WORKERS = env('BENCH_WORKERS', 2);
/** Which scenarios to run: a (Socket.IO and ws, one alert at a time), b (burst), c (SSE, one alert at a time). */
const ONLY = new Set((process.env.BENCH_ONLY ?? 'a,b,c').split(','));
let seqCounter = 0;

interface Result {
  deliveriesPerSec: number;
  p50: number;
  p99: number;
  bytesPerConn?: number;
  /** JS heap in use per idle connection after GC: what a connection holds, without the heap's growth. */
  heapPerConn?: number;
  /** CPU time of the load generator per delivery (microseconds), over the timed alerts. */
  clientCpuPerDelivery?: number;
  /** CPU time of the server per delivery (microseconds), over the timed alerts (publications included). */
  serverCpuPerDelivery?: number;
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

/** Per connection, where the server's resident memory went (V8 heap spaces, external, the rest native). */
function memoryDetail(clientKind: string, before: Record<string, number>, after: Record<string, number>, n: number): void {
  const per = (k: string) => ((after[k] ?? 0) - (before[k] ?? 0)) / n;
  const heap = Object.keys(after).filter((k) => k.startsWith('committed:'));
  const committed = heap.reduce((a, k) => a + per(k), 0);
  const parts = [
    `rss ${f(per('rss'))}`,
    `heapUsed ${f(per('heapUsed'))}`,
    `heap committed ${f(committed)} (${heap.filter((k) => Math.abs(per(k)) >= 50).map((k) => `${k.slice(10)} ${f(per(k))}`).join(', ')})`,
    `external ${f(per('external'))} (arrayBuffers ${f(per('arrayBuffers'))})`,
    ...(after.cppHeap !== undefined ? [`C++ heap ${f(per('cppHeap'))}`] : []),
    `rss - heap committed - external${after.cppHeap !== undefined ? ' - C++ heap' : ''} ${f(per('rss') - committed - per('external') - per('cppHeap'))}`,
  ];
  console.log(`memory per ${clientKind} connection, bytes: ${parts.join('; ')}`);
}

/** (a) many clients, one alert at a time; (c) the same over SSE (clientKind 'sse' against the project). */
async function sequential(kind: Kind, clientKind: ClientKind = kind, CLIENTS_ = CLIENTS): Promise<Result> {
  const CLIENTS = CLIENTS_;
  const server = await startServer(kind);
  try {
    const before = await server.memory();
    const load = await Load.start(clientKind, server.port, CLIENTS);
    await sleep(500);
    const after = await server.memory();
    memoryDetail(kind === 'project' ? clientKind : 'plain ws', before, after, CLIENTS);
    for (let i = 0; i < 3; i++) {
      const s = ++seqCounter;
      await publish(server, s);
      await waitAll(load, [s], CLIENTS);
    }
    const t0 = new Map<number, number>();
    const cpu0 = await load.cpu();
    const serverCpu0 = await server.cpu();
    let busy = 0;
    for (let i = 0; i < ALERTS; i++) {
      const s = ++seqCounter;
      const start = now();
      t0.set(s, start);
      await publish(server, s);
      await waitAll(load, [s], CLIENTS);
      busy += now() - start;
    }
    const cpu = (await load.cpu()) - cpu0;
    const serverCpu = (await server.cpu()) - serverCpu0;
    const { lat, total } = await latencies(load, t0);
    await server.stop();
    await load.close();
    return { deliveriesPerSec: total / (busy / 1000), p50: pct(lat, 50), p99: pct(lat, 99), bytesPerConn: (after.rss! - before.rss!) / CLIENTS, heapPerConn: (after.heapUsed! - before.heapUsed!) / CLIENTS, clientCpuPerDelivery: cpu / total, serverCpuPerDelivery: serverCpu / total };
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
  let pA: Result | undefined;
  let wA: Result | undefined;
  if (ONLY.has('a')) {
    pA = await sequential('project');
    wA = await sequential('ws');
    rows.push([`(a) ${CLIENTS} clients, 1 alert at a time`, pA, wA]);
  }
  if (ONLY.has('b')) {
    const pB = await burst('project');
    const wB = await burst('ws');
    rows.push([`(b) ${BURST_CLIENTS} clients, burst of ${BURST}`, pB, wB]);
  }
  const sC = ONLY.has('c') ? await sequential('project', 'sse', SSE_CLIENTS) : undefined;

  console.log('\n| scenario | server | deliveries/s | p50 ms | p99 ms |');
  console.log('| --- | --- | ---: | ---: | ---: |');
  for (const [name, p, w] of rows) {
    console.log(`| ${name} | newspush (Socket.IO) | ${f(p.deliveriesPerSec)} | ${f(p.p50, 1)} | ${f(p.p99, 1)} |`);
    console.log(`| ${name} | plain ws | ${f(w.deliveriesPerSec)} | ${f(w.p50, 1)} | ${f(w.p99, 1)} |`);
    console.log(`| ${name} | **ratio** | **${f(p.deliveriesPerSec / w.deliveriesPerSec, 2)}x** (target >= 0.9) | ${f(p.p50 / w.p50, 2)}x | **${f(p.p99 / w.p99, 2)}x** (target <= 1.5) |`);
  }
  if (pA && wA) {
    console.log(`\nCPU per delivery: load generator ${f(pA.clientCpuPerDelivery!, 2)} µs with Socket.IO clients, ${f(wA.clientCpuPerDelivery!, 2)} µs with plain ws clients; server ${f(pA.serverCpuPerDelivery!, 2)} µs newspush, ${f(wA.serverCpuPerDelivery!, 2)} µs plain ws`);
    console.log(`\nmemory per idle subscribed connection: newspush ${f(pA.bytesPerConn! / 1024, 1)} KB, plain ws ${f(wA.bytesPerConn! / 1024, 1)} KB (target <= 10 KB)`);
  }
  if (sC) {
    console.log(`\n| (c) ${SSE_CLIENTS} SSE clients, 1 alert at a time | deliveries/s | p50 ms | p99 ms |`);
    console.log('| --- | ---: | ---: | ---: |');
    console.log(`| newspush SSE | ${f(sC.deliveriesPerSec)} | ${f(sC.p50, 1)} | ${f(sC.p99, 1)} |`);
    if (pA) console.log(`| **SSE / Socket.IO (a)** | **${f(sC.deliveriesPerSec / pA.deliveriesPerSec, 2)}x** (target >= 0.9) | ${f(sC.p50 / pA.p50, 2)}x | ${f(sC.p99 / pA.p99, 2)}x |`);
    console.log(`\nCPU per delivery: load generator ${f(sC.clientCpuPerDelivery!, 2)} µs with SSE clients${pA ? ` (${f(sC.clientCpuPerDelivery! / pA.clientCpuPerDelivery!, 2)}x the Socket.IO clients)` : ''}; server ${f(sC.serverCpuPerDelivery!, 2)} µs${pA ? ` (${f(sC.serverCpuPerDelivery! / pA.serverCpuPerDelivery!, 2)}x Socket.IO)` : ''}`);
    console.log(`\nmemory per idle SSE connection: ${f(sC.bytesPerConn! / 1024, 1)} KB`);
    console.log(`JS heap in use per idle connection: SSE ${f(sC.heapPerConn! / 1024, 1)} KB${pA ? `, Socket.IO ${f(pA.heapPerConn! / 1024, 1)} KB` : ''}`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
