import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/redis.ts';
import { waitFor } from '../support/wait.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

describe('production build (npm run build, node dist/main.js)', () => {
  it('compiles to dist/ and serves from it: pages, DOMPurify, ninjs schemas, the OpenAPI document', { timeout: 180_000 }, async () => {
    const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8', timeout: 150_000 });
    expect(build.status, build.stdout + build.stderr).toBe(0);
    for (const f of ['dist/main.js', 'dist/app.js', 'dist/cli/newspush.js', 'dist/ninjs/schemas/ninjs-schema_2.2.json']) expect(existsSync(ROOT + f), f).toBe(true);
    // Plain JavaScript: the relative imports point at .js files.
    expect(readFileSync(ROOT + 'dist/app.js', 'utf8')).toMatch(/from "\.\/http\/openapi\.js"/);

    const port = await freePort();
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', PUBLISHER_KEYS: 'cms:a-production-key-0123456789', LOG_LEVEL: 'warn', NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await waitFor('the started server', () => out.includes('Alerts page'), 30_000);
      const base = `http://127.0.0.1:${port}`;
      for (const path of ['/', '/newsroom.html', '/vendor/purify.js', '/favicon.svg', '/api/v1/openapi.json']) {
        expect((await fetch(base + path)).status, path).toBe(200);
      }
      const ninjs = readFileSync(new URL('../fixtures/ninjs/iptc/2.1_dpa_text.json', import.meta.url), 'utf8');
      const res = await fetch(`${base}/api/v1/ninjs`, { method: 'POST', headers: { Authorization: 'Bearer a-production-key-0123456789', 'Content-Type': 'application/json' }, body: ninjs });
      expect(res.status, await res.clone().text()).toBe(201);
      const invalid = await fetch(`${base}/api/v1/ninjs`, { method: 'POST', headers: { Authorization: 'Bearer a-production-key-0123456789', 'Content-Type': 'application/json' }, body: JSON.stringify({ uri: 'x', type: 'text', headlines: 'not a list' }) });
      expect(invalid.status).toBe(400); // the official schemas were found and applied
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
