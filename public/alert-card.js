// One alert as readers see it on the alerts page: shared by the alerts page and the newsroom console's preview.
// Article HTML is rendered only after DOMPurify, with the API's sanitiser rules; every other field is set as text.
import DOMPurify from '/vendor/purify.js';
import { setDirection } from '/client/direction.js';
import { storyOf } from '/client/newspush.js';

export const URGENCY = { 1: 'Flash', 2: 'Breaking', 3: 'Urgent' };
// The reader's locale decides: "3:04 PM" in en-US, "15:04" in en-GB.
export const timeFmt = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
/** The time today, the date and time on other days. */
export function when(iso) {
  const d = new Date(iso);
  return d.toDateString() === new Date().toDateString() ? timeFmt.format(d) : dateTimeFmt.format(d);
}

export function el(tag, props = {}, ...children) {
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

export function safeUrl(u) {
  try {
    const url = new URL(u);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

// The API's sanitiser rules (src/domain/article.ts, sanitize-html): its default tags plus pictures, per-tag
// attributes, lang and dir everywhere, http(s)/mailto/tel links and http(s) pictures.
const TAGS = [
  'address', 'article', 'aside', 'footer', 'header', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hgroup', 'main', 'nav', 'section',
  'blockquote', 'dd', 'div', 'dl', 'dt', 'figcaption', 'figure', 'hr', 'li', 'menu', 'ol', 'p', 'pre', 'ul', 'a', 'abbr', 'b',
  'bdi', 'bdo', 'br', 'cite', 'code', 'data', 'dfn', 'em', 'i', 'kbd', 'mark', 'q', 'rb', 'rp', 'rt', 'rtc', 'ruby', 's', 'samp',
  'small', 'span', 'strong', 'sub', 'sup', 'time', 'u', 'var', 'wbr', 'caption', 'col', 'colgroup', 'table', 'tbody', 'td',
  'tfoot', 'th', 'thead', 'tr', 'img', 'picture', 'source', 'del', 'ins',
];
const ATTRS = { a: ['href', 'title', 'rel', 'target'], img: ['src', 'alt', 'title', 'width', 'height', 'loading'], source: ['srcset', 'media', 'type'] };
const EVERYWHERE = ['lang', 'dir'];
const LINK_SCHEMES = /^(?:(?:https?|mailto|tel):|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i;
const purify = DOMPurify();
purify.addHook('uponSanitizeAttribute', (node, data) => {
  const tag = node.nodeName.toLowerCase();
  if (!EVERYWHERE.includes(data.attrName) && !(ATTRS[tag] ?? []).includes(data.attrName)) data.keepAttr = false;
  else if (tag === 'img' && data.attrName === 'src' && !/^https?:/i.test(data.attrValue)) data.keepAttr = false;
});
purify.addHook('afterSanitizeAttributes', (node) => {
  if (node.nodeName === 'A') node.setAttribute('rel', 'noopener noreferrer');
});
const CONFIG = { ALLOWED_TAGS: TAGS, ALLOWED_ATTR: [...new Set([...Object.values(ATTRS).flat(), ...EVERYWHERE])], ALLOWED_URI_REGEXP: LINK_SCHEMES };

/** Article HTML reduced to what the API keeps. */
export function sanitizeArticleHtml(html) {
  return purify.sanitize(html, CONFIG);
}

/**
 * One alert as an <article>: heading, time, topics, the automated-translation label, summary, picture with caption
 * and credit, videos (poster behind a play button), body. `topicName` gives a topic's display name.
 */
export function renderAlert(a, { topicName = (t) => t } = {}) {
  const retracted = a.status === 'retracted';
  const urgency = URGENCY[a.urgency];
  const node = el('article', { class: `alert urgency-${a.urgency}${retracted ? ' withdrawn' : ''}`, 'data-id': a.id, 'data-story': storyOf(a), 'data-version': String(a.version), 'aria-labelledby': `h-${a.id}` });
  // The alert is laid out in its own language and direction; the page's labels (badge, time, topics) stay in the page's.
  setDirection(node, a.language);
  const meta = el('p', { class: 'meta', lang: document.documentElement.lang, dir: 'ltr' },
    urgency && !retracted ? el('span', { class: 'badge', text: urgency }) : null,
    el('time', { datetime: a.publishedAt, text: when(a.publishedAt) }),
    ...a.topics.map((t) => el('span', { class: 'topic', text: topicName(t) })),
  );
  const link = safeUrl(a.url);
  const heading = el('h3', { id: `h-${a.id}` }, link && !retracted ? el('a', { href: link, text: a.headline }) : document.createTextNode(a.headline));
  node.append(meta, heading);
  // A machine translation says so, in the page's language.
  if (a.machineTranslated) node.append(el('p', { class: 'machine-translated', lang: document.documentElement.lang, dir: 'ltr', text: 'Automated translation' }));
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
    const figcaption = captionOf(a.image.caption, a.image.credit, 'Photo');
    // The caption (read with the figure) describes the picture; the alt text stays empty rather than repeating it.
    node.append(el('figure', {}, el('img', { src: img, alt: '', loading: 'lazy' }), figcaption));
  }
  for (const m of a.media ?? []) {
    const video = m.type === 'video' ? renderVideo(m) : null;
    if (video) node.append(video);
  }
  if (a.body) {
    const body = el('div', { class: 'body' });
    body.innerHTML = sanitizeArticleHtml(a.body);
    node.append(el('details', {}, el('summary', { text: 'Read more' }), body));
  }
  return node;
}

/** Caption and credit of a picture or video. */
function captionOf(caption, credit, kind) {
  if (!caption && !credit) return null;
  return el('figcaption', {}, caption ? el('span', { class: 'caption', text: caption }) : null, caption && credit ? ' ' : null, credit ? el('span', { class: 'credit', text: `${kind}: ${credit}` }) : null);
}

const durationFmt = (s) => `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}`;

/**
 * A video as its poster with a play button (a real <button>, named after the video); nothing loads or plays until
 * the reader presses it, and then the browser's own controls take over (no autoplay, no sound by surprise).
 */
function renderVideo(m) {
  const src = safeUrl(m.url);
  if (!src) return null;
  const poster = m.poster && safeUrl(m.poster);
  const label = `Play video${m.caption ? `: ${m.caption}` : ''}${m.duration ? ` (${durationFmt(m.duration)})` : ''}`;
  const play = el('button', { type: 'button', class: 'play', 'aria-label': label },
    poster ? el('img', { src: poster, alt: '', loading: 'lazy', width: m.width, height: m.height }) : null,
    el('span', { class: 'play-icon', 'aria-hidden': 'true', text: '▶' }),
    m.duration ? el('span', { class: 'duration', 'aria-hidden': 'true', text: durationFmt(m.duration) }) : null,
  );
  play.addEventListener('click', () => {
    const video = el('video', { src, controls: 'controls', preload: 'metadata', playsinline: 'playsinline', poster: poster || undefined, width: m.width, height: m.height });
    play.replaceWith(video);
    video.focus();
  });
  return el('figure', { class: 'video' }, play, captionOf(m.caption, m.credit, 'Video'), el('a', { class: 'video-link', href: src, text: 'Open the video' }));
}
