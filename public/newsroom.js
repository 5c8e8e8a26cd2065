// Newsroom console: publish, update and retract articles with a publisher key kept in sessionStorage only.
// The server's answer is shown in full; validation errors are shown next to the fields they name.
import { setDirection } from '/client/direction.js';

const KEY = 'newspush.publisherKey';
const $ = (id) => document.getElementById(id);
const form = $('article-form');
/** The version last loaded or written, sent as ifVersion with an update so that a concurrent edit is not overwritten. */
let known = null;

$('key').value = sessionStorage.getItem(KEY) ?? '';
$('key-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(KEY, $('key').value.trim());
  $('key-status').textContent = 'Key set for this tab.';
});

function value(name) {
  const v = form.elements.namedItem(name).value.trim();
  return v === '' ? undefined : v;
}

function setValue(name, v) {
  form.elements.namedItem(name).value = v ?? '';
}

function article() {
  const image = value('image.url') ? { url: value('image.url'), caption: value('image.caption') ?? null, credit: value('image.credit') ?? null } : undefined;
  const topics = (value('topics') ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  return {
    headline: value('headline'),
    byline: value('byline'),
    summary: value('summary'),
    body: value('body'),
    url: value('url'),
    topics,
    urgency: Number(value('urgency')),
    language: value('language'),
    image,
    notify: form.elements.namedItem('notify').checked,
    changeNote: value('changeNote'),
    translationOf: value('translationOf'),
    machineTranslated: form.elements.namedItem('machineTranslated').checked,
  };
}

function fill(a) {
  for (const name of ['headline', 'byline', 'summary', 'body', 'url', 'language']) setValue(name, a[name]);
  applyDirection();
  setValue('topics', a.topics.join(', '));
  setValue('urgency', String(a.urgency));
  setValue('image.url', a.image?.url);
  setValue('image.caption', a.image?.caption);
  setValue('image.credit', a.image?.credit);
  setValue('changeNote', '');
  setValue('translationOf', a.translationOf);
  form.elements.namedItem('machineTranslated').checked = a.machineTranslated === true;
  // A later version goes out by Web Push only when asked for (the contract's default).
  form.elements.namedItem('notify').checked = false;
}

function noteVersion(a) {
  known = a ? { id: a.id, version: a.version } : null;
  const story = a?.translationOf ? ` — ${a.machineTranslated ? 'Automated translation' : 'Translation'} of ${a.translationOf}` : '';
  $('version-note').textContent = a ? `Version ${a.version}, ${a.status}${story}${a.status === 'retracted' ? '' : ` — an update makes version ${a.version + 1}`}` : '';
}

function clearErrors() {
  for (const e of form.querySelectorAll('.error')) e.textContent = '';
  for (const i of form.querySelectorAll('[aria-invalid]')) {
    i.removeAttribute('aria-invalid');
    i.removeAttribute('aria-describedby');
  }
}

function showErrors(details) {
  const unplaced = [];
  for (const d of details ?? []) {
    // "topics.2" -> the topics field; "image.url" -> the image URL field; "image" -> the image URL field.
    const candidates = [d.field, d.field.replace(/\.\d+$/, ''), d.field.split('.')[0], `${d.field}.url`];
    const name = candidates.find((n) => document.getElementById(`e-${n}`));
    if (!name) {
      unplaced.push(d);
      continue;
    }
    const slot = document.getElementById(`e-${name}`);
    slot.textContent = slot.textContent ? `${slot.textContent}; ${d.message}` : d.message;
    const input = form.elements.namedItem(name);
    input?.setAttribute('aria-invalid', 'true');
    input?.setAttribute('aria-describedby', `e-${name}`);
  }
  form.querySelector('[aria-invalid="true"]')?.focus();
  return unplaced;
}

function say(summary, json) {
  $('answer-summary').textContent = summary;
  $('answer').textContent = json === undefined ? '' : JSON.stringify(json, null, 2);
}

async function send(method, path, body) {
  const key = sessionStorage.getItem(KEY);
  if (!key && method !== 'GET') {
    say('Enter a publisher key first.');
    $('key').focus();
    return null;
  }
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: { ...(body ? { 'Content-Type': 'application/json' } : {}), ...(key ? { Authorization: `Bearer ${key}` } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    say(`The server could not be reached: ${err.message}`);
    return null;
  }
  const json = await res.json().catch(() => null);
  if (res.ok) {
    const e = json?.event;
    if (json?.event !== undefined) say(`${res.status}: ${e ? `${e.type} (event ${e.id})` : 'nothing new to send'} — version ${json.article.version}, ${json.article.status}`, json);
    else say(`${res.status}: loaded`, json);
    return json;
  }
  const err = json?.error;
  const extra = err?.currentVersion !== undefined ? ` (current version ${err.currentVersion})` : '';
  say(`${res.status} ${err?.code ?? ''}: ${err?.message ?? 'request failed'}${extra}`, json);
  const unplaced = showErrors(err?.details);
  if (unplaced.length) $('answer-summary').textContent += ` ${unplaced.map((d) => `${d.field}: ${d.message}`).join('; ')}`;
  return null;
}

function requireId() {
  const id = value('id');
  if (id) return id;
  showErrors([{ field: 'id', message: 'Enter the article id.' }]);
  return null;
}

$('load').addEventListener('click', async () => {
  clearErrors();
  const id = requireId();
  if (!id) return;
  const json = await send('GET', `/api/v1/articles/${encodeURIComponent(id)}`);
  if (json?.article) {
    fill(json.article);
    noteVersion(json.article);
  }
});

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors();
  const action = ev.submitter?.value ?? 'publish';
  const id = requireId();
  if (!id) return;
  const a = article();
  let json;
  if (action === 'publish') {
    json = await send('POST', '/api/v1/articles', { id, ...a, changeNote: undefined });
  } else if (action === 'update') {
    // The story an article belongs to is fixed at its first publication: an update does not send it.
    const { translationOf: _fixed, ...fields } = a;
    const patch = { ...fields, topics: a.topics.length ? a.topics : undefined };
    if (known?.id === id) patch.ifVersion = known.version;
    json = await send('PATCH', `/api/v1/articles/${encodeURIComponent(id)}`, patch);
  } else {
    json = await send('DELETE', `/api/v1/articles/${encodeURIComponent(id)}`, { reason: value('reason') ?? null });
  }
  if (json?.article) {
    noteVersion(json.article);
    if (action === 'publish') form.elements.namedItem('notify').checked = false;
  }
});

// Another id is another article: forget the loaded version, and a first version goes out by Web Push by default.
$('f-id').addEventListener('input', () => {
  if (known && value('id') !== known.id) {
    noteVersion(null);
    form.elements.namedItem('notify').checked = true;
  }
});

// The article's text fields are laid out in its language: Arabic, Hebrew, Persian and Urdu right to left.
const TEXT_FIELDS = ['headline', 'byline', 'summary', 'body', 'changeNote', 'reason', 'image.caption', 'image.credit'];
function applyDirection() {
  for (const name of TEXT_FIELDS) setDirection(form.elements.namedItem(name), value('language'));
}
$('f-language').addEventListener('input', applyDirection);
applyDirection();
