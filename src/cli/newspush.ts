import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import webpush from 'web-push';
import { CursorFile, follow } from './follow.ts';
import { CliError, request, type ServerTarget } from './http.ts';

/** What the CLI needs from its process; bin/newspush.mjs passes the real ones. */
export interface CliContext {
  env: Record<string, string | undefined>;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Aborted on Ctrl-C: `follow` stops cleanly. */
  signal: AbortSignal;
  /** Reads a file, or standard input for "-". */
  readFile: (path: string) => string;
}

const HELP = `newspush: publish, retract and follow breaking news on a newspush server

Usage:
  newspush publish --id ID --headline TEXT --topics a,b [options]
  newspush publish --file article.json        (an article as in docs/api.md, or an IPTC ninjs document; - reads stdin)
  newspush retract ID [--reason TEXT]
  newspush follow TOPICS [--since EVENT_ID] [--json] [--max N]
  newspush vapid

Environment:
  NEWSPUSH_URL   the server (default http://localhost:3000; --url overrides)
  NEWSPUSH_KEY   a publisher key, for publish and retract (never a flag: flags show up in process lists)
  NEWSPUSH_STATE_DIR  where follow saves its cursors (default ~/.local/state/newspush)

publish options:
  --id ID --headline TEXT --topics a,b   required without --file
  --summary TEXT --body HTML --article-url URL --urgency 1-9 --language TAG --byline TEXT
  --version N --change-note TEXT --published-at ISO8601 --notify | --no-notify
  --json                                 print the server's whole answer

follow prints one line per event: event id (the cursor), what happened, article id and version, urgency,
headline, topics. It saves the cursor after each event and resumes from it next time (--since overrides),
reconnecting on its own; --json prints each event as the server sent it.

vapid prints a fresh Web Push key pair as environment lines (VAPID_PUBLIC_KEY=..., VAPID_PRIVATE_KEY=...).

Exit codes: 0 done, 1 the server or the network refused, 2 a wrong command line or environment.`;

const COMMON = { url: { type: 'string' }, help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } } as const;

const PUBLISH = {
  ...COMMON,
  file: { type: 'string', short: 'f' },
  id: { type: 'string' },
  headline: { type: 'string' },
  topics: { type: 'string' },
  summary: { type: 'string' },
  body: { type: 'string' },
  'article-url': { type: 'string' },
  urgency: { type: 'string' },
  language: { type: 'string' },
  byline: { type: 'string' },
  version: { type: 'string' },
  'change-note': { type: 'string' },
  'published-at': { type: 'string' },
  notify: { type: 'boolean' },
  'no-notify': { type: 'boolean' },
} as const;

function args<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message.split('\n')[0]} (newspush --help)`, 2);
  }
}

function target(ctx: CliContext, url: string | undefined): ServerTarget {
  const raw = url ?? ctx.env.NEWSPUSH_URL ?? 'http://localhost:3000';
  if (!/^https?:\/\/[^/\s]+/.test(raw)) throw new CliError(`${url ? '--url' : 'NEWSPUSH_URL'}: an http(s) URL such as http://localhost:3000 (got ${JSON.stringify(raw)})`, 2);
  return { url: raw.replace(/\/+$/, ''), key: ctx.env.NEWSPUSH_KEY?.trim() || null };
}

function int(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new CliError(`--${name}: a whole number (got ${JSON.stringify(raw)})`, 2);
  return Number(raw);
}

/** An article from the flags; the server validates it (and names any bad field). */
function articleFromFlags(v: ReturnType<typeof args<typeof PUBLISH>>['values']): Record<string, unknown> {
  const missing = (['id', 'headline', 'topics'] as const).filter((k) => !v[k]);
  if (missing.length > 0) throw new CliError(`publish needs ${missing.map((k) => `--${k}`).join(', ')} (or --file)`, 2);
  if (v.notify && v['no-notify']) throw new CliError('--notify and --no-notify together', 2);
  const article: Record<string, unknown> = {
    id: v.id,
    headline: v.headline,
    topics: v.topics!.split(',').map((t) => t.trim()).filter(Boolean),
    summary: v.summary,
    body: v.body,
    url: v['article-url'],
    urgency: int('urgency', v.urgency),
    language: v.language,
    byline: v.byline,
    version: int('version', v.version),
    changeNote: v['change-note'],
    publishedAt: v['published-at'],
    notify: v.notify ? true : v['no-notify'] ? false : undefined,
  };
  return Object.fromEntries(Object.entries(article).filter(([, x]) => x !== undefined));
}

/** A ninjs document names itself by uri/guid and has no `id`+`topics` of ours. */
function isNinjs(doc: Record<string, unknown>): boolean {
  return !('topics' in doc) && ('uri' in doc || 'guid' in doc);
}

