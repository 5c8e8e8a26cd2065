// The alerts page: pick topics, see alerts arrive live, updated in place and withdrawn, and opt in to Web Push.
// Article HTML is rendered only after DOMPurify; every other field is set as text.
import DOMPurify from '/vendor/purify.js';
import { LiveNews, compareIds, storedCursor } from '/news-client.js';
import { setupPush } from '/push.js';

const TOPICS_KEY = 'newspush.topics';
const $ = (id) => document.getElementById(id);
const feed = $('feed');
/** articleId -> the newest version shown */
const shown = new Map();

const URGENCY = { 1: 'Flash', 2: 'Breaking', 3: 'Urgent' };
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const dateFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
/** "15:04" today, "8 Feb, 15:04" on other days. */
function when(iso) {
  const d = new Date(iso);
  return d.toDateString() === new Date().toDateString() ? timeFmt.format(d) : `${dateFmt.format(d)}, ${timeFmt.format(d)}`;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') node.textContent = v;
    else if (k === 'class') node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

function safeUrl(u) {
  try {
    const url = new URL(u);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

/** One alert as an <article>: heading, time, topics, summary, picture with caption and credit, body. */
function render(a) {
  const retracted = a.status === 'retracted';
  const urgency = URGENCY[a.urgency];
  const node = el('article', { class: `alert urgency-${a.urgency}${retracted ? ' withdrawn' : ''}`, 'data-id': a.id, 'data-version': String(a.version), 'aria-labelledby': `h-${a.id}` });
  const meta = el('p', { class: 'meta' },
    urgency && !retracted ? el('span', { class: 'badge', text: urgency }) : null,
    el('time', { datetime: a.publishedAt, text: when(a.publishedAt) }),
    ...a.topics.map((t) => el('span', { class: 'topic', text: t })),
  );
  const link = safeUrl(a.url);
  const heading = el('h3', { id: `h-${a.id}` }, link && !retracted ? el('a', { href: link, text: a.headline }) : document.createTextNode(a.headline));
  node.append(meta, heading);
  if (retracted) {
    node.append(el('p', { class: 'withdrawn-note', text: `Withdrawn${a.retraction?.reason ? `: ${a.retraction.reason}` : ''}` }));
    return node;
  }
  if (a.version > 1) {
    const note = `Updated ${timeFmt.format(new Date(a.updatedAt))}${a.changeNote ? ` — ${a.changeNote}` : ''}`;
    node.append(el('p', { class: 'updated', text: note }));
  }
  if (a.summary) node.append(el('p', { class: 'summary', text: a.summary }));
  const img = a.image && safeUrl(a.image.url);
  if (img) {
    const { caption, credit } = a.image;
    const figcaption = caption || credit
      ? el('figcaption', {}, caption ? el('span', { class: 'caption', text: caption }) : null, caption && credit ? ' ' : null, credit ? el('span', { class: 'credit', text: `Photo: ${credit}` }) : null)
      : null;
    // The caption (read with the figure) describes the picture; the alt text stays empty rather than repeating it.
    node.append(el('figure', {}, el('img', { src: img, alt: '', loading: 'lazy' }), figcaption));
  }
  if (a.body) {
    const body = el('div', { class: 'body' });
    body.innerHTML = DOMPurify.sanitize(a.body, { FORBID_TAGS: ['style', 'form', 'input'], FORBID_ATTR: ['style'] });
    node.append(el('details', {}, el('summary', { text: 'Read more' }), body));
  }
  return node;
}

/** Whether `a` is older than, or the same as, what is shown (a withdrawal outranks the same version). */
function isStale(current, a) {
  if (!current) return false;
  if (a.version !== current.version) return a.version < current.version;
  return current.status === 'retracted' || current.status === a.status;
}

/** Callbacks waiting for an article to be shown (the service worker asks whether this page shows an alert). */
const waiters = new Set();

/** Shows a version: new alerts on top, newer versions in place, older ones ignored. */
function show(a) {
  if (isStale(shown.get(a.id), a)) return;
  shown.set(a.id, a);
  const node = render(a);
  const existing = feed.querySelector(`article[data-id="${CSS.escape(a.id)}"]`);
  if (existing) existing.replaceWith(node);
  else feed.prepend(node);
  if (a.supersedes) feed.querySelector(`article[data-id="${CSS.escape(a.supersedes)}"]`)?.remove();
  $('empty').hidden = shown.size > 0;
  for (const w of waiters) w();
}

function chosenTopics() {
  const fromUrl = new URLSearchParams(location.search).get('topics');
  if (fromUrl) return fromUrl.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);
  try {
    const saved = JSON.parse(localStorage.getItem(TOPICS_KEY) ?? '[]');
    return Array.isArray(saved) ? saved.filter((t) => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

let topics = chosenTopics();
let reloads = 0;
/** Articles shown from live events since the current reload began: a list fetched earlier must not hide them. */
const touched = new Set();

/** Loads the current articles of the followed topics (first visit, other topics, resync). */
async function reload() {
  const gen = ++reloads;
  touched.clear();
  feed.setAttribute('aria-busy', 'true');
  const lists = await Promise.all(
    topics.map((t) =>
      fetch(`/api/v1/articles?topic=${encodeURIComponent(t)}&limit=20`)
        .then((r) => (r.ok ? r.json() : { articles: [] }))
        .catch(() => ({ articles: [] })),
    ),
  );
  if (gen !== reloads) return; // a newer reload has started: its answer wins
  const keep = [...touched].map((id) => shown.get(id)).filter(Boolean);
  feed.replaceChildren();
  shown.clear();
  const all = new Map();
  for (const { articles } of lists) for (const a of articles) all.set(a.id, a);
  [...all.values()].sort((a, b) => (a.publishedAt < b.publishedAt ? -1 : 1)).forEach(show);
  keep.forEach(show);
  $('empty').hidden = shown.size > 0;
  feed.setAttribute('aria-busy', 'false');
}

const STATE_TEXT = { idle: 'Pick a topic to follow', connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' };
const live = new LiveNews({
  onEvent: (e) => {
    touched.add(e.article.id);
    show(e.article);
  },
  onResync: () => void reload(),
  onState: (s) => {
    const status = $('connection');
    status.dataset.state = s;
    status.textContent = STATE_TEXT[s] ?? s;
  },
});

/**
 * Where a page that has processed nothing yet starts: the cursor saved for these topics on an earlier visit, else
 * the newest event of these topics. Taken before the list is loaded, so nothing published in between is lost
 * (what is replayed twice is skipped by version). With no event for these topics at all, a guess from the clock
 * is only sent in the handshake: the server answers a cursor it cannot place with resync (a reload).
 */
async function startingPoint() {
  const saved = storedCursor(topics);
  if (saved) return { since: saved, real: true };
  const latest = await fetch(`/api/v1/events?topics=${topics.map(encodeURIComponent).join(',')}&limit=1`)
    .then((r) => (r.ok ? r.json() : { events: [] }))
    .catch(() => ({ events: [] }));
  const id = latest.events.at(-1)?.id;
  return id ? { since: id, real: true } : { since: `${Date.now()}-0`, real: false };
}

function renderTopicChoices(offered) {
  const list = $('topic-list');
  const names = [...new Set([...offered, ...topics])].sort();
  list.replaceChildren(...names.map((t) => {
    const id = `topic-${t.replace(/[^a-z0-9]/g, '-')}`;
    const box = el('input', { type: 'checkbox', id, value: t, checked: topics.includes(t) ? 'checked' : false });
    box.addEventListener('change', () => void setTopics(box.checked ? [...topics, t] : topics.filter((x) => x !== t)));
    return el('div', { class: 'topic-choice' }, box, el('label', { for: id, text: t }));
  }));
}

let offered = [];
async function setTopics(next) {
  topics = [...new Set(next)];
  localStorage.setItem(TOPICS_KEY, JSON.stringify(topics));
  // A page opened from a shared link keeps its link in step, so reloading it keeps the new choice.
  if (new URLSearchParams(location.search).has('topics')) history.replaceState(null, '', `?topics=${topics.join(',')}${location.hash}`);
  renderTopicChoices(offered);
  push.topicsChanged(topics);
  const start = live.lastId ? null : await startingPoint();
  await reload();
  live.follow(topics, start?.since, { real: start?.real });
}

$('topic-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = $('topic-input');
  const t = input.value.trim().toLowerCase().replace(/^\/+|\/+$/g, '');
  input.value = t;
  if (!t || !input.checkValidity()) {
    input.reportValidity();
    return;
  }
  input.value = '';
  void setTopics([...topics, t]);
});

const push = setupPush(() => topics);

async function main() {
  const r = await fetch('/api/v1/topics').then((x) => x.json()).catch(() => ({ topics: [] }));
  offered = r.topics.map((t) => t.topic);
  if (topics.length === 0) topics = offered.filter((t) => !t.includes('/')).slice(0, 8);
  renderTopicChoices(offered);
  if (topics.length === 0) {
    await reload();
    live.follow(topics);
    return;
  }
  const start = await startingPoint();
  await reload();
  live.follow(topics, start.since, { real: start.real });
}

/** Whether this page shows the alert a push carries (waiting a little: the live event may come after the push). */
function pageShows(p, ms) {
  const covered = () => {
    const a = shown.get(p.articleId);
    if (!a || a.version < p.version) return false;
    return p.type !== 'article.retracted' || a.status === 'retracted';
  };
  if (covered()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (v) => {
      waiters.delete(check);
      clearTimeout(timer);
      resolve(v);
    };
    const check = () => covered() && done(true);
    const timer = setTimeout(() => done(false), ms);
    waiters.add(check);
  });
}

navigator.serviceWorker?.addEventListener('message', (ev) => {
  // The service worker asks, for a push that arrives while this page is visible, whether the page shows that
  // alert; if not (other topics, not connected), it shows the notification after all.
  const p = ev.data?.payload;
  if (ev.data?.type !== 'push' || typeof p?.articleId !== 'string') return;
  void pageShows(p, 2_000).then((yes) => ev.ports[0]?.postMessage({ shown: yes }));
});

window.newspush = { live, compareIds };
void main();
