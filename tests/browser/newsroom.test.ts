import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { PushService } from '../support/push-service.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

let srv: TestServer;
let browser: Browser;
let push: PushService;

beforeAll(async () => {
  push = await PushService.start();
  srv = await startServer({ RATE_LIMIT_PUBLISH_PER_SECOND: '0', ...push.serverEnv, TOPICS: 'world=World,sport=Sport', PUBLISHER_KEYS: 'desk-editor:desk-key-0123456789abcdef' });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await srv?.close();
  await push?.stop();
});

const KEY_NAME = 'desk-editor';

/** A reader with Web Push on for `topics`, on the local push service. */
async function reader(topics: string[]): Promise<string> {
  const sub = push.subscriber();
  const r = await api(srv.url, 'POST', '/api/v1/push/subscriptions', { subscription: sub.subscription, topics, maxUrgency: 9 });
  expect(r.status).toBe(201);
  return sub.name;
}

const row = (page: Page, headline: string) => page.locator('#story-list li', { hasText: headline });
const answer = (page: Page) => page.locator('#answer');

/** Opens the console with the key set; records what the page logs as errors (CSP refusals included). */
async function openConsole(context: BrowserContext): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
  await page.goto(`${srv.url}/newsroom.html`);
  await page.fill('#key', srv.publisherKey);
  await page.click('#key-form button');
  return { page, errors };
}

