// Service worker: shows Web Push alerts. The tag is the article (or the one it supersedes), so an update or a
// withdrawal replaces the earlier notification instead of stacking. When a page of the site is open and
// visible, the alert is handed to it instead of duplicating what it already shows.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  event.waitUntil(handlePush(event));
});

async function handlePush(event) {
  let data;
  try {
    data = event.data.json();
  } catch {
    return;
  }
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const visible = windows.filter((c) => c.visibilityState === 'visible');
  if (visible.length > 0) {
    for (const c of visible) c.postMessage({ type: 'push', payload: data });
    return;
  }
  const options = {
    body: data.body || undefined,
    tag: data.supersedes || data.articleId,
    renotify: data.type !== 'article.retracted',
    requireInteraction: data.urgency === 1,
    data: { url: data.url || '/', articleId: data.articleId },
  };
  if (data.image) options.image = data.image;
  await self.registration.showNotification(data.title, options);
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || '/', self.location.origin).href;
  event.waitUntil(openOrFocus(url));
});

async function openOrFocus(url) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((c) => c.url === url);
  if (open) return open.focus();
  return self.clients.openWindow(url);
}
