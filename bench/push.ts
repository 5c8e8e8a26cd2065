/**
 * npm run bench:push — Web Push fan-out to N subscribers on the local push service (a separate process that
 * checks VAPID and decrypts the first pushes, then counts), against the naive loop
 * `for (const s of subs) await webpush.sendNotification(s, payload, options)` on the same subscribers, in the
 * same run. Then, with the whole server in its own process, the Socket.IO fan-out p99 to M clients with and
 * without a push run going on.
 *
 * Last, at scale: the whole server with 10,000 then 100,000 push subscriptions, on the memory engine and on
 * Redis (BENCH_PUSH_ENGINES=redis,memory for both), pushes/s at each size (the largest should be no slower per push than the smallest).
 *
 *   BENCH_SUBSCRIBERS=10000 BENCH_SOCKETS=2000 BENCH_PUSH_SIZES=10000,100000 BENCH_PUSH_ENGINES=redis npm run bench:push
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:https';
import { fileURLToPath } from 'node:url';
import webpush from 'web-push';
import type { NewsEvent } from '../src/domain/event.ts';
import { createLogger } from '../src/ops/logger.ts';
import { Metrics } from '../src/ops/metrics.ts';
import { EndpointPolicy } from '../src/push/endpoint.ts';
import { PushEngine, type PushJob } from '../src/push/engine.ts';
import { buildPayload, pushTopic } from '../src/push/payload.ts';
import { MemoryQueue } from '../src/push/queue.ts';
import { PushSender } from '../src/push/sender.ts';
import { MemorySubscriptions } from '../src/push/subscriptions.ts';
import { ReceiptTokens } from '../src/reports/receipts.ts';
import { ReportRecorder } from '../src/reports/recorder.ts';
import { MemoryReports, RedisReports, type ReportStore } from '../src/reports/store.ts';
import { RedisFactory } from '../src/storage/redis-connection.ts';
import { TestRedis } from '../tests/support/redis.ts';
import { ensurePushTls } from '../tests/support/push-tls.ts';
import { pushAtScale, type EngineKind, type ScaleRow } from './lib/push-scale.ts';
import { socketLatencies } from './lib/socket-latency.ts';

// The local push service's CA is trusted through NODE_EXTRA_CA_CERTS, read only at start: this re-runs the
// bench in a process started with it (children inherit it), then exits with that run's code.
if (!(await ensurePushTls())) process.exit();

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 10_000);
const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 2_000);
const SIZES = (process.env.BENCH_PUSH_SIZES ?? '10000,100000').split(',').map(Number);
const ENGINES = (process.env.BENCH_PUSH_ENGINES ?? 'redis').split(',') as EngineKind[];
const REPORT_ROUNDS = Number(process.env.BENCH_REPORT_ROUNDS ?? 3);
const children = new Set<ChildProcess>();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
process.on('SIGINT', () => process.exit(130));

type Sub = { endpoint: string; keys: { p256dh: string; auth: string } };
type VapidKeys = { publicKey: string; privateKey: string; subject: string };
type Counting = 'off' | 'memory' | 'redis';

function child(path: string, args: string[] = [], env: Record<string, string> = {}): Promise<{ proc: ChildProcess; ready: any }> {
  const proc = fork(fileURLToPath(new URL(path, import.meta.url)), args, {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  children.add(proc);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${path} did not start`)), 30_000);
    proc.once('message', (ready) => {
      clearTimeout(t);
      resolve({ proc, ready });
    });
  });
}

function ask<T>(proc: ChildProcess, msg: { type: string; [k: string]: unknown }): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { type: string }) => {
      if (m.type !== msg.type) return;
      proc.off('message', on);
      resolve(m as T);
    };
    proc.on('message', on);
    proc.send(msg);
  });
}

async function untilAccepted(proc: ChildProcess, n: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const c = await ask<{ accepted: number; rejected: number }>(proc, { type: 'count' });
    if (c.rejected > 0) throw new Error(`the push service rejected ${c.rejected} pushes`);
    if (c.accepted >= n) return;
    if (Date.now() > deadline) throw new Error(`only ${c.accepted} of ${n} pushes accepted after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function event(): NewsEvent {
  const now = new Date().toISOString();
  return {
    id: `${Date.now()}-0`, type: 'article.published', at: now, topics: ['world'],
    article: { id: `push-bench-${Date.now()}`, version: 1, headline: 'Breaking: a benchmark alert', summary: 'A summary of ordinary length, as a newsroom would write it for a lock-screen alert.', body: null, url: 'https://news.example.com/a', topics: ['world'], urgency: 1, language: 'en', byline: null, image: null, publishedAt: now, changeNote: null, notify: true, updatedAt: now, status: 'published' },
  };
}

const f = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function engineVersusNaive(): Promise<void> {
  const { proc, ready } = await child('./lib/push-service-child.ts');
  const { list } = await ask<{ list: Sub[] }>(proc, { type: 'subscribers', n: SUBSCRIBERS });
  const vapid = { ...webpush.generateVAPIDKeys(), subject: 'mailto:bench@news.example.com' };
  const ev = event();

  // The naive way, generously given a keep-alive agent that trusts the local service.
  const agent = new Agent({ keepAlive: true });
  const payload = buildPayload(ev);
  const t0 = performance.now();
  for (const s of list) {
    await webpush.sendNotification(s, payload, { TTL: 3600, urgency: 'high', topic: pushTopic(ev), vapidDetails: vapid, agent } as webpush.RequestOptions);
  }
  const naiveMs = performance.now() - t0;
  await untilAccepted(proc, SUBSCRIBERS, 10_000);
  agent.destroy();
  await ask(proc, { type: 'reset' });

  // The delivery engine, in this process, on the same subscribers.
  const engineMs = (await engineRun(proc, ready.host, list, vapid, ev, null)).ms;
  proc.kill();

  console.log(`\n### Web Push: ${f(SUBSCRIBERS)} subscribers, one alert\n`);
  console.log('| sender | time to last push accepted | pushes/s |');
  console.log('| --- | ---: | ---: |');
  console.log(`| naive \`await webpush.sendNotification\` loop | ${f(naiveMs / 1000, 2)} s | ${f(SUBSCRIBERS / (naiveMs / 1000))} |`);
  console.log(`| newspush delivery engine | ${f(engineMs / 1000, 2)} s | ${f(SUBSCRIBERS / (engineMs / 1000))} |`);
  console.log(`| **ratio** | | **${f(naiveMs / engineMs, 2)}x** (target >= 4) |`);
}

/** One alert to every subscriber through the delivery engine in this process: ms until the last push was accepted, and this process's CPU ms meanwhile. */
async function engineRun(proc: ChildProcess, host: string, list: Sub[], vapid: VapidKeys, ev: NewsEvent, reports: ReportStore | null): Promise<{ ms: number; cpuMs: number }> {
  const logger = createLogger('warn');
  const subs = new MemorySubscriptions();
  for (const [i, s] of list.entries()) {
    await subs.upsert({ id: `s${i}`, endpoint: s.endpoint, keys: s.keys, topics: ['world'], maxUrgency: 9, languages: null, quietHours: null, tokenHash: '0', createdAt: ev.at });
  }
  const queue = new MemoryQueue<PushJob>(logger);
  const sender = new PushSender(vapid, new EndpointPolicy([host], { allowPrivateNetworks: true }));
  const recorder = reports ? new ReportRecorder(reports, logger) : null;
  const counting = recorder ? { recorder, tokens: new ReceiptTokens(randomBytes(32)) } : undefined;
  const engine = new PushEngine(subs, queue, sender, logger, { ttlSeconds: 3600, articleTtlSeconds: 3600, current: async () => ({ status: 'published' }), reports: counting }, new Metrics().registry);
  engine.start();
  const t1 = performance.now();
  const cpu0 = process.cpuUsage();
  await engine.queueFanout(ev);
  await untilAccepted(proc, list.length, 120_000);
  const ms = performance.now() - t1;
  const cpu = process.cpuUsage(cpu0);
  await queue.close();
  await recorder?.close();
  sender.close();
  if (reports) {
    // The figures must be the real ones, or the comparison measures nothing.
    await new Promise((r) => setTimeout(r, 300));
    const report = await reports.get(ev.id);
    const accepted = report?.counts.accepted ?? 0;
    if (accepted !== list.length) throw new Error(`the report counted ${accepted} accepted pushes of ${list.length}`);
  }
  await ask(proc, { type: 'reset' });
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/**
 * The cost of alert reports: the same alert to the same subscribers through the engine with counting off, with the
 * memory engine's report store and with Redis's, in rotating order, BENCH_REPORT_ROUNDS times each.
 */
async function reportsCost(): Promise<void> {
  const { proc, ready } = await child('./lib/push-service-child.ts');
  const { list } = await ask<{ list: Sub[] }>(proc, { type: 'subscribers', n: SUBSCRIBERS });
  const vapid = { ...webpush.generateVAPIDKeys(), subject: 'mailto:bench@news.example.com' };
  const redis = await TestRedis.start({ args: ['--appendfsync', 'everysec'] });
  const factory = new RedisFactory(redis.url, createLogger('warn'));
  const stores: Record<Counting, ReportStore | null> = { off: null, memory: new MemoryReports(3600), redis: new RedisReports(factory, 3600) };
  const kinds = Object.keys(stores) as Counting[];
  const rates: Record<Counting, number[]> = { off: [], memory: [], redis: [] };
  const cpuPerPush: Record<Counting, number[]> = { off: [], memory: [], redis: [] };
  // Untimed: the first run pays for JIT compilation and TLS session set-up, whichever kind it is.
  await engineRun(proc, ready.host, list, vapid, event(), stores.redis);
  for (let round = 0; round < REPORT_ROUNDS; round++) {
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(k + round) % kinds.length]!;
      const run = await engineRun(proc, ready.host, list, vapid, event(), stores[kind]);
      rates[kind].push(list.length / (run.ms / 1000));
      cpuPerPush[kind].push((run.cpuMs * 1000) / list.length);
    }
  }
  await stores.memory?.close();
  await stores.redis?.close();
  await factory.close();
  await redis.stop();
  proc.kill();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\n### Web Push: the cost of alert reports, ${f(SUBSCRIBERS)} subscribers, ${REPORT_ROUNDS} rounds (order rotating)\n`);
  console.log('| counting | pushes/s, every run | median | median / off | sender CPU µs per push, every run | median | median / off |');
  console.log('| --- | --- | ---: | ---: | --- | ---: | ---: |');
  for (const kind of kinds) {
    const ratio = median(rates[kind]) / median(rates.off);
    const note = kind === 'off' ? '' : ratio >= 1 ? ' (no fewer; target: at most 5% fewer)' : ` (${f((1 - ratio) * 100, 1)}% fewer; target: at most 5%)`;
    const cpu = median(cpuPerPush[kind]) / median(cpuPerPush.off);
    console.log(`| ${kind === 'off' ? 'reports off' : `reports in ${kind}`} | ${rates[kind].map((r) => f(r)).join(', ')} | ${f(median(rates[kind]))} | ${f(ratio, 3)}x${note} | ${cpuPerPush[kind].map((c) => f(c)).join(', ')} | ${f(median(cpuPerPush[kind]))} | ${f(cpu, 3)}x |`);
  }
}

