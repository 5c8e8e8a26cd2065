import { createECDH, createPublicKey, randomBytes, verify, type ECDH } from 'node:crypto';
import { createServer, type Server } from 'node:https';
// http_ece is the reference implementation of RFC 8188 that web-push itself uses.
import ece from 'http_ece';
import { readPushTls } from './push-tls.ts';

export interface ReceivedPush {
  subscriber: string;
  headers: Record<string, string | string[] | undefined>;
  payload: any;
  at: number;
}

export interface Answer {
  status: number;
  retryAfter?: string;
  /** A Location header (a redirect the sender must not follow). */
  location?: string;
  delayMs?: number;
}

interface Subscriber {
  ecdh: ECDH;
  auth: string;
}

/**
 * A local HTTPS push service that behaves like FCM or Mozilla's autopush for the tests: it checks the VAPID JWT
 * (ES256 against the `k=` key, `aud` = its own origin, `exp` within 24 h, `sub` set), decrypts the aes128gcm
 * body with the subscriber's private key and auth secret, records what arrived, and answers 201 unless told
 * otherwise (404, 410, 413, 429 with Retry-After, 500, a redirect, or slowly).
 *
 * It serves https://localhost:<port> with a certificate from a CA made once per test run; the server under test
 * trusts it as an operator trusts a private push service, through NODE_EXTRA_CA_CERTS, with no option in the
 * server. Node reads that variable only at process start, and vitest runs each test file in a forked worker, so
 * tests/support/global-setup.ts (vitest `globalSetup`, in the main process, before any fork) makes the CA and
 * exports the variable, and every worker inherits it (see push-tls.ts). The service listens on 127.0.0.1, so the
 * server under test must also run with PUSH_ALLOW_PRIVATE_NETWORKS=true and PUSH_ENDPOINT_HOSTS=`host`.
 */
export class PushService {
  readonly received: ReceivedPush[] = [];
  readonly rejected: Array<{ subscriber: string; reason: string }> = [];
  private readonly subscribers = new Map<string, Subscriber>();
  private readonly answers = new Map<string, Answer[]>();
  /** Delay for every answer (a slow push service). */
  delayMs = 0;
  /** While set, every answer waits for it (after delayMs): a push service holding requests until a test lets go. */
  gate: Promise<void> | null = null;
  /** Benchmarks: fully check (VAPID and decryption) only this many pushes, then just count and accept. */
  checkUpTo = Number.POSITIVE_INFINITY;
  /** Pushes accepted, checked or not. */
  accepted = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<PushService> {
    const { cert, key } = readPushTls();
    let self: PushService | null = null;
    const server = createServer({ key, cert, keepAlive: true }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answer = self!.handle(req.url ?? '', req.headers, Buffer.concat(chunks));
        const gate = self!.gate;
        setTimeout(() => {
          void (gate ?? Promise.resolve()).then(() => {
            res.writeHead(answer.status, { ...(answer.retryAfter ? { 'Retry-After': answer.retryAfter } : {}), ...(answer.location ? { Location: answer.location } : {}) });
            res.end();
          });
        }, answer.delayMs ?? self!.delayMs);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    self = new PushService(server, (server.address() as { port: number }).port);
    return self;
  }

  get origin(): string {
    return `https://localhost:${this.port}`;
  }

  /** PUSH_ENDPOINT_HOSTS entry for this service. */
  get host(): string {
    return `localhost:${this.port}`;
  }

  /** The settings an operator gives a server to use this service: its host, on a private (loopback) address. */
  get serverEnv(): { PUSH_ENDPOINT_HOSTS: string; PUSH_ALLOW_PRIVATE_NETWORKS: 'true' } {
    return { PUSH_ENDPOINT_HOSTS: this.host, PUSH_ALLOW_PRIVATE_NETWORKS: 'true' };
  }

  /** A browser's PushSubscription for a new subscriber whose private key this service holds. */
  subscriber(name: string = randomBytes(6).toString('hex')) {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const auth = randomBytes(16).toString('base64url');
    this.subscribers.set(name, { ecdh, auth });
    return { name, subscription: { endpoint: `${this.origin}/push/${name}`, expirationTime: null, keys: { p256dh: ecdh.getPublicKey('base64url'), auth } } };
  }

  /** Queues answers for a subscriber's next requests (then 201 again). */
  respond(name: string, ...answers: Array<number | Answer>): void {
    this.answers.set(name, [...(this.answers.get(name) ?? []), ...answers.map((a) => (typeof a === 'number' ? { status: a } : a))]);
  }

  for(name: string): ReceivedPush[] {
    return this.received.filter((r) => r.subscriber === name);
  }

  private handle(url: string, headers: Record<string, string | string[] | undefined>, body: Buffer): Answer {
    const name = /^\/push\/([\w-]+)$/.exec(url)?.[1];
    const sub = name ? this.subscribers.get(name) : undefined;
    if (!name || !sub) return { status: 404 };
    const queued = this.answers.get(name)?.shift();
    if (this.accepted >= this.checkUpTo && !queued) {
      this.accepted++;
      return { status: 201 };
    }
    const problem = this.checkVapid(String(headers.authorization ?? '')) ?? (headers['content-encoding'] !== 'aes128gcm' ? 'Content-Encoding is not aes128gcm' : null);
    if (problem) {
      this.rejected.push({ subscriber: name, reason: problem });
      return { status: 401 };
    }
    if (queued && queued.status >= 300) return queued;
    let payload: unknown;
    try {
      payload = JSON.parse(ece.decrypt(body, { version: 'aes128gcm', privateKey: sub.ecdh, authSecret: sub.auth }).toString('utf8'));
    } catch (err) {
      this.rejected.push({ subscriber: name, reason: `cannot decrypt: ${(err as Error).message}` });
      return { status: 400 };
    }
    this.received.push({ subscriber: name, headers, payload, at: Date.now() });
    if (!queued || queued.status < 300) this.accepted++;
    return queued ?? { status: 201 };
  }

  /** null when the VAPID authorization is valid for this service, else what is wrong with it. */
  private checkVapid(authorization: string): string | null {
    const m = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+),\s*k=([\w-]+)$/.exec(authorization);
    if (!m) return 'no vapid t=..., k=... authorization';
    const [head, claims, sig] = m[1]!.split('.') as [string, string, string];
    const raw = Buffer.from(m[2]!, 'base64url');
    if (raw.length !== 65) return 'k is not an uncompressed P-256 key';
    const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') }, format: 'jwk' });
    const ok = verify('sha256', Buffer.from(`${head}.${claims}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'));
    if (!ok) return 'JWT signature does not verify against k';
    const header = JSON.parse(Buffer.from(head, 'base64url').toString()) as { alg?: string };
    const c = JSON.parse(Buffer.from(claims, 'base64url').toString()) as { aud?: string; exp?: number; sub?: string };
    const now = Date.now() / 1000;
    if (header.alg !== 'ES256') return 'alg is not ES256';
    if (c.aud !== this.origin) return `aud ${c.aud} is not ${this.origin}`;
    if (!c.exp || c.exp <= now || c.exp > now + 24 * 3600) return 'exp is not within the next 24 h';
    if (!c.sub || !/^(mailto:|https:)/.test(c.sub)) return 'sub is missing';
    return null;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}
