import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/redis.ts';
import { waitFor } from '../support/wait.ts';

const TSX = 'node_modules/.bin/tsx';

function run(env: Record<string, string>) {
  const child = spawn(TSX, ['src/main.ts'], { env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
