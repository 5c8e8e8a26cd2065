import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket as TcpSocket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { NewsEvent } from '../../src/domain/event.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { RedisFactory } from '../../src/storage/redis-connection.ts';
import { RedisStore } from '../../src/storage/redis.ts';
import { NewsClient } from '../support/clients.ts';
import { fillHistory } from '../support/history.ts';
import { freePort, TestRedis } from '../support/redis.ts';
import { TEST_KEY } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Clients that ask for a large replay and never read it. The server runs as its own process (src/main.ts, Redis
 * engine) so that its resident memory is measured alone, from /proc: the bound is on its peak RSS (VmHWM). It also
 * runs with V8's old space capped at 160 MB: memory that grew with the backlog would end it with "heap out of
 * memory" (before replay was paged, such clients took it past 3 GB).
 */
const EVENTS = 1_000; // the issue used 2,000: 1,000 x 100 KB proves the same (a full replay each would be 4 GB) in half the set-up time
const BODY_BYTES = 100_000;
const RSS_BOUND_MB = 512;

const kb = (field: string, pid: number) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

/** A WebSocket client speaking just enough engine.io/Socket.IO to subscribe, which then stops reading its socket. */
function stalledSocketIo(port: number, since: string, subscribes: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
    ws.once('error', reject);
    ws.on('message', function first(data) {
      const m = String(data);
      // The engine's open packet: connect with a cursor.
      if (m.startsWith('0')) ws.send(`40${JSON.stringify({ topics: ['load'], since })}`);
      // Connected (the replay has begun): ask for more replays, then read nothing more.
      if (m.startsWith('40')) {
        for (let i = 0; i < subscribes; i++) ws.send(`42${JSON.stringify(['subscribe', { topics: ['load'], since }])}`);
        ws.pause();
        ws.off('message', first);
        resolve(ws);
      }
    });
  });
}

/** A raw HTTP request whose response is never read. */
function stalledHttp(port: number, path: string, headers: Record<string, string> = {}): Promise<TcpSocket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`, () => {
        s.pause();
        resolve(s);
      });
    });
    s.once('error', reject);
  });
}

async function metric(port: number, line: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(line.exec(text)?.[1] ?? 0);
}

describe('clients that never read cannot exhaust the server', () => {
  let redis: TestRedis;
  let server: ChildProcess;
  let port: number;
  let events: NewsEvent[];
  let output = '';

  beforeAll(async () => {
    redis = await TestRedis.start({ persistent: false });
    const factory = new RedisFactory(redis.url, createLogger('silent'));
    const store = await RedisStore.open(factory, { maxEvents: 10_000, maxAgeSeconds: 86_400, articleTtlSeconds: 86_400 });
    events = await fillHistory(store, { count: EVENTS + 1, bodyBytes: BODY_BYTES, topics: () => ['load'] });
    await store.close();
    await factory.close();
    port = await freePort();
    // node itself (not the tsx wrapper), so that the pid is the server's.
    server = spawn(process.execPath, ['--max-old-space-size=160', '--import', 'tsx', 'src/main.ts'], {
      env: {
        ...process.env, PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redis.url, PUBLISHER_KEYS: `test:${TEST_KEY}`, LOG_LEVEL: 'warn',
        // Every one of these clients gets a full replay (none is refused or sent resync), the worst case for memory.
        REPLAY_MAX_EVENTS: String(EVENTS * 2), RATE_LIMIT_HISTORY_PER_MINUTE: '10000', REPLAY_DRAIN_TIMEOUT_SECONDS: '5',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (d) => (output += d));
    server.stderr!.on('data', (d) => (output += d));
    await waitFor('the server to be ready', async () => (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false)) || undefined, 20_000);
  }, 120_000);

  afterAll(async () => {
    if (server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    await redis.stop();
  });

  it(`40 Socket.IO clients, 40 events API readers and 20 SSE streams that never read ${EVENTS} x 100 KB events: the server stays up under ${RSS_BOUND_MB} MB`, async () => {
    const pid = server.pid!;
    const rssBefore = kb('VmRSS', pid);
    let peakSampled = rssBefore;
    const sampler = setInterval(() => {
      if (server.exitCode === null) peakSampled = Math.max(peakSampled, kb('VmRSS', pid));
    }, 100);
    const since = events[0]!.id;
    const sockets = await Promise.all(Array.from({ length: 40 }, () => stalledSocketIo(port, since, 3)));
    const readers = await Promise.all(Array.from({ length: 40 }, () => stalledHttp(port, `/api/v1/events?topics=load&since=${since}&limit=1000`)));
    const streams = await Promise.all(Array.from({ length: 20 }, () => stalledHttp(port, '/api/v1/stream?topics=load', { 'Last-Event-ID': since })));
    try {
      // Meanwhile a client that reads is served in full and in order.
      const reader = await NewsClient.connect(`http://127.0.0.1:${port}`);
      const ack = await reader.socket.timeout(60_000).emitWithAck('subscribe', { topics: ['load'], since: events[EVENTS - 50]!.id });
      expect(ack).toMatchObject({ ok: true, replayed: 50, resync: false });
      expect(reader.ids).toEqual(events.slice(EVENTS - 49).map((e) => e.id));
      reader.close();
      // The server drops every client that stopped reading once the drain deadline has passed.
      await waitFor('the stalled Socket.IO clients to be dropped', async () => (await metric(port, /newspush_connections\{channel="socketio"\} (\d+)/)) === 0 || undefined, 60_000);
      await waitFor('the stalled SSE streams to be dropped', async () => (await metric(port, /newspush_connections\{channel="sse"\} (\d+)/)) === 0 || undefined, 60_000);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const replayed = await metric(port, /newspush_deliveries_total\{channel="socketio",kind="replay"\} (\d+)/);
      const peak = kb('VmHWM', pid);
      console.log(`server RSS: ${Math.round(rssBefore / 1024)} MB before, peak ${Math.round(Math.max(peak, peakSampled) / 1024)} MB; ` +
        `Socket.IO replay sends ${replayed} (a full replay each would be ${40 * EVENTS})`);
      expect(server.exitCode).toBeNull();
      expect(Math.max(peak, peakSampled) / 1024).toBeLessThan(RSS_BOUND_MB);
      // Each stalled socket was sent a few pages at most, not its whole backlog (and the queued subscribes never ran).
      expect(replayed).toBeLessThan(40 * EVENTS * 0.25);
    } finally {
      clearInterval(sampler);
      for (const ws of sockets) ws.terminate();
      for (const s of [...readers, ...streams]) s.destroy();
      console.log(output);
    }
  }, 180_000);
});