describe('newsroom console', () => {
  it('has no id field, a rich-text body under the CSP, and a preview that follows the form', async () => {
    const context = await browser.newContext();
    const { page, errors } = await openConsole(context);
    expect(await page.locator('#article-form input[name="id"]').count()).toBe(0);
    await page.fill('#f-headline', 'Storm closes ports along the coast');
    await page.fill('#f-summary', 'Ferries are cancelled until Friday.');
    await page.fill('#f-topics', 'world');
    await page.selectOption('#f-urgency', '2');
    await page.click('#f-body .ql-editor');
    await page.keyboard.type('The coastguard said ');
    await page.keyboard.press('Control+b');
    await page.keyboard.type('all');
    await page.keyboard.press('Control+b');
    await page.keyboard.type(' crossings stop.');
    await page.locator('#preview-card .alert.urgency-2 h3').getByText('Storm closes ports along the coast').waitFor({ timeout: 10_000 });
    expect(await page.locator('#preview-card .badge').textContent()).toBe('Breaking');
    expect(await page.locator('#preview-card .body').innerHTML()).toBe('<p>The coastguard said <strong>all</strong> crossings stop.</p>');
    expect(await page.locator('#preview-phone .n-title').textContent()).toBe('Storm closes ports along the coast');
    expect(await page.locator('#preview-desktop .n-body').textContent()).toBe('Ferries are cancelled until Friday.');
    expect(await page.locator('#quiet-note').textContent()).toMatch(/quiet hours/);
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe('an editor\'s story, start to finish', () => {
  it('publishes without an id, finds it in the list, previews exactly what phones get, updates it, sees the history, retracts only after confirming', async () => {
    const phone = await reader(['world']);
    const context = await browser.newContext({ locale: 'en-US' });
    const { page, errors } = await openConsole(context);
    // Arabic, and long enough (with a long URL) that the server cuts the summary to fit a Web Push payload.
    const headline = 'الاتفاق على وقف إطلاق النار بعد محادثات ليلية';
    const summary = 'أكد الطرفان الاتفاق الذي يبدأ سريانه عند الظهر بالتوقيت المحلي، وقال الوسطاء إن المحادثات ستستمر. '.repeat(12).slice(0, 1000).trim();
    await page.fill('#f-language', 'ar');
    await page.fill('#f-headline', headline);
    await page.fill('#f-summary', summary);
    await page.fill('#f-url', `https://news.example.com/world/${'ceasefire-'.repeat(120)}`);
    await page.fill('#f-topics', 'world/middle-east');
    await page.selectOption('#f-urgency', '1');
    // The dry run names the audience: this reader's phone, and the console's own live connection.
    await page.locator('#audience').getByText(/^Sending now reaches \d+ live readers? and 1 phone by Web Push\.$/).waitFor({ timeout: 10_000 });
    expect(await page.locator('#preview-card article').getAttribute('dir')).toBe('rtl');
    expect(await page.locator('#preview-phone .n-text').getAttribute('dir')).toBe('rtl');
    expect(await page.locator('#quiet-note').textContent()).toMatch(/^Flash \(urgency 1\): reaches phones even during/);
    const preview = { title: await page.locator('#preview-phone .n-title').textContent(), body: await page.locator('#preview-phone .n-body').textContent() };
    expect(preview.body!.endsWith('…')).toBe(true);
    expect(preview.body!.length).toBeLessThan(summary.length);
    expect(await page.locator('#preview-desktop .n-body').textContent()).toBe(preview.body);

    await page.click('#publish');
    await answer(page).getByText(/^(Published|Not sent)/).waitFor({ timeout: 10_000 });
    expect(await answer(page).textContent()).toMatch(/^Published — version 1, sent to \d+ live readers? and queued for 1 phone\.$/);
    const [got] = await waitFor('the push', () => (push.for(phone).length ? push.for(phone) : undefined), 10_000);
    expect({ title: got!.payload.title, body: got!.payload.body }).toEqual(preview);
    const id = String(got!.payload.articleId);
    expect(id).toMatch(/^article-\d{8}-[a-z2-7]{6}$/);

    // The story is in the list (live), with who changed it; choosing it loads it.
    await page.locator('#list-live[data-state="live"]').waitFor({ timeout: 10_000 });
    await page.click('#new-story');
    expect(await page.inputValue('#f-headline')).toBe('');
    const listed = row(page, headline);
    await listed.waitFor({ timeout: 10_000 });
    expect(await listed.getAttribute('data-id')).toBe(id);
    await listed.locator('.s-by').getByText(`by ${KEY_NAME}`).waitFor({ timeout: 10_000 });
    expect(await listed.locator('.s-urgency').textContent()).toBe('Flash');
    await listed.locator('button').click();
    await page.locator('#editor-heading').getByText(`Editing: ${headline}`).waitFor({ timeout: 10_000 });
    expect(await page.inputValue('#f-summary')).toBe(summary);
    expect(await page.locator('#f-headline').getAttribute('dir')).toBe('rtl');
    expect(await page.isChecked('#f-notify')).toBe(false);

    // An update, in words; the history names the publisher.
    await page.fill('#f-headline', `${headline} — رسمي`);
    await page.fill('#f-changeNote', 'Adds official confirmation');
    await page.click('#update');
    await answer(page).getByText(/^Updated — version 2, sent to \d+ live readers?; no Web Push alert \(not asked for\)\.$/).waitFor({ timeout: 10_000 });
    const history = page.locator('#history-list li');
    await waitFor('two versions in the history', async () => (await history.count()) === 2, 10_000);
    expect(await history.nth(0).locator('.h-what').textContent()).toBe('Version 2 — Updated');
    expect(await history.nth(0).locator('.h-meta').textContent()).toMatch(new RegExp(`^\\d{1,2}:\\d{2}\\s[AP]M by ${KEY_NAME}$`));
    expect(await history.nth(0).locator('.h-note').textContent()).toBe('Adds official confirmation');
    expect(await history.nth(1).locator('.h-what').textContent()).toBe('Version 1 — Published');

    // Retract: a dialog naming the headline; Cancel sends nothing, an empty reason is refused, then it goes.
    await page.click('#retract');
    const dialog = page.locator('#retract-dialog');
    expect(await dialog.evaluate((d: HTMLDialogElement) => d.open)).toBe(true);
    expect(await page.locator('#retract-headline').textContent()).toBe(`${headline} — رسمي`);
    expect(await dialog.textContent()).toMatch(/cannot be undone/);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('retract-reason');
    await page.click('#retract-cancel');
    await answer(page).getByText('Not retracted.').waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('retract');
    expect((await api(srv.url, 'GET', `/api/v1/articles/${id}`)).body.article).toMatchObject({ status: 'published', version: 2 });
    await page.click('#retract');
    await page.click('#retract-confirm');
    expect(await dialog.evaluate((d: HTMLDialogElement) => d.open)).toBe(true);
    await page.fill('#retract-reason', 'The agreement was not signed.');
    await page.click('#retract-confirm');
    await answer(page).getByText(/^Retracted/).waitFor({ timeout: 10_000 });
    expect(await answer(page).textContent()).toMatch(/^Retracted — version 2, sent to \d+ live readers? and queued for 1 phone\.$/);
    expect((await api(srv.url, 'GET', `/api/v1/articles/${id}`)).body.article).toMatchObject({ status: 'retracted', retraction: { reason: 'The agreement was not signed.' } });
    const pushes = await waitFor('the withdrawal push', () => (push.for(phone).length === 2 ? push.for(phone) : undefined), 10_000);
    expect(pushes.map((p) => p.payload.type)).toEqual(['article.published', 'article.retracted']);
    expect(await page.isHidden('#update')).toBe(true);
    await waitFor('the retraction in the history', async () => (await history.count()) === 3, 10_000);
    expect(await history.nth(0).locator('.h-what').textContent()).toBe('Version 2 — Retracted');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('a dry run sends nothing and stores nothing', async () => {
    const phone = await reader(['sport']);
    const context = await browser.newContext();
    const { page } = await openConsole(context);
    const dryRuns: Array<{ status: number; body: { dryRun?: boolean; audience?: { push: number } } }> = [];
    page.on('response', async (r) => {
      if (r.url().includes('dryRun=true')) dryRuns.push({ status: r.status(), body: await r.json().catch(() => ({})) });
    });
    await page.fill('#f-headline', 'Dry run: cup final postponed');
    await page.fill('#f-topics', 'sport/football');
    await page.selectOption('#f-urgency', '2');
    await page.locator('#audience').getByText(/and 1 phone by Web Push/).waitFor({ timeout: 10_000 });
    // The page may have read the answer before this test's listener has.
    await waitFor('the dry run answer', () => dryRuns.some((d) => d.status === 200 && d.body.dryRun === true && d.body.audience?.push === 1), 10_000);
    // After the dry runs, a real publication of another story: it is the only push and the only new story.
    await api(srv.url, 'POST', '/api/v1/articles', { headline: 'Cup final kicks off', topics: ['sport'], urgency: 2 }, srv.auth);
    const got = await waitFor('the real push', () => (push.for(phone).length ? push.for(phone) : undefined), 10_000);
    expect(got.map((p) => p.payload.title)).toEqual(['Cup final kicks off']);
    const listed = await api(srv.url, 'GET', '/api/v1/articles?topic=sport&status=all', undefined, srv.auth);
    expect(listed.body.articles.map((a: { headline: string }) => a.headline)).toEqual(['Cup final kicks off']);
    expect(await answer(page).textContent()).toBe('');
    await context.close();
  });
});

describe('answers and errors in words', () => {
  it('shows validation errors beside their fields, and a network failure as such', async () => {
    const context = await browser.newContext();
    const { page } = await openConsole(context);
    await page.fill('#f-headline', 'Storm closes ports along the coast');
    await page.fill('#f-url', 'not a url');
    await page.fill('#f-image-url', 'ftp://example.com/x.jpg');
    await page.fill('#f-topics', 'World News');
    await page.click('#publish');
    await answer(page).getByText('Not sent: check the fields marked below.').waitFor({ timeout: 10_000 });
    expect(await page.locator('[id="e-url"]').textContent()).not.toBe('');
    expect(await page.locator('[id="e-image.url"]').textContent()).not.toBe('');
    expect(await page.locator('[id="e-topics"]').textContent()).toMatch(/topic/);
    expect(await page.locator('#f-url').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('[id="e-headline"]').textContent()).toBe('');

    await page.fill('#f-url', 'https://news.example.com/storm');
    await page.fill('#f-image-url', '');
    await page.fill('#f-topics', 'world/europe');
    await context.setOffline(true);
    await page.click('#publish');
    await answer(page).getByText(/^Not sent: the server could not be reached/).waitFor({ timeout: 10_000 });
    await context.setOffline(false);
    await page.click('#publish');
    await answer(page).getByText(/^Published — version 1/).waitFor({ timeout: 10_000 });
    expect(await page.locator('[id="e-url"]').textContent()).toBe('');
    await context.close();
  });

  it('refuses an update over someone else\'s change, in words, and updates once the story is opened again', async () => {
    const made = await api(srv.url, 'POST', '/api/v1/articles', { headline: 'Bridge closed after crash', topics: ['world/europe'], urgency: 3, byline: 'City desk', image: { url: 'https://news.example.com/bridge.jpg', caption: 'The bridge', credit: 'Agency' } }, srv.auth);
    const id = made.body.article.id as string;
    const context = await browser.newContext();
    const { page } = await openConsole(context);
    await row(page, 'Bridge closed after crash').locator('button').click();
    await page.locator('#version-note').getByText(/^Version 1, published/).waitFor({ timeout: 10_000 });
    expect(await page.inputValue('#f-urgency')).toBe('3');
    expect(await page.inputValue('#f-image-credit')).toBe('Agency');

    await api(srv.url, 'PATCH', `/api/v1/articles/${id}`, { summary: 'Traffic diverted.', changeNote: 'Adds diversion' }, srv.auth);
    await page.locator('#version-note').getByText(/^Version 2 was published by someone else meanwhile/).waitFor({ timeout: 10_000 });
    await page.fill('#f-headline', 'Bridge reopens after crash');
    await page.fill('#f-changeNote', 'Bridge reopened');
    await page.click('#update');
    await answer(page).getByText(/^Not sent: someone else changed this story meanwhile \(it is now version 2\)/).waitFor({ timeout: 10_000 });
    expect((await api(srv.url, 'GET', `/api/v1/articles/${id}`)).body.article.headline).toBe('Bridge closed after crash');

    // Opening it again throws the refused edit away, after asking.
    const asked = new Promise<string>((resolve) => page.once('dialog', (d) => {
      resolve(d.message());
      void d.accept();
    }));
    await row(page, 'Bridge closed after crash').locator('button').click();
    expect(await asked).toBe('Your changes to “Bridge closed after crash” have not been sent. Discard them?');
    await page.locator('#version-note').getByText(/^Version 2, published/).waitFor({ timeout: 10_000 });
    expect(await page.inputValue('#f-summary')).toBe('Traffic diverted.');
    await page.fill('#f-headline', 'Bridge reopens after crash');
    await page.fill('#f-changeNote', 'Bridge reopened');
    await page.click('#update');
    await answer(page).getByText(/^Updated — version 3/).waitFor({ timeout: 10_000 });
    expect((await api(srv.url, 'GET', `/api/v1/articles/${id}`)).body.article).toMatchObject({ version: 3, headline: 'Bridge reopens after crash', summary: 'Traffic diverted.', changeNote: 'Bridge reopened', byline: 'City desk', notify: false });
    await context.close();
  });
});

describe('unsent changes', () => {
  it('asks before opening another story over them, and keeps them when the editor says no', async () => {
    await api(srv.url, 'POST', '/api/v1/articles', { headline: 'Another desk\'s story', topics: ['world'] }, srv.auth);
    const context = await browser.newContext();
    const { page } = await openConsole(context);
    await page.fill('#f-headline', 'Half-written story');
    const asked: string[] = [];
    page.once('dialog', (d) => {
      asked.push(d.message());
      void d.dismiss();
    });
    await row(page, 'Another desk\'s story').locator('button').click();
    await waitFor('the question', () => asked.length === 1);
    expect(asked[0]).toBe('This new story has not been sent. Discard it?');
    expect(await page.inputValue('#f-headline')).toBe('Half-written story');
    page.once('dialog', (d) => void d.accept());
    await row(page, 'Another desk\'s story').locator('button').click();
    await page.locator('#editor-heading').getByText('Editing: Another desk\'s story').waitFor({ timeout: 10_000 });
    await context.close();
  });
});

describe('the story list', () => {
  it('filters by topic and status, pages with Older, and shows retracted stories to publishers', async () => {
    for (let i = 1; i <= 23; i++) await api(srv.url, 'POST', '/api/v1/articles', { headline: `Paging story ${i}`, topics: ['paging'], urgency: 6 }, srv.auth);
    const gone = await api(srv.url, 'POST', '/api/v1/articles', { headline: 'Paging withdrawn', topics: ['paging'] }, srv.auth);
    await api(srv.url, 'DELETE', `/api/v1/articles/${gone.body.article.id}`, { reason: 'Wrong' }, srv.auth);
    const context = await browser.newContext();
    const { page } = await openConsole(context);
    await page.fill('#filter-topic', 'paging');
    await page.click('#filter-form button');
    await page.locator('#list-status').getByText('20 stories shown; older ones below.').waitFor({ timeout: 10_000 });
    expect(await page.locator('#story-list li .s-headline').first().textContent()).toBe('Paging story 23');
    await page.click('#older');
    await page.locator('#list-status').getByText('23 stories shown.').waitFor({ timeout: 10_000 });
    expect(await page.isHidden('#older')).toBe(true);
    expect(await page.locator('#story-list li .s-headline').last().textContent()).toBe('Paging story 1');
    await page.selectOption('#filter-status', 'retracted');
    await page.locator('#list-status').getByText('1 story shown.').waitFor({ timeout: 10_000 });
    expect(await page.locator('#story-list li').getAttribute('data-status')).toBe('retracted');
    // Live: a new story on the filtered topic appears at the top of "All".
    await page.selectOption('#filter-status', 'all');
    await page.locator('#list-status').getByText('20 stories shown; older ones below.').waitFor({ timeout: 10_000 });
    await api(srv.url, 'POST', '/api/v1/articles', { headline: 'Paging story live', topics: ['paging/sub'] }, srv.auth);
    await waitFor('the live story on top', async () => (await page.locator('#story-list li .s-headline').first().textContent()) === 'Paging story live', 10_000);
    // Events do not carry the author: the console reads it from the story's history.
    await row(page, 'Paging story live').locator('.s-by').getByText(`by ${KEY_NAME}`).waitFor({ timeout: 10_000 });
    await context.close();
  });

  it('lists translations live, as originals: a new one, its update and its withdrawal appear without a reload', async () => {
    const original = await api(srv.url, 'POST', '/api/v1/articles', { id: 'xl-en', headline: 'Talks resume in Geneva', topics: ['xlate'], language: 'en' }, srv.auth);
    expect(original.status).toBe(201);
    const context = await browser.newContext();
    const { page } = await openConsole(context);
    await page.fill('#filter-topic', 'xlate');
    await page.click('#filter-form button');
    await page.locator('#list-status').getByText('1 story shown.').waitFor({ timeout: 10_000 });
    await page.locator('#list-live[data-state="live"]').waitFor({ timeout: 10_000 });
    let loads = 0;
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/articles?')) loads++;
    });
    const translation = { id: 'xl-fr', translationOf: 'xl-en', language: 'fr', headline: 'Reprise des pourparlers à Genève', topics: ['xlate'] };
    expect((await api(srv.url, 'POST', '/api/v1/articles', translation, srv.auth)).status).toBe(201);
    await row(page, 'Reprise des pourparlers à Genève').waitFor({ timeout: 10_000 });
    expect(await page.locator('#story-list li').first().getAttribute('data-id')).toBe('xl-fr');
    expect(await row(page, 'Reprise des pourparlers à Genève').getAttribute('data-version')).toBe('1');
    // Its update replaces its row, in place of a second one.
    expect((await api(srv.url, 'PATCH', '/api/v1/articles/xl-fr', { headline: 'Les pourparlers reprennent à Genève' }, srv.auth)).status).toBe(200);
    await row(page, 'Les pourparlers reprennent à Genève').waitFor({ timeout: 10_000 });
    expect(await page.locator('#story-list li[data-id="xl-fr"]').count()).toBe(1);
    expect(await page.locator('#story-list li[data-id="xl-fr"]').getAttribute('data-version')).toBe('2');
    // Withdrawn: it leaves the list of published stories; the original stays.
    expect((await api(srv.url, 'DELETE', '/api/v1/articles/xl-fr', { reason: 'Wrong translation' }, srv.auth)).status).toBe(200);
    await page.locator('#story-list li[data-id="xl-fr"]').waitFor({ state: 'detached', timeout: 10_000 });
    expect(await page.locator('#story-list li[data-id="xl-en"]').count()).toBe(1);
    expect(loads).toBe(0); // all of it live, none from reloading the list
    await context.close();
  });
});

describe('the console for every editor', () => {
  it('works from the keyboard alone: write, publish, open from the list, retract dialog with Escape', async () => {
    const context = await browser.newContext();
    const { page } = await openConsole(context);
    await page.locator('#f-headline').focus();
    await page.keyboard.type('Keyboard story: polls open');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Voting runs until 8 pm.');
    // Tab reaches the body editor (through its toolbar), types there, and Tab leaves it: no trap.
    for (let i = 0; i < 12 && !(await page.evaluate(() => document.activeElement?.classList.contains('ql-editor'))); i++) await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.classList.contains('ql-editor'))).toBe(true);
    await page.keyboard.type('Polling stations opened at 7 am.');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('f-byline');
    for (let i = 0; i < 4 && !(await page.evaluate(() => document.activeElement?.id === 'f-topics')); i++) await page.keyboard.press('Tab');
    await page.keyboard.type('world');
    await page.keyboard.press('Enter');
    await answer(page).getByText(/^Published — version 1/).waitFor({ timeout: 10_000 });

    const button = row(page, 'Keyboard story: polls open').locator('button');
    await button.focus();
    await page.keyboard.press('Enter');
    // The heading already names this story (it was just published here): wait for the opened story to take the
    // focus, which it does once it has been read from the server.
    await page.locator('#editor-heading').getByText('Editing: Keyboard story: polls open').waitFor({ timeout: 10_000 });
    await page.waitForFunction(() => document.activeElement?.id === 'f-headline', null, { timeout: 10_000 });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('f-headline');
    await page.locator('#retract').focus();
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('retract-reason');
    await page.keyboard.press('Escape');
    await answer(page).getByText('Not retracted.').waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('retract');
    await context.close();
  });

  it('names every control, fits a phone, follows the dark colour scheme', async () => {
    await api(srv.url, 'POST', '/api/v1/articles', { headline: 'A listed story with a headline long enough to wrap on a phone', topics: ['world'], urgency: 2 }, srv.auth);
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, colorScheme: 'dark' });
    const { page } = await openConsole(context);
    await page.locator('#story-list li').first().waitFor({ timeout: 10_000 });
    await page.fill('#f-headline', 'A fairly long headline that has to wrap on a narrow phone screen without scrolling');
    await page.fill('#f-topics', 'world');
    await page.locator('#preview-card article').waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll('input, select, button, textarea')]
        .filter((el) => !(el as HTMLElement).closest('[hidden]') && (el as HTMLElement).offsetParent !== null)
        .filter((el) => {
          const labelled = (el as HTMLInputElement).labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
          const text = el.tagName === 'BUTTON' && el.textContent?.trim();
          return !labelled && !text;
        })
        .map((el) => el.outerHTML),
    );
    expect(unnamed).toEqual([]);
    expect(await page.locator('.ql-editor').getAttribute('aria-labelledby')).toBe('l-body');
    expect(await page.locator('#f-body .ql-tooltip input').getAttribute('aria-label')).toBe('Link address');
    // The audience, which changes as the editor types, is read with the Publish button rather than announced.
    expect(await page.locator('#publish').getAttribute('aria-describedby')).toBe('audience');
    const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'light' });
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).not.toBe(dark);
    await context.close();
  });
});

