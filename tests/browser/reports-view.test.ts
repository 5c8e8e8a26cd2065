import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { listFixture, versionReport } from '../support/report-fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';

// The "Sent alerts" page's rendering, from reports shaped as the contract gives them: the page and its modules
// come from a real server, only the report answers are given by the test (a figure a real fan-out would hardly
// produce, e.g. 905 opened, shows its formatting). reports.test.ts drives the same page against real reports.
let srv: TestServer;
let browser: Browser;

beforeAll(async () => {
  srv = await startServer();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await srv?.close();
});

const report = { articleId: 'quake-1', versions: [versionReport({ version: 1 }), versionReport({ version: 2, acceptedOverTime: [[0, 10], [3, 20]], shown: 27, opened: 3, complete: false })] };

// Live readers only: no push subscriber matched, nothing sent.
const quietVersion = versionReport({ acceptedOverTime: [], shown: 0, opened: 0 });
const quiet = { articleId: 'quiet-1', versions: [{ ...quietVersion, push: { ...quietVersion.push, matched: 0, sent: 0, skipped: { urgency: 0, language: 0, quietHours: 0 }, failed: { gone: 0, tooLarge: 0, otherClient: 0, server: 0, network: 0, refused: 0 }, retried: 0, expired: 0, superseded: 0, firstAcceptedMs: null, p50AcceptedMs: null, p90AcceptedMs: null, lastAcceptedMs: null } }] };

