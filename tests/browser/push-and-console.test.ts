import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { PushService } from '../support/push-service.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

/** What these tests use of a service worker's global scope (the functions below run inside the worker). */
interface ShownNotification {
  title: string;
  tag: string;
  body: string;
  data: unknown;
}
declare const self: {
  registration: { getNotifications(): Promise<ShownNotification[]> };
  clients: unknown;
  dispatchEvent(event: unknown): boolean;
};
declare const NotificationEvent: new (type: string, init: { notification: ShownNotification }) => unknown;

let srv: TestServer;
let browser: Browser;
let push: PushService;

beforeAll(async () => {
  push = await PushService.start();
  srv = await startServer(
    { RATE_LIMIT_PUBLISH_PER_SECOND: '0', ...push.serverEnv, TOPICS: 'world,sport' },
  );
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await srv?.close();
  await push?.stop();
});

// The newsroom console's tests are in newsroom.test.ts.

describe('service worker', () => {
  it('shows a pushed alert as a notification tagged with the article, and its click handler opens the URL', async () => {
    const context = await browser.newContext();
    await context.grantPermissions(['notifications'], { origin: srv.url });
    const page = await context.newPage();
    await page.goto(`${srv.url}/?topics=world`);
    const session = await context.newCDPSession(page);
    await session.send('ServiceWorker.enable');
    const registered = new Promise<{ registrationId: string; scopeURL: string }>((resolve) => {
      session.on('ServiceWorker.workerRegistrationUpdated', (e: { registrations: Array<{ registrationId: string; scopeURL: string }> }) => {
        const r = e.registrations.find((x) => x.scopeURL.startsWith(srv.url));
        if (r) resolve(r);
      });
    });
    await page.evaluate(async () => {
      await navigator.serviceWorker.register('/sw.js');
      await navigator.serviceWorker.ready;
    });
    const { registrationId } = await registered;
    const worker = await waitFor('the service worker', () => context.serviceWorkers()[0]);

    // While a page of the site is visible and shows the alert, the worker asks it and shows no notification.
    await api(srv.url, 'POST', '/api/v1/articles', { id: 'sw-1', headline: 'Ceasefire agreed', summary: 'Talks ended overnight.', topics: ['world'], urgency: 2, notify: false }, srv.auth);
    await page.locator('article[data-id="sw-1"]').waitFor({ timeout: 10_000 });
    const payload = { type: 'article.published', eventId: '1-0', articleId: 'sw-1', version: 1, title: 'Ceasefire agreed', body: 'Talks ended overnight.', url: `${srv.url}/?topics=world&article=sw-1`, image: null, urgency: 2 };
    const messages = page.evaluate(() => new Promise((resolve) => navigator.serviceWorker.addEventListener('message', (e) => resolve(e.data), { once: true })));
    await session.send('ServiceWorker.deliverPushMessage', { origin: srv.url, registrationId, data: JSON.stringify(payload) });
    expect(await messages).toEqual({ type: 'push', payload });
    // A visible page that does not show the alert (another topic) does not swallow it: after the page's two
    // seconds of waiting for it, the notification is shown, and it is the only one (none for sw-1 above).
    const other = { ...payload, articleId: 'sw-elsewhere', title: 'Markets fall at the open', url: `${srv.url}/?topics=business` };
    await session.send('ServiceWorker.deliverPushMessage', { origin: srv.url, registrationId, data: JSON.stringify(other) });
    const elsewhere = await waitFor('the notification for another topic', async () => {
      const list = await worker.evaluate(() => self.registration.getNotifications().then((ns) => ns.map((n) => ({ title: n.title, tag: n.tag }))));
      return list.some((n) => n.tag === 'sw-elsewhere') ? list : undefined;
    }, 10_000);
    expect(elsewhere).toEqual([{ title: 'Markets fall at the open', tag: 'sw-elsewhere' }]);
    await worker.evaluate(() => self.registration.getNotifications().then((ns) => ns.forEach((n) => (n as unknown as { close(): void }).close())));

    // With no page of the site visible, it shows a notification; an update replaces it (same tag).
    await page.goto('about:blank');
    await session.send('ServiceWorker.deliverPushMessage', { origin: srv.url, registrationId, data: JSON.stringify(payload) });
    await session.send('ServiceWorker.deliverPushMessage', { origin: srv.url, registrationId, data: JSON.stringify({ ...payload, type: 'article.updated', version: 2, title: 'Ceasefire agreed, UN confirms' }) });
    const shown = await waitFor('the notification', async () => {
      const list = await worker.evaluate(() => self.registration.getNotifications().then((ns) => ns.map((n) => ({ title: n.title, tag: n.tag, body: n.body, url: (n.data as { url: string }).url }))));
      return list.length === 1 && list[0]!.title === 'Ceasefire agreed, UN confirms' ? list : undefined;
    });
    expect(shown).toEqual([{ title: 'Ceasefire agreed, UN confirms', tag: 'sw-1', body: 'Talks ended overnight.', url: payload.url }]);

    // The click handler. Chromium offers no way to click a notification in a headless browser, and it refuses
    // clients.openWindow() for a synthetic click (no user activation), so the worker's openWindow is observed:
    // the handler's own code runs for real on a real notification; only the browser's window opening is recorded.
    const clicked = await worker.evaluate(async () => {
      const calls: string[] = [];
      (self.clients as unknown as { openWindow: (u: string) => Promise<null> }).openWindow = async (u: string) => {
        calls.push(u);
        return null;
      };
      const [n] = await self.registration.getNotifications();
      self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n! }));
      await new Promise((r) => setTimeout(r, 200));
      return { calls, left: (await self.registration.getNotifications()).length };
    });
    expect(clicked).toEqual({ calls: [payload.url], left: 0 });
    await context.close();
  });
});

