// A breaking-news strip for any page, on any origin:
//
//   <script type="module" src="https://push.example.com/client/banner.js" data-topics="world,business"></script>
//
// data-topics: what to follow (comma-separated; default every topic); data-max-urgency: the least urgent alert
// shown (default 2: flash and breaking); data-position: top (default) or bottom; data-languages: in order of
// preference, one alert per story in the best of them (default: the page's lang, then the browser's). Or from a module:
// `createBanner({ topics, maxUrgency, position, server })`.
//
// The strip lives in a shadow root (its styles do not reach the page, the page's do not reach it), is an
// aria-live region, is laid out in the alert's language and direction, and is dismissed with its button or Escape.
// It follows its topics with the newspush client, so an alert that went out while the page was closed is shown
// when the reader comes back.
import { ALL_TOPICS, cleanLanguages, NewsPush, setDirection, storyOf } from './newspush.js';

const LABELS = {
  en: { 1: 'Flash', 2: 'Breaking', 3: 'Urgent', news: 'News', region: 'Breaking news', dismiss: 'Dismiss' },
  ar: { 1: 'عاجل جدًا', 2: 'عاجل', 3: 'مهم', news: 'خبر', region: 'أخبار عاجلة', dismiss: 'إغلاق' },
  he: { 1: 'מבזק', 2: 'חדשות מתפרצות', 3: 'דחוף', news: 'חדשות', region: 'חדשות מתפרצות', dismiss: 'סגירה' },
  fa: { 1: 'فوری', 2: 'خبر فوری', 3: 'مهم', news: 'خبر', region: 'خبر فوری', dismiss: 'بستن' },
  ur: { 1: 'فوری', 2: 'بریکنگ نیوز', 3: 'اہم', news: 'خبر', region: 'بریکنگ نیوز', dismiss: 'بند کریں' },
  fr: { 1: 'Flash', 2: 'Dernière minute', 3: 'Urgent', news: 'Info', region: 'Dernières nouvelles', dismiss: 'Fermer' },
  es: { 1: 'Última hora', 2: 'Urgente', 3: 'Importante', news: 'Noticia', region: 'Última hora', dismiss: 'Cerrar' },
  de: { 1: 'Eilmeldung', 2: 'Eilmeldung', 3: 'Wichtig', news: 'Meldung', region: 'Eilmeldungen', dismiss: 'Schließen' },
};
const labelsFor = (language) => LABELS[String(language ?? '').split('-')[0].toLowerCase()] ?? LABELS.en;

const CSS = `
:host { all: initial !important; display: block !important; position: fixed !important; inset-inline: 0 !important;
  z-index: 2147483000 !important; font: 16px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans Arabic", sans-serif !important; }
:host([data-position="top"]) { top: 0 !important; }
:host([data-position="bottom"]) { bottom: 0 !important; }
* { box-sizing: border-box; }
.strip { display: flex; align-items: center; gap: 0.75rem; padding: 0.6rem 1rem; color: #fff; background: #a3001a;
  box-shadow: 0 2px 10px rgb(0 0 0 / 0.25); }
.strip.urgency-2, .strip.urgency-3 { background: #1f2937; border-inline-start: 6px solid #e8590c; }
.label { flex: none; font-weight: 800; text-transform: uppercase; letter-spacing: 0.06em; font-size: 0.8rem;
  padding: 0.15rem 0.5rem; border-radius: 0.2rem; background: #fff; color: #a3001a; }
.strip.urgency-2 .label, .strip.urgency-3 .label { background: #e8590c; color: #fff; }
.strip:lang(ar) .label, .strip:lang(fa) .label, .strip:lang(ur) .label, .strip:lang(he) .label { text-transform: none; letter-spacing: 0; font-size: 0.9rem; }
.headline { flex: 1; min-width: 0; font-weight: 700; color: inherit; text-decoration: none; overflow-wrap: anywhere; }
a.headline:hover { text-decoration: underline; }
time { flex: none; font-size: 0.85rem; opacity: 0.85; }
button { flex: none; font: inherit; font-size: 1.3rem; line-height: 1; width: 2.25rem; height: 2.25rem; border: 0;
  border-radius: 50%; background: transparent; color: inherit; cursor: pointer; }
button:hover { background: rgb(255 255 255 / 0.15); }
:focus-visible { outline: 3px solid #ffd43b; outline-offset: 2px; }
@media (max-width: 32rem) { .strip { flex-wrap: wrap; gap: 0.4rem 0.6rem; padding: 0.5rem 0.75rem; } time { order: 2; } button { order: 3; margin-inline-start: auto; } .headline { flex-basis: 100%; order: 4; } }
@media (prefers-reduced-motion: no-preference) { .strip { animation: in 0.25s ease-out; } @keyframes in { from { transform: translateY(-100%); } } }
`;

function safeUrl(u) {
  try {
    const url = new URL(u);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined && v !== null) node.setAttribute(k, v);
  node.append(...children.filter(Boolean));
  return node;
}

