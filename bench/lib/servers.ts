/**
 * The two servers the fan-out bench compares, each run in its own child process (so its CPU and memory are its
 * own): `project` is this server built by the composition root; `ws` is the baseline, a plain `ws` server that
 * broadcasts the same event JSON to every client. Both answer IPC messages: `gc` (collect, then report RSS and heap used) and `cpu` (CPU time used so far).
 */
import { createServer } from 'node:http';
import { join } from 'node:path';
import * as v8 from 'node:v8';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { WebSocketServer, type WebSocket } from 'ws';

type Msg = { type: 'gc' | 'cpu' };

let snapshots = 0;

/** Where resident memory goes (bytes): V8's heap spaces (committed), external memory, and the rest (native). */
function breakdown(): Record<string, number> {
  const m = process.memoryUsage();
  const out: Record<string, number> = { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
  for (const s of getHeapSpaceStatistics()) out[`committed:${s.space_name}`] = s.physical_space_size;
  // Node 22+ keeps some of its own objects in a C++ heap (cppgc) that the V8 spaces above do not count.
  const cpp = (v8 as { getCppHeapStatistics?: (level: string) => { resident_size_bytes: number } }).getCppHeapStatistics;
  if (cpp) out.cppHeap = cpp('brief').resident_size_bytes;
  return out;
}

function reportOnIpc(port: number): void {
  process.send?.({ type: 'listening', port });
  process.on('message', (m: Msg) => {
    if (m.type === 'gc') {
      const gc = (globalThis as { gc?: (options?: object) => void }).gc;
      // BENCH_GC=reduce: a memory-reducing collection (V8's "last resort" flavour, Node 22+), which also gives back
      // the young generation's grown semi-spaces (a fixed cost, not one per connection); plain gc() leaves them.
      const options = process.env.BENCH_GC === 'reduce' ? { type: 'major', execution: 'sync', flavor: 'last-resort' } : undefined;
      gc?.(options);
      gc?.(options);
      setTimeout(() => {
        // BENCH_HEAP_SNAPSHOT=<dir>: a heap snapshot at every measurement (for grouping retained size by constructor).
        const dir = process.env.BENCH_HEAP_SNAPSHOT;
        if (dir) writeHeapSnapshot(join(dir, `${process.argv[2]}-${process.pid}-${snapshots++}.heapsnapshot`));
        process.send?.({ type: 'rss', rss: process.memoryUsage().rss, detail: breakdown() });
      }, 200);
    } else if (m.type === 'cpu') {
      const u = process.cpuUsage();
      process.send?.({ type: 'cpu', micros: u.user + u.system });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

async function project(): Promise<void> {
  const { createApp } = await import('../../src/app.ts');
  const { loadConfig } = await import('../../src/config.ts');
  const config = loadConfig(
    {
      PORT: '0', HOST: '127.0.0.1', PUBLISHER_KEYS: 'bench:bench-key-0123456789abcdef', LOG_LEVEL: 'warn', RATE_LIMIT_PUBLISH_PER_SECOND: '0',
      RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '0', HISTORY_MAX_EVENTS: '100000', PUSH_ENDPOINT_HOSTS: process.env.BENCH_PUSH_HOST ?? '',
      // Every bench client comes from 127.0.0.1; in production each reader has its own address.
      MAX_CONNECTIONS_PER_ADDRESS: '0',
      // The push bench points the server at the local push service, on loopback; its CA comes in NODE_EXTRA_CA_CERTS.
      PUSH_ALLOW_PRIVATE_NETWORKS: process.env.BENCH_PUSH_HOST ? 'true' : 'false',
      // The memory engine unless a bench gives a Redis of its own (never the machine's Redis).
      REDIS_URL: process.env.BENCH_REDIS_URL ?? '',
      // A bench may add settings (the storm bench: REDIS_URL).
      ...(JSON.parse(process.env.BENCH_CONFIG ?? '{}') as Record<string, string>),
    },
    { randomKey: () => 'unused' },
  );
  const app = await createApp(config);
  const { port } = await app.listen();
  reportOnIpc(port);
}

function baseline(): void {
  let seq = 0;
  const server = createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const article = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const now = Date.now();
      const event = { id: `${now}-${seq++}`, type: 'article.published', at: new Date(now).toISOString(), topics: article.topics, article: { ...article, version: 1, status: 'published', updatedAt: new Date(now).toISOString() } };
      const data = JSON.stringify(event);
      for (const c of wss.clients as Set<WebSocket>) c.send(data);
      res.writeHead(201, { 'Content-Type': 'application/json' }).end(JSON.stringify({ event }));
    });
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  server.listen(0, '127.0.0.1', () => reportOnIpc((server.address() as { port: number }).port));
}

if (process.argv[2] === 'project') await project();
else baseline();
