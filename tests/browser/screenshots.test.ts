import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { NewsSite, newsPage } from '../support/site.ts';

// The README's pictures are refreshed on request (SCREENSHOTS=update); ordinary runs write them under tests/.tmp so
// that running the tests does not change tracked files.
const DIR = fileURLToPath(new URL(process.env.SCREENSHOTS === 'update' ? '../../docs/screenshots/' : '../.tmp/screenshots/', import.meta.url));
let srv: TestServer;
let browser: Browser;
/** A stand-in news site on another origin, with the banner. */
let site: NewsSite;

beforeAll(async () => {
  site = await NewsSite.start({
    '/': () => newsPage({ server: srv.url, topics: 'world' }),
    '/ar': () => newsPage({ server: srv.url, lang: 'ar', topics: 'world' }),
  });
  srv = await startServer({
    RATE_LIMIT_PUBLISH_PER_SECOND: '0',
    TOPICS: 'world=World,world/middle-east=Middle East,us/politics=US politics,business=Business,sport=Sport',
    CORS_ORIGINS: site.url,
  });
  browser = await launchChromium();
  mkdirSync(DIR, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await srv?.close();
  await site?.close();
});

/** Screenshots of what readers and editors see, for the README; they also check that the pages render. */
describe('screenshots', () => {
  it('alerts page with a flash, an update and a withdrawal', async () => {
    const post = (b: Record<string, unknown>) => api(srv.url, 'POST', '/api/v1/articles', b, srv.auth);
    await post({ id: 'shot-1', headline: 'Central bank holds rates at 4.5%', summary: 'Policymakers signalled cuts could come later in the year.', topics: ['business'], urgency: 4, url: 'https://news.example.com/rates' });
    await post({ id: 'shot-2', headline: 'Ferry services suspended as storm reaches the coast', summary: 'Ports along the coast closed on Tuesday evening; crossings are cancelled until Friday.', topics: ['world/europe'], urgency: 3, image: { url: `${srv.url}/img/sample-photo.svg`, caption: 'The harbour at dusk before the storm arrived.', credit: 'Staff photographer' } });
    await api(srv.url, 'PATCH', '/api/v1/articles/shot-2', { summary: 'Ports closed on Tuesday evening; two ferries are sheltering offshore.', changeNote: 'Adds ferries sheltering offshore' }, srv.auth);
    const context = await browser.newContext({ viewport: { width: 820, height: 1250 } });
    const page = await context.newPage();
    await page.goto(`${srv.url}/?topics=world,business,us`);
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
    // A withdrawal stays visible (marked) on a page that showed the alert; listings leave it out.
    await post({ id: 'shot-3', headline: 'Minister to resign, officials say', topics: ['us/politics'], urgency: 2 });
    await page.locator('article[data-id="shot-3"]').waitFor({ timeout: 10_000 });
    await api(srv.url, 'DELETE', '/api/v1/articles/shot-3', { reason: 'The report could not be confirmed.' }, srv.auth);
    await page.locator('article[data-id="shot-3"].withdrawn').waitFor({ timeout: 10_000 });
    await post({ id: 'shot-4', headline: 'Ceasefire agreed after overnight talks', summary: 'Both sides confirmed the agreement, which takes effect at noon local time.', topics: ['world/middle-east'], urgency: 1, url: 'https://news.example.com/ceasefire' });
    await page.locator('article[data-id="shot-4"]').waitFor({ timeout: 10_000 });
    await page.locator('article[data-id="shot-2"] img').evaluate((img: HTMLImageElement) => img.decode());
    expect(await page.locator('article').count()).toBe(4);
    await page.screenshot({ path: `${DIR}alerts.png`, fullPage: true });
    await context.close();
  });

  it('newsroom console: story list, form and preview; the retraction dialog', async () => {
    const post = (b: Record<string, unknown>) => api(srv.url, 'POST', '/api/v1/articles', b, srv.auth);
    await post({ headline: 'Parliament votes to hold snap election in June', topics: ['us/politics'], urgency: 2, summary: 'The motion passed by 312 votes to 190.' });
    await post({ headline: 'Storm closes ports along the coast', topics: ['world'], urgency: 3 });
    await post({ headline: 'Ceasefire agreed after overnight talks', topics: ['world/middle-east'], urgency: 1, url: 'https://news.example.com/ceasefire' });
    const context = await browser.newContext({ viewport: { width: 1500, height: 1150 }, locale: 'en-GB' });
    const page = await context.newPage();
    await page.goto(`${srv.url}/newsroom.html`);
    await page.fill('#key', srv.publisherKey);
    await page.click('#key-form button');
    // The newest of that headline (a full run has the alerts page's one too).
    await page.locator('#story-list li', { hasText: 'Ceasefire agreed after overnight talks' }).first().locator('button').click();
    await page.locator('#editor-heading').getByText('Editing: Ceasefire agreed after overnight talks').waitFor({ timeout: 10_000 });
    await page.fill('#f-summary', 'Both sides confirmed the agreement, which takes effect at noon local time; mediators say talks on prisoners continue.');
    await page.fill('#f-image-url', `${srv.url}/img/sample-photo.svg`);
    await page.fill('#f-image-caption', 'Delegations leave the talks at dawn.');
    await page.fill('#f-changeNote', 'Adds prisoner talks and a picture');
    await page.check('#f-notify');
    await page.locator('#audience').getByText(/^Sending now reaches/).waitFor({ timeout: 10_000 });
    await page.locator('#preview-card img').evaluate((img: HTMLImageElement) => img.decode());
    await page.screenshot({ path: `${DIR}newsroom.png`, fullPage: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.click('#retract');
    await page.fill('#retract-reason', 'The agreement was not signed.');
    await page.screenshot({ path: `${DIR}newsroom-retract.png` });
    await context.close();
  });
});

describe('banner screenshots', () => {
  const cases = [
    { name: 'banner-desktop-en', path: '/', viewport: { width: 1200, height: 640 }, mobile: false, locale: 'en-GB',
      article: { id: 'banner-en', headline: 'Ceasefire agreed after overnight talks, both sides confirm', urgency: 1, language: 'en' } },
    { name: 'banner-phone-en', path: '/', viewport: { width: 390, height: 740 }, mobile: true, locale: 'en-US',
      article: { id: 'banner-en-2', headline: 'Parliament dissolved ahead of snap election in June', urgency: 2, language: 'en' } },
    { name: 'banner-desktop-ar', path: '/ar', viewport: { width: 1200, height: 640 }, mobile: false, locale: 'ar-EG',
      article: { id: 'banner-ar', headline: 'الاتفاق على وقف إطلاق النار بعد محادثات ليلية', urgency: 1, language: 'ar' } },
    { name: 'banner-phone-ar', path: '/ar', viewport: { width: 390, height: 740 }, mobile: true, locale: 'ar-EG',
      article: { id: 'banner-ar-2', headline: 'حل البرلمان قبل انتخابات مبكرة في يونيو', urgency: 2, language: 'ar' } },
  ];
  it.each(cases)('$name', async (c) => {
    // A world event first, so that the banner starts from a real cursor.
    await api(srv.url, 'POST', '/api/v1/articles', { id: `${c.name}-seed`, headline: 'Earlier', topics: ['world'], urgency: 6 }, srv.auth);
    const context = await browser.newContext({ viewport: c.viewport, isMobile: c.mobile, hasTouch: c.mobile, locale: c.locale, reducedMotion: 'reduce' });
    const page = await context.newPage();
    const started = page.waitForResponse((r) => r.url().startsWith(`${srv.url}/api/v1/events?`), { timeout: 10_000 });
    await page.goto(`${site.url}${c.path}`);
    await started;
    await api(srv.url, 'POST', '/api/v1/articles', { ...c.article, topics: ['world/middle-east'], url: `https://news.example.com/${c.article.id}` }, srv.auth);
    const strip = page.locator('newspush-banner .strip');
    await strip.locator('.headline').getByText(c.article.headline).waitFor({ timeout: 10_000 });
    expect(await strip.getAttribute('dir')).toBe(c.article.language === 'ar' ? 'rtl' : 'ltr');
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: `${DIR}${c.name}.png` });
    await context.close();
  });
});
