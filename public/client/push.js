// Web Push opt-in against a newspush server, run on the page's own origin (the news site's, or the server's own
// alerts page). The site serves a service worker at `worker` (default /sw.js) that is one line:
//
//   importScripts('https://push.example.com/sw.js');
//
// and calls, from a click:
//
//   import { enablePush } from 'https://push.example.com/client/push.js';
//   await enablePush({ topics: ['world'], maxUrgency: 2 });
//
// The subscription's id and token are kept in localStorage, so the same site can change the preferences or turn
// alerts off. Every call goes to the server's API (CORS_ORIGINS must list the site).
const HOME = new URL('../', import.meta.url).href;
const SUB_KEY = 'newspush.push';

/** Why Web Push did not go ahead: `code` is 'unsupported', 'denied', 'refused' (the server said no) or 'gone'. */
export class PushError extends Error {
  constructor(code, message, details) {
    super(message);
    this.name = 'PushError';
    this.code = code;
    this.details = details;
  }
}

export function pushSupported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

/** The subscription this browser registered with the server ({ id, token, preferences }), or null. */
export function savedPush() {
  try {
    return JSON.parse(localStorage.getItem(SUB_KEY) ?? 'null');
  } catch {
    return null;
  }
}

function base64UrlToBytes(s) {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

async function refused(r) {
  const error = (await r.json().catch(() => null))?.error;
  const details = error?.details?.map((d) => `${d.field}: ${d.message}`).join('; ');
  const message = error?.message ?? `The server answered ${r.status}.`;
  return new PushError('refused', details ? `${message} (${details})` : message, error?.details);
}

const api = (server, path) => new URL(path, server.endsWith('/') ? server : `${server}/`);

/**
 * Turns alerts on, or changes the preferences of the subscription made earlier. `preferences`: topics (required),
 * maxUrgency, languages, quietHours, as the server's API takes them. Resolves to the stored preferences.
 */
export async function enablePush({ server = HOME, worker = '/sw.js', ...preferences }) {
  if (!pushSupported()) throw new PushError('unsupported', 'This browser cannot receive alerts while the page is closed.');
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') throw new PushError('denied', 'Notifications are blocked for this site. Allow them in the browser settings to get alerts.');
  const saved = savedPush();
  if (saved) {
    const r = await fetch(api(server, `api/v1/push/subscriptions/${encodeURIComponent(saved.id)}`), {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${saved.token}` },
      body: JSON.stringify(preferences),
    });
    if (r.ok) {
      const stored = await r.json();
      localStorage.setItem(SUB_KEY, JSON.stringify({ ...saved, preferences: stored }));
      return stored;
    }
    if (r.status !== 404) throw await refused(r);
    localStorage.removeItem(SUB_KEY); // removed on the server (e.g. expired): subscribe again
  }
  const registration = await navigator.serviceWorker.register(worker);
  await navigator.serviceWorker.ready;
  const key = await fetch(api(server, 'api/v1/push/key'));
  if (!key.ok) throw await refused(key);
  const { publicKey } = await key.json();
  const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(publicKey) });
  const r = await fetch(api(server, 'api/v1/push/subscriptions'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ subscription, ...preferences }),
  });
  if (!r.ok) throw await refused(r);
  const { id, token, ...stored } = await r.json();
  localStorage.setItem(SUB_KEY, JSON.stringify({ id, token, preferences: stored }));
  return stored;
}

/** Changes some preferences (e.g. the topics) of the subscription made earlier; nothing when there is none. */
export async function updatePush(changes, { server = HOME } = {}) {
  const saved = savedPush();
  if (!saved) return null;
  const r = await fetch(api(server, `api/v1/push/subscriptions/${encodeURIComponent(saved.id)}`), {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${saved.token}` },
    body: JSON.stringify(changes),
  });
  if (r.status === 404) {
    localStorage.removeItem(SUB_KEY);
    throw new PushError('gone', 'These alerts were turned off on the server.');
  }
  if (!r.ok) throw await refused(r);
  const stored = await r.json();
  localStorage.setItem(SUB_KEY, JSON.stringify({ ...saved, preferences: stored }));
  return stored;
}

/** Turns alerts off: removes the subscription from the server and from the browser. */
export async function disablePush({ server = HOME, worker = '/sw.js' } = {}) {
  const saved = savedPush();
  if (saved) {
    await fetch(api(server, `api/v1/push/subscriptions/${encodeURIComponent(saved.id)}`), {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${saved.token}` },
    }).catch(() => undefined);
  }
  const registration = await navigator.serviceWorker?.getRegistration(worker);
  await (await registration?.pushManager.getSubscription())?.unsubscribe().catch(() => undefined);
  localStorage.removeItem(SUB_KEY);
}
