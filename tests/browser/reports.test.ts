import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page, Worker } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { PushService } from '../support/push-service.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { NewsSite } from '../support/site.ts';
import { waitFor } from '../support/wait.ts';

// Alert reports end to end: receipts from Chromium's service worker (on the server's origin and on a news site's,
// where the worker is the server's sw.js imported by the site), and the "Sent alerts" page against real reports
// while a slow push service is still accepting. See reports-view.test.ts for the rendering of every figure.
const SHOTS = fileURLToPath(new URL(process.env.SCREENSHOTS === 'update' ? '../../docs/screenshots/' : '../.tmp/screenshots/', import.meta.url));
let srv: TestServer;
let push: PushService;
let site: NewsSite;
let browser: Browser;

declare const self: {
  registration: { getNotifications(): Promise<Array<{ tag: string }>> };
  clients: unknown;
  fetch: typeof fetch;
  dispatchEvent(event: unknown): boolean;
  receipts?: unknown[];
};
declare const NotificationEvent: new (type: string, init: { notification: unknown }) => unknown;

beforeAll(async () => {
  site = await NewsSite.start({
    '/': () => ({ type: 'text/html', body: '<!doctype html><title>The Daily Courier</title><h1>The Daily Courier</h1>' }),
    '/sw.js': () => ({ type: 'text/javascript', body: `importScripts('${srv.url}/sw.js');` }),
  });
  push = await PushService.start();
  srv = await startServer({ RATE_LIMIT_PUBLISH_PER_SECOND: '0', RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '0', RATE_LIMIT_RECEIPTS_PER_MINUTE: '1000', CORS_ORIGINS: site.url, ...push.serverEnv });
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await srv?.close();
  await push?.stop();
  await site?.close();
});

async function subscribe(name: string, topics: string[]): Promise<void> {
  const r = await api(srv.url, 'POST', '/api/v1/push/subscriptions', { subscription: push.subscriber(name).subscription, topics, maxUrgency: 9 });
  if (r.status !== 201) throw new Error(`subscribe: ${r.status} ${JSON.stringify(r.body)}`);
}

async function publish(body: Record<string, unknown>): Promise<void> {
  const r = await api(srv.url, 'POST', '/api/v1/articles', { url: `https://news.example.com/${body.id}`, urgency: 2, ...body }, srv.auth);
  if (r.status >= 300) throw new Error(`publish: ${r.status} ${JSON.stringify(r.body)}`);
}

/** The newest version's report, as the API gives it. */
async function report(id: string) {
  const r = await api(srv.url, 'GET', `/api/v1/articles/${id}/report`, undefined, srv.auth);
  return r.status === 200 ? r.body.versions.at(-1) : undefined;
}

/** Registers `origin`'s /sw.js in a fresh context, then leaves the page (a visible page would be asked first). */
async function workerOn(origin: string): Promise<{ context: BrowserContext; worker: Worker; deliver: (payload: unknown) => Promise<void> }> {
  const context = await browser.newContext();
  await context.grantPermissions(['notifications'], { origin });
  const page = await context.newPage();
  await page.goto(origin === srv.url ? `${srv.url}/reports.html` : `${origin}/`);
  const session = await context.newCDPSession(page);
  await session.send('ServiceWorker.enable');
  const registered = new Promise<string>((resolve) => {
    session.on('ServiceWorker.workerRegistrationUpdated', (e: { registrations: Array<{ registrationId: string; scopeURL: string }> }) => {
      const r = e.registrations.find((x) => x.scopeURL === `${origin}/`);
      if (r) resolve(r.registrationId);
    });
  });
  await page.evaluate(async () => {
    await navigator.serviceWorker.register('/sw.js');
    await navigator.serviceWorker.ready;
  });
  const registrationId = await registered;
  const worker = await waitFor('the service worker', () => context.serviceWorkers().find((w) => w.url() === `${origin}/sw.js`));
  await page.goto('about:blank');
  return { context, worker, deliver: (payload) => session.send('ServiceWorker.deliverPushMessage', { origin, registrationId, data: JSON.stringify(payload) }).then(() => undefined) };
}

