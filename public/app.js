// The alerts page: pick topics, see alerts arrive live, updated in place and withdrawn, and opt in to Web Push.
// Article HTML is rendered only after DOMPurify; every other field is set as text.
import DOMPurify from '/vendor/purify.js';
import { LiveNews, compareIds } from '/news-client.js';
import { setupPush } from '/push.js';

const TOPICS_KEY = 'newspush.topics';
const $ = (id) => document.getElementById(id);
const feed = $('feed');
/** articleId -> the newest version shown */
const shown = new Map();

const URGENCY = { 1: 'Flash', 2: 'Breaking', 3: 'Urgent' };
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

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
    el('time', { datetime: a.publishedAt, text: timeFmt.format(new Date(a.publishedAt)) }),
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
    const caption = [a.image.caption, a.image.credit && `Photo: ${a.image.credit}`].filter(Boolean).join(' ');
    node.append(el('figure', {}, el('img', { src: img, alt: a.image.caption ?? '', loading: 'lazy' }), caption ? el('figcaption', { text: caption }) : null));
  }
  if (a.body) {
    const body = el('div', { class: 'body' });
    body.innerHTML = DOMPurify.sanitize(a.body, { FORBID_TAGS: ['style', 'form', 'input'], FORBID_ATTR: ['style'] });
    node.append(el('details', {}, el('summary', { text: 'Read more' }), body));
  }
  return node;
}

/** Shows a version: new alerts on top, newer versions in place, older ones ignored. */
function show(a) {
  const current = shown.get(a.id);
  if (current && current.version > a.version) return;
  if (current && current.version === a.version && current.status === a.status) return;
  shown.set(a.id, a);
  const node = render(a);
  const existing = feed.querySelector(`article[data-id="${CSS.escape(a.id)}"]`);
  if (existing) existing.replaceWith(node);
  else feed.prepend(node);
  if (a.supersedes) feed.querySelector(`article[data-id="${CSS.escape(a.supersedes)}"]`)?.remove();
  $('empty').hidden = shown.size > 0;
}

function chosenTopics() {
  const fromUrl = new URLSearchParams(location.search).get('topics');
  if (fromUrl) return fromUrl.split(',').map((t) => t.trim()).filter(Boolean);
  try {
    return JSON.parse(localStorage.getItem(TOPICS_KEY) ?? '[]');
  } catch {
    return [];
  }
}

let topics = chosenTopics();

/** Loads the current articles of the followed topics (first visit, resync). */
async function reload() {
  feed.setAttribute('aria-busy', 'true');
  const lists = await Promise.all(topics.map((t) => fetch(`/api/v1/articles?topic=${encodeURIComponent(t)}&limit=20`).then((r) => (r.ok ? r.json() : { articles: [] }))));
  feed.replaceChildren();
  shown.clear();
  const all = new Map();
  for (const { articles } of lists) for (const a of articles) all.set(a.id, a);
  [...all.values()].sort((a, b) => (a.updatedAt < b.updatedAt ? -1 : 1)).forEach(show);
  $('empty').hidden = shown.size > 0;
  feed.setAttribute('aria-busy', 'false');
}

const STATE_TEXT = { idle: 'Pick a topic to follow', connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' };
const live = new LiveNews({
  topics,
  onEvent: (e) => show(e.article),
  onResync: () => void reload(),
  onState: (s) => {
    const status = $('connection');
    status.dataset.state = s;
    status.textContent = STATE_TEXT[s] ?? s;
  },
});

function renderTopicChoices(offered) {
  const list = $('topic-list');
  const names = [...new Set([...offered, ...topics])].sort();
  list.replaceChildren(...names.map((t) => {
    const id = `topic-${t.replace(/[^a-z0-9]/g, '-')}`;
    const box = el('input', { type: 'checkbox', id, value: t, checked: topics.includes(t) ? 'checked' : false });
    box.addEventListener('change', () => setTopics(box.checked ? [...topics, t] : topics.filter((x) => x !== t)));
    return el('div', { class: 'topic-choice' }, box, el('label', { for: id, text: t }));
  }));
}

let offered = [];
async function setTopics(next) {
  topics = [...new Set(next)];
  localStorage.setItem(TOPICS_KEY, JSON.stringify(topics));
  renderTopicChoices(offered);
  await reload();
  live.setTopics(topics);
  push.topicsChanged(topics);
}

$('topic-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = $('topic-input');
  const t = input.value.trim().toLowerCase();
  if (!input.checkValidity() || !t) return;
  input.value = '';
  void setTopics([...topics, t]);
});

const push = setupPush(() => topics);

async function main() {
  const r = await fetch('/api/v1/topics').then((x) => x.json()).catch(() => ({ topics: [] }));
  offered = r.topics.map((t) => t.topic);
  if (topics.length === 0) topics = offered.filter((t) => !t.includes('/')).slice(0, 8);
  renderTopicChoices(offered);
  await reload();
  // A returning page replays from its cursor. A page opened for the first time starts from the newest event of its
  // topics, or (none yet) from a cursor made of the current time: replaying a little too much is harmless (versions
  // already shown are skipped), and a cursor the server does not know yet is answered with resync, i.e. a reload.
  if (!live.cursor && topics.length > 0) {
    const latest = await fetch(`/api/v1/events?topics=${topics.map(encodeURIComponent).join(',')}&limit=1`).then((x) => x.json()).catch(() => ({ events: [] }));
    live.cursor = latest.events[0]?.id ?? `${Date.now() - 5_000}-0`;
  }
  live.setTopics(topics);
}

navigator.serviceWorker?.addEventListener('message', (ev) => {
  // The service worker hands us pushes that arrive while this page is visible (it shows no notification then).
  if (ev.data?.type === 'push' && ev.data.payload?.articleId && !shown.has(ev.data.payload.articleId)) void reload();
});

window.newspush = { live, compareIds };
void main();
