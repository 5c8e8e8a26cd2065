import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { api, startServer, type TestServer } from '../support/server.ts';
import { NewsSite } from '../support/site.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { sleep, waitFor } from '../support/wait.ts';

let srv: TestServer;
let browser: Browser;
let proxy: TcpProxy;
/** A news site on its own origin using the embeddable client over Server-Sent Events, through the proxy. */
let site: NewsSite;

const ssePage = () => ({
  type: 'text/html',
  body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SSE client</title></head><body>
<p id="state"></p>
<script type="module">
  import { NewsPush } from '${proxy.url}/client/newspush.js';
  const news = new NewsPush({ server: '${proxy.url}', topics: ['science'], transports: ['sse'] });
  window.got = [];
  window.resyncs = [];
  news.on('news', (e) => window.got.push(e.id));
  news.on('resync', (d) => window.resyncs.push(d));
  news.on('state', (s) => (document.getElementById('state').dataset.state = s));
  void news.follow();
</script></body></html>`,
});

beforeAll(async () => {
  site = await NewsSite.start({ '/': ssePage });
  // A short history: a page away for more than three events cannot be replayed and must reload instead.
  srv = await startServer({ HISTORY_MAX_EVENTS: '3', RATE_LIMIT_PUBLISH_PER_SECOND: '0', CORS_ORIGINS: site.url });
  proxy = await TcpProxy.start(srv.port);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await srv?.close();
  await site?.close();
});

describe('resync in the browser', () => {
  it('a page whose cursor is older than the history reloads the list, shows what it missed, and continues from the resync', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    // What the server sends the page over its WebSocket, and every reload of the list.
    const frames: string[] = [];
    page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(String(f.payload))));
    let reloads = 0;
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/articles?topic=culture')) reloads++;
    });
    const resyncFrames = () => frames.filter((f) => f.startsWith('42["resync"'));
    await api(srv.url, 'POST', '/api/v1/articles', { id: 'rs-0', headline: 'Seen before leaving', topics: ['culture'] }, srv.auth);
    await page.goto(`${proxy.url}/?topics=culture`);
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
    await page.locator('article[data-id="rs-0"]').waitFor({ timeout: 10_000 });
    expect(reloads).toBe(1); // the first load
    // The server is out of reach while six alerts go out.
    proxy.refuse();
    await page.locator('#connection[data-state="reconnecting"]').waitFor({ timeout: 10_000 });
    for (let i = 1; i <= 6; i++) await api(srv.url, 'POST', '/api/v1/articles', { id: `rs-${i}`, headline: `Missed ${i}`, topics: ['culture/film'] }, srv.auth);
    const reloaded = page.waitForRequest((r) => r.url().includes('/api/v1/articles?topic=culture'), { timeout: 10_000 });
    proxy.allow();
    await reloaded; // the server answered the stale cursor with resync, and the page reloaded its list
    for (let i = 1; i <= 6; i++) await page.locator(`article[data-id="rs-${i}"]`).waitFor({ timeout: 10_000 });
    expect(await page.locator('article').count()).toBe(7);
    expect(resyncFrames()).toHaveLength(1);
    expect(reloads).toBe(2);
    // The connection drops again with nothing new published: the page reconnects from the resync's head, so it
    // is not told to resync (and does not reload) a second time.
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
    proxy.dropAll();
    await page.locator('#connection[data-state="reconnecting"]').waitFor({ timeout: 10_000 });
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
    await sleep(500);
    expect(resyncFrames()).toHaveLength(1);
    expect(reloads).toBe(2);
    // An alert published after the resync arrives once.
    const r = await api(srv.url, 'POST', '/api/v1/articles', { id: 'rs-7', headline: 'After the resync', topics: ['culture'] }, srv.auth);
    await page.locator('article[data-id="rs-7"]').waitFor({ timeout: 10_000 });
    await sleep(300);
    expect(frames.filter((f) => f.startsWith('42["news"') && f.includes(`"id":"${r.body.event.id}"`))).toHaveLength(1);
    expect(await page.locator('article[data-id="rs-7"]').count()).toBe(1);
    expect(resyncFrames()).toHaveLength(1);
    await context.close();
  });

  it('the embeddable client over SSE continues from the resync too', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await api(srv.url, 'POST', '/api/v1/articles', { id: 'sr-0', headline: 'Seen first', topics: ['science'] }, srv.auth);
    await page.goto(site.url);
    await page.locator('#state[data-state="live"]').waitFor({ state: 'attached', timeout: 10_000 });
    proxy.refuse();
    await page.locator('#state[data-state="reconnecting"]').waitFor({ state: 'attached', timeout: 10_000 });
    let head = '';
    for (let i = 1; i <= 6; i++) head = (await api(srv.url, 'POST', '/api/v1/articles', { id: `sr-${i}`, headline: `Missed ${i}`, topics: ['science'] }, srv.auth)).body.event.id;
    proxy.allow();
    await waitFor('the resync', () => page.evaluate(() => (window as any).resyncs.length === 1 || undefined), 15_000);
    expect(await page.evaluate(() => (window as any).resyncs)).toEqual([{ topics: ['science'], reason: 'history_truncated', head }]);
    await page.locator('#state[data-state="live"]').waitFor({ state: 'attached', timeout: 10_000 });
    // Dropped again, nothing new: no second resync.
    proxy.dropAll();
    await page.locator('#state[data-state="reconnecting"]').waitFor({ state: 'attached', timeout: 10_000 });
    await page.locator('#state[data-state="live"]').waitFor({ state: 'attached', timeout: 10_000 });
    await sleep(500);
    expect(await page.evaluate(() => (window as any).resyncs.length)).toBe(1);
    // One published while it is away again: replayed from the head, once; one live after it, once.
    proxy.refuse();
    await page.locator('#state[data-state="reconnecting"]').waitFor({ state: 'attached', timeout: 10_000 });
    const away = (await api(srv.url, 'POST', '/api/v1/articles', { id: 'sr-7', headline: 'While away', topics: ['science'] }, srv.auth)).body.event.id;
    proxy.allow();
    await page.locator('#state[data-state="live"]').waitFor({ state: 'attached', timeout: 20_000 });
    const live = (await api(srv.url, 'POST', '/api/v1/articles', { id: 'sr-8', headline: 'Live', topics: ['science'] }, srv.auth)).body.event.id;
    await waitFor('both events', () => page.evaluate(() => (window as any).got.length >= 2 || undefined), 10_000);
    await sleep(300);
    expect(await page.evaluate(() => (window as any).got)).toEqual([away, live]);
    expect(await page.evaluate(() => (window as any).resyncs.length)).toBe(1);
    await context.close();
  });
});
