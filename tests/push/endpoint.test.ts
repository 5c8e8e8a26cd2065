import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PUSH_HOSTS } from '../../src/config.ts';
import { addressClass, EndpointPolicy, hostMatches, type Resolver } from '../../src/push/endpoint.ts';
import { article } from '../support/articles.ts';
import { PushService } from '../support/push-service.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { sleep, waitFor } from '../support/wait.ts';

/** A resolver answering from a table, as a DNS server controlled by an attacker could. */
const fixed = (table: Record<string, string[]>): Resolver => async (host) => (table[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

const metrics = async (s: TestServer) => (await fetch(`${s.url}/metrics`)).text();

describe('endpoint policy', () => {
  it('matches the default push services on the parsed hostname only', () => {
    const p = new EndpointPolicy(DEFAULT_PUSH_HOSTS);
    for (const ok of ['https://fcm.googleapis.com/fcm/send/abc', 'https://updates.push.services.mozilla.com/wpush/v2/x', 'https://wns2-db5p.notify.windows.com/w/?token=x', 'https://web.push.apple.com/QGx']) {
      expect(() => p.check(ok)).not.toThrow();
    }
    for (const bad of ['https://evil.example/x.push.apple.com/', 'https://push.apple.com.evil.example/', 'https://fcm.googleapis.com:8443/x', 'https://user:pw@fcm.googleapis.com/x', 'https://push.apple.com/x']) {
      expect(() => p.check(bad), bad).toThrow();
    }
    expect(hostMatches('*.example.com', 'a.b.example.com', '443')).toBe(true);
    expect(hostMatches('example.com:8443', 'example.com', '8443')).toBe(true);
  });

  it('gives every variant of an endpoint one canonical form: host case, trailing dot, :443, fragment', () => {
    const p = new EndpointPolicy(DEFAULT_PUSH_HOSTS);
    const canonical = 'https://fcm.googleapis.com/fcm/send/AbC-123';
    for (const variant of [canonical, 'https://FCM.GoogleAPIs.com/fcm/send/AbC-123', 'https://fcm.googleapis.com./fcm/send/AbC-123', 'https://fcm.googleapis.com:443/fcm/send/AbC-123', 'HTTPS://FCM.googleapis.COM.:443/fcm/send/AbC-123#x']) {
      expect(p.check(variant).href, variant).toBe(canonical);
    }
    // The path is the push service's token: its case is kept.
    expect(p.check('https://fcm.googleapis.com/fcm/send/abc-123').href).not.toBe(canonical);
    // Numeric spellings of an address are addresses.
    for (const literal of ['https://2130706433/x', 'https://0x7f.1/x', 'https://[::ffff:7f00:1]/x']) expect(() => p.check(literal), literal).toThrow(/not an IP address/);
  });

  // Every special-use range ipaddr.js knows, and the class it is refused as.
  const special: Array<[string, string]> = [
    ['0.0.0.0', 'unspecified'], ['0.1.2.3', 'unspecified'], ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'], ['239.255.255.250', 'multicast'], ['ff02::1', 'multicast'],
    ['169.254.169.254', 'linkLocal'], ['fe80::1', 'linkLocal'],
    ['127.0.0.1', 'loopback'], ['127.5.5.5', 'loopback'], ['::1', 'loopback'],
    ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'],
    ['fd00::1', 'uniqueLocal'], ['fc00::1', 'uniqueLocal'],
    ['100.64.0.1', 'carrierGradeNat'], ['100.127.255.254', 'carrierGradeNat'],
    ['192.0.2.1', 'reserved'], ['198.51.100.7', 'reserved'], ['203.0.113.9', 'reserved'], // TEST-NET-1, 2, 3
    ['198.18.0.1', 'reserved'], ['198.19.255.255', 'reserved'], // benchmarking
    ['192.0.0.8', 'reserved'], ['192.88.99.1', 'reserved'], ['240.0.0.1', 'reserved'], // IETF protocol, 6to4 relay, class E
    ['2001:db8::1', 'reserved'], ['3fff::1', 'reserved'], // IPv6 documentation
    ['192.175.48.1', 'as112'], ['2001:4:112::1', 'as112v6'], ['192.52.193.1', 'amt'], ['2001:3::1', 'amt'],
    ['::ffff:10.0.0.1', 'private'], ['::ffff:127.0.0.1', 'loopback'], ['::ffff:169.254.169.254', 'linkLocal'], // IPv4-mapped: the IPv4 inside
    ['::ffff:0:a00:1', 'rfc6145'],
    ['64:ff9b::a00:1', 'rfc6052'], ['64:ff9b:1::1', 'rfc6052'], // NAT64
    ['2002:a00:1::1', '6to4'], ['2001:0:4136:e378::1', 'teredo'], ['2001:2::1', 'benchmarking'],
    ['2001:10::1', 'deprecatedOrchid'], ['2001:20::1', 'orchid2'], ['fec0::1', 'deprecatedSiteLocal'], ['100::1', 'discard'], ['5f00::1', 'segmentRouting'],
    ['::7f00:1', 'unallocated'], ['4000::1', 'unallocated'], // IPv4-compatible (deprecated); outside 2000::/3
  ];
  const publicAddresses = ['142.250.74.78', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2a00:1450:4007:80e::200a', '::ffff:8.8.8.8'];

  it('classes every special-use address, and only ordinary unicast as public', () => {
    for (const [address, kind] of special) expect(addressClass(address), address).toBe(kind);
    for (const address of publicAddresses) expect(addressClass(address), address).toBe('unicast');
  });

  it('refuses a host resolving to any special-use address; PUSH_ALLOW_PRIVATE_NETWORKS opens private and loopback only', async () => {
    const privateNetworks = new Set(['private', 'uniqueLocal', 'loopback']);
    for (const allowPrivateNetworks of [false, true]) {
      for (const [address, kind] of special) {
        const p = new EndpointPolicy(['push.example'], { allowPrivateNetworks, resolver: fixed({ 'push.example': [address] }) });
        const result = p.resolve('push.example');
        if (allowPrivateNetworks && privateNetworks.has(kind)) await expect(result, address).resolves.toEqual({ address, family: expect.any(Number) });
        else await expect(result, `${address} with allowPrivateNetworks=${allowPrivateNetworks}`).rejects.toThrow(`non-public address (${address}: ${kind})`);
      }
      for (const address of publicAddresses) {
        const p = new EndpointPolicy(['push.example'], { allowPrivateNetworks, resolver: fixed({ 'push.example': [address] }) });
        await expect(p.resolve('push.example')).resolves.toMatchObject({ address });
      }
    }
    // One bad address among good ones is enough to refuse: the connection could go to any of them.
    const mixed = new EndpointPolicy(['push.example'], { resolver: fixed({ 'push.example': ['8.8.8.8', '10.0.0.1'] }) });
    await expect(mixed.resolve('push.example')).rejects.toThrow(/non-public/);
    await expect(new EndpointPolicy(['push.example'], { resolver: fixed({}) }).resolve('push.example')).rejects.toThrow(/does not resolve/);
  });
});

describe('Web Push endpoints on a server', () => {
  let push: PushService;
  beforeAll(async () => {
    push = await PushService.start();
  });
  afterAll(async () => {
    await push.stop();
  });

  const subscribe = (s: TestServer, endpoint: string, keys = push.subscriber().subscription.keys, topics = ['variants']) =>
    api(s.url, 'POST', '/api/v1/push/subscriptions', { subscription: { endpoint, keys }, topics });

  it('refuses at send time a name that resolves to a private address when PUSH_ALLOW_PRIVATE_NETWORKS is off, without retrying', async () => {
    // `localhost` is an allowed name but resolves to loopback.
    const srv = await startServer({ PUSH_ENDPOINT_HOSTS: push.host, RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '0' });
    try {
      const sub = push.subscriber();
      expect((await api(srv.url, 'POST', '/api/v1/push/subscriptions', { subscription: sub.subscription, topics: ['dns'] })).status).toBe(201);
      await api(srv.url, 'POST', '/api/v1/articles', article(['dns'], { urgency: 1 }), srv.auth);
      await waitFor('the refusal to be counted', async () => /newspush_push_requests_total\{outcome="blocked",status="0"\} 1/.test(await metrics(srv)));
      await sleep(300);
      expect(push.received).toEqual([]);
    } finally {
      await srv.close();
    }
  });

  it('with PUSH_ALLOW_PRIVATE_NETWORKS: delivers to a listed host on loopback, warns at start-up, still refuses IP literals, other hosts and redirects', async () => {
    const logs: Array<{ level: number; msg: string }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    const srv = await startServer({ ...push.serverEnv, RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '0', RATE_LIMIT_PUBLISH_PER_SECOND: '0' }, { logger });
    try {
      expect(logs.filter((l) => l.level === 40 && /PUSH_ALLOW_PRIVATE_NETWORKS is on/.test(l.msg))).toHaveLength(1);
      for (const [endpoint, why] of [
        [`https://127.0.0.1:${push.port}/push/x`, 'not an IP address'],
        [`https://[::1]:${push.port}/push/x`, 'not an IP address'],
        [`https://other.localhost:${push.port}/push/x`, 'not an allowed push service'],
        ['https://localhost/push/x', 'not an allowed push service'],
      ] as const) {
        const r = await subscribe(srv, endpoint);
        expect(r.status, endpoint).toBe(400);
        expect(r.body.error.details[0].message).toContain(why);
      }
      const target = push.subscriber();
      const redirecting = push.subscriber();
      const direct = push.subscriber();
      for (const s of [redirecting, direct]) expect((await subscribe(srv, s.subscription.endpoint, s.subscription.keys)).status).toBe(201);
      push.respond(redirecting.name, { status: 307, location: target.subscription.endpoint });
      await api(srv.url, 'POST', '/api/v1/articles', article(['variants'], { urgency: 1 }), srv.auth);
      await waitFor('the delivery and the refused redirect', async () => push.for(direct.name).length === 1 && /outcome="rejected",status="307"\} 1/.test(await metrics(srv)));
      await sleep(300);
      expect(push.for(target.name)).toEqual([]);
      expect(push.for(redirecting.name)).toEqual([]);
    } finally {
      await srv.close();
    }
  });

  it('with PUSH_ALLOW_PRIVATE_NETWORKS: still refuses a listed host that resolves to a link-local (cloud metadata) address', async () => {
    const srv = await startServer({ ...push.serverEnv, RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '0' }, { resolver: fixed({ localhost: ['169.254.169.254'] }) });
    try {
      expect((await subscribe(srv, push.subscriber().subscription.endpoint)).status).toBe(201);
      await api(srv.url, 'POST', '/api/v1/articles', article(['variants'], { urgency: 1 }), srv.auth);
      await waitFor('the refusal to be counted', async () => /newspush_push_requests_total\{outcome="blocked",status="0"\} 1/.test(await metrics(srv)));
    } finally {
      await srv.close();
    }
  });

  it('an uppercase host, a trailing dot or an explicit :443 is the same subscription: 200 with the same id, one push', async () => {
    const srv = await startServer({ ...push.serverEnv, PUSH_ENDPOINT_HOSTS: `${push.host},updates.push.example`, RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '0', RATE_LIMIT_PUBLISH_PER_SECOND: '0' });
    try {
      // Never sent to (nothing is published on their topic): only stored and matched.
      const remoteSubscribe = (endpoint: string) => subscribe(srv, endpoint, undefined, ['elsewhere']);
      const remote = await remoteSubscribe('https://updates.push.example/wpush/v2/Token-1');
      expect(remote.status).toBe(201);
      for (const variant of ['https://UPDATES.Push.Example/wpush/v2/Token-1', 'https://updates.push.example./wpush/v2/Token-1', 'https://updates.push.example:443/wpush/v2/Token-1', 'https://Updates.push.example.:443/wpush/v2/Token-1']) {
        const again = await remoteSubscribe(variant);
        expect(again.status, variant).toBe(200);
        expect(again.body.id, variant).toBe(remote.body.id);
      }
      expect((await remoteSubscribe('https://updates.push.example/wpush/v2/token-1')).status).toBe(201); // another token
      // On the local service: the variants are one subscriber, and the canonical endpoint is what is sent to.
      const sub = push.subscriber();
      const path = new URL(sub.subscription.endpoint).pathname;
      const first = await subscribe(srv, `https://LocalHost:${push.port}${path}`, sub.subscription.keys);
      expect(first.status).toBe(201);
      const second = await subscribe(srv, `https://localhost.:${push.port}${path}`, sub.subscription.keys);
      expect([second.status, second.body.id]).toEqual([200, first.body.id]);
      const published = await api(srv.url, 'POST', '/api/v1/articles', article(['variants'], { urgency: 1 }), srv.auth);
      await waitFor('the push', () => push.for(sub.name).length > 0);
      await sleep(300);
      expect(push.for(sub.name).map((p) => p.payload.eventId)).toEqual([published.body.event.id]);
    } finally {
      await srv.close();
    }
  });
});
