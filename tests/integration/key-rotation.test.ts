import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { capturedLogger } from '../support/logs.ts';
import { freePort } from '../support/redis.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

const key = (name: string) => `${name}-${'k'.repeat(20)}`;
let n = 0;
/** Status of a publication with this key: 201 when the key is in force, 401 when not. */
async function publishWith(url: string, k: string, topics = ['world']): Promise<number> {
  n += 1;
  const r = await api(url, 'POST', '/api/v1/articles', { id: `rot-${n}`, headline: 'x', topics }, { Authorization: `Bearer ${k}` });
  return r.status;
}

describe('PUBLISHER_KEYS_FILE follows the file while the server runs', () => {
  let dir: string;
  let file: string;
  let srv: TestServer;
  let log: ReturnType<typeof capturedLogger>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'newspush-keys-'));
    file = join(dir, 'publishers.keys');
    // One entry per line, comments and blank lines allowed; commas separate entries too.
    writeFileSync(file, `# newsroom keys\ncms:${key('old')}\n\nsport:${key('sport')}:sport, wire:${key('wire')}\n`);
    log = capturedLogger();
    srv = await startServer({ PUBLISHER_KEYS: '', PUBLISHER_KEYS_FILE: file, RATE_LIMIT_PUBLISH_PER_SECOND: '0' }, { logger: log.logger });
  });
  afterAll(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads every entry of the file at start, scopes included', async () => {
    expect(await publishWith(srv.url, key('old'))).toBe(201);
    expect(await publishWith(srv.url, key('wire'))).toBe(201);
    expect(await publishWith(srv.url, key('sport'), ['sport/golf'])).toBe(201);
    expect(await publishWith(srv.url, key('sport'), ['world'])).toBe(403);
  });

  it('a rewritten file rotates the keys without a restart', async () => {
    writeFileSync(file, `cms:${key('new')}\n`);
    await waitFor('the new key to be accepted', async () => (await publishWith(srv.url, key('new'))) === 201, 10_000);
    expect(await publishWith(srv.url, key('old'))).toBe(401);
    expect(await publishWith(srv.url, key('sport'), ['sport'])).toBe(401);
    const line = log.lines.find((l) => l.msg === 'publisher keys reloaded' && l.trigger === 'file changed');
    expect(line).toMatchObject({ changed: true, publishers: [{ name: 'cms', scope: null }] });
    expect(JSON.stringify(log.lines.filter((l) => /publisher keys/.test(l.msg)))).not.toContain(key('new')); // keys are never logged
  });

  it('a file replaced by rename (as editors and secret stores do) is followed too', async () => {
    writeFileSync(join(dir, 'publishers.keys.tmp'), `cms:${key('renamed')}:world\n`);
    renameSync(join(dir, 'publishers.keys.tmp'), file);
    await waitFor('the renamed-in key to be accepted', async () => (await publishWith(srv.url, key('renamed'))) === 201, 10_000);
    expect(await publishWith(srv.url, key('renamed'), ['sport'])).toBe(403);
    expect(await publishWith(srv.url, key('new'))).toBe(401);
  });

  it.each([
    ['an entry with a bad scope', () => writeFileSync(file, `cms:${key('bad')}:Not A Topic\n`), /PUBLISHER_KEYS_FILE: entry 1 \("cms"\): the scope/],
    ['an empty file', () => writeFileSync(file, '# nothing here\n'), /holds no keys/],
    ['a file that is gone', () => unlinkSync(file), /cannot read/],
  ])('%s keeps the keys in force and logs why', async (_what, spoil, reason) => {
    const before = log.lines.length;
    spoil();
    const line = await waitFor('the refusal in the log', () => log.lines.slice(before).find((l) => l.msg.startsWith('publisher keys NOT reloaded')), 10_000);
    expect(line.reason).toMatch(reason);
    expect(line.level).toBe(50);
    expect(await publishWith(srv.url, key('renamed'))).toBe(201);
    expect(await publishWith(srv.url, key('bad'))).toBe(401);
  });

  it('the app reloads on request (what main.ts does on SIGHUP) and says whether anything changed', async () => {
    writeFileSync(file, `cms:${key('renamed')}:world\n`);
    // The watcher may or may not have got there first; either way the keys are the file's.
    expect(srv.app.reloadPublisherKeys().ok).toBe(true);
    expect(srv.app.reloadPublisherKeys()).toEqual({ ok: true, changed: false });
    expect(await publishWith(srv.url, key('renamed'))).toBe(201);
  });
});

