// The alerts page: pick topics, see alerts arrive live, updated in place and withdrawn, and opt in to Web Push.
// Each alert is rendered by alert-card.js (article HTML only after DOMPurify; every other field as text).
import { el, renderAlert } from '/alert-card.js';
import { ALL_TOPICS, cleanLanguages, fallbackOf, NewsPush, storyOf } from '/client/newspush.js';
import { setupPush } from '/push.js';

const TOPICS_KEY = 'newspush.topics';
const LANGUAGES_KEY = 'newspush.languages';
const $ = (id) => document.getElementById(id);
const feed = $('feed');
/** storyId -> the version shown: one card per story, in the reader's best language (the server decides which). */
const shown = new Map();

/** Whether `a` is older than, or the same as, what is shown (a withdrawal outranks the same version). */
function isStale(current, a) {
  if (!current) return false;
  // Another language of the story: the server sends the reader a version only when it is now their best one,
  // and withdrawals only of the version they have.
  if (current.id !== a.id) return false;
  if (a.version !== current.version) return a.version < current.version;
  return current.status === 'retracted' || current.status === a.status;
}

/** Callbacks waiting for an article to be shown (the service worker asks whether this page shows an alert). */
const waiters = new Set();

/** Shows a version: new alerts on top, newer versions in place, older ones ignored. */
function show(a) {
  const story = storyOf(a);
  if (isStale(shown.get(story), a)) return;
  shown.set(story, a);
  const node = renderAlert(a, { topicName });
  const existing = feed.querySelector(`article[data-story="${CSS.escape(story)}"]`);
  if (existing) existing.replaceWith(node);
  else feed.prepend(node);
  if (a.supersedes) feed.querySelector(`article[data-story="${CSS.escape(a.supersedes)}"]`)?.remove();
  $('empty').hidden = shown.size > 0;
  for (const w of waiters) w();
}

/** Display names of topics (from TOPICS on the server); a topic without one shows as itself. */
const names = new Map();
const topicName = (t) => (t === ALL_TOPICS ? 'Every topic' : names.get(t) ?? t);

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
      fetch(`${t === ALL_TOPICS ? '/api/v1/articles?limit=20' : `/api/v1/articles?topic=${encodeURIComponent(t)}&limit=20`}${languages.length ? `&languages=${encodeURIComponent(languages.join(','))}` : ''}`)
        .then((r) => (r.ok ? r.json() : { articles: [] }))
        .catch(() => ({ articles: [] })),
    ),
  );
  if (gen !== reloads) return; // a newer reload has started: its answer wins
  const keep = [...touched].map((story) => shown.get(story)).filter(Boolean);
  feed.replaceChildren();
  shown.clear();
  const all = new Map();
  for (const { articles } of lists) for (const a of articles) all.set(storyOf(a), a);
  [...all.values()].sort((a, b) => (a.publishedAt < b.publishedAt ? -1 : 1)).forEach(show);
  keep.forEach(show);
  $('empty').hidden = shown.size > 0;
  feed.setAttribute('aria-busy', 'false');
}

