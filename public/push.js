// The alerts page's push opt-in form: the preferences in the form, the work in /client/push.js (the same module a
// news site uses on its own origin).
import { ALL_TOPICS } from '/client/newspush.js';
import { disablePush, enablePush, pushSupported, savedPush as saved, updatePush } from '/client/push.js';

const $ = (id) => document.getElementById(id);

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

export function setupPush(getTopics) {
  const form = $('push-form');
  const on = $('push-on');
  const off = $('push-off');
  const supported = pushSupported();

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
    const topics = getTopics();
    if (topics.includes(ALL_TOPICS)) return say('Alerts when the page is closed are for the topics you choose: pick one or more above.', true);
    if (topics.length === 0) return say('Follow at least one topic first.', true);
    const had = saved()?.id;
    try {
      await enablePush({ server: location.origin, ...preferences(topics) });
    } catch (err) {
      return say(err.name === 'PushError' ? err.message : `Could not turn on alerts: ${err.message}`, true);
    }
    refresh();
    // The same subscription changed, or a new one (the first, or the old one was gone from the server).
    say(had && saved()?.id === had ? 'Alert preferences saved.' : 'You will get alerts for these topics even when this page is closed.');
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    subscribe().catch((err) => say(`Could not turn on alerts: ${err.message}`, true));
  });

  off.addEventListener('click', async () => {
    await disablePush({ server: location.origin });
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
      if (topics.length === 0 || topics.includes(ALL_TOPICS)) return;
      updatePush({ topics }, { server: location.origin }).catch(() => refresh());
    },
  };
}
