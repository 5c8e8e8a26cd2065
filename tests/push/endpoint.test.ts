import { describe, expect, it } from 'vitest';
import { EndpointPolicy, hostMatches, isPrivateAddress } from '../../src/push/endpoint.ts';
import { article } from '../support/articles.ts';
import { PushService } from '../support/push-service.ts';
import { api, startServer } from '../support/server.ts';
import { sleep, waitFor } from '../support/wait.ts';
import { DEFAULT_PUSH_HOSTS } from '../../src/config.ts';

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

  it('knows the non-public address ranges', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:10.0.0.1']) expect(isPrivateAddress(a), a).toBe(true);
    for (const a of ['142.250.74.78', '2a00:1450:4007:80e::200a', '172.32.0.1']) expect(isPrivateAddress(a), a).toBe(false);
  });

  it('refuses at send time a name that resolves to a private address (DNS rebinding), without retrying', async () => {
    const push = await PushService.start();
    // No test-only allowance here: `localhost` is an allowed name but resolves to loopback.
    const srv = await startServer({ PUSH_ENDPOINT_HOSTS: push.host, RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '0' }, { push: { ca: push.ca } });
    try {
      await expect(new EndpointPolicy([push.host]).resolve('localhost')).rejects.toThrow(/non-public/);
      const sub = push.subscriber();
      expect((await api(srv.url, 'POST', '/api/v1/push/subscriptions', { subscription: sub.subscription, topics: ['dns'] })).status).toBe(201);
      await api(srv.url, 'POST', '/api/v1/articles', article(['dns'], { urgency: 1 }), srv.auth);
      await waitFor('the refusal to be counted', async () => /newspush_push_requests_total\{outcome="blocked",status="0"\} 1/.test(await (await fetch(`${srv.url}/metrics`)).text()));
      await sleep(300);
      expect(push.received).toEqual([]);
    } finally {
      await srv.close();
      await push.stop();
    }
  });
});