async function pushed(name: string) {
  const [got] = await waitFor(`the push to ${name}`, () => (push.for(name).length ? push.for(name) : undefined), 10_000);
  return got!.payload as { receipt: string; articleId: string };
}

describe('receipts from the service worker', () => {
  it('counts a shown notification and its click once each, also when the same push arrives again', async () => {
    await subscribe('rcpt-reader', ['world']);
    await publish({ id: 'rcpt-1', headline: 'Dam bursts after days of rain', topics: ['world/europe'] });
    const payload = await pushed('rcpt-reader');
    expect(payload.receipt).toMatch(/^[\w-]+$/);
    const { context, worker, deliver } = await workerOn(srv.url);
    // The server's answers to the worker's receipts, recorded in the worker (its own fetch does the sending).
    await worker.evaluate(() => {
      const send = self.fetch.bind(self);
      self.receipts = [];
      self.fetch = async (...args: Parameters<typeof fetch>) => {
        const r = await send(...args);
        self.receipts!.push({ url: String(args[0]), status: r.status, body: await r.clone().json().catch(() => null) });
        return r;
      };
    });
    const answers = (n: number) => waitFor(`${n} receipt answers`, () => worker.evaluate(() => self.receipts!).then((r) => (r.length >= n ? r : undefined)), 10_000);

    await deliver(payload);
    expect((await answers(1))[0]).toEqual({ url: `${srv.url}/api/v1/push/receipts`, status: 200, body: { counted: true } });
    expect(await report('rcpt-1')).toMatchObject({ shown: 1, opened: 0 });

    // The click: the worker's own handler runs on the real notification (openWindow recorded, see push-and-console).
    await worker.evaluate(async () => {
      (self.clients as { openWindow: (u: string) => Promise<null> }).openWindow = async () => null;
      const [n] = await self.registration.getNotifications();
      self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n! }));
    });
    expect((await answers(2))[1]).toMatchObject({ status: 200, body: { counted: true } });
    expect(await report('rcpt-1')).toMatchObject({ shown: 1, opened: 1 });

    // The same push delivered again is shown again, and its receipt is not counted twice.
    await deliver(payload);
    expect((await answers(3))[2]).toMatchObject({ status: 200, body: { counted: false } });
    expect(await report('rcpt-1')).toMatchObject({ shown: 1, opened: 1 });
    await context.close();
  });

  it("reports to the push server from a news site's worker (the server's sw.js imported by the site)", async () => {
    await subscribe('site-reader', ['sport']);
    await publish({ id: 'rcpt-2', headline: 'Cup final postponed', topics: ['sport'] });
    const payload = await pushed('site-reader');
    const { context, worker, deliver } = await workerOn(site.url);
    await deliver(payload);
    let tags: string[] = [];
    await waitFor('the notification on the site', async () => {
      tags = await worker.evaluate(() => self.registration.getNotifications().then((ns) => ns.map((n) => n.tag)));
      return tags.includes('rcpt-2');
    }, 20_000).catch((e) => {
      throw new Error(`${(e as Error).message} (notifications: ${JSON.stringify(tags)}, worker ${worker.url()})`);
    });
    const counted = await waitFor('the shown receipt', async () => ((await report('rcpt-2'))?.shown === 1 ? true : undefined), 10_000);
    expect(counted).toBe(true);
    await context.close();
  });
});

/** A page of the console's origin with the publisher key in the tab, as the console leaves it. */
async function editorPage(context: BrowserContext): Promise<Page> {
  await context.addInitScript((key) => sessionStorage.setItem('newspush.publisherKey', key), srv.publisherKey);
  return context.newPage();
}

