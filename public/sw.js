// Service worker: shows Web Push alerts. The tag is the story (or the article it supersedes), so an update, a
// translation or a withdrawal replaces the earlier notification instead of stacking. When a page of the site is open and visible
// and already shows the alert, no notification is shown: the page is asked first (postMessage with a reply port).
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
    data: { url: data.url || '/', articleId: data.articleId, version: data.version, type: data.type },
  };
  if (data.image) options.image = data.image;
  if (data.lang) options.lang = data.lang;
  if (data.dir) options.dir = data.dir;
  await self.registration.showNotification(data.title, options);
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || '/', self.location.origin).href;
  event.waitUntil(openOrFocus(url));
});

/** Focuses a window already showing the URL, else opens it. */
async function openOrFocus(url) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((c) => c.url === url);
  if (open) return open.focus();
  return self.clients.openWindow(url);
}