describe('PUBLISHER_KEYS_FILE and SIGHUP (the server process)', () => {
  let dir = '';
  let child: ReturnType<typeof spawn> | null = null;
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    child = null;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  function run(env: Record<string, string>) {
    // As the Docker image runs it: node itself gets the signals (the tsx CLI passes on only SIGINT and SIGTERM).
    const c = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { ...process.env, LOG_LEVEL: 'info', HOST: '127.0.0.1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let out = '';
    c.stdout!.on('data', (d) => (out += d));
    c.stderr!.on('data', (d) => (out += d));
    const lines = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
    return { child: c, lines, output: () => out };
  }

  it('SIGHUP re-reads the file; a bad file keeps the old keys; the process keeps running', async () => {
    dir = mkdtempSync(join(tmpdir(), 'newspush-sighup-'));
    // The configured path is a symlink into another directory, so editing its target makes no event where the
    // server watches: what changes the keys below is the signal alone.
    const target = join(dir, 'secrets');
    const watched = join(dir, 'config');
    mkdirSync(target);
    mkdirSync(watched);
    writeFileSync(join(target, 'keys'), `cms:${key('before')}\n`);
    symlinkSync(join(target, 'keys'), join(watched, 'keys'));
    const port = await freePort();
    const p = run({ PORT: String(port), PUBLISHER_KEYS_FILE: join(watched, 'keys'), PUBLISHER_KEYS: '' });
    const url = `http://127.0.0.1:${port}`;
    await waitFor('the server to listen', () => p.lines().some((l) => l.msg?.startsWith('listening')), 20_000);
    expect(await publishWith(url, key('before'))).toBe(201);

    writeFileSync(join(target, 'keys'), `cms:${key('after')}\n`);
    p.child.kill('SIGHUP');
    const reloaded = await waitFor('the SIGHUP reload', () => p.lines().find((l) => l.msg === 'publisher keys reloaded' && l.trigger === 'SIGHUP'), 10_000);
    // changed: true shows the signal, not the file watcher, brought the new keys in.
    expect(reloaded.changed).toBe(true);
    expect(await publishWith(url, key('after'))).toBe(201);
    expect(await publishWith(url, key('before'))).toBe(401);

    writeFileSync(join(target, 'keys'), 'cms-without-a-key\n');
    p.child.kill('SIGHUP');
    const refused = await waitFor('the refused reload', () => p.lines().find((l) => l.msg?.startsWith('publisher keys NOT reloaded')), 10_000);
    expect(refused.reason).toMatch(/PUBLISHER_KEYS_FILE/);
    expect(await publishWith(url, key('after'))).toBe(201);
    expect(p.child.exitCode).toBeNull();
  });

  it('without a keys file SIGHUP changes nothing and does not stop the server', async () => {
    const port = await freePort();
    const p = run({ PORT: String(port), PUBLISHER_KEYS: `cms:${key('fixed')}` });
    const url = `http://127.0.0.1:${port}`;
    await waitFor('the server to listen', () => p.lines().some((l) => l.msg?.startsWith('listening')), 20_000);
    p.child.kill('SIGHUP');
    await waitFor('the SIGHUP to be handled', () => p.lines().some((l) => l.trigger === 'SIGHUP'), 10_000);
    expect(await publishWith(url, key('fixed'))).toBe(201);
    expect(p.child.exitCode).toBeNull();
  });
});
