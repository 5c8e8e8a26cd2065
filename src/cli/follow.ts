import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createParser } from 'eventsource-parser';
import { CliError, describeError, networkError, type ServerTarget } from './http.ts';

/** The cursors `follow` saved, one per server and topic set, in a small JSON file. */
export class CursorFile {
  private readonly path: string;
  constructor(dir: string) {
    this.path = join(dir, 'cursors.json');
  }

  static keyOf(url: string, topics: readonly string[]): string {
    return `${new URL(url).origin} ${[...topics].sort().join(',')}`;
  }

  private readAll(): Record<string, string> {
    try {
      return JSON.parse(readFileSync(this.path, 'utf8')) as Record<string, string>;
    } catch {
      return {};
    }
  }

  get(key: string): string | null {
    return this.readAll()[key] ?? null;
  }

  /** Writes through a temporary file, so an interrupted write never leaves half a file. */
  set(key: string, cursor: string | null): void {
    const all = this.readAll();
    if (cursor === null) delete all[key];
    else all[key] = cursor;
    mkdirSync(join(this.path, '..'), { recursive: true });
    writeFileSync(this.path + '.tmp', JSON.stringify(all, null, 2) + '\n');
    renameSync(this.path + '.tmp', this.path);
  }
}

interface StreamEvent {
  id: string;
  type: string;
  topics: string[];
  article: { id: string; version: number; headline: string; urgency: number; retraction?: { reason: string | null } };
}

/** One line per event: the event id first (it is the cursor), then what happened to which article. */
export function eventLine(e: StreamEvent): string {
  const what = e.type.replace(/^article\./, '');
  const reason = e.type === 'article.retracted' && e.article.retraction?.reason ? ` (${e.article.retraction.reason})` : '';
  return `${e.id}  ${what.padEnd(9)}  ${e.article.id} v${e.article.version}  u${e.article.urgency}  ${e.article.headline}${reason}  [${e.topics.join(', ')}]`;
}

export interface FollowOptions {
  target: ServerTarget;
  topics: string[];
  /** Start after this cursor; null: the saved one, or live only. */
  since: string | null;
  json: boolean;
  cursors: CursorFile;
  out: (line: string) => void;
  err: (line: string) => void;
  signal: AbortSignal;
  /** Stop after this many events (scripts, tests); null: until interrupted. */
  max: number | null;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * Follows topics over SSE (GET /api/v1/stream), printing each event and saving the cursor after it, and
 * reconnects with Last-Event-ID after a dropped connection, so nothing is missed or printed twice.
 */
export async function follow(o: FollowOptions): Promise<void> {
  const key = CursorFile.keyOf(o.target.url, o.topics);
  let cursor = o.since ?? o.cursors.get(key);
  let count = 0;
  let retryMs = 1_000;
  let connected = false;
  const done = new AbortController();
  const stop = () => done.abort();
  o.signal.addEventListener('abort', stop, { once: true });

  while (!done.signal.aborted) {
    const url = new URL('/api/v1/stream', o.target.url);
    url.searchParams.set('topics', o.topics.join(','));
    let res: Response;
    try {
      res = await fetch(url, { headers: { Accept: 'text/event-stream', ...(cursor ? { 'Last-Event-ID': cursor } : {}) }, signal: done.signal });
    } catch (err) {
      if (done.signal.aborted) break;
      if (!connected) throw networkError(o.target.url, err);
      o.err(`connection lost (${(err as Error).message}); retrying in ${retryMs / 1000} s`);
      await sleep(retryMs, done.signal);
      retryMs = Math.min(retryMs * 2, 30_000);
      continue;
    }
    if (!res.ok) {
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // keep the text
      }
      throw new CliError(describeError(res.status, body), res.status === 400 ? 2 : 1);
    }
    if (!connected) {
      o.err(`following ${o.topics.join(',')} on ${o.target.url} ${cursor ? `after ${cursor}${o.since ? '' : ' (saved cursor)'}` : '(live events only)'}; Ctrl-C to stop`);
    }
    connected = true;
    retryMs = 1_000;
    const parser = createParser({
      onRetry: (ms) => (retryMs = Math.max(ms, 500)),
      onEvent: (m) => {
        // One chunk can hold many replayed events: none is printed after --max was reached.
        if (done.signal.aborted) return;
        if (m.event === 'resync') {
          // The server names where to continue from: a reconnect from there misses nothing and is not told to resync again.
          const resync = JSON.parse(m.data) as { head?: string | null };
          cursor = typeof resync.head === 'string' ? resync.head : null;
          o.cursors.set(key, cursor);
          o.err('resync: the cursor cannot be replayed; what is current: GET /api/v1/articles (following live from here)');
          if (o.json) o.out(JSON.stringify({ resync }));
          return;
        }
        if (m.event !== undefined && m.event !== 'message') return;
        const event = JSON.parse(m.data) as StreamEvent;
        o.out(o.json ? m.data : eventLine(event));
        cursor = m.id ?? event.id;
        o.cursors.set(key, cursor);
        count += 1;
        if (o.max !== null && count >= o.max) stop();
      },
    });
    try {
      const decoder = new TextDecoder();
      for await (const chunk of res.body ?? []) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
    } catch (err) {
      if (done.signal.aborted) break;
      o.err(`connection lost (${(err as Error).message}); reconnecting`);
    }
    if (done.signal.aborted) break;
    o.err(`the server closed the stream; reconnecting in ${retryMs / 1000} s${cursor ? ` after ${cursor}` : ''}`);
    await sleep(retryMs, done.signal);
  }
  o.signal.removeEventListener('abort', stop);
}
