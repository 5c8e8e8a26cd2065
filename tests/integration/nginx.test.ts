import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/redis.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

// Debian's nginx lives in /usr/sbin, which a non-root PATH may lack.
const NGINX = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';

/**
 * deploy/nginx.conf as docker-compose runs it, with only the addresses changed: the upstream nodes are test
 * servers on loopback (app2 is a port nobody listens on) and nginx listens on a free port of its own.
 */
function localConfig(dir: string, listen: number, app1: number, app2: number): string {
  const conf = readFileSync(new URL('../../deploy/nginx.conf', import.meta.url), 'utf8');
  const replaced = conf
    .replace('server app1:3000;', `server 127.0.0.1:${app1};`)
    .replace('server app2:3000;', `server 127.0.0.1:${app2};`)
    .replace('listen 80;', `listen 127.0.0.1:${listen};`)
    .replace('events {}', `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}`)
    .replace('http {', `http {\n  access_log off;\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;`);
  for (const needle of ['127.0.0.1:' + app1, '127.0.0.1:' + app2, `listen 127.0.0.1:${listen}`]) {
    if (!replaced.includes(needle)) throw new Error(`deploy/nginx.conf changed shape: ${needle} not substituted`);
  }
  return replaced;
}

describe('deploy/nginx.conf in front of a node', () => {
  let dir: string;
  let nginx: ChildProcess;
  let node: TestServer;
  let lb: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'newspush-nginx-'));
    mkdirSync(join(dir, 'logs'));
    node = await startServer();
    const port = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), localConfig(dir, port, node.port, await freePort()));
    nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
    lb = `http://127.0.0.1:${port}`;
    await waitFor('nginx to answer', async () => (await fetch(lb + '/healthz')).ok, 15_000);
  });
  afterAll(async () => {
    nginx?.kill('SIGTERM');
    await node?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes requests through with a request id the node logs and echoes', async () => {
    const res = await fetch(lb + '/api/v1/topics');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/); // nginx's $request_id, kept by the node
    // nginx speaks http here: the pages must not be upgraded to https.
    expect(res.headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');
  });

  it('answers a body over 1 MiB itself, with the JSON error envelope', async () => {
    const res = await api(lb, 'POST', '/api/v1/articles', 'x'.repeat(1024 * 1024 + 1), { ...node.auth, 'Content-Type': 'application/json' });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual({ error: { code: 'payload_too_large', message: 'The body is larger than 1 MiB.' } });
  });

  it('answers 503 unavailable in the same envelope when no node is up', async () => {
    await node.close();
    const res = await api(lb, 'GET', '/api/v1/topics');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.body.error.code).toBe('unavailable');
  });
});
