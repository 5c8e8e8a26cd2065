import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
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
    // As `npm start` and the Docker image run it: node itself gets the signals.
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

/** The processes below `pid` (children, theirs, ...), from /proc. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of stat is the parent; the command name (field 2) may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of parents.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

const commandLine = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
};

describe('npm start', () => {
  let dir = '';
  let npm: ReturnType<typeof spawn> | null = null;
  afterEach(async () => {
    if (npm && npm.exitCode === null && npm.signalCode === null) {
      const exited = new Promise((r) => npm!.once('exit', r));
      process.kill(-npm.pid!, 'SIGTERM'); // the process group this test started
      await exited;
    }
    npm = null;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  /** `npm start` itself, in a process group of its own as a terminal would start it; waits until it listens. */
  async function npmStart(env: Record<string, string>) {
    const port = await freePort();
    const c = spawn('npm', ['start', '--silent'], {
      env: { ...process.env, LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: String(port), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    npm = c;
    let out = '';
    c.stdout!.on('data', (d) => (out += d));
    c.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<string>((resolve) => c.on('exit', (code, signal) => resolve(`${code} ${signal}`)));
    const lines = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
    await waitFor('the server to listen', () => lines().some((l) => l.msg?.startsWith('listening')), 30_000);
    // One process runs src/main.ts (no launcher in between that would keep SIGHUP to itself).
    const servers = descendants(c.pid!).filter((p) => commandLine(p).includes('src/main.ts'));
    expect(servers.map(commandLine)).toHaveLength(1);
    const stopped = async (signal: string) => {
      const started = Date.now();
      const ended = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 12_000))]);
      expect(Date.now() - started).toBeLessThan(10_000);
      await waitFor('the server process to be gone', () => !existsSync(`/proc/${servers[0]}`) || undefined, 5_000);
      // The server shut down on the signal (closing clients and storage), not cut off: no forced or failed exit.
      expect(lines().some((l) => l.msg === 'shutting down' && l.signal === signal)).toBe(true);
      expect(lines().filter((l) => l.level >= 50)).toEqual([]);
      return ended;
    };
    return { pid: c.pid!, server: servers[0]!, url: `http://127.0.0.1:${port}`, lines, stopped };
  }

  it('runs the server as one process: SIGHUP to it re-reads the keys file, and Ctrl-C stops it cleanly', async () => {
    dir = mkdtempSync(join(tmpdir(), 'newspush-npm-start-'));
    // As in the SIGHUP test above: the configured path is a symlink, so only the signal brings the new keys in.
    mkdirSync(join(dir, 'secrets'));
    mkdirSync(join(dir, 'config'));
    writeFileSync(join(dir, 'secrets', 'keys'), `cms:${key('before')}\n`);
    symlinkSync(join(dir, 'secrets', 'keys'), join(dir, 'config', 'keys'));
    const p = await npmStart({ PUBLISHER_KEYS_FILE: join(dir, 'config', 'keys'), PUBLISHER_KEYS: '' });
    expect(await publishWith(p.url, key('before'))).toBe(201);

    writeFileSync(join(dir, 'secrets', 'keys'), `cms:${key('after')}\n`);
    process.kill(p.server, 'SIGHUP');
    const reloaded = await waitFor('the SIGHUP reload', () => p.lines().find((l) => l.msg === 'publisher keys reloaded' && l.trigger === 'SIGHUP'), 10_000);
    expect(reloaded.changed).toBe(true);
    expect(await publishWith(p.url, key('after'))).toBe(201);
    expect(await publishWith(p.url, key('before'))).toBe(401);

    // Ctrl-C: SIGINT to the whole foreground group (npm, its shell, the server). npm ends as a program stopped by
    // Ctrl-C does (it sends itself the signal once its script has ended).
    process.kill(-p.pid, 'SIGINT');
    expect(await p.stopped('SIGINT')).toBe('null SIGINT');
  }, 60_000);

  it('SIGTERM to the server process stops it cleanly, and npm with it', async () => {
    const p = await npmStart({ PUBLISHER_KEYS: `cms:${key('term')}` });
    expect(await publishWith(p.url, key('term'))).toBe(201);
    process.kill(p.server, 'SIGTERM');
    // The server exits 0 (npm would report anything else as an error) and npm ends with it.
    expect(await p.stopped('SIGTERM')).toBe('0 null');
  }, 60_000);
});
