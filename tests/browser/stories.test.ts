import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { seedArabic, seedStory } from '../support/articles.ts';
import { launchChromium } from '../support/browser.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { NewsSite, newsPage } from '../support/site.ts';

// The screenshot for the README is refreshed on request (SCREENSHOTS=update), as tests/browser/screenshots.test.ts does.
const DIR = fileURLToPath(new URL(process.env.SCREENSHOTS === 'update' ? '../../docs/screenshots/' : '../.tmp/screenshots/', import.meta.url));
let srv: TestServer;
let browser: Browser;
/** A stand-in Arabic news site with the banner, on another origin. */
let site: NewsSite;

beforeAll(async () => {
  site = await NewsSite.start({ '/ar': () => newsPage({ server: srv.url, lang: 'ar', topics: 'sport' }) });
  srv = await startServer({ RATE_LIMIT_PUBLISH_PER_SECOND: '0', CORS_ORIGINS: site.url });
  browser = await launchChromium();
  mkdirSync(DIR, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await srv?.close();
  await site?.close();
});

const publish = async (body: Record<string, unknown>) => {
  const r = await api(srv.url, 'POST', '/api/v1/articles', body, srv.auth);
  if (r.status >= 300) throw new Error(`publish: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};

/** The seed story with pictures the page can load without a network (the server's own sample photo). */
function localMedia(): Record<string, unknown> {
  const photo = `${srv.url}/img/sample-photo.svg`;
  return {
    media: [
      { role: 'featured', type: 'image', url: photo, caption: 'US combat forces left Iraq in 2011 following the 2003 invasion.', credit: 'Getty Images' },
      {
        role: 'related', type: 'video', url: `${srv.url}/video/strikes.mp4`, poster: photo, width: 640, height: 360, duration: 94,
        caption: 'US launches retaliatory strikes on Iran-backed targets in Iraq and Syria – video', credit: 'Reuters',
      },
    ],
  };
}

async function openPage(locale: string): Promise<Page> {
  const context = await browser.newContext({ locale, viewport: { width: 820, height: 1100 } });
  const page = await context.newPage();
  await page.goto(`${srv.url}/?topics=world`);
  await page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
  return page;
}

describe('one story in several languages, in Chromium', () => {
  it('an Arabic reader sees the English alert become the Arabic machine translation, right to left, labelled, with the video poster', async () => {
    const arabic = await openPage('ar-AE');
    const english = await openPage('en-GB');
    try {
      // The language picker starts from the browser's languages.
      expect(await arabic.locator('#languages-input').inputValue()).toBe('ar-AE');
      const id = 'story-browser';
      await publish(seedStory(id, localMedia()));
      const card = (page: Page) => page.locator(`article[data-story="${id}"]`);
      await card(arabic).locator('h3', { hasText: 'US to resume talks with Iraqi armed forces' }).waitFor({ timeout: 10_000 });
      await card(english).locator('h3', { hasText: 'US to resume talks with Iraqi armed forces' }).waitFor({ timeout: 10_000 });

      await publish(seedArabic(`${id}-ar`, id, localMedia()));
      const headline = 'الولايات المتحدة تستأنف المحادثات مع القوات المسلحة العراقية';
      await card(arabic).locator('h3', { hasText: headline }).waitFor({ timeout: 10_000 });
      // One card, replaced in place: in Arabic, right to left, labelled as a machine translation.
      expect(await arabic.locator('article').count()).toBe(1);
      expect(await card(arabic).getAttribute('data-id')).toBe(`${id}-ar`);
      expect(await card(arabic).getAttribute('lang')).toBe('ar');
      expect(await card(arabic).getAttribute('dir')).toBe('rtl');
      expect(await card(arabic).locator('h3').evaluate((h) => getComputedStyle(h).direction)).toBe('rtl');
      expect(await card(arabic).locator('.machine-translated').textContent()).toBe('Automated translation');
      expect(await card(arabic).locator('figure:not(.video) figcaption').textContent()).toBe('US combat forces left Iraq in 2011 following the 2003 invasion. Photo: Getty Images');
      // The video is a poster behind a named play button; nothing plays (or loads) until it is pressed.
      const play = card(arabic).getByRole('button', { name: /^Play video: US launches retaliatory strikes/ });
      expect(await play.getAttribute('aria-label')).toMatch(/\(1:34\)$/);
      await play.locator('img').evaluate((img: HTMLImageElement) => img.decode());
      expect(await card(arabic).locator('video').count()).toBe(0);
      expect(await card(arabic).locator('figure.video figcaption').textContent()).toBe('US launches retaliatory strikes on Iran-backed targets in Iraq and Syria – video Video: Reuters');
      await arabic.screenshot({ path: `${DIR}story-ar.png`, fullPage: true });

      // An English reader keeps the English alert: no second card, no translation.
      expect(await english.locator('article').count()).toBe(1);
      expect(await card(english).getAttribute('data-id')).toBe(id);
      expect(await card(english).locator('.machine-translated').count()).toBe(0);

      await play.click();
      const video = card(arabic).locator('figure.video video');
      await video.waitFor({ timeout: 5_000 });
      expect(await video.evaluate((v: HTMLVideoElement) => ({ controls: v.controls, autoplay: v.autoplay, focused: document.activeElement === v }))).toEqual({ controls: true, autoplay: false, focused: true });

      // A reload lists the story once, in Arabic.
      await arabic.reload();
      await card(arabic).locator('h3', { hasText: headline }).waitFor({ timeout: 10_000 });
      expect(await arabic.locator('article').count()).toBe(1);

      // The newsroom console says what the article is, opened from its story list.
      const console_ = await arabic.context().newPage();
      await console_.goto(`${srv.url}/newsroom.html`);
      await console_.locator(`#story-list li[data-id="${id}-ar"] button`).click({ timeout: 10_000 });
      await console_.locator('#version-note', { hasText: `Automated translation of ${id}` }).waitFor({ timeout: 10_000 });
      expect(await console_.locator('#f-translationOf').inputValue()).toBe(id);
      expect(await console_.locator('#f-machineTranslated').isChecked()).toBe(true);
      // Which story it belongs to is fixed at its first publication.
      expect(await console_.locator('#f-translationOf').evaluate((i: HTMLInputElement) => i.readOnly)).toBe(true);
      await console_.close();

      // The Arabic version is withdrawn: the reader falls back to the English one, in place.
      await api(srv.url, 'DELETE', `/api/v1/articles/${id}-ar`, { reason: 'Mistranslated' }, srv.auth);
      await card(arabic).locator('h3', { hasText: 'US to resume talks with Iraqi armed forces' }).waitFor({ timeout: 10_000 });
      expect(await arabic.locator('article').count()).toBe(1);
      expect(await card(arabic).getAttribute('dir')).toBe('ltr');
      expect(await card(arabic).locator('.machine-translated').count()).toBe(0);
      // The English reader was not concerned.
      expect(await card(english).getAttribute('data-id')).toBe(id);
      expect(await card(english).locator('.withdrawn-note').count()).toBe(0);
    } finally {
      await arabic.context().close();
      await english.context().close();
    }
  });

  it("a news site's banner shows the story in the page's language: the Arabic site's strip becomes the Arabic version", async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    try {
      // Once the client has read where to start from, whatever is published reaches it (replayed or live).
      const started = page.waitForResponse((r) => r.url().startsWith(`${srv.url}/api/v1/events?`), { timeout: 10_000 });
      await page.goto(`${site.url}/ar`);
      expect((await started).status()).toBe(200);
      const id = 'story-banner';
      const strip = page.locator('newspush-banner .strip');
      await publish(seedStory(id, { topics: ['sport'], urgency: 1, media: [] }));
      await strip.locator('.headline', { hasText: 'US to resume talks with Iraqi armed forces' }).waitFor({ timeout: 10_000 });
      await publish(seedArabic(`${id}-ar`, id, { topics: ['sport'], urgency: 1, media: [] }));
      await strip.locator('.headline', { hasText: 'الولايات المتحدة تستأنف المحادثات مع القوات المسلحة العراقية' }).waitFor({ timeout: 10_000 });
      expect(await strip.count()).toBe(1);
      expect(await strip.getAttribute('dir')).toBe('rtl');
    } finally {
      await context.close();
    }
  });
});
