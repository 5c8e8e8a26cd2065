/**
 * npm run soak — a soak and fault run on loopback: two server nodes (src/main.ts, each its own process) on one
 * redis-server (append-only, its own port and temp dir), N thin Socket.IO clients in worker threads following
 * one section each, a share of them reconnecting with their cursor every few seconds, a publisher with
 * idempotent retries, and faults at set times: Redis SIGKILLed and restarted, a node SIGKILLed and restarted.
 * At the end: whether every acknowledged article is in the history, a per-client verdict (lost, doubled, out of
 * order, resyncs), the publish outcomes and the memory curve (RSS) of every process. Exits 1 if an acknowledged
 * article is missing or any client lost, doubled or reordered an event.
 *
 *   npm run soak -- --minutes 10 --clients 2000 --rate 20 --churn 0.1 --churn-every 10
 *   npm run soak -- --minutes 2 --no-faults --fsync everysec
 *   npm run soak -- --redis-kill-at 60 --node-kill-at 150 --down 5     (seconds after publishing starts)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { RedisKeys } from '../src/storage/redis-connection.ts';
import { freePort, TestRedis } from '../tests/support/redis.ts';
import { askWorkers, KEY, pct, sleep } from './lib/harness.ts';
import { NodeProcess, rssOf } from './lib/node-process.ts';
import { hashId } from './lib/soak-hash.mjs';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: process.env.SOAK_MINUTES ?? '10' },
    clients: { type: 'string', default: process.env.SOAK_CLIENTS ?? '2000' },
    rate: { type: 'string', default: process.env.SOAK_RATE ?? '20' },
    churn: { type: 'string', default: '0.1' },
    'churn-every': { type: 'string', default: '10' },
    'redis-kill-at': { type: 'string' },
    'node-kill-at': { type: 'string' },
    down: { type: 'string', default: '5' },
    'no-faults': { type: 'boolean', default: false },
    workers: { type: 'string', default: '2' },
    /** Redis's appendfsync: `always` (every write on disk before the answer) or `everysec` (Redis's default). */
    fsync: { type: 'string', default: 'always' },
  },
});
const num = (name: string, v: string | undefined, min: number, max: number): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max} (got ${v})`);
  return n;
};
const DURATION_S = Math.round(num('minutes', args.minutes, 0.1, 24 * 60) * 60);
const CLIENTS = num('clients', args.clients, 1, 100_000);
const RATE = num('rate', args.rate, 0.1, 1_000);
const CHURN = num('churn', args.churn, 0, 1);
const CHURN_EVERY_S = num('churn-every', args['churn-every'], 1, 3_600);
const DOWN_S = num('down', args.down, 1, 600);
const WORKERS = num('workers', args.workers, 1, 16);
const REDIS_KILL_AT = args['no-faults'] ? null : num('redis-kill-at', args['redis-kill-at'] ?? String(Math.round(DURATION_S * 0.25)), 1, DURATION_S);
const NODE_KILL_AT = args['no-faults'] ? null : num('node-kill-at', args['node-kill-at'] ?? String(Math.round(DURATION_S * 0.6)), 1, DURATION_S);
const SECTIONS = ['world', 'sport', 'business', 'culture', 'science', 'tech', 'politics', 'health', 'travel', 'climate'];
/** How long the publisher keeps retrying one article before it counts it as given up. */
const PUBLISH_DEADLINE_MS = 60_000;
const MAX_IN_FLIGHT = 64;
const SAMPLE_EVERY_MS = 5_000;

/** Seconds since the publisher started (before that: since the soak started). */
let t0 = Date.now();
const elapsed = () => (Date.now() - t0) / 1000;
const log = (msg: string) => console.log(`[${elapsed().toFixed(0).padStart(4)} s] ${msg}`);
const mb = (b: number | null | undefined) => (b == null ? '-' : (b / 1024 / 1024).toFixed(0));

interface ClientReport {
  index: number;
  topic: string;
  connected: boolean;
  lastId: string | null;
  segStart: string | null;
  count: number;
  sum: number;
  doubled: number;
  outOfOrder: number;
  resyncs: number;
  connects: number;
  drops: number;
  connectFailures: number;
}

/** The client workers, addressed as one. */
class Clients {
  private constructor(private readonly workers: Worker[]) {}

  static async start(ports: number[]): Promise<Clients> {
    const specs = Array.from({ length: CLIENTS }, (_, i) => ({ topic: SECTIONS[i % SECTIONS.length]!, port: ports[i % ports.length]! }));
    const per = Math.ceil(CLIENTS / WORKERS);
    const workers = Array.from({ length: WORKERS }, (_, w) =>
      new Worker(fileURLToPath(new URL('./lib/soak-clients.mjs', import.meta.url)), {
        execArgv: [],
        workerData: { ports, clients: specs.slice(w * per, (w + 1) * per), offset: w * per },
      }),
    );
    const connected = await Promise.all(
      workers.map(
        (w) =>
          new Promise<number>((resolve, reject) => {
            w.once('message', (m: { type: string; connected?: number; message?: string }) => (m.type === 'ready' ? resolve(m.connected!) : reject(new Error(m.message))));
            w.once('error', reject);
          }),
      ),
    );
    log(`${connected.reduce((a, b) => a + b, 0)} of ${CLIENTS} clients connected`);
    return new Clients(workers);
  }

  private ask<T>(msg: { type: string }, answer: string): Promise<T[]> {
    return askWorkers<T>(this.workers, msg, answer);
  }

  async churn(share: number): Promise<number> {
    return (await this.ask<{ n: number }>({ type: 'churn', share } as { type: string }, 'churned')).reduce((a, r) => a + r.n, 0);
  }

  live(ports: number[]): void {
    for (const w of this.workers) w.postMessage({ type: 'live', ports });
  }

  async progress(): Promise<Array<[string | null, boolean]>> {
    return (await this.ask<{ clients: Array<[string | null, boolean]> }>({ type: 'progress' }, 'progress')).flatMap((r) => r.clients);
  }

  async reports(): Promise<ClientReport[]> {
    return (await this.ask<{ clients: ClientReport[] }>({ type: 'report' }, 'report')).flatMap((r) => r.clients);
  }

  async close(): Promise<void> {
    await this.ask({ type: 'close' }, 'closed');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Publishes one article per tick, retrying each (same body, version 1) until a 2xx, on any node that is up. */
class Publisher {
  readonly outcomes = new Map<string, number>();
  readonly firstTryMs: number[] = [];
  readonly ackMs: number[] = [];
  retried = 0;
  gaveUp = 0;
  skipped = 0;
  acked = 0;
  /** Ids of the articles answered 2xx: each must be in the history at the end. */
  readonly ackedIds: string[] = [];
  private seq = 0;
  private inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private readonly runId = Date.now().toString(36);

  constructor(private readonly nodes: NodeProcess[], private readonly up: () => NodeProcess[]) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.inFlight.size >= MAX_IN_FLIGHT) {
        this.skipped++;
        return;
      }
      const p = this.publishOne(++this.seq).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }, 1000 / RATE);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.inFlight]);
  }

  private count(outcome: string): void {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }

  private async publishOne(seq: number): Promise<void> {
    const section = SECTIONS[seq % SECTIONS.length]!;
    const id = `soak-${this.runId}-${seq}`;
    const body = JSON.stringify({
      id, version: 1, headline: `Soak ${seq}`, topics: [`${section}/desk`], urgency: 3,
      summary: 'A soak-test alert with a summary of ordinary length for a breaking news item, published once.',
    });
    const start = Date.now();
    for (let attempt = 0; ; attempt++) {
      const up = this.up();
      const node = up.length > 0 ? up[(seq + attempt) % up.length]! : this.nodes[0]!;
      const tried = Date.now();
      let wait = 200;
      try {
        const res = await fetch(`${node.url}/api/v1/articles`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        if (res.status === 201 || res.status === 200) {
          this.count(res.status === 201 ? '201 published' : JSON.parse(text).event === null ? '200 idempotent retry' : '200 other');
          if (attempt === 0) this.firstTryMs.push(Date.now() - tried);
          else this.retried++;
          this.ackMs.push(Date.now() - start);
          this.acked++;
          this.ackedIds.push(id);
          return;
        }
        this.count(String(res.status));
        if (res.status !== 503 && res.status !== 429) return; // a bug, not a fault: counted, not retried
        wait = 1000 * Number(res.headers.get('retry-after') ?? 1);
      } catch (err) {
        this.count(`network error (${(err as Error).name})`);
      }
      if (Date.now() - start > PUBLISH_DEADLINE_MS) {
        this.gaveUp++;
        return;
      }
      await sleep(wait);
    }
  }
}

/** RSS samples of every process, every SAMPLE_EVERY_MS. */
class MemoryCurve {
  readonly samples: Array<{ t: number; rss: Record<string, number | null> }> = [];
  private timer: NodeJS.Timeout | null = null;
  constructor(private readonly sources: Record<string, () => number | null>) {}
  start(): void {
    const take = () => this.samples.push({ t: elapsed(), rss: Object.fromEntries(Object.entries(this.sources).map(([k, f]) => [k, f()])) });
    take();
    this.timer = setInterval(take, SAMPLE_EVERY_MS);
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

interface History {
  /** Per topic: ids in order, and prefix sums of count and hash from each id to the end. */
  ids: Map<string, string[]>;
  /** Article ids with an event in the history. */
  articles: Set<string>;
}

/**
 * The whole history: its first event from the stream in Redis (no cursor reads a history from its very first
 * event through the API: the history's epoch is that event's own millisecond, and an older cursor is answered
 * with resync), the rest page by page through the public API from there.
 */
async function readHistory(node: NodeProcess, redis: TestRedis): Promise<History> {
  const ids = new Map<string, string[]>(SECTIONS.map((s) => [s, []]));
  const articles = new Set<string>();
  const add = (e: { id: string; topics: string[]; article: { id: string } }) => {
    ids.get(e.topics[0]!.split('/')[0]!)!.push(e.id);
    articles.add(e.article.id);
  };
  const c = redis.client();
  const [first] = await c.xrange(new RedisKeys().key('events'), '-', '+', 'COUNT', 1);
  c.disconnect();
  if (!first) return { ids, articles };
  const [firstId, fields] = first;
  add({ ...(JSON.parse(fields[fields.indexOf('e') + 1]!) as { topics: string[]; article: { id: string } }), id: firstId });
  let since = firstId;
  for (;;) {
    const res = await fetch(`${node.url}/api/v1/events?topics=${SECTIONS.join(',')}&since=${since}&limit=1000`);
    const page = (await res.json()) as { events: Array<{ id: string; topics: string[]; article: { id: string } }>; resync: boolean; more: boolean };
    if (!res.ok || page.resync) throw new Error(`history read answered ${res.status}${page.resync ? ' resync' : ''}`);
    for (const e of page.events) add(e);
    // A page ends at 1,000 events or 1 MiB, whichever comes first; `more` says whether another follows.
    if (!page.more) return { ids, articles };
    since = page.events[page.events.length - 1]!.id;
  }
}

interface Verdict {
  ok: number;
  lost: number;
  doubled: number;
  outOfOrder: number;
  foreign: number;
  resyncs: number;
  clientsWithResync: number;
  deliveries: number;
  reconnects: number;
  drops: number;
  badClients: ClientReport[];
}

/**
 * Compares each client with the history of its topic: from the topic's first event (or from the first event
 * after its last resync), the client must have had every id once, in order: the same count and the same sum of
 * hashes; ids went strictly up.
 */
function judge(reports: ClientReport[], history: History): Verdict {
  const v: Verdict = { ok: 0, lost: 0, doubled: 0, outOfOrder: 0, foreign: 0, resyncs: 0, clientsWithResync: 0, deliveries: 0, reconnects: 0, drops: 0, badClients: [] };
  const suffix = new Map<string, { index: Map<string, number>; sums: number[] }>();
  for (const [topic, ids] of history.ids) {
    const sums = new Array<number>(ids.length + 1).fill(0);
    for (let i = ids.length - 1; i >= 0; i--) sums[i] = (sums[i + 1]! + hashId(ids[i]!)) >>> 0;
    suffix.set(topic, { index: new Map(ids.map((id, i) => [id, i])), sums });
  }
  for (const c of reports) {
    const ids = history.ids.get(c.topic)!;
    const s = suffix.get(c.topic)!;
    const from = c.resyncs > 0 ? (c.segStart === null ? ids.length : s.index.get(c.segStart) ?? -1) : 0;
    let lost = 0;
    let foreign = 0;
    if (from < 0) foreign = 1; // started on an id the history does not have
    else {
      const expected = ids.length - from;
      lost = Math.max(0, expected - c.count);
      if (lost === 0 && (c.count !== expected || c.sum !== s.sums[from])) foreign = Math.max(1, c.count - expected);
    }
    v.lost += lost;
    v.foreign += foreign;
    v.doubled += c.doubled;
    v.outOfOrder += c.outOfOrder;
    v.resyncs += c.resyncs;
    if (c.resyncs > 0) v.clientsWithResync++;
    v.deliveries += c.count + c.doubled + c.outOfOrder;
    v.reconnects += Math.max(0, c.connects - 1);
    v.drops += c.drops;
    if (lost + foreign + c.doubled + c.outOfOrder === 0) v.ok++;
    else v.badClients.push(c);
  }
  return v;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'newspush-soak-'));
  console.log(
    `soak: ${DURATION_S} s, ${CLIENTS} clients on ${SECTIONS.length} sections, ${RATE} publications/s, ${(CHURN * 100).toFixed(0)}% reconnecting every ${CHURN_EVERY_S} s, ` +
      `Redis appendfsync ${args.fsync}, faults: ${REDIS_KILL_AT === null ? 'none' : `Redis SIGKILL at ${REDIS_KILL_AT} s, node B SIGKILL at ${NODE_KILL_AT} s, each down ${DOWN_S} s`}; node ${process.version}; logs in ${dir}`,
  );
  if (args.fsync !== 'always' && args.fsync !== 'everysec') throw new Error('--fsync must be always or everysec');
  const redis = await TestRedis.start({ args: ['--appendfsync', args.fsync] });
  const env = {
    REDIS_URL: redis.url, PUBLISHER_KEYS: `soak:${KEY}`, LOG_LEVEL: 'warn', RATE_LIMIT_PUBLISH_PER_SECOND: '0',
    // 2,000 readers share 127.0.0.1 here; in production each has its own address and budget.
    RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '0', RATE_LIMIT_HISTORY_PER_MINUTE: '0', HISTORY_MAX_EVENTS: '10000000', MAX_CONNECTIONS_PER_ADDRESS: '0',
    // The verdict reads the whole history (12,000 events) through the events API from its start, which the default
    // bound of a catch-up (1,000 events behind) answers with resync; the clients stay far within it either way.
    REPLAY_MAX_EVENTS: '1000000',
  };
  const nodes = [
    new NodeProcess('A', await freePort(), env, join(dir, 'node-a.log')),
    new NodeProcess('B', await freePort(), env, join(dir, 'node-b.log')),
  ];
  const down = new Set<NodeProcess>();
  const up = () => nodes.filter((n) => !down.has(n));
  let clients: Clients | null = null;
  const timers: NodeJS.Timeout[] = [];
  const faults: string[] = [];
  try {
    await Promise.all(nodes.map((n) => n.start()));
    clients = await Clients.start(nodes.map((n) => n.port));
    const memory = new MemoryCurve({
      'node A': () => nodes[0]!.rss(),
      'node B': () => nodes[1]!.rss(),
      'redis-server': () => rssOf(redis.pid),
      'soak (clients, publisher)': () => process.memoryUsage().rss,
    });
    await sleep(2_000);
    const publisher = new Publisher(nodes, up);
    t0 = Date.now();
    const tStart = 0;
    publisher.start();
    memory.start();
    const at = (s: number, f: () => Promise<void>) => timers.push(setTimeout(() => void f().catch((e) => log(`fault step failed: ${String(e)}`)), s * 1000));
    const c = clients;
    const churned: number[] = [];
    timers.push(setInterval(() => void c.churn(CHURN).then((n) => n > 0 && churned.push(n)), CHURN_EVERY_S * 1000));
    if (REDIS_KILL_AT !== null) {
      at(REDIS_KILL_AT, async () => {
        redis.kill('SIGKILL');
        faults.push(`${elapsed().toFixed(0)} s: redis-server SIGKILLed`);
        log('redis-server SIGKILLed');
        await sleep(DOWN_S * 1000);
        await redis.startProcess();
        faults.push(`${elapsed().toFixed(0)} s: redis-server restarted (append-only file)`);
        log('redis-server restarted');
      });
    }
    if (NODE_KILL_AT !== null) {
      at(NODE_KILL_AT, async () => {
        const b = nodes[1]!;
        down.add(b);
        c.live([nodes[0]!.port]);
        await b.kill();
        faults.push(`${elapsed().toFixed(0)} s: node B SIGKILLed (its clients reconnect to A with their cursor)`);
        log('node B SIGKILLed');
        await sleep(DOWN_S * 1000);
        await b.start();
        down.delete(b);
        c.live(nodes.map((n) => n.port));
        faults.push(`${elapsed().toFixed(0)} s: node B restarted`);
        log('node B restarted');
      });
    }
    // The run: progress every 30 s until the duration is over.
    while (elapsed() - tStart < DURATION_S) {
      await sleep(Math.min(30_000, (DURATION_S - (elapsed() - tStart)) * 1000));
      const last = memory.samples.at(-1);
      log(
        `acknowledged ${publisher.acked}, outcomes ${JSON.stringify(Object.fromEntries(publisher.outcomes))}, ` +
          `rss MB ${Object.entries(last?.rss ?? {}).map(([k, v]) => `${k} ${mb(v)}`).join(', ')}`,
      );
    }
    for (const t of timers) clearTimeout(t);
    await publisher.stop();
    memory.stop();
    log('publishing stopped; waiting for every client to reach the end of its topic');
    // A fault step may still be running (a restart near the end): wait for every node to be up again.
    const deadlineUp = Date.now() + 120_000;
    while (down.size > 0 && Date.now() < deadlineUp) await sleep(200);
    const history = await readHistory(nodes[0]!, redis);
    const lastOf = new Map([...history.ids].map(([t, ids]) => [t, ids.at(-1) ?? null]));
    const deadline = Date.now() + 120_000;
    let behind = CLIENTS;
    while (Date.now() < deadline) {
      const progress = await c.progress();
      behind = progress.filter(([lastId], i) => lastId !== lastOf.get(SECTIONS[i % SECTIONS.length]!)).length;
      if (behind === 0) break;
      await sleep(500);
    }
    log(behind === 0 ? 'every client is at the end of its topic' : `${behind} clients still behind after 120 s`);
    const reports = await c.reports();
    const verdict = judge(reports, history);
    const total = [...history.ids.values()].reduce((a, ids) => a + ids.length, 0);
    const ackedMissing = publisher.ackedIds.filter((id) => !history.articles.has(id)).length;

    console.log(`\n## Soak result (${(DURATION_S / 60).toFixed(1)} min, ${CLIENTS} clients, ${RATE}/s, node ${process.version})\n`);
    console.log('| figure | value |\n| --- | ---: |');
    const row = (k: string, v: string | number) => console.log(`| ${k} | ${typeof v === 'number' ? v.toLocaleString('en-US') : v} |`);
    row('events in the history', total);
    row('acknowledged articles (2xx) missing from the history', `${ackedMissing} of ${publisher.ackedIds.length.toLocaleString('en-US')}`);
    row('deliveries to clients', verdict.deliveries);
    row('clients with every event once, in order', `${verdict.ok} of ${reports.length}`);
    row('lost', verdict.lost);
    row('doubled', verdict.doubled);
    row('out of order', verdict.outOfOrder);
    row('foreign (not in the history)', verdict.foreign);
    row('resyncs (clients)', `${verdict.resyncs} (${verdict.clientsWithResync})`);
    row('reconnects with a cursor (churn + dropped by a killed node)', verdict.reconnects);
    row('connections dropped by the server side', verdict.drops);
    row('churn rounds / reconnects asked', `${churned.length} / ${churned.reduce((a, b) => a + b, 0)}`);
    row('clients still behind at the end', behind);
    console.log('\n| publish outcome | count |\n| --- | ---: |');
    for (const [k, v] of [...publisher.outcomes].sort()) console.log(`| ${k} | ${v.toLocaleString('en-US')} |`);
    console.log(`| articles acknowledged after retries | ${publisher.retried} |`);
    console.log(`| articles given up (no 2xx within ${PUBLISH_DEADLINE_MS / 1000} s) | ${publisher.gaveUp} |`);
    console.log(`| ticks skipped (${MAX_IN_FLIGHT} articles in flight) | ${publisher.skipped} |`);
    const first = [...publisher.firstTryMs].sort((a, b) => a - b);
    const ack = [...publisher.ackMs].sort((a, b) => a - b);
    console.log(`\npublish latency, first attempts that succeeded: p50 ${pct(first, 50)} ms, p99 ${pct(first, 99)} ms; until acknowledged (with retries): p99 ${pct(ack, 99)} ms, max ${ack.at(-1)} ms`);
    console.log(`\nfaults:\n${faults.map((f) => `- ${f}`).join('\n') || '- none'}`);

    const names = Object.keys(memory.samples[0]?.rss ?? {});
    console.log(`\n| t (s) | ${names.join(' MB | ')} MB |\n| ---: | ${names.map(() => '---:').join(' | ')} |`);
    const every = Math.max(1, Math.round(60_000 / SAMPLE_EVERY_MS));
    memory.samples.forEach((s, i) => {
      if (i % every === 0 || i === memory.samples.length - 1) console.log(`| ${s.t.toFixed(0)} | ${names.map((n) => mb(s.rss[n])).join(' | ')} |`);
    });
    const warm = memory.samples.filter((s) => s.t - tStart >= 60);
    console.log('\n| process | RSS after the first minute: min | median | max MB |\n| --- | ---: | ---: | ---: |');
    for (const n of names) {
      const v = warm.map((s) => s.rss[n]).filter((x): x is number => x != null).sort((a, b) => a - b);
      if (v.length > 0) console.log(`| ${n} | ${mb(v[0]!)} | ${mb(pct(v, 50))} | ${mb(v.at(-1)!)} |`);
    }
    for (const b of verdict.badClients.slice(0, 10)) console.log(`bad client: ${JSON.stringify(b)}`);
    const clean = verdict.lost + verdict.doubled + verdict.outOfOrder + verdict.foreign + ackedMissing === 0 && behind === 0;
    console.log(`\nverdict: ${clean ? 'PASS' : 'FAIL'} (0 acknowledged articles missing, 0 lost, 0 doubled, 0 out of order expected)`);
    process.exitCode = clean ? 0 : 1;
  } finally {
    for (const t of timers) clearTimeout(t);
    await clients?.close().catch(() => undefined);
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    await redis.stop();
    if (process.exitCode === 0) rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
