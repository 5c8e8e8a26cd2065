/**
 * npm run bench:storm — a reconnect storm: N Socket.IO clients of node A drop at once (A is killed) and reconnect
 * to node B within SPREAD ms, each with a cursor BEHIND events back (and a few more events are published while
 * they reconnect). Measures the time until every client has exactly the events it missed plus the new ones, in
 * order, none twice, and the Redis commands issued per reconnecting client (INFO commandstats before/after);
 * compared with a fresh connect of N clients to B in the same run, with the same spread.
 *
 *   BENCH_CLIENTS=10000 BENCH_BEHIND=50 BENCH_SPREAD_MS=1000 BENCH_DURING=5 npm run bench:storm
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { TestRedis } from '../tests/support/redis.ts';
import { now, sleep, startServer, type Server } from './lib/harness.ts';
import { KEY } from './lib/harness.ts';

const env = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const CLIENTS = env('BENCH_CLIENTS', 10_000);
const BEHIND = env('BENCH_BEHIND', 50);
const SPREAD_MS = env('BENCH_SPREAD_MS', 1_000);
const DURING = env('BENCH_DURING', 5);
const WORKERS = env('BENCH_WORKERS', 2);

class Storm {
  private constructor(private readonly workers: Worker[]) {}

  static async start(): Promise<Storm> {
    const per = Math.ceil(CLIENTS / WORKERS);
    const workers = Array.from({ length: WORKERS }, (_, i) => new Worker(fileURLToPath(new URL('./lib/storm-client.mjs', import.meta.url)), {
      execArgv: [],
      workerData: { clients: Math.min(per, CLIENTS - i * per), topics: ['world'] },
    }));
    await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
    return new Storm(workers);
  }

  ask<T>(msg: { type: string } & Record<string, unknown>): Promise<T[]> {
    return Promise.all(this.workers.map((w) => new Promise<T>((resolve, reject) => {
      const on = (m: { type: string; message?: string }) => {
        if (m.type === 'error') reject(new Error(m.message));
        else if (m.type !== msg.type) return;
        w.off('message', on);
        resolve(m as T);
      };
      w.on('message', on);
      w.postMessage(msg);
    })));
  }

  async connect(port: number, withCursor: boolean): Promise<{ start: number; end: number; retries: number }> {
    const r = await this.ask<{ start: number; end: number; retries: number }>({ type: 'connect', port, spreadMs: SPREAD_MS, withCursor });
    return { start: Math.min(...r.map((x) => x.start)), end: Math.max(...r.map((x) => x.end)), retries: r.reduce((a, b) => a + b.retries, 0) };
  }

  async state(id = ''): Promise<{ open: number; at: number }> {
    const r = await this.ask<{ open: number; at: number }>({ type: 'state', id });
    return { open: r.reduce((a, b) => a + b.open, 0), at: r.reduce((a, b) => a + b.at, 0) };
  }

  async check(expected: string[]) {
    const r = await this.ask<{ complete: number; short: number; wrong: number; lastDone: number }>({ type: 'check', expected });
    return { complete: r.reduce((a, b) => a + b.complete, 0), short: r.reduce((a, b) => a + b.short, 0), wrong: r.reduce((a, b) => a + b.wrong, 0), lastDone: Math.max(...r.map((x) => x.lastDone)) };
  }

  async close(): Promise<void> {
    await this.ask({ type: 'close' });
  }

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

async function until(what: string, ok: () => Promise<boolean>, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function publishEvent(server: Server, n: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${server.port}/api/v1/articles`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ id: `storm-${n}-${Date.now()}`, headline: `storm ${n}`, summary: 'A benchmark alert with a summary of ordinary length for a breaking news item.', topics: ['world/europe'], urgency: 2 }),
  });
  if (res.status !== 201) throw new Error(`publish answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { event: { id: string } }).event.id;
}

/** Calls per command name from INFO commandstats. */
async function commandstats(redis: Redis): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

