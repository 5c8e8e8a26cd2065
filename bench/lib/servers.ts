/**
 * The two servers the fan-out bench compares, each run in its own child process (so its CPU and memory are its
 * own): `project` is this server built by the composition root; `ws` is the baseline, a plain `ws` server that
 * broadcasts the same event JSON to every client. Both answer IPC messages: `gc` (collect, then report RSS and heap used) and `cpu` (CPU time used so far).
 */
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

type Msg = { type: 'gc' | 'cpu' };

/** Resident memory, and what the JS heap holds (the RSS also counts heap the collector keeps committed). */
const memory = () => {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
};

function reportOnIpc(port: number): void {
  process.send?.({ type: 'listening', port });
  process.on('message', (m: Msg) => {
    if (m.type === 'gc') {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
      setTimeout(() => process.send?.({ type: 'rss', ...memory() }), 200);
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
