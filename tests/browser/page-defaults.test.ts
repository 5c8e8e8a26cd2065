import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { api, startServer, type TestServer } from '../support/server.ts';

let fresh: TestServer;
let named: TestServer;
let browser: Browser;

beforeAll(async () => {
  // As a new user runs it: no TOPICS.
  fresh = await startServer({ RATE_LIMIT_PUBLISH_PER_SECOND: '0' });
  named = await startServer({ RATE_LIMIT_PUBLISH_PER_SECOND: '0', TOPICS: 'world=World news,world/middle-east=Middle East,sport' });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await fresh?.close();
  await named?.close();
});

const publish = async (srv: TestServer, body: Record<string, unknown>) => {
  const r = await api(srv.url, 'POST', '/api/v1/articles', body, srv.auth);
  if (r.status >= 300) throw new Error(`publish: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};
const live = (page: Page) => page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
const card = (page: Page, id: string) => page.locator(`article[data-id="${id}"]`);

describe('the alerts page on a server without TOPICS', () => {
  it('follows every topic, says so, lists the latest articles and shows new ones live', async () => {
    await publish(fresh, { id: 'fresh-1', headline: 'Storm warning for the coast', topics: ['weather'] });
    await publish(fresh, { id: 'fresh-2', headline: 'Markets open higher', topics: ['business/markets'] });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${fresh.url}/`);
    await live(page);
    expect(await page.locator('#following').textContent()).toMatch(/^Following every topic/);
    expect(await page.locator('#topic-all').isChecked()).toBe(true);
    await card(page, 'fresh-1').waitFor({ timeout: 10_000 });
    await card(page, 'fresh-2').waitFor({ timeout: 10_000 });
    // A topic nobody has published to before, without a reload.
    await publish(fresh, { id: 'fresh-3', headline: 'Comet visible tonight', topics: ['science/space'] });
    await card(page, 'fresh-3').waitFor({ timeout: 10_000 });
    expect(await page.locator('article').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')))).toEqual(['fresh-3', 'fresh-2', 'fresh-1']);

    // Alerts when the page is closed are for chosen topics: the page says so instead of failing.
    await page.click('#push-on');
    await page.getByText(/pick one or more above/).waitFor({ timeout: 5_000 });

    // Choosing a topic replaces "every topic".
    await page.locator('input[value="weather"]').check();
    await page.waitForFunction(() => document.querySelector('#following')?.textContent === 'Following weather.', undefined, { timeout: 10_000 });
    expect(await page.locator('#topic-all').isChecked()).toBe(false);
    await live(page);
    await publish(fresh, { id: 'fresh-4', headline: 'Not weather', topics: ['sport'] });
    await publish(fresh, { id: 'fresh-5', headline: 'Flood alert', topics: ['weather'] });
    await card(page, 'fresh-5').waitFor({ timeout: 10_000 });
    expect(await card(page, 'fresh-4').count()).toBe(0);
    await context.close();
  });
});