interface WriteAnswer {
  event: { id: string; type: string } | null;
  article: { id: string; version: number; status: string } | null;
  held?: { id: string; releaseAt: string | null };
}

function describeWrite(status: number, w: WriteAnswer): string {
  if (w.held) return `${status} held ${w.held.id}${w.held.releaseAt ? ` until ${w.held.releaseAt}` : ' (withheld)'}`;
  const a = w.article!;
  if (!w.event) return `${status} unchanged ${a.id} v${a.version}: nothing sent (the same content again)`;
  return `${status} ${w.event.type} ${a.id} v${a.version} (event ${w.event.id})`;
}

async function publish(argv: string[], ctx: CliContext): Promise<number> {
  const { values: v, positionals } = args(argv, PUBLISH);
  if (positionals.length > 0) throw new CliError(`publish takes no ${JSON.stringify(positionals[0])}; use flags or --file`, 2);
  const t = target(ctx, v.url);
  let body: Record<string, unknown>;
  let path = '/api/v1/articles';
  if (v.file !== undefined) {
    let text: string;
    try {
      text = ctx.readFile(v.file);
    } catch (err) {
      throw new CliError(`--file: cannot read ${v.file} (${(err as Error).message})`, 2);
    }
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new CliError(`--file: ${v.file} is not JSON (${(err as Error).message})`, 2);
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new CliError(`--file: ${v.file} holds no JSON object`, 2);
    if (isNinjs(body)) path = '/api/v1/ninjs';
  } else {
    body = articleFromFlags(v);
  }
  const r = await request<WriteAnswer>(t, 'POST', path, body, true);
  ctx.out(v.json ? JSON.stringify(r.body, null, 2) : describeWrite(r.status, r.body));
  return 0;
}

async function retract(argv: string[], ctx: CliContext): Promise<number> {
  const { values: v, positionals } = args(argv, { ...COMMON, reason: { type: 'string' } });
  if (positionals.length !== 1) throw new CliError('retract takes one article id: newspush retract ID [--reason TEXT]', 2);
  const t = target(ctx, v.url);
  const r = await request<WriteAnswer>(t, 'DELETE', `/api/v1/articles/${encodeURIComponent(positionals[0]!)}`, v.reason !== undefined ? { reason: v.reason } : {}, true);
  if (v.json) ctx.out(JSON.stringify(r.body, null, 2));
  else ctx.out(r.body.event ? describeWrite(r.status, r.body) : `${r.status} ${r.body.article!.id} was already retracted: nothing sent`);
  return 0;
}

async function followCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values: v, positionals } = args(argv, { ...COMMON, since: { type: 'string' }, max: { type: 'string' } });
  if (positionals.length !== 1) throw new CliError('follow takes the topics, comma-separated: newspush follow world,us/politics', 2);
  const topics = positionals[0]!.split(',').map((s) => s.trim()).filter(Boolean);
  const stateDir = ctx.env.NEWSPUSH_STATE_DIR || join(ctx.env.XDG_STATE_HOME || join(ctx.env.HOME || homedir(), '.local', 'state'), 'newspush');
  await follow({
    target: target(ctx, v.url),
    topics,
    since: v.since ?? null,
    json: v.json ?? false,
    cursors: new CursorFile(stateDir),
    out: ctx.out,
    err: ctx.err,
    signal: ctx.signal,
    max: int('max', v.max) ?? null,
  });
  return 0;
}

function vapid(argv: string[], ctx: CliContext): number {
  args(argv, {});
  const { publicKey, privateKey } = webpush.generateVAPIDKeys();
  ctx.out(`VAPID_PUBLIC_KEY=${publicKey}`);
  ctx.out(`VAPID_PRIVATE_KEY=${privateKey}`);
  ctx.out('VAPID_SUBJECT=mailto:newsroom@your-domain.example');
  return 0;
}

const COMMANDS: Record<string, (argv: string[], ctx: CliContext) => number | Promise<number>> = {
  publish,
  retract,
  follow: followCommand,
  vapid,
};

/** Runs one command line; resolves with the exit code, having printed what went wrong (one line, no stack). */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h' || rest.includes('--help') || rest.includes('-h')) {
    ctx.out(HELP);
    return command && !['help', '--help', '-h'].includes(command) && !(command in COMMANDS) ? 2 : 0;
  }
  const run = COMMANDS[command];
  if (!run) {
    ctx.err(`newspush: unknown command ${JSON.stringify(command)}; the commands are ${Object.keys(COMMANDS).join(', ')} (newspush --help)`);
    return 2;
  }
  try {
    return await run(rest, ctx);
  } catch (err) {
    if (err instanceof CliError) {
      ctx.err(`newspush ${command}: ${err.message}`);
      return err.exitCode;
    }
    throw err;
  }
}