/**
 * Mounts a banner on this page and starts following. Returns `{ client, element, close }`.
 * @param {{ topics?: string[], maxUrgency?: number, position?: 'top' | 'bottom', server?: string, transports?: string[], languages?: string[] }} [o]
 *   languages: in order of preference, each story in the best of them (default: the page's language, then the browser's)
 */
export function createBanner({ topics = [ALL_TOPICS], maxUrgency = 2, position = 'top', server, transports, languages = [document.documentElement.lang, ...(navigator.languages ?? [])] } = {}) {
  const host = document.createElement('newspush-banner');
  host.dataset.position = position === 'bottom' ? 'bottom' : 'top';
  const root = host.attachShadow({ mode: 'open' });
  if ('adoptedStyleSheets' in root) {
    // A constructed sheet, so that a site's Content-Security-Policy for inline styles does not get in the way.
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } else {
    root.append(el('style', {}, CSS));
  }
  const pageLabels = labelsFor(document.documentElement.lang);
  // The live region exists before any alert, so that screen readers announce what is put into it.
  const region = el('section', { 'aria-label': pageLabels.region });
  const live = el('div', { 'aria-live': 'polite', 'aria-atomic': 'true' });
  region.append(live);
  root.append(region);
  document.body.append(host);

  const timeFmt = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
  /** The alert on show: { id, version, status }, or null. */
  let current = null;
  const waiters = new Set();

  function dismiss() {
    const hadFocus = host.matches(':focus-within');
    live.replaceChildren();
    current = null;
    if (hadFocus) document.activeElement?.blur?.();
  }

  function show(a) {
    const labels = labelsFor(a.language);
    const strip = el('div', { class: `strip urgency-${a.urgency}`, 'data-id': a.id, 'data-version': String(a.version) });
    setDirection(strip, a.language);
    const link = safeUrl(a.url);
    const headline = link ? el('a', { class: 'headline', href: link }) : el('span', { class: 'headline' });
    headline.textContent = a.headline;
    const time = el('time', { datetime: a.publishedAt });
    time.textContent = timeFmt.format(new Date(a.publishedAt));
    const button = el('button', { type: 'button', 'aria-label': labels.dismiss, title: labels.dismiss }, '×');
    button.addEventListener('click', dismiss);
    strip.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') dismiss();
    });
    strip.append(el('span', { class: 'label' }, labels[a.urgency] ?? labels.news), headline, time, button);
    live.replaceChildren(strip);
    current = { id: a.id, story: storyOf(a), version: a.version, status: a.status };
    for (const w of waiters) w();
  }

  const client = new NewsPush({ topics, languages: cleanLanguages(languages.filter(Boolean)), ...(server ? { server } : {}), ...(transports ? { transports } : {}) });
  client.on('news', (event) => {
    const a = event.article;
    // The same story: another version, a better translation of it (the server sends those only to its readers).
    const same = current && (current.id === a.id || current.story === storyOf(a) || current.id === a.supersedes);
    if (same && (a.status === 'retracted' || a.urgency > maxUrgency)) return dismiss();
    if (a.status !== 'retracted' && a.urgency <= maxUrgency) show(a);
  });
  void client.follow();

  // A site whose service worker imports the server's sw.js: the worker asks a visible page whether it already shows
  // an alert before notifying. The banner says yes for what it shows (that version or newer).
  const shows = (p) => current !== null && current.id === p.articleId && current.version >= p.version && p.type !== 'article.retracted';
  const onMessage = (ev) => {
    const p = ev.data?.payload;
    if (ev.data?.type !== 'push' || typeof p?.articleId !== 'string') return;
    if (shows(p)) return ev.ports[0]?.postMessage({ shown: true });
    const done = (yes) => {
      waiters.delete(check);
      clearTimeout(timer);
      ev.ports[0]?.postMessage({ shown: yes });
    };
    const check = () => shows(p) && done(true);
    const timer = setTimeout(() => done(false), 2_000);
    waiters.add(check);
  };
  navigator.serviceWorker?.addEventListener('message', onMessage);

  return {
    client,
    element: host,
    close() {
      client.close();
      navigator.serviceWorker?.removeEventListener('message', onMessage);
      host.remove();
    },
  };
}

// Loaded with <script type="module" src=".../banner.js" data-...>: mount from the script's data attributes.
const script = [...document.querySelectorAll('script[type="module"][src]')].find((s) => s.src === import.meta.url);
if (script) {
  const d = script.dataset;
  const topics = (d.topics ?? '').split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);
  const languages = (d.languages ?? '').split(',').map((l) => l.trim()).filter(Boolean);
  const start = () =>
    createBanner({ topics: topics.length ? topics : [ALL_TOPICS], maxUrgency: Number(d.maxUrgency) || 2, position: d.position, ...(languages.length ? { languages } : {}) });
  if (document.body) start();
  else addEventListener('DOMContentLoaded', start, { once: true });
}
