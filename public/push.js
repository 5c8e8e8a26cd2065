// Push opt-in: registers the service worker, subscribes with the server's VAPID key, and registers the
// subscription with the reader's preferences. The id and token are kept so the reader can change or remove them.
const SUB_KEY = 'newspush.push';
const $ = (id) => document.getElementById(id);

function saved() {
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

function preferences(topics) {
  const form = $('push-form');
  const languages = form.languages.value.split(',').map((l) => l.trim()).filter(Boolean);
  const start = form.quietStart.value;
  const end = form.quietEnd.value;
  return {
    topics,
    maxUrgency: Number(form.maxUrgency.value),
    languages: languages.length ? languages : null,
    quietHours: start && end ? { start, end, timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone } : null,
  };
}

function say(text, isError = false) {
  const status = $('push-status');
  status.textContent = text;
  status.classList.toggle('error', isError);
}

function explain(error) {
  const details = error?.details?.map((d) => `${d.field}: ${d.message}`).join('; ');
  return details ? `${error.message} (${details})` : error?.message ?? 'The server refused the subscription.';
}

export function setupPush(getTopics) {
  const form = $('push-form');
  const on = $('push-on');
  const off = $('push-off');
  const supported = 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;

  const refresh = () => {
    const s = saved();
    off.hidden = !s;
    on.textContent = s ? 'Save alert preferences' : 'Get alerts when this page is closed';
    if (s?.preferences) {
      form.maxUrgency.value = String(s.preferences.maxUrgency);
      form.languages.value = (s.preferences.languages ?? []).join(', ');
      form.quietStart.value = s.preferences.quietHours?.start ?? '';
      form.quietEnd.value = s.preferences.quietHours?.end ?? '';
    }
  };

  async function subscribe() {
    if (!supported) return say('This browser cannot receive alerts while the page is closed.', true);
    const topics = getTopics();
    if (topics.length === 0) return say('Follow at least one topic first.', true);
    const permission = await Notification.requestPermission();
    if (permission !== 'granted') return say('Notifications are blocked for this site. Allow them in the browser settings to get alerts.', true);
    const s = saved();
    const prefs = preferences(topics);
    if (s) {
      const r = await fetch(`/api/v1/push/subscriptions/${s.id}`, { method: 'PATCH', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${s.token}` }, body: JSON.stringify(prefs) });
      if (r.ok) {
        localStorage.setItem(SUB_KEY, JSON.stringify({ ...s, preferences: await r.json() }));
        return say('Alert preferences saved.');
      }
      if (r.status !== 404) return say(explain((await r.json()).error), true);
      localStorage.removeItem(SUB_KEY); // removed on the server (e.g. expired): subscribe again
    }
    const registration = await navigator.serviceWorker.register('/sw.js');
    await navigator.serviceWorker.ready;
    const { publicKey } = await fetch('/api/v1/push/key').then((r) => r.json());
    const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(publicKey) });
    const r = await fetch('/api/v1/push/subscriptions', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ subscription, ...prefs }) });
    const body = await r.json();
    if (!r.ok) return say(explain(body.error), true);
    const { id, token, ...stored } = body;
    localStorage.setItem(SUB_KEY, JSON.stringify({ id, token, preferences: stored }));
    refresh();
    say('You will get alerts for these topics even when this page is closed.');
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    subscribe().catch((err) => say(`Could not turn on alerts: ${err.message}`, true));
  });

  off.addEventListener('click', async () => {
    const s = saved();
    if (s) await fetch(`/api/v1/push/subscriptions/${s.id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${s.token}` } }).catch(() => undefined);
    const registration = await navigator.serviceWorker?.getRegistration();
    await (await registration?.pushManager.getSubscription())?.unsubscribe().catch(() => undefined);
    localStorage.removeItem(SUB_KEY);
    refresh();
    say('Alerts are off.');
  });

  if (!supported) {
    on.disabled = true;
    say('This browser cannot receive alerts while the page is closed.');
  }
  refresh();

  return {
    /** Keeps the push subscription's topics in step with the page's. */
    topicsChanged(topics) {
      const s = saved();
      if (!s || topics.length === 0) return;
      void fetch(`/api/v1/push/subscriptions/${s.id}`, { method: 'PATCH', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${s.token}` }, body: JSON.stringify({ topics }) });
    },
  };
}