describe('the preview\'s sanitiser', () => {
  it('keeps and drops what the API\'s sanitiser keeps and drops', async () => {
    const { sanitizeBody } = await import('../../src/domain/article.ts');
    const samples = [
      '<p>The coastguard said <strong>all</strong> crossings <em>stop</em>.</p><h2>Timeline</h2><blockquote>We are ready.</blockquote>',
      '<ol><li>One</li><li>Two</li></ol><ul><li>Three</li></ul><p><a href="https://news.example.com/x" target="_blank">link</a> <a href="mailto:desk@example.com">mail</a></p>',
      '<p lang="ar" dir="rtl" class="x" style="color:red" title="t">نص</p><figure><img src="https://img.example.com/a.jpg" alt="A" width="10" onerror="alert(1)"><figcaption>Cap</figcaption></figure>',
      '<img src="data:image/png;base64,AAAA"><img src="javascript:alert(1)"><a href="javascript:alert(1)">x</a><a href="/relative">rel</a>',
      '<script>alert(1)</script><style>p{}</style><iframe src="https://evil.example"></iframe><form><input value="x"></form><p onclick="x()">ok</p>',
      '<table><thead><tr><th>A</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table><p>x<sub>2</sub> <del>old</del> <ins>new</ins></p>',
    ];
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${srv.url}/newsroom.html`);
    // A string, not a function: the test runner would rewrite a function's import() for Node.
    const both = (await page.evaluate(`(async () => {
      const { sanitizeArticleHtml } = await import('/alert-card.js');
      const samples = ${JSON.stringify(samples)};
      const server = ${JSON.stringify(samples.map(sanitizeBody))};
      // Both serialised by the same DOM, so that quoting and void-tag spelling do not count.
      const norm = (html) => {
        const t = document.createElement('template');
        t.innerHTML = html;
        return t.innerHTML;
      };
      return samples.map((s, i) => ({ browser: norm(sanitizeArticleHtml(s)), api: norm(server[i]) }));
    })()`)) as Array<{ browser: string; api: string }>;
    for (const b of both) expect(b.browser).toBe(b.api);
    expect(both[4]!.api).not.toMatch(/script|style|iframe|onclick|<input/);
    expect(both[0]!.api).toContain('<strong>all</strong>');
    await context.close();
  });
});