async function open(context: BrowserContext, query = ''): Promise<Page> {
  await context.addInitScript((key) => sessionStorage.setItem('newspush.publisherKey', key), srv.publisherKey);
  const page = await context.newPage();
  const json = (body: unknown) => ({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
  await page.route(`${srv.url}/api/v1/reports?**`, (r) => r.fulfill(json(listFixture)));
  await page.route(`${srv.url}/api/v1/articles/quake-1/report`, (r) => r.fulfill(json(report)));
  await page.route(`${srv.url}/api/v1/articles/quiet-1/report`, (r) => r.fulfill(json(quiet)));
  await page.route(`${srv.url}/api/v1/articles/quiet-1/report/stream`, (r) => r.fulfill({ status: 200, contentType: 'text/event-stream', body: ': hello\n\n' }));
  await page.route(`${srv.url}/api/v1/articles/quake-1/report/stream`, (r) =>
    r.fulfill({ status: 200, contentType: 'text/event-stream', body: `: hello\n\nevent: report\ndata: ${JSON.stringify(report)}\n\n` }),
  );
  await page.goto(`${srv.url}/reports.html${query}`);
  return page;
}

describe('sent alerts, rendered from the contract', () => {
  it('lists the alerts with audience, accepted %, opened % and time to 90% in the editor\'s locale', async () => {
    for (const [locale, expected] of [
      ['en-US', { audience: '12,845', accepted: '89.5%', opened: '10.3%', t90: '2.6 sec' }],
      ['de-DE', { audience: '12.845', accepted: '89,5 %', opened: '10,3 %', t90: '2,6 Sek.' }],
    ] as const) {
      const context = await browser.newContext({ locale });
      const page = await open(context);
      const card = page.locator('li.report-card[data-article="quake-1"]');
      await card.waitFor({ timeout: 10_000 });
      const figures = await card.locator('dd').allTextContents();
      expect(figures.map((f) => f.replace(/\u00a0|\u202f/g, ' '))).toEqual([expected.audience, expected.accepted, expected.opened, expected.t90]);
      expect(await card.locator('h3 a').getAttribute('href')).toBe('?article=quake-1');
      // No figure yet: a dash on screen, words for a screen reader.
      const quiet = page.locator('li.report-card[data-article="quiet-1"] dd');
      expect(await quiet.nth(1).textContent()).toBe('—none sent');
      expect(await quiet.nth(1).locator('[aria-hidden="true"]').textContent()).toBe('—');
      await context.close();
    }
  });

  it('shows every figure of an alert in words, newest version first, with a chart and its table', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await open(context, '?article=quake-1');
    await page.locator('section.version-report').nth(1).waitFor({ timeout: 10_000 });
    expect(await page.locator('section.version-report h3').allTextContents()).toEqual(['Version 2', 'Version 1']);
    const v1 = page.locator('section.version-report[data-version="1"]');
    const rows = await v1.locator('.figure-groups dl div').evaluateAll((divs) => divs.map((d) => [d.querySelector('dt')!.textContent, d.querySelector('dd')!.textContent]));
    expect(Object.fromEntries(rows)).toEqual({
      'Readers connected live when it went out': '2,345',
      'Delivered later by replay': '67',
      'Subscribers matched': '10,500',
      "Skipped: urgency above the reader's choice": '120',
      "Skipped: not in the reader's languages": '45',
      "Skipped: the reader's quiet hours": '310',
      'Sent to push services': '10,025',
      'Accepted by push services': '9,000 (89.8%)',
      'Failed, in all': '29 (0.3%)',
      'Failed: subscription gone (removed)': '14',
      'Failed: too large': '1',
      'Failed: other refusals by the push service': '2',
      'Failed: push service errors': '3',
      'Failed: network errors': '4',
      'Failed: endpoint refused by this server': '5',
      Retried: '21',
      'Given up when the alert expired': '6',
      'Not sent: superseded or withdrawn first': '7',
      'First accepted after': '0.2 sec',
      'Half accepted within': '1.4 sec',
      '90% accepted within': '2.6 sec',
      'Last accepted after': '4.7 sec',
      'Notifications shown': '8,100 (90%)',
      Opened: '905 (10.1%)',
    });
    // The chart: an image named and described in words, its numbers in a table.
    const chart = v1.locator('svg.chart');
    expect(await chart.getAttribute('role')).toBe('img');
    const name = await chart.evaluate((svg) => svg.getAttribute('aria-labelledby')!.split(' ').map((id) => document.getElementById(id)!.textContent).join(' | '));
    expect(name).toBe('Acceptances over time, version 1 | 9,000 accepted by push services, the last after 4.7 sec, half of them within 1.4 sec, 90% within 2.6 sec.');
    expect(await v1.locator('svg.chart path.line').count()).toBe(1);
    expect(await v1.locator('svg.chart .mark-label').allTextContents()).toEqual(['50%', '90%']);
    const table = await v1.locator('table.chart-table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    expect(table).toEqual([['0 sec', '1,200', '1,200'], ['1 sec', '5,400', '6,600'], ['2 sec', '2,100', '8,700'], ['4 sec', '300', '9,000']]);
    // The line rises with the acceptances: its highest point (smallest y) is the last.
    const ys = await v1.locator('svg.chart path.line').evaluate((p) => [...p.getAttribute('d')!.matchAll(/V ([\d.]+)/g)].map((m) => Number(m[1])));
    expect(ys).toEqual([...ys].sort((a, b) => b - a));
    expect(await page.locator('section.version-report[data-version="2"] .progress').textContent()).toBe('still sending');
    expect(await page.locator('#detail-heading').textContent()).toBe(report.versions[1]!.headline);
    await context.close();
  });

  it('says in words that an alert had no push audience, instead of a flat chart', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await open(context, '?article=quiet-1');
    const section = page.locator('section.version-report[data-version="1"]');
    await section.locator('.figure-groups dl').first().waitFor({ timeout: 10_000 });
    expect(await section.locator('.no-push').isVisible()).toBe(true);
    expect(await section.locator('.no-push').textContent()).toMatch(/^No Web Push subscriber wanted this alert/);
    expect(await section.locator('svg.chart').isVisible()).toBe(false);
    expect(await section.locator('details.chart-data').isVisible()).toBe(false);
    // An alert that went out by push keeps its chart and no such sentence.
    await page.goto(`${srv.url}/reports.html?article=quake-1`);
    const v1 = page.locator('section.version-report[data-version="1"]');
    await v1.locator('svg.chart').waitFor({ timeout: 10_000 });
    expect(await v1.locator('.no-push').isVisible()).toBe(false);
    await context.close();
  });

  it('works with the keyboard, fits a phone screen and follows the dark colour scheme', async () => {
    const colours: string[] = [];
    for (const colorScheme of ['light', 'dark'] as const) {
      const context = await browser.newContext({ colorScheme, viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
      const blocked: string[] = [];
      context.on('console', (m) => m.text().includes('Content Security Policy') && blocked.push(m.text()));
      const page = await open(context, '?article=quake-1');
      await page.locator('section.version-report svg.chart').first().waitFor({ timeout: 10_000 });
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
      // Under the server's CSP (script-src and style-src 'self'): nothing refused, and every control named.
      expect(blocked).toEqual([]);
      const unnamed = await page.evaluate(() =>
        [...document.querySelectorAll('input, button, summary, a')].filter((el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label') && !el.textContent?.trim()).map((el) => el.outerHTML),
      );
      expect(unnamed).toEqual([]);
      colours.push(await page.locator('svg.chart path.line').first().evaluate((p) => getComputedStyle(p).stroke));
      colours.push(await page.evaluate(() => getComputedStyle(document.body).backgroundColor));
      // Tab reaches the table's disclosure; Enter opens it.
      const summary = page.locator('section.version-report summary').first();
      for (let i = 0; i < 10 && !(await summary.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      expect(await page.locator('section.version-report details').first().evaluate((d) => (d as HTMLDetailsElement).open)).toBe(true);
      await context.close();
    }
    expect(colours[0]).not.toBe(colours[2]);
    expect(colours[1]).not.toBe(colours[3]);
  });
});
