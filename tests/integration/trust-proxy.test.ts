import { createECDH, randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedLogger } from '../support/logs.ts';
import { startServer, type TestServer } from '../support/server.ts';

const WARNING = /TRUST_PROXY=true/;

describe('TRUST_PROXY=true is warned about at start-up', () => {
  it.each([
    ['true', true],
    ['1', false],
    ['loopback', false],
    ['10.0.0.1, 10.0.0.2', false],
  ])('TRUST_PROXY=%s: warning %s', async (value, warned) => {
    const log = capturedLogger();
    const srv = await startServer({ TRUST_PROXY: value }, { logger: log.logger });
    await srv.close();
    const warning = log.lines.find((l) => WARNING.test(l.msg ?? ''));
    expect(Boolean(warning)).toBe(warned);
    if (warning) {
      expect(warning.level).toBe(40);
      expect(warning.msg).toMatch(/number of proxies/);
    }
  });
});

/**
 * Why: behind a proxy that appends the client's address to X-Forwarded-For (nginx's $proxy_add_x_forwarded_for),
 * `true` takes the left-most address, which the client wrote; a hop count takes the one the proxy wrote.
 */
describe('what the warning is about, behind a real appending proxy', () => {
  let proxy: Server;
  let proxyUrl: string;
  let target: TestServer;

  async function behindProxy(trustProxy: string): Promise<number[]> {
    target = await startServer({ TRUST_PROXY: trustProxy, RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '3' });
    const statuses: number[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const ecdh = createECDH('prime256v1');
        ecdh.generateKeys();
        const body = JSON.stringify({
          subscription: { endpoint: `https://fcm.googleapis.com/fcm/send/${randomBytes(8).toString('hex')}`, keys: { p256dh: ecdh.getPublicKey('base64url'), auth: randomBytes(16).toString('base64url') } },
          topics: ['world'],
        });
        // The client rotates the address it claims on every request.
        const res = await fetch(`${proxyUrl}/api/v1/push/subscriptions`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': `203.0.113.${i + 1}` }, body });
        await res.arrayBuffer();
        statuses.push(res.status);
      }
    } finally {
      await target.close();
    }
    return statuses;
  }

  beforeAll(async () => {
    proxy = createServer((req, res) => {
      const xff = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
      const up = request({ host: '127.0.0.1', port: target.port, path: req.url, method: req.method, headers: { ...req.headers, 'x-forwarded-for': xff } }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.writeHead(502).end());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => proxy.close(r));
  });

  it('with true, a client that rotates X-Forwarded-For is never limited', async () => {
    expect(await behindProxy('true')).toEqual([201, 201, 201, 201, 201, 201]);
  });

  it('with the hop count (1), the limit holds', async () => {
    expect(await behindProxy('1')).toEqual([201, 201, 201, 429, 429, 429]);
  });
});
