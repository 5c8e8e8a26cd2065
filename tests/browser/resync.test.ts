import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

let srv: TestServer;
let browser: Browser;
let proxy: TcpProxy;

beforeAll(async () => {
  // A short history: a page away for more than three events cannot be replayed and must reload instead.
  srv = await startServer({ HISTORY_MAX_EVENTS: '3', RATE_LIMIT_PUBLISH_PER_SECOND: '0' });
  proxy = await TcpProxy.start(srv.port);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await srv?.close();
});

describe('resync in the browser', () => {
  it('a page whose cursor is older than the history reloads the list and shows what it missed', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await api(srv.url, 'POST', '/api/v1/articles', { id: 'rs-0', headline: 'Seen before leaving', topics: ['culture'] }, srv.auth);
    await page.goto(`${proxy.url}/?topics=culture`);
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
    await page.locator('article[data-id="rs-0"]').waitFor({ timeout: 10_000 });
    // The server is out of reach while six alerts go out.
    proxy.refuse();
    await page.locator('#connection[data-state="reconnecting"]').waitFor({ timeout: 10_000 });
    for (let i = 1; i <= 6; i++) await api(srv.url, 'POST', '/api/v1/articles', { id: `rs-${i}`, headline: `Missed ${i}`, topics: ['culture/film'] }, srv.auth);
    const reloaded = page.waitForRequest((r) => r.url().includes('/api/v1/articles?topic=culture'), { timeout: 10_000 });
    proxy.allow();
    await reloaded; // the server answered the stale cursor with resync, and the page reloaded its list
    for (let i = 1; i <= 6; i++) await page.locator(`article[data-id="rs-${i}"]`).waitFor({ timeout: 10_000 });
    expect(await page.locator('article').count()).toBe(7);
    // Still live after the reload.
    await api(srv.url, 'POST', '/api/v1/articles', { id: 'rs-7', headline: 'After the resync', topics: ['culture'] }, srv.auth);
    await page.locator('article[data-id="rs-7"]').waitFor({ timeout: 10_000 });
    await context.close();
  });
});
