// Service worker: shows Web Push alerts. The tag is the story (or the article it supersedes), so an update, a
// translation or a withdrawal replaces the earlier notification instead of stacking. When a page of the site is open and visible
// and already shows the alert, no notification is shown: the page is asked first (postMessage with a reply port).
/**
 * The push server's receipts address. A news site's worker is `importScripts('https://push.example.com/sw.js')`, so
 * self.location is the site's; the server is where this script came from. A classic script cannot name its own URL
 * (no import.meta, no currentScript in a worker), but the first frame of a stack taken while it is being evaluated
 * can (V8 "at https://…/sw.js:12:3", SpiderMonkey and JavaScriptCore "@https://…/sw.js:12:3").
 */
const RECEIPTS_URL = (() => {
  const script = /(https?:\/\/[^\s()@]+?):\d+:\d+/.exec(new Error().stack ?? '')?.[1] ?? self.location.href;
  return new URL('api/v1/push/receipts', script).href;
})();

/**
 * Tells the server a notification was shown or opened: the payload's receipt token and the action, nothing else
 * (no cookies: credentials omitted). A text/plain body needs no CORS preflight; the server takes it as JSON.
 * `navigator.sendBeacon` does not exist in workers; the event's waitUntil keeps the worker alive until it is sent.
 */
async function sendReceipt(receipt, action) {
  if (typeof receipt !== 'string' || !receipt) return;
  try {
    await fetch(RECEIPTS_URL, { method: 'POST', body: JSON.stringify({ receipt, action }), keepalive: true, credentials: 'omit', mode: 'cors' });
  } catch {
    // Offline or the server unreachable: a figure is lost, never an alert.
  }
}

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  event.waitUntil(handlePush(event));
});

/** How long a visible page may take to say whether it shows an alert. */
const ASK_PAGE_MS = 3_000;

function readPayload(event) {
  try {
    const data = event.data?.json();
    return data && typeof data.title === 'string' && typeof data.articleId === 'string' ? data : null;
  } catch {
    return null;
  }
}

/** Asks a page whether it shows this alert; no answer in time counts as no. */
function pageShows(client, data) {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    const timer = setTimeout(() => resolve(false), ASK_PAGE_MS);
    port1.onmessage = (e) => {
      clearTimeout(timer);
      resolve(e.data?.shown === true);
    };
    client.postMessage({ type: 'push', payload: data }, [port2]);
  });
}

async function handlePush(event) {
  const data = readPayload(event);
  if (!data) {
    // Chromium counts pushes without a notification against the site; say something rather than nothing.
    await self.registration.showNotification('News alert', { tag: 'unreadable' });
    return;
  }
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const visible = windows.filter((c) => c.visibilityState === 'visible' && new URL(c.url).origin === self.location.origin);
  const answers = await Promise.all(visible.map((c) => pageShows(c, data)));
  if (answers.includes(true)) return;
  const options = {
    body: data.body || undefined,
    tag: data.supersedes || data.storyId || data.articleId,
    renotify: data.type !== 'article.retracted',
    silent: data.type === 'article.retracted',
    requireInteraction: data.urgency === 1 && data.type !== 'article.retracted',
    timestamp: Date.now(),
    data: { url: data.url || '/', articleId: data.articleId, version: data.version, type: data.type, receipt: data.receipt },
  };
  if (data.image) options.image = data.image;
  if (data.lang) options.lang = data.lang;
  if (data.dir) options.dir = data.dir;
  await self.registration.showNotification(data.title, options);
  await sendReceipt(data.receipt, 'shown');
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || '/', self.location.origin).href;
  event.waitUntil(Promise.all([openOrFocus(url), sendReceipt(event.notification.data?.receipt, 'opened')]));
});

/** Focuses a window already showing the URL, else opens it. */
async function openOrFocus(url) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((c) => c.url === url);
  if (open) return open.focus();
  return self.clients.openWindow(url);
}