const STATE_TEXT = { idle: 'Pick a topic to follow', connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' };
/** The reader's languages in order of preference: as chosen on this page, else the browser's. */
function chosenLanguages() {
  try {
    const saved = JSON.parse(localStorage.getItem(LANGUAGES_KEY) ?? 'null');
    if (Array.isArray(saved)) return cleanLanguages(saved);
  } catch {
    // fall through to the browser's
  }
  return browserLanguages();
}
const browserLanguages = () => cleanLanguages(navigator.languages?.length ? navigator.languages : [navigator.language]);
let languages = chosenLanguages();

const live = new NewsPush({ server: location.origin, topics, languages });
live.on('news', (e) => {
  touched.add(storyOf(e.article));
  show(e.article);
  // A withdrawn translation: the reader falls back to the next language they accept that the story still has.
  const next = fallbackOf(e, languages);
  if (next) {
    void fetch(`/api/v1/articles/${encodeURIComponent(next)}`).then((r) => (r.ok ? r.json() : null)).then((r) => {
      if (r?.article?.status === 'published' && shown.get(storyOf(r.article))?.id === e.article.id) show(r.article);
    }).catch(() => undefined);
  }
});
live.on('resync', () => void reload());
live.on('state', (s) => {
  const status = $('connection');
  status.dataset.state = s;
  status.textContent = STATE_TEXT[s] ?? s;
});

/** Says what the page follows ("Following every topic", or the topics' names). */
function describeFollowing() {
  const every = topics.includes(ALL_TOPICS);
  $('following').textContent = every
    ? 'Following every topic: the latest articles, whatever their topic.'
    : topics.length ? `Following ${topics.map(topicName).join(', ')}.` : 'Not following any topic yet.';
  $('empty').textContent = every ? 'No alerts yet.' : 'No alerts yet for these topics.';
}

function renderTopicChoices(offered) {
  const list = $('topic-list');
  const choices = [ALL_TOPICS, ...new Set([...offered, ...topics.filter((t) => t !== ALL_TOPICS)])];
  list.replaceChildren(...choices.map((t) => {
    const id = t === ALL_TOPICS ? 'topic-all' : `topic-${t.replace(/[^a-z0-9]/g, '-')}`;
    const box = el('input', { type: 'checkbox', id, value: t, checked: topics.includes(t) ? 'checked' : false });
    box.addEventListener('change', () => {
      // Every topic and particular topics exclude each other.
      if (t === ALL_TOPICS) return void setTopics(box.checked ? [ALL_TOPICS] : []);
      const others = topics.filter((x) => x !== ALL_TOPICS);
      void setTopics(box.checked ? [...others, t] : others.filter((x) => x !== t));
    });
    return el('div', { class: 'topic-choice' }, box, el('label', { for: id, text: topicName(t) }));
  }));
  describeFollowing();
}

let offered = [];
async function setTopics(next) {
  topics = [...new Set(next)];
  localStorage.setItem(TOPICS_KEY, JSON.stringify(topics));
  // A page opened from a shared link keeps its link in step, so reloading it keeps the new choice.
  if (new URLSearchParams(location.search).has('topics')) history.replaceState(null, '', `?topics=${topics.join(',')}${location.hash}`);
  renderTopicChoices(offered);
  push.topicsChanged(topics);
  await live.follow(topics, { beforeConnect: reload });
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
  void setTopics([...topics.filter((x) => x !== ALL_TOPICS), t]);
});

const push = setupPush(() => topics);

/**
 * The topics a page with no choice follows: with TOPICS on the server, those it offers (the broadest of them: a
 * topic covers its subtopics); without, every topic.
 */
function defaultTopics(siteTopics) {
  const broadest = siteTopics.filter((t) => !siteTopics.some((o) => t.startsWith(`${o}/`)));
  return broadest.length ? broadest : [ALL_TOPICS];
}

/** The language picker: tags in order of preference, the browser's by default. */
function setupLanguages() {
  const input = $('languages-input');
  input.value = languages.join(', ');
  $('languages-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const typed = input.value.split(',').map((l) => l.trim()).filter(Boolean);
    languages = typed.length ? cleanLanguages(typed) : browserLanguages();
    if (typed.length) localStorage.setItem(LANGUAGES_KEY, JSON.stringify(languages));
    else localStorage.removeItem(LANGUAGES_KEY);
    input.value = languages.join(', ');
    $('languages-status').textContent = `Alerts in ${languages.join(', ')} first.`;
    void reload().then(() => live.setLanguages(languages));
  });
}

async function main() {
  setupLanguages();
  const r = await fetch('/api/v1/topics').then((x) => x.json()).catch(() => ({ topics: [] }));
  for (const t of r.topics) if (t.name && t.name !== t.topic) names.set(t.topic, t.name);
  const siteTopics = r.topics.filter((t) => t.offered).map((t) => t.topic);
  // The choices: what the site offers (TOPICS), else the topics articles were published under.
  offered = siteTopics.length ? siteTopics : r.topics.map((t) => t.topic);
  if (topics.length === 0) topics = defaultTopics(siteTopics);
  renderTopicChoices(offered);
  await live.follow(topics, { beforeConnect: reload });
}

/** Whether this page shows the alert a push carries (waiting a little: the live event may come after the push). */
function pageShows(p, ms) {
  const covered = () => {
    const a = shown.get(p.storyId ?? p.articleId);
    if (!a || a.id !== p.articleId || a.version < p.version) return false;
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

void main();
