import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { api, startServer, type TestServer } from '../support/server.ts';

let srv: TestServer;
let browser: Browser;

beforeAll(async () => {
  srv = await startServer({ TOPICS: 'world,sport,business' });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await srv?.close();
});

describe('the alerts page for every reader', () => {
  it('fits a phone screen without sideways scrolling', async () => {
    await api(srv.url, 'POST', '/api/v1/articles', { id: 'phone-1', headline: 'A fairly long headline that has to wrap on a narrow phone screen', topics: ['world/europe/france'], urgency: 1 }, srv.auth);
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    await page.goto(`${srv.url}/?topics=world`);
    await page.locator('article[data-id="phone-1"]').waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await context.close();
  });

  it('works with the keyboard, and every control has an accessible name', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${srv.url}/?topics=world`);
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll('input, select, button, textarea')]
        .filter((el) => !(el as HTMLElement).hidden)
        .filter((el) => {
          const labelled = (el as HTMLInputElement).labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
          const text = el.tagName === 'BUTTON' && el.textContent?.trim();
          return !labelled && !text;
        })
        .map((el) => el.outerHTML),
    );
    expect(unnamed).toEqual([]);
    // Tab to the "sport" choice and toggle it with the space bar: the page follows sport too.
    const sport = page.locator('input[value="sport"]');
    for (let i = 0; i < 10 && !(await sport.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
    expect(await sport.evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.press('Space');
    await page.waitForFunction(() => JSON.parse(localStorage.getItem('newspush.topics') ?? '[]').includes('sport'));
    await api(srv.url, 'POST', '/api/v1/articles', { id: 'kbd-1', headline: 'Cup final tonight', topics: ['sport'] }, srv.auth);
    await page.locator('article[data-id="kbd-1"]').waitFor({ timeout: 10_000 });
    await context.close();
  });

  it('follows the dark colour scheme', async () => {
    const colours = [];
    for (const colorScheme of ['light', 'dark'] as const) {
      const context = await browser.newContext({ colorScheme });
      const page = await context.newPage();
      await page.goto(`${srv.url}/?topics=world`);
      colours.push(await page.evaluate(() => getComputedStyle(document.body).backgroundColor));
      await context.close();
    }
    expect(colours[0]).not.toBe(colours[1]);
  });
});
