import { createApp, type App, type AppOptions } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { TestRedis } from './redis.ts';

export const TEST_KEY = 'test-publisher-key-0123456789';

export interface TestServer {
  app: App;
  url: string;
  port: number;
  publisherKey: string;
  /** Authorization header for the publisher API. */
  auth: { Authorization: string };
  close(): Promise<void>;
}

/**
 * Boots the whole server on 127.0.0.1 and a free port, configured from an environment record exactly as main.ts
 * would be (plus quiet logs and a known publisher key unless overridden).
 */
export async function startServer(env: Record<string, string> = {}, options: AppOptions = {}): Promise<TestServer> {
  const config = loadConfig(
    { PORT: '0', HOST: '127.0.0.1', PUBLISHER_KEYS: `test:${TEST_KEY}`, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', ...env },
    { randomKey: () => 'unused-random-key-0123456789' },
  );
  const app = await createApp(config, { logger: createLogger(config.logLevel), ...options });
  const { port } = await app.listen();
  const publisherKey = config.publisherKeys[0]!.key;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    port,
    publisherKey,
    auth: { Authorization: `Bearer ${publisherKey}` },
    close: () => app.close(),
  };
}

export type EngineName = 'memory' | 'redis';

/**
 * The whole server on one engine: the memory engine, or Redis on a private redis-server of its own, which
 * `close()` stops after the server (for the suites that run on both engines).
 */
export async function startServerOn(engine: EngineName, env: Record<string, string> = {}, options: AppOptions = {}): Promise<TestServer> {
  const redis = engine === 'redis' ? await TestRedis.start() : null;
  try {
    const srv = await startServer({ ...(redis ? { REDIS_URL: redis.url } : {}), ...env }, options);
    return {
      ...srv,
      close: async () => {
        await srv.close();
        await redis?.stop();
      },
    };
  } catch (err) {
    await redis?.stop();
    throw err;
  }
}

/** JSON request helper: returns status, headers and parsed body. */
export async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(base + path, {
    method,
    headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}