describe('the alerts page on a server with TOPICS', () => {
  it('offers the site\'s topics by their display names and follows the broadest of them', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${named.url}/`);
    await live(page);
    const labels = await page.locator('#topic-list label').allTextContents();
    expect(labels).toEqual(['Every topic', 'sport', 'World news', 'Middle East']);
    expect(await page.locator('#following').textContent()).toBe('Following sport, World news.');
    await publish(named, { id: 'named-1', headline: 'Talks resume in Doha', topics: ['world/middle-east'], urgency: 2 });
    const alert = card(page, 'named-1');
    await alert.waitFor({ timeout: 10_000 });
    expect(await alert.locator('.topic').allTextContents()).toEqual(['Middle East']);
    await context.close();
  });
});

describe('languages and locales', () => {
  it('lays each alert out in its language\'s direction, and dir=auto where the language is unknown', async () => {
    const cases = [
      { id: 'lang-ar', language: 'ar', headline: 'وقف إطلاق النار', dir: 'rtl' },
      { id: 'lang-he', language: 'he', headline: 'הפסקת אש', dir: 'rtl' },
      { id: 'lang-fa', language: 'fa', headline: 'آتش‌بس', dir: 'rtl' },
      { id: 'lang-ur', language: 'ur', headline: 'جنگ بندی', dir: 'rtl' },
      { id: 'lang-en', language: 'en-GB', headline: 'Ceasefire', dir: 'ltr' },
      { id: 'lang-xx', language: 'und', headline: 'Ceasefire?', dir: 'auto' },
    ];
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${named.url}/?topics=world`);
    await live(page);
    for (const c of cases) await publish(named, { id: c.id, headline: c.headline, topics: ['world'], language: c.language });
    for (const c of cases) {
      await card(page, c.id).waitFor({ timeout: 10_000 });
      expect(await card(page, c.id).getAttribute('dir'), c.id).toBe(c.dir);
    }
    expect(await card(page, 'lang-ar').getAttribute('lang')).toBe('ar');
    expect(await card(page, 'lang-xx').getAttribute('lang')).toBeNull();
    // The Arabic headline starts at the right-hand edge of its card.
    const box = (await card(page, 'lang-ar').boundingBox())!;
    const h = (await card(page, 'lang-ar').locator('h3').evaluate((e) => {
      const r = document.createRange();
      r.selectNodeContents(e);
      const b = r.getBoundingClientRect();
      return { right: b.right, left: b.left };
    }));
    expect(box.x + box.width - h.right).toBeLessThan(h.left - box.x);
    await context.close();
  });

  it('gives times in the reader\'s locale: 12-hour in en-US, 24-hour in en-GB', async () => {
    // 15:04 UTC, shown in UTC so that the expected text does not depend on the machine's zone.
    const at = new Date();
    at.setUTCHours(15, 4, 0, 0);
    await publish(named, { id: 'clock-1', headline: 'Afternoon alert', topics: ['sport'], publishedAt: at.toISOString() });
    const times: Record<string, string | null> = {};
    for (const locale of ['en-US', 'en-GB']) {
      const context = await browser.newContext({ locale, timezoneId: 'UTC' });
      const page = await context.newPage();
      await page.clock.setFixedTime(at.getTime() + 60_000);
      await page.goto(`${named.url}/?topics=sport`);
      await card(page, 'clock-1').waitFor({ timeout: 10_000 });
      times[locale] = await card(page, 'clock-1').locator('time').textContent();
      await context.close();
    }
    expect(times['en-US']).toMatch(/^3:04\sPM$/);
    expect(times['en-GB']).toBe('15:04');
  });

  it('the newsroom console lays the article\'s text out in its language\'s direction', async () => {
    await publish(named, { id: 'console-ar', headline: 'عنوان الخبر', summary: 'ملخص', topics: ['world'], language: 'ar' });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${named.url}/newsroom.html`);
    expect(await page.locator('#f-headline').getAttribute('dir')).toBe('ltr');
    await page.locator('#story-list li[data-id="console-ar"] button').click();
    await page.locator('#version-note').getByText(/^Version 1/).waitFor({ timeout: 10_000 });
    for (const id of ['#f-headline', '#f-summary', '#f-body .ql-editor', '#f-changeNote', '#preview-card article']) expect(await page.locator(id).getAttribute('dir'), id).toBe('rtl');
    await page.fill('#f-language', 'fr');
    expect(await page.locator('#f-headline').getAttribute('dir')).toBe('ltr');
    expect(await page.locator('#f-headline').getAttribute('lang')).toBe('fr');
    await context.close();
  });
});

describe('forms that hold secrets', () => {
  it('with its script blocked, "Use key" sends the key nowhere and leaves it out of the URL', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${named.url}/newsroom.html`);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(`${r.method()} ${r.url()} ${r.postData() ?? ''}`));
    await page.fill('#key', 'secret-key-0123456789');
    await page.click('#key-form button');
    await page.press('#key', 'Enter');
    await page.waitForTimeout(300);
    expect(page.url()).toBe(`${named.url}/newsroom.html`);
    expect(requests.filter((r) => r.includes('secret-key'))).toEqual([]);
    expect(await page.inputValue('#key')).toBe('secret-key-0123456789');
    await context.close();
  });
});