describe('the "Sent alerts" page', () => {
  it('lists the alert, and its detail follows the report stream while a slow push service accepts', async () => {
    const N = 96; // three rounds of the engine's 32 requests in flight
    for (let i = 0; i < N; i++) await subscribe(`live-${i}`, ['business']);
    push.delayMs = 1_500;
    try {
      const context = await browser.newContext({ locale: 'en-US' });
      const page = await editorPage(context);
      await publish({ id: 'live-1', headline: 'Central bank raises rates by half a point', topics: ['business'] });
      await page.goto(`${srv.url}/reports.html?article=live-1`);
      const accepted = page.locator('section.version-report[data-version="1"] dt', { hasText: /^Accepted by push services$/ }).locator('xpath=../dd');
      // What the page shows, read until it says the sending finished: more than one figure while it was sending.
      const seen: string[] = [];
      await waitFor('the report to finish on the page', async () => {
        const now = await accepted.textContent({ timeout: 1_000 }).catch(() => null);
        if (now && seen.at(-1) !== now) seen.push(now);
        return (await page.locator('section.version-report[data-version="1"] .progress').textContent({ timeout: 1_000 }).catch(() => '')) === 'sending finished' && now?.startsWith(String(N));
      }, 30_000);
      const during = seen.map((s) => Number(s.split(' ')[0]!.replace(/,/g, ''))).filter((n) => n > 0 && n < N);
      expect(during.length, `figures seen: ${seen.join(' | ')}`).toBeGreaterThan(0);
      expect(seen.at(-1)).toBe(`${N} (100%)`);
      // The chart's table sums to every acceptance.
      const lastRow = await page.locator('section.version-report[data-version="1"] table.chart-table tbody tr').last().locator('td').last().textContent();
      expect(lastRow).toBe(String(N));
      expect(await page.locator('#live').getAttribute('data-state')).toBe('live');

      await page.goto(`${srv.url}/reports.html`);
      const card = page.locator('li.report-card[data-article="live-1"]');
      await card.waitFor({ timeout: 10_000 });
      expect(await card.locator('dd').first().textContent()).toBe(String(N));
      expect(await card.locator('dd').nth(1).textContent()).toBe('100%');
      await context.close();
    } finally {
      push.delayMs = 0;
    }
  });
});

/** The README's picture of a report: a real fan-out with some failures and retries, and receipts for some. */
describe('screenshot', () => {
  it('the report of an alert that went out', async () => {
    const N = 60;
    for (let i = 0; i < N; i++) await subscribe(`shot-${i}`, ['weather']);
    for (const i of [3, 17, 41]) push.respond(`shot-${i}`, 410);
    for (const i of [8, 22]) push.respond(`shot-${i}`, { status: 429, retryAfter: '1' });
    push.delayMs = 700;
    try {
      await publish({ id: 'shot-storm', headline: 'Storm warning: ferries cancelled along the coast', topics: ['weather'], urgency: 1 });
      const done = await waitFor('the fan-out to finish', async () => {
        const r = await report('shot-storm');
        return r?.complete && r.push.accepted === N - 3 ? r : undefined;
      }, 30_000);
      expect(done.push.failed.gone).toBe(3);
      // Receipts as the readers' workers would send them: shown by most, opened by some.
      const payloads = Array.from({ length: N }, (_, i) => push.for(`shot-${i}`).find((p) => p.payload.articleId === 'shot-storm')?.payload).filter(Boolean);
      for (const [i, p] of payloads.entries()) {
        if (i % 5 !== 4) await api(srv.url, 'POST', '/api/v1/push/receipts', { receipt: p.receipt, action: 'shown' });
        if (i % 4 === 0) await api(srv.url, 'POST', '/api/v1/push/receipts', { receipt: p.receipt, action: 'opened' });
      }
      await waitFor('the receipts', async () => ((await report('shot-storm'))?.opened > 0 ? true : undefined), 10_000);
      const context = await browser.newContext({ viewport: { width: 1000, height: 900 }, locale: 'en-GB' });
      const page = await editorPage(context);
      await page.goto(`${srv.url}/reports.html?article=shot-storm`);
      await page.locator('section.version-report .progress', { hasText: 'sending finished' }).waitFor({ timeout: 10_000 });
      await page.screenshot({ path: `${SHOTS}reports.png`, fullPage: true });
      await context.close();
    } finally {
      push.delayMs = 0;
    }
  });
});
