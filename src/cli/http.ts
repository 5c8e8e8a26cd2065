/** The CLI's view of the server: JSON over HTTP, every failure turned into one readable CliError. */

export class CliError extends Error {
  constructor(
    message: string,
    /** 1: the server or the network said no; 2: the command line or the environment is wrong. */
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface ServerTarget {
  url: string;
  key: string | null;
}

interface ErrorEnvelope {
  error?: { code?: string; message?: string; details?: Array<{ field: string; message: string }>; currentVersion?: number };
}

/** "409 stale_version: Article x is already at version 2." plus one line per bad field. */
export function describeError(status: number, body: unknown): string {
  const e = (body as ErrorEnvelope | null)?.error;
  if (!e?.code) return `the server answered ${status}${typeof body === 'string' && body ? `: ${body.slice(0, 200)}` : ''}`;
  const lines = [`${status} ${e.code}: ${e.message ?? ''}`.trim()];
  for (const d of e.details ?? []) lines.push(`  ${d.field}: ${d.message}`);
  return lines.join('\n');
}

export function networkError(url: string, err: unknown): CliError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message;
  return new CliError(`cannot reach the server at ${url} (${why}); set NEWSPUSH_URL or --url`);
}

/** Sends a JSON request; resolves with the parsed answer of a 2xx, throws a CliError otherwise. */
export async function request<T>(target: ServerTarget, method: string, path: string, body?: unknown, auth = false): Promise<{ status: number; body: T }> {
  if (auth && !target.key) {
    throw new CliError('set NEWSPUSH_KEY to a publisher key (one of PUBLISHER_KEYS, or the key the server printed at start)', 2);
  }
  const url = new URL(path, target.url).href;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        Accept: 'application/json',
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...(auth ? { Authorization: `Bearer ${target.key}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw networkError(target.url, err);
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text for the message
  }
  if (!res.ok) throw new CliError(describeError(res.status, parsed));
  return { status: res.status, body: parsed as T };
}
