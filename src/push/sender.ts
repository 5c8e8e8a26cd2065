import { Agent, request } from 'node:https';
import type { LookupFunction } from 'node:net';
import webpush from 'web-push';
import { BlockedAddressError, type EndpointPolicy } from './endpoint.ts';
import type { PushKeys } from './types.ts';
import type { Vapid } from './vapid.ts';

export interface SendResult {
  /** HTTP status, or 0 for a network error. */
  status: number;
  /** From Retry-After on 429/503. */
  retryAfterMs?: number;
  error?: string;
  /** Refused before sending: the endpoint is not allowed or resolves to a non-public address. Not retried. */
  blocked?: boolean;
}

export interface SendHeaders {
  ttlSeconds: number;
  urgency: string;
  topic: string;
}

/**
 * Push services are trusted through Node's default CA store; a private push service's CA is added the standard
 * way, with NODE_EXTRA_CA_CERTS.
 */
export interface SenderOptions {
  maxSocketsPerOrigin?: number;
  timeoutMs?: number;
}

const JWT_LIFETIME_S = 12 * 3600;
const JWT_RENEW_BEFORE_S = 3600;
const DNS_CACHE_MS = 60_000;

export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Sends encrypted pushes. What web-push does per call and need not be done per call is done once: the VAPID JWT
 * is signed once per push-service origin and reused until an hour before it expires, connections to each push
 * service are kept alive, and the host is resolved (and checked to be public) once a minute. Redirects are never
 * followed.
 */
export class PushSender {
  private readonly agents = new Map<string, Agent>();
  private readonly auth = new Map<string, { header: string; renewAt: number }>();
  private readonly addresses = new Map<string, { address: string; family: number; until: number }>();

  constructor(
    private readonly vapid: Vapid,
    private readonly policy: EndpointPolicy,
    private readonly options: SenderOptions = {},
  ) {}

  private authorization(origin: string): string {
    const now = Date.now();
    const cached = this.auth.get(origin);
    if (cached && cached.renewAt > now) return cached.header;
    const exp = Math.floor(now / 1000) + JWT_LIFETIME_S;
    const { Authorization } = webpush.getVapidHeaders(origin, this.vapid.subject, this.vapid.publicKey, this.vapid.privateKey, 'aes128gcm', exp) as { Authorization: string };
    this.auth.set(origin, { header: Authorization, renewAt: (exp - JWT_RENEW_BEFORE_S) * 1000 });
    return Authorization;
  }

  private agent(origin: string): Agent {
    let a = this.agents.get(origin);
    if (!a) {
      a = new Agent({ keepAlive: true, maxSockets: this.options.maxSocketsPerOrigin ?? 64 });
      this.agents.set(origin, a);
    }
    return a;
  }

  private async address(hostname: string): Promise<{ address: string; family: number }> {
    const c = this.addresses.get(hostname);
    if (c && c.until > Date.now()) return c;
    const r = await this.policy.resolve(hostname);
    this.addresses.set(hostname, { ...r, until: Date.now() + DNS_CACHE_MS });
    return r;
  }

  async send(endpoint: string, keys: PushKeys, payload: Buffer, h: SendHeaders): Promise<SendResult> {
    let url: URL;
    try {
      url = this.policy.check(endpoint);
    } catch (err) {
      return { status: 0, error: (err as Error).message, blocked: true };
    }
    let resolved: { address: string; family: number };
    try {
      resolved = await this.address(url.hostname);
    } catch (err) {
      return { status: 0, error: (err as Error).message, blocked: err instanceof BlockedAddressError };
    }
    const { cipherText } = webpush.encrypt(keys.p256dh, keys.auth, payload, 'aes128gcm') as { cipherText: Buffer };
    // Connect to the address that was checked, whatever the name resolves to by now (DNS rebinding).
    const lookup = ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => {
      if (opts?.all) cb(null, [resolved]);
      else cb(null, resolved.address, resolved.family);
    }) as unknown as LookupFunction;
    return new Promise<SendResult>((resolve) => {
      const req = request(
        {
          method: 'POST',
          protocol: 'https:',
          hostname: url.hostname,
          port: url.port || 443,
          path: url.pathname + url.search,
          agent: this.agent(url.origin),
          lookup,
          timeout: this.options.timeoutMs ?? 10_000,
          headers: {
            TTL: String(h.ttlSeconds),
            Urgency: h.urgency,
            Topic: h.topic,
            'Content-Encoding': 'aes128gcm',
            'Content-Type': 'application/octet-stream',
            'Content-Length': cipherText.length,
            Authorization: this.authorization(url.origin),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfterMs: parseRetryAfter(res.headers['retry-after']) }));
          res.on('error', (err) => resolve({ status: 0, error: err.message }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('push service timed out')));
      req.on('error', (err) => resolve({ status: 0, error: err.message }));
      req.end(cipherText);
    });
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}
