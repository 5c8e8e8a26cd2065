import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/redis.ts';
import { api, startServer, TEST_KEY, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

const BIN = new URL('../../bin/newspush.mjs', import.meta.url).pathname;

interface Run {
  code: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
  kill: () => void;
}

/** Runs the CLI as a user would (`node bin/newspush.mjs ...`, which is what `npx newspush` runs). */
function cli(args: string[], env: Record<string, string | undefined>): Run {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, stdout: () => out, stderr: () => err, kill: () => child.kill('SIGINT') };
}

/** Runs to the end (within a deadline) and returns exit code and output. */
async function done(r: Run, ms = 20_000): Promise<{ code: number | null; out: string; err: string }> {
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
  const code = await Promise.race([r.code, timer]);
  if (code === 'timeout') {
    r.kill();
    throw new Error(`the CLI did not finish within ${ms} ms; stdout: ${r.stdout()} stderr: ${r.stderr()}`);
  }
  return { code, out: r.stdout(), err: r.stderr() };
}

describe('npx newspush against a running server', () => {
  let server: TestServer;
  let state: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    server = await startServer();
    state = mkdtempSync(join(tmpdir(), 'newspush-cli-'));
    env = { NEWSPUSH_URL: server.url, NEWSPUSH_KEY: TEST_KEY, NEWSPUSH_STATE_DIR: state };
  });
  afterAll(async () => {
    await server.close();
    rmSync(state, { recursive: true, force: true });
  });

  it('publishes from flags, says so, and a repeat changes nothing', async () => {
    const args = ['publish', '--id', 'cli-1', '--headline', 'Storm reaches the coast', '--topics', 'world,weather', '--urgency', '2', '--summary', 'Winds of 150 km/h'];
    const first = await done(cli(args, env));
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/^201 article\.published cli-1 v1 \(event \d+-\d+\)\n$/);
    const { body } = await api(server.url, 'GET', '/api/v1/articles/cli-1');
    expect(body.article).toMatchObject({ headline: 'Storm reaches the coast', topics: ['world', 'weather'], urgency: 2, summary: 'Winds of 150 km/h' });
    const again = await done(cli(args, env));
    expect(again.code).toBe(0);
    expect(again.out).toBe('200 unchanged cli-1 v1: nothing sent (the same content again)\n');
  });

  it('publishes from a JSON article file and from a ninjs file (sent to /api/v1/ninjs)', async () => {
    const file = join(state, 'article.json');
    writeFileSync(file, JSON.stringify({ id: 'cli-1', version: 2, headline: 'Storm makes landfall', topics: ['world', 'weather'], changeNote: 'Landfall' }));
    const update = await done(cli(['publish', '--file', file], env));
    expect(update.code).toBe(0);
    expect(update.out).toMatch(/^200 article\.updated cli-1 v2 /);

    const ninjs = new URL('../fixtures/ninjs/iptc/2.1_dpa_text.json', import.meta.url).pathname;
    const fromNinjs = await done(cli(['publish', '--file', ninjs, '--json'], env));
    expect(fromNinjs.code).toBe(0);
    const answer = JSON.parse(fromNinjs.out);
    expect(answer.event.type).toBe('article.published');
    const doc = JSON.parse(readFileSync(ninjs, 'utf8'));
    expect(answer.article.headline).toBe(doc.headlines[0].value);
  });

  it('retracts with a reason', async () => {
    const r = await done(cli(['retract', 'cli-1', '--reason', 'Could not be confirmed'], env));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^200 article\.retracted cli-1 v2 /);
    const { body } = await api(server.url, 'GET', '/api/v1/articles/cli-1');
    expect(body.article).toMatchObject({ status: 'retracted', retraction: { reason: 'Could not be confirmed' } });
    const again = await done(cli(['retract', 'cli-1'], env));
    expect(again.out).toBe('200 cli-1 was already retracted: nothing sent\n');
  });

  it('explains what is wrong, in one place, with exit 2 for the command line and 1 for the server', async () => {
    const noKey = await done(cli(['publish', '--id', 'x', '--headline', 'h', '--topics', 'world'], { ...env, NEWSPUSH_KEY: '' }));
    expect(noKey.code).toBe(2);
    expect(noKey.err).toMatch(/^newspush publish: set NEWSPUSH_KEY to a publisher key/);

    const wrongKey = await done(cli(['retract', 'cli-1'], { ...env, NEWSPUSH_KEY: 'not-the-key-0123456789' }));
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.err).toMatch(/^newspush retract: 401 unauthorized: /);

    const invalid = await done(cli(['publish', '--id', 'cli-2', '--headline', 'h', '--topics', 'World News', '--urgency', '12'], env));
    expect(invalid.code).toBe(1);
    expect(invalid.err).toContain('400 validation_failed');
    expect(invalid.err).toMatch(/^ {2}topics\.0: /m);
    expect(invalid.err).toMatch(/^ {2}urgency: /m);

    const missing = await done(cli(['publish', '--headline', 'h'], env));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('publish needs --id, --topics (or --file)');

    const unknownFlag = await done(cli(['publish', '--hedline', 'h'], env));
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.err).toContain("'--hedline'");

    const port = await freePort();
    const down = await done(cli(['follow', 'world'], { ...env, NEWSPUSH_URL: `http://127.0.0.1:${port}` }));
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/cannot reach the server at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);

    const help = await done(cli(['--help'], {}));
    expect(help.code).toBe(0);
    expect(help.out).toContain('newspush follow TOPICS');
  });

  it('follows topics live, saves the cursor, and resumes from it (or from --since) without repeats', async () => {
    const publish = (id: string, topics = ['sport']) => api(server.url, 'POST', '/api/v1/articles', { id, headline: `Headline ${id}`, topics }, server.auth);

    const live = cli(['follow', 'sport', '--max', '2'], env);
    await waitFor('the CLI to connect', () => live.stderr().includes('following sport'), 20_000);
    const first = (await publish('f-1')).body.event.id as string;
    await publish('elsewhere', ['politics']); // another topic: not printed
    await publish('f-2');
    const a = await done(live);
    expect(a.code).toBe(0);
    const lines = a.out.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^${first}  published  f-1 v1  u5  Headline f-1  \\[sport\\]$`));
    expect(lines[1]).toContain('f-2 v1');

    // Published while nobody followed: the next follow starts after the saved cursor.
    await publish('f-3');
    const resumed = await done(cli(['follow', 'sport', '--max', '1'], env));
    expect(resumed.err).toContain('(saved cursor)');
    expect(resumed.out).toContain('f-3 v1');
    expect(resumed.out).not.toContain('f-2');

    const since = await done(cli(['follow', 'sport', '--max', '2', '--since', first, '--json'], env));
    const events = since.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.map((e) => e.article.id)).toEqual(['f-2', 'f-3']);

    // A replay that arrives in one piece still stops at --max.
    const one = await done(cli(['follow', 'sport', '--max', '1', '--since', first], env));
    expect(one.out.trim().split('\n')).toHaveLength(1);
    expect(one.out).toContain('f-2 v1');
  });

  it('after a resync, continues from the head it was given: the next follow is not told to resync again', async () => {
    await api(server.url, 'POST', '/api/v1/articles', { id: 'rz-1', headline: 'Before', topics: ['rz'] }, server.auth);
    const head = (await api(server.url, 'GET', '/api/v1/events?topics=*&limit=1')).body.events[0].id as string;
    // A cursor from another history: resync, naming the newest event.
    const stale = cli(['follow', 'rz', '--since', '1-0', '--json'], env);
    await waitFor('the resync', () => stale.stdout().includes('"resync"') || undefined, 20_000);
    expect(JSON.parse(stale.stdout().trim())).toEqual({ resync: { topics: ['rz'], reason: 'history_reset', head } });
    stale.kill();
    await done(stale);
    // The saved cursor is the head: the next follow starts there, with no resync, and gets what came after it.
    const next = cli(['follow', 'rz', '--max', '1', '--json'], env);
    await waitFor('the CLI to connect', () => next.stderr().includes('following rz') || undefined, 20_000);
    expect(next.stderr()).toContain(`after ${head} (saved cursor)`);
    const after = (await api(server.url, 'POST', '/api/v1/articles', { id: 'rz-2', headline: 'After', topics: ['rz'] }, server.auth)).body.event.id;
    const r = await done(next);
    expect(r.err).not.toContain('resync');
    expect(r.out.trim().split('\n').map((l) => JSON.parse(l).id)).toEqual([after]);
  });

  it('vapid prints a key pair as environment lines', async () => {
    const r = await done(cli(['vapid'], {}));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^VAPID_PUBLIC_KEY=[A-Za-z0-9_-]{87}\nVAPID_PRIVATE_KEY=[A-Za-z0-9_-]{43}\nVAPID_SUBJECT=mailto:/);
  });
});
