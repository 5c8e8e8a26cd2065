import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/redis.ts';
import { waitFor } from '../support/wait.ts';

function run(env: Record<string, string>) {
  // What `npm start` runs (package.json): the server as one node process.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => out };
}

describe('the server process (npm start)', () => {
  it('refuses a bad configuration with a message naming the variable', async () => {
    const p = run({ PORT: 'abc' });
    const code = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
    expect(code).toBe(2);
    expect(p.output()).toMatch(/PORT/);
  });

  it('refuses an unreachable REDIS_URL with one line naming the variable (exit 2), without the password', async () => {
    const port = await freePort(); // nothing listens there
    const p = run({ REDIS_URL: `redis://:hunter2-secret@127.0.0.1:${port}`, REDIS_CONNECT_TIMEOUT_SECONDS: '1' });
    const code = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
    expect(code).toBe(2);
    const lines = p.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Configuration error: REDIS_URL: no Redis answered at 127\\.0\\.0\\.1:${port} within 1 s \\(.*ECONNREFUSED`));
    expect(p.output()).not.toContain('hunter2');
  });

  it('prints the addresses of the alerts page, the newsroom console and the API, each of which answers', async () => {
    const port = await freePort();
    const p = run({ PORT: String(port), HOST: '127.0.0.1', PUBLISHER_KEYS: 'cms:a-configured-key-0123456789' });
    const printed: string = await waitFor('the printed addresses', () => (/API\s+(\S+)/.test(p.output()) ? p.output() : undefined), 20_000);
    const page = /Alerts page\s+(\S+)/.exec(printed)?.[1];
    const consolePage = /Newsroom console\s+(\S+)/.exec(printed)?.[1];
    const openapi = /API\s+(\S+)/.exec(printed)?.[1];
    expect([page, consolePage, openapi]).toEqual([`http://localhost:${port}/`, `http://localhost:${port}/newsroom.html`, `http://localhost:${port}/api/v1/openapi.json`]);
    for (const url of [page!, consolePage!, openapi!]) {
      const res = await fetch(url.replace('localhost', '127.0.0.1'));
      expect(res.status, url).toBe(200);
    }
    // A configured key is never printed.
    expect(printed).not.toContain('publisher key is');
    expect(printed).not.toContain('a-configured-key');
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('prints a publisher key when none is configured, serves, and exits 0 on SIGTERM within 10 s', async () => {
    const port = await freePort();
    const p = run({ PORT: String(port), HOST: '127.0.0.1', PUBLISHER_KEYS: '' });
    const key = await waitFor('the printed key', () => /publisher key is\s+(\S+)/.exec(p.output())?.[1], 20_000);
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/articles`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: 'proc-1', headline: 'Hello', topics: ['world'] }),
    });
    expect(res.status).toBe(201);
    // A connected SSE client must not keep the process from stopping.
    const ctrl = new AbortController();
    const stream = await fetch(`http://127.0.0.1:${port}/api/v1/stream?topics=world`, { signal: ctrl.signal });
    expect(stream.status).toBe(200);
    const started = Date.now();
    p.child.kill('SIGTERM');
    const code = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r('timeout'), 12_000))]);
    ctrl.abort();
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
