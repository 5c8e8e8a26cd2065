import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { api, startServer, type TestServer } from '../support/server.ts';

let srv: TestServer;
let browser: Browser;

beforeAll(async () => {
  srv = await startServer({ RATE_LIMIT_PUBLISH_PER_SECOND: '0', TOPICS: 'world,sport,us/politics' });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await srv?.close();
});

const publish = async (body: Record<string, unknown>) => {
  const r = await api(srv.url, 'POST', '/api/v1/articles', body, srv.auth);
  if (r.status >= 300) throw new Error(`publish: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};

async function openFeed(context: BrowserContext, topics = 'world'): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${srv.url}/?topics=${topics}`);
  await page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
  return page;
}

const card = (page: Page, id: string) => page.locator(`article[data-id="${id}"]`);

describe('live alerts page in Chromium', () => {
  it('shows an alert published through the API, updates it in place, and marks a retraction withdrawn', async () => {
    const context = await browser.newContext();
    const page = await openFeed(context);
    expect(await page.locator('#feed').getAttribute('aria-live')).toBe('polite');

    await publish({
      id: 'live-1', headline: 'Parliament dissolved ahead of snap election', summary: 'The vote will be held in six weeks.', topics: ['world/europe'], urgency: 2,
      url: 'https://news.example.com/live-1', image: { url: `${srv.url}/favicon-missing.png`, caption: 'The parliament building', credit: 'Agency' },
      body: '<p>The president signed the decree on Monday.</p>',
    });
    const alert = card(page, 'live-1');
    await alert.locator('h3').getByText('Parliament dissolved ahead of snap election').waitFor({ timeout: 10_000 });
    expect(await alert.locator('.badge').textContent()).toBe('Breaking');
    expect(await alert.locator('.summary').textContent()).toBe('The vote will be held in six weeks.');
    expect(await alert.locator('figcaption').textContent()).toBe('The parliament building Photo: Agency');
    expect(await alert.locator('.topic').allTextContents()).toEqual(['world/europe']);

    await api(srv.url, 'PATCH', '/api/v1/articles/live-1', { headline: 'Parliament dissolved; election set for June 2', changeNote: 'Adds election date' }, srv.auth);
    await alert.locator('h3').getByText('Parliament dissolved; election set for June 2').waitFor({ timeout: 10_000 });
    expect(await alert.locator('.updated').textContent()).toMatch(/^Updated \d{2}:\d{2} — Adds election date$/);
    expect(await page.locator('article[data-id="live-1"]').count()).toBe(1);

    await api(srv.url, 'DELETE', '/api/v1/articles/live-1', { reason: 'The decree was not signed' }, srv.auth);
    await page.locator('article[data-id="live-1"].withdrawn').waitFor({ timeout: 10_000 });
    expect(await alert.locator('.withdrawn-note').textContent()).toBe('Withdrawn: The decree was not signed');
    expect(await alert.locator('.body').count()).toBe(0);
    expect(await alert.locator('.summary').count()).toBe(0);
    await context.close();
  });

  it('a page closed while three alerts are published shows all three when opened again', async () => {
    const context = await browser.newContext();
    const first = await openFeed(context, 'sport');
    await publish({ id: 'away-0', headline: 'Before closing', topics: ['sport'] });
    await card(first, 'away-0').waitFor({ timeout: 10_000 });
    await first.close();
    for (let i = 1; i <= 3; i++) await publish({ id: `away-${i}`, headline: `Missed alert ${i}`, topics: ['sport/football'] });
    const again = await openFeed(context, 'sport');
    for (let i = 1; i <= 3; i++) await card(again, `away-${i}`).waitFor({ timeout: 10_000 });
    // Newest first, each once.
    const ids = await again.locator('article').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    expect(ids.filter((id) => id?.startsWith('away-'))).toEqual(['away-3', 'away-2', 'away-1', 'away-0']);
    await context.close();
  });

  it('replays from the stored cursor after the connection drops', async () => {
    const context = await browser.newContext();
    const page = await openFeed(context, 'us');
    // The connection goes away (as in a train tunnel), three alerts go out, the client comes back with its cursor.
    await page.evaluate(() => (window as unknown as { newspush: { live: { stop(): void } } }).newspush.live.stop());
    await page.locator('#connection[data-state="idle"]').waitFor({ timeout: 10_000 });
    for (let i = 1; i <= 3; i++) await publish({ id: `drop-${i}`, headline: `While away ${i}`, topics: ['us/politics'] });
    await page.waitForTimeout(200);
    expect(await page.locator('article[data-id^="drop-"]').count()).toBe(0);
    await page.evaluate(() => (window as unknown as { newspush: { live: { start(): void } } }).newspush.live.start());
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 15_000 });
    for (let i = 1; i <= 3; i++) await card(page, `drop-${i}`).waitFor({ timeout: 10_000 });
    expect(await page.locator('article[data-id^="drop-"]').count()).toBe(3);
    await context.close();
  });

  it('never runs script that comes in an article field', async () => {
    const context = await browser.newContext();
    const page = await openFeed(context, 'tech');
    await publish({
      id: 'xss-page', topics: ['tech'], urgency: 1,
      headline: '<img src=x onerror="window.__pwned = 1">Headline with markup',
      summary: '<script>window.__pwned = 2</script>',
      body: '<p>ok</p><img src=x onerror="window.__pwned = 3"><a href="javascript:window.__pwned=4">link</a>',
      image: { url: 'https://news.example.com/x.jpg', caption: '<svg onload="window.__pwned = 5">' },
    });
    const alert = card(page, 'xss-page');
    await alert.waitFor({ timeout: 10_000 });
    await alert.locator('summary').click();
    await alert.locator('.body a').click().catch(() => undefined);
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await alert.locator('h3').textContent()).toBe('<img src=x onerror="window.__pwned = 1">Headline with markup');
    expect(await alert.locator('.body img[onerror], .body script, .body a[href^="javascript"]').count()).toBe(0);
    await context.close();
  });
});