function diff(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const d = new Map<string, number>();
  for (const [k, v] of after) if (v - (before.get(k) ?? 0) > 0) d.set(k, v - (before.get(k) ?? 0));
  d.delete('info'); // the bench's own INFO
  return d;
}
const total = (d: Map<string, number>) => [...d.values()].reduce((a, b) => a + b, 0);
const f = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main(): Promise<void> {
  console.log(`storm bench: ${CLIENTS} clients, ${BEHIND} events behind, reconnecting within ${SPREAD_MS} ms, ${DURING} events published meanwhile; node ${process.version}`);
  const redis = await TestRedis.start({ persistent: false });
  const probe = new Redis(redis.url);
  const config = { BENCH_CONFIG: JSON.stringify({ REDIS_URL: redis.url, RATE_LIMIT_HISTORY_PER_MINUTE: '0' }) };
  const a = await startServer('project', config);
  const b = await startServer('project', config);
  const storm = await Storm.start();
  try {
    // A fresh connect of every client to B, with the same spread: the yardstick.
    const fresh = await storm.connect(b.port, false);
    const freshMs = fresh.end - fresh.start;
    await storm.close();
    await until('B to see the fresh clients go', async () => (await storm.state()).open === 0);
    await sleep(1_000);

    // Every client on A, holding the same cursor.
    await storm.connect(a.port, false);
    let n = 0;
    const cursor = await publishEvent(a, ++n);
    await until('every client to have the cursor event', async () => (await storm.state(cursor)).at === CLIENTS);
    // A dies: its clients drop at once; BEHIND events are published through B while they are away.
    a.child.kill('SIGKILL');
    await until('every client to notice', async () => (await storm.state()).open === 0);
    const expected: string[] = [];
    const p0 = await commandstats(probe);
    for (let i = 0; i < BEHIND; i++) expected.push(await publishEvent(b, ++n));
    const perPublish = total(diff(await commandstats(probe), p0)) / BEHIND;
    // What the server asks of Redis when nothing happens (Web Push queue workers poll), per millisecond.
    const idle0 = await commandstats(probe);
    const idleT0 = now();
    await sleep(2_000);
    const idlePerMs = total(diff(await commandstats(probe), idle0)) / (now() - idleT0);

    const before = await commandstats(probe);
    const t0 = now();
    const reconnect = storm.connect(b.port, true);
    for (let i = 0; i < DURING; i++) {
      await sleep(SPREAD_MS / DURING);
      expected.push(await publishEvent(b, ++n));
    }
    const reconnected = await reconnect;
    let last = { complete: 0, short: 0, wrong: 0, lastDone: 0 };
    await until('every client to have caught up', async () => {
      last = await storm.check(expected);
      if (last.wrong > 0) throw new Error(`${last.wrong} clients got a wrong sequence (loss, duplicate, order or resync)`);
      return last.complete === CLIENTS;
    });
    const d = diff(await commandstats(probe), before);
    const countedMs = now() - t0;
    const stormMs = last.lastDone - Math.min(t0, reconnected.start);
    const background = idlePerMs * countedMs;
    // An upper bound: every command in the storm but the publications' (background polling included).
    const reconnectCommands = Math.max(0, total(d) - perPublish * DURING);

    console.log('\n| measure | figure |');
    console.log('| --- | ---: |');
    console.log(`| fresh connect of ${f(CLIENTS)} clients to B (first open to last CONNECT ack) | ${f(freshMs)} ms (${f(fresh.retries)} connections retried) |`);
    console.log(`| storm: first reconnect to the last client holding all ${expected.length} events | ${f(stormMs)} ms (${f(reconnected.retries)} connections retried) |`);
    console.log(`| storm / fresh | **${f(stormMs / freshMs, 2)}x** (target <= 3) |`);
    console.log(`| clients with exactly the ${expected.length} events in order, none twice, no resync | ${f(last.complete)} of ${f(CLIENTS)} |`);
    console.log(`| Redis commands during the storm (all) | ${f(total(d))} |`);
    console.log(`| of which the ${DURING} publications (${f(perPublish, 1)} each, measured before) | ${f(perPublish * DURING)} |`);
    console.log(`| background when idle (Web Push workers polling: ${f(idlePerMs * 1000, 1)}/s over the ${f(countedMs)} ms counted; not subtracted) | ${f(background)} |`);
    console.log(`| GET (the window's shared epoch checks) / EVALSHA (scripts: history pages, commits) | ${f(d.get('get') ?? 0)} / ${f(d.get('evalsha') ?? 0)} |`);
    console.log(`| Redis commands per reconnecting client, at most (all but the publications' / clients) | **${f(reconnectCommands / CLIENTS, 3)}** (target <= 0.1) |`);
    console.log(`\ncommands during the storm: ${[...d].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  } finally {
    await storm.close().catch(() => undefined);
    await storm.terminate();
    await b.stop().catch(() => undefined);
    await a.stop().catch(() => undefined);
    probe.disconnect();
    await redis.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