describe('push opt-in', () => {
  it('subscribes with the chosen preferences and the server pushes to that subscription', async () => {
    const context = await browser.newContext({ timezoneId: 'Asia/Dubai' });
    await context.grantPermissions(['notifications'], { origin: srv.url });
    // No push service can be reached from this machine, so pushManager.subscribe cannot complete here: it is
    // replaced by one returning a subscription on the local push service, whose keys the test holds. Everything
    // else (permission, service worker, the server's API, encryption, delivery) is real.
    const sub = push.subscriber('browser-opt-in');
    await context.addInitScript((subscription) => {
      PushManager.prototype.subscribe = async function () {
        return { ...subscription, toJSON: () => subscription } as unknown as PushSubscription;
      };
    }, sub.subscription);
    const page = await context.newPage();
    await page.goto(`${srv.url}/?topics=sport`);
    await page.selectOption('#push-urgency', '2');
    await page.fill('#push-languages', 'en, fr');
    await page.fill('#quiet-start', '23:00');
    await page.fill('#quiet-end', '06:30');
    await page.click('#push-on');
    await page.getByText('You will get alerts for these topics even when this page is closed.').waitFor({ timeout: 10_000 });
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('newspush.push') ?? 'null'));
    expect(stored.preferences).toEqual({ topics: ['sport'], maxUrgency: 2, languages: ['en', 'fr'], quietHours: { start: '23:00', end: '06:30', timeZone: 'Asia/Dubai' } });
    const read = await api(srv.url, 'GET', `/api/v1/push/subscriptions/${stored.id}`, undefined, { Authorization: `Bearer ${stored.token}` });
    expect(read.body.topics).toEqual(['sport']);

    await api(srv.url, 'POST', '/api/v1/articles', { id: 'opt-in-1', headline: 'Final whistle: 2-1', topics: ['sport/football'], urgency: 1 }, srv.auth);
    const [got] = await waitFor('the push', () => (push.for('browser-opt-in').length ? push.for('browser-opt-in') : undefined), 10_000);
    expect(got!.payload).toMatchObject({ articleId: 'opt-in-1', title: 'Final whistle: 2-1', urgency: 1 });

    // Later, on the same page: other preferences (PATCH with the kept token), and another topic followed.
    expect(await page.textContent('#push-on')).toBe('Save alert preferences');
    await page.selectOption('#push-urgency', '4');
    await page.fill('#quiet-start', '');
    await page.click('#push-on');
    await page.getByText('Alert preferences saved.').waitFor({ timeout: 10_000 });
    await page.locator('input[value="world"]').check();
    const changed = await waitFor('the changed preferences', async () => {
      const r = await api(srv.url, 'GET', `/api/v1/push/subscriptions/${stored.id}`, undefined, { Authorization: `Bearer ${stored.token}` });
      return r.body.topics?.includes('world') ? r.body : undefined;
    }, 10_000);
    expect(changed).toMatchObject({ topics: ['sport', 'world'], maxUrgency: 4, languages: ['en', 'fr'] });
    expect(changed.quietHours ?? null).toBeNull();

    await page.click('#push-off');
    await page.getByText('Alerts are off.').waitFor({ timeout: 10_000 });
    expect((await api(srv.url, 'GET', `/api/v1/push/subscriptions/${stored.id}`, undefined, { Authorization: `Bearer ${stored.token}` })).status).toBe(404);
    await context.close();
  });

  it('says so in a browser without Web Push', async () => {
    const context = await browser.newContext();
    await context.addInitScript(() => {
      delete (window as unknown as { PushManager?: unknown }).PushManager;
    });
    const page = await context.newPage();
    await page.goto(`${srv.url}/?topics=sport`);
    await page.getByText('This browser cannot receive alerts while the page is closed.').waitFor({ timeout: 10_000 });
    expect(await page.isDisabled('#push-on')).toBe(true);
    await context.close();
  });

  it('says so when notifications are denied', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${srv.url}/?topics=sport`);
    await page.evaluate(() => {
      Notification.requestPermission = async () => 'denied';
    });
    await page.click('#push-on');
    await page.getByText(/Notifications are blocked for this site/).waitFor({ timeout: 10_000 });
    await context.close();
  });
});
