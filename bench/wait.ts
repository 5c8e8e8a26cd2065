/**
 * npm run bench:wait — what REDIS_MIN_REPLICAS=1 costs a publisher. One redis-server primary with one replica
 * (each its own port and temp dir, append-only, fsync every second), two server nodes on it in their own processes, the same
 * except for REDIS_MIN_REPLICAS (0 and 1); publishes alternate between them in rounds, so both see the same
 * machine load. Reports publish latency (sequential) and throughput (16 in flight), and the ratios.
 *
 *   BENCH_WAIT_ROUNDS=10 BENCH_WAIT_PER_ROUND=50 BENCH_WAIT_CONCURRENT=400 npm run bench:wait
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, TestRedis } from '../tests/support/redis.ts';
import { KEY, now, pct, sleep } from './lib/harness.ts';
import { NodeProcess } from './lib/node-process.ts';

const env = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const ROUNDS = env('BENCH_WAIT_ROUNDS', 10);
const PER_ROUND = env('BENCH_WAIT_PER_ROUND', 50);
const CONCURRENT = env('BENCH_WAIT_CONCURRENT', 400);
const IN_FLIGHT = 16;
let seq = 0;

async function publish(node: NodeProcess): Promise<number> {
  const body = JSON.stringify({ id: `wait-${node.name}-${++seq}-${Date.now()}`, version: 1, headline: `Wait bench ${seq}`, topics: ['world/europe'], urgency: 3 });
  const start = now();
  const res = await fetch(`${node.url}/api/v1/articles`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` }, body });
  if (res.status !== 201) throw new Error(`${node.name} answered ${res.status}: ${await res.text()}`);
  await res.arrayBuffer().catch(() => undefined);
  return now() - start;
}

async function concurrent(node: NodeProcess, n: number): Promise<number> {
  const start = now();
  let left = n;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (left-- > 0) await publish(node);
    }),
  );
  return n / ((now() - start) / 1000);
}

const f = (n: number, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'newspush-wait-'));
  // fsync once a second (Redis's default), so the disk of a shared machine does not drown what WAIT costs.
  const primary = await TestRedis.start({ args: ['--appendfsync', 'everysec'] });
  const replica = await TestRedis.start({ args: ['--appendfsync', 'everysec', '--replicaof', '127.0.0.1', String(primary.port)] });
  const base = { REDIS_URL: primary.url, PUBLISHER_KEYS: `bench:${KEY}`, LOG_LEVEL: 'warn', RATE_LIMIT_PUBLISH_PER_SECOND: '0', HISTORY_MAX_EVENTS: '1000000' };
  const nodes = [
    new NodeProcess('no-wait', await freePort(), { ...base, REDIS_MIN_REPLICAS: '0' }, join(dir, 'no-wait.log')),
    new NodeProcess('wait-1', await freePort(), { ...base, REDIS_MIN_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '1000' }, join(dir, 'wait-1.log')),
  ];
  try {
    await Promise.all(nodes.map((n) => n.start()));
    const c = replica.client();
    const deadline = Date.now() + 15_000;
    while (!/master_link_status:up/.test(await c.info('replication'))) {
      if (Date.now() > deadline) throw new Error('replica not in sync');
      await sleep(100);
    }
    c.disconnect();
    console.log(`WAIT bench: ${ROUNDS} rounds x ${PER_ROUND} sequential publishes per node, then ${CONCURRENT} with ${IN_FLIGHT} in flight; one primary + one replica on loopback (appendfsync everysec); node ${process.version}`);
    for (const n of nodes) for (let i = 0; i < 20; i++) await publish(n); // warm-up
    const lat = new Map<string, number[]>(nodes.map((n) => [n.name, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const n of r % 2 === 0 ? nodes : [...nodes].reverse()) for (let i = 0; i < PER_ROUND; i++) lat.get(n.name)!.push(await publish(n));
    }
    const tput = new Map<string, number>();
    for (const n of nodes) tput.set(n.name, await concurrent(n, CONCURRENT));
    for (const n of [...nodes].reverse()) tput.set(n.name, (tput.get(n.name)! + (await concurrent(n, CONCURRENT))) / 2);

    console.log('\n| REDIS_MIN_REPLICAS | publish p50 ms | p90 ms | p99 ms | publishes/s (16 in flight) |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    const rows = nodes.map((n) => {
      const l = lat.get(n.name)!.sort((a, b) => a - b);
      return { name: n.name, p50: pct(l, 50), p90: pct(l, 90), p99: pct(l, 99), tput: tput.get(n.name)! };
    });
    for (const r of rows) console.log(`| ${r.name === 'no-wait' ? '0' : '1'} | ${f(r.p50, 2)} | ${f(r.p90, 2)} | ${f(r.p99, 2)} | ${f(r.tput, 0)} |`);
    const [a, b] = rows as [(typeof rows)[0], (typeof rows)[0]];
    console.log(`| **ratio 1 / 0** | **${f(b.p50 / a.p50, 2)}x** | ${f(b.p90 / a.p90, 2)}x | ${f(b.p99 / a.p99, 2)}x | ${f(b.tput / a.tput, 2)}x |`);

    // The same on Redis alone, without HTTP and the server around it: one small write, with and without WAIT 1.
    const raw = primary.client();
    const alone: number[] = [];
    const waited: number[] = [];
    for (let i = 0; i < ROUNDS * PER_ROUND * 2; i++) {
      const t = now();
      if (i % 2 === 0) {
        await raw.incr('bench-wait');
        alone.push(now() - t);
      } else {
        await raw.pipeline().incr('bench-wait').wait(1, 1000).exec();
        waited.push(now() - t);
      }
    }
    raw.disconnect();
    alone.sort((x, y) => x - y);
    waited.sort((x, y) => x - y);
    console.log('\n| on Redis alone | p50 ms | p99 ms |\n| --- | ---: | ---: |');
    console.log(`| INCR | ${f(pct(alone, 50), 3)} | ${f(pct(alone, 99), 3)} |`);
    console.log(`| INCR + WAIT 1 | ${f(pct(waited, 50), 3)} | ${f(pct(waited, 99), 3)} |`);
  } finally {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    await replica.stop();
    await primary.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