async function socketsDuringPush(): Promise<void> {
  const { proc: pushProc, ready } = await child('./lib/push-service-child.ts');
  const { list } = await ask<{ list: Sub[] }>(pushProc, { type: 'subscribers', n: SUBSCRIBERS });
  const r = await socketLatencies({ clients: SOCKETS, subscriptions: list, pushHost: ready.host, waitPushes: (n: number) => untilAccepted(pushProc, n, 120_000) });
  pushProc.kill();
  console.log(`\n### Socket.IO fan-out to ${f(SOCKETS)} clients while ${f(SUBSCRIBERS)} pushes go out\n`);
  console.log('| phase | alerts | p50 ms | p99 ms |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(`| no push run | ${r.quiet.count} | ${f(r.quiet.p50, 1)} | ${f(r.quiet.p99, 1)} |`);
  console.log(`| during the push run | ${r.busy.count} | ${f(r.busy.p50, 1)} | ${f(r.busy.p99, 1)} |`);
  console.log(`| **ratio** | | | **${f(r.busy.p99 / r.quiet.p99, 2)}x** (target <= 2) |`);
  console.log(`\npush run in the full server: ${f(r.pushMs / 1000, 2)} s for ${f(SUBSCRIBERS)} pushes (${f(SUBSCRIBERS / (r.pushMs / 1000))}/s)`);
}

async function atScale(): Promise<void> {
  const { proc, ready } = await child('./lib/push-service-child.ts');
  const g0 = performance.now();
  const { list } = await ask<{ list: Sub[] }>(proc, { type: 'subscribers', n: Math.max(...SIZES) });
  console.log(`\n### Web Push at scale: the whole server, one alert to ${SIZES.map((n) => f(n)).join(' then ')} subscribers\n`);
  console.log(`(${f(list.length)} subscribers' keys made by the push service in ${f((performance.now() - g0) / 1000, 1)} s)\n`);
  const MB = (b: number | null) => (b === null ? '-' : f(b / 2 ** 20, 0));
  console.log('| engine | subscribers | subscriptions added/s (Redis: store, memory: API) | time to last push accepted | pushes/s | pushes accepted | server RSS after GC, MB | server peak RSS, MB | Redis used_memory, MB |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const ratios: string[] = [];
  for (const engine of ENGINES) {
    const { rows, baseRss } = await pushAtScale({
      engine, sizes: SIZES, subscriptions: list, pushHost: ready.host,
      waitPushes: (n) => untilAccepted(proc, n, 600_000),
      countPushes: async () => (await ask<{ accepted: number }>(proc, { type: 'count' })).accepted,
      resetPushes: async () => void (await ask(proc, { type: 'reset' })),
    });
    let prev = 0;
    const rate = (r: ScaleRow) => r.size / (r.pushMs / 1000);
    for (const r of rows) {
      console.log(`| ${engine} | ${f(r.size)} | ${f((r.size - prev) / (r.subscribeMs / 1000))} | ${f(r.pushMs / 1000, 2)} s | ${f(rate(r))} | ${f(r.accepted)} | ${MB(r.rss)} | ${MB(r.peakRss)} | ${MB(r.redisBytes)} |`);
      prev = r.size;
    }
    const [small, big] = [rows[0]!, rows.at(-1)!];
    ratios.push(`${engine}: pushes/s at ${f(big.size)} / at ${f(small.size)} = **${f(rate(big) / rate(small), 2)}x** (target >= 0.9); server RSS ${MB(baseRss)} MB with no subscriptions, ${f((big.rss - baseRss) / big.size / 1024, 2)} KB per subscription at ${f(big.size)}`);
    for (const r of rows) if (r.accepted !== r.size) throw new Error(`${engine}: ${r.accepted} pushes accepted for ${r.size} subscribers`);
  }
  console.log(`\n${ratios.join('\n')}`);
  proc.kill();
}

// BENCH_PART=engine, reports, sockets or scale runs one part.
const part = process.env.BENCH_PART;
(part === undefined || part === 'engine' ? engineVersusNaive() : Promise.resolve())
  .then(() => (part === undefined || part === 'reports' ? reportsCost() : undefined))
  .then(() => (part === undefined || part === 'sockets' ? socketsDuringPush() : undefined))
  .then(() => (part === undefined || part === 'scale' ? atScale() : undefined))
  .then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
