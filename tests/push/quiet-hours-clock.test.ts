import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { article } from '../support/articles.ts';
import { PushService } from '../support/push-service.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { sleep, waitFor } from '../support/wait.ts';

let push: PushService;
let srv: TestServer;
/** The server's clock: the tests set the time instead of waiting for it. */
let now = 0;

beforeAll(async () => {
  push = await PushService.start();
  srv = await startServer({ ...push.serverEnv, RATE_LIMIT_PUBLISH_PER_SECOND: '0', RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '0' }, { clock: () => now });
});
afterAll(async () => {
  await srv.close();
  await push.stop();
});

async function subscribe(quietHours: Record<string, string> | null) {
  const sub = push.subscriber();
  const r = await api(srv.url, 'POST', '/api/v1/push/subscriptions', { subscription: sub.subscription, topics: ['night'], maxUrgency: 9, quietHours });
  expect(r.status).toBe(201);
  return sub.name;
}

describe('quiet hours on a running server follow its injected clock', () => {
  it('New York readers on both DST change days, a Tokyo reader, and a flash that passes', async () => {
    const nyShort = await subscribe({ start: '01:30', end: '02:30', timeZone: 'America/New_York' });
    const nyNight = await subscribe({ start: '22:00', end: '07:00', timeZone: 'America/New_York' });
    const tokyo = await subscribe({ start: '22:00', end: '07:00', timeZone: 'Asia/Tokyo' });
    const always = await subscribe(null);
    const readers = { nyShort, nyNight, tokyo, always };
    const seen = new Map<string, number>(Object.values(readers).map((n) => [n, 0]));

    /** Publishes at the given time and answers which readers got that alert. */
    async function alertAt(utc: string, urgency = 3): Promise<string[]> {
      now = Date.parse(utc);
      await api(srv.url, 'POST', '/api/v1/articles', article(['night'], { urgency }), srv.auth);
      await waitFor(`the alert at ${utc}`, () => push.for(always).length > seen.get(always)!);
      await sleep(300); // the batch that reached `always` has reached the others by now, or never will
      const got = Object.entries(readers).filter(([, name]) => push.for(name).length > seen.get(name)!).map(([who]) => who);
      for (const name of Object.values(readers)) seen.set(name, push.for(name).length);
      return got;
    }

    // 2026-03-08 06:45Z: 01:45 EST in New York, 15:45 in Tokyo.
    expect(await alertAt('2026-03-08T06:45:00Z')).toEqual(['tokyo', 'always']);
    // 07:15Z: 03:15 EDT (02:00-02:59 never happened), still night.
    expect(await alertAt('2026-03-08T07:15:00Z')).toEqual(['nyShort', 'tokyo', 'always']);
    // 11:15Z: 07:15 EDT, night over an hour earlier in UTC than the day before.
    expect(await alertAt('2026-03-08T11:15:00Z')).toEqual(['nyShort', 'nyNight', 'tokyo', 'always']);
    // 2026-11-01 06:15Z: 01:15 EST, the second 01:15 of the night; 15:15 in Tokyo.
    expect(await alertAt('2026-11-01T06:15:00Z')).toEqual(['nyShort', 'tokyo', 'always']);
    // 06:45Z: 01:45 EST, quiet again for the 01:30-02:30 reader.
    expect(await alertAt('2026-11-01T06:45:00Z')).toEqual(['tokyo', 'always']);
    // 14:30Z: 09:30 EST in New York, 23:30 in Tokyo.
    expect(await alertAt('2026-11-01T14:30:00Z')).toEqual(['nyShort', 'nyNight', 'always']);
    // A flash (urgency 1) wakes everyone.
    expect(await alertAt('2026-11-01T06:45:00Z', 1)).toEqual(['nyShort', 'nyNight', 'tokyo', 'always']);
  });
});
