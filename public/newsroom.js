// Newsroom console: the story list, the form (no ids to invent: the server makes them), a preview of the alert as
// readers will see it with the audience from a dry run, answers in words, the loaded story's history, and a
// retraction that asks first. The publisher key is kept in sessionStorage only.
import { el, sanitizeArticleHtml, when } from '/alert-card.js';
import { setDirection } from '/client/direction.js';
import { call, count, describeFailure, describeWrite, publisherKey, setPublisherKey } from '/newsroom-api.js';
import { StoryList } from '/newsroom-list.js';
import { showPreview } from '/newsroom-preview.js';

const $ = (id) => document.getElementById(id);
const form = $('article-form');
/** The stored version being edited (null: a new story). An update carries its version as ifVersion. */
let current = null;
/** The server's own version of the draft from the latest dry run (sanitised, normalised), while it is current. */
let dry = null;
const names = new Map();
const topicName = (t) => names.get(t) ?? t;

// The body: Quill (a maintained rich-text editor); Tab leaves the editor instead of indenting, for keyboard users.
const quill = new window.Quill('#f-body', {
  theme: 'snow',
  modules: {
    toolbar: [['bold', 'italic'], [{ header: 2 }, 'blockquote'], [{ list: 'ordered' }, { list: 'bullet' }], ['link'], ['clean']],
    keyboard: { bindings: { tab: null, indent: null, outdent: null, 'indent code-block': null, 'outdent code-block': null, 'remove tab': null } },
  },
});
Object.assign(quill.root, { role: 'textbox' });
quill.root.setAttribute('aria-multiline', 'true');
quill.root.setAttribute('aria-labelledby', 'l-body');
const TOOL_NAMES = { 'ql-bold': 'Bold', 'ql-italic': 'Italic', 'ql-header': 'Subheading', 'ql-blockquote': 'Quote', 'ql-link': 'Link', 'ql-clean': 'Clear formatting' };
for (const b of document.querySelectorAll('.ql-toolbar button')) {
  const cls = [...b.classList].find((c) => c.startsWith('ql-'));
  const name = cls === 'ql-list' ? (b.value === 'ordered' ? 'Numbered list' : 'Bulleted list') : TOOL_NAMES[cls];
  if (name) b.setAttribute('aria-label', name);
}
document.querySelector('.ql-toolbar')?.setAttribute('aria-label', 'Body formatting');
document.querySelector('#f-body .ql-tooltip input')?.setAttribute('aria-label', 'Link address');
document.querySelector('.ql-toolbar')?.setAttribute('role', 'toolbar');

/** The body as HTML, or null when empty. */
function bodyHtml() {
  if (quill.getText().trim() === '' && !quill.root.querySelector('img')) return null;
  // Quill 2.0.3 writes every space of the text as the entity &nbsp; (a typed no-break space stays a character,
  // never the entity), which would stop the body's lines from wrapping: the entity goes back to a space.
  return quill.getSemanticHTML().replaceAll('&nbsp;', ' ');
}

// --- the key -------------------------------------------------------------------------------------------------
$('key').value = publisherKey();
$('key-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  setPublisherKey($('key').value.trim());
  $('key-status').textContent = 'Key set for this tab.';
  void list.load();
  scheduleDryRun();
});

// --- the form ------------------------------------------------------------------------------------------------
function value(name) {
  const v = form.elements.namedItem(name).value.trim();
  return v === '' ? null : v;
}
function setValue(name, v) {
  form.elements.namedItem(name).value = v ?? '';
}

/** The form's fields as the API takes them (empty optional fields are null: an update clears them). */
function fields() {
  const image = value('image.url') ? { url: value('image.url'), caption: value('image.caption'), credit: value('image.credit') } : null;
  return {
    headline: value('headline') ?? '',
    summary: value('summary'),
    body: bodyHtml(),
    url: value('url'),
    topics: (value('topics') ?? '').split(',').map((t) => t.trim()).filter(Boolean),
    urgency: Number(value('urgency')),
    language: value('language') ?? 'en',
    byline: value('byline'),
    image,
    notify: form.elements.namedItem('notify').checked,
    // A translation names its original; the story an article belongs to is fixed at its first publication.
    translationOf: value('translationOf'),
    machineTranslated: form.elements.namedItem('machineTranslated').checked,
  };
}

function fill(a) {
  for (const name of ['headline', 'summary', 'byline', 'url', 'language']) setValue(name, a[name]);
  setValue('topics', a.topics.join(', '));
  setValue('urgency', String(a.urgency));
  setValue('image.url', a.image?.url);
  setValue('image.caption', a.image?.caption);
  setValue('image.credit', a.image?.credit);
  setValue('changeNote', '');
  setValue('translationOf', a.translationOf);
  form.elements.namedItem('machineTranslated').checked = a.machineTranslated === true;
  quill.setContents(a.body ? quill.clipboard.convert({ html: a.body }) : [], 'silent');
  // A later version goes out by Web Push only when asked for (the contract's default).
  form.elements.namedItem('notify').checked = false;
  applyDirection();
}

/** Switches the form to editing `a` (null: a new story). */
function editing(a) {
  current = a;
  const stored = a !== null;
  const retracted = a?.status === 'retracted';
  $('editor-heading').textContent = stored ? `Editing: ${a.headline}` : 'New story';
  const story = a?.translationOf ? ` ${a.machineTranslated ? 'Automated translation' : 'Translation'} of ${a.translationOf}.` : '';
  $('version-note').textContent = !stored ? 'The server gives the story its id when you publish.'
    : retracted ? `Version ${a.version}, retracted: it can no longer be changed.${story}`
    : `Version ${a.version}, published ${when(a.publishedAt)} — an update makes version ${a.version + 1}.${story}`;
  $('publish').hidden = stored;
  $('update').hidden = !stored || retracted;
  $('retract').hidden = !stored || retracted;
  $('change-note-field').hidden = !stored || retracted;
  for (const c of form.elements) if (c.id !== 'retract' && c.tagName !== 'BUTTON') c.disabled = retracted;
  // Which story an article belongs to is fixed at its first publication.
  form.elements.namedItem('translationOf').readOnly = stored;
  quill.enable(!retracted);
  list.select(a?.id ?? null);
  if (stored) void showHistory(a.id);
  else $('history').hidden = true;
}

function clearErrors() {
  for (const e of form.querySelectorAll('.error')) e.textContent = '';
  for (const i of form.querySelectorAll('[aria-invalid]')) {
    i.removeAttribute('aria-invalid');
    i.removeAttribute('aria-describedby');
  }
}

/** Puts each `details[]` message beside its field; returns the ones no field shows. */
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
    const input = name === 'body' ? quill.root : form.elements.namedItem(name);
    input?.setAttribute('aria-invalid', 'true');
    input?.setAttribute('aria-describedby', `e-${name}`);
  }
  form.querySelector('[aria-invalid="true"]')?.focus();
  return unplaced;
}

function say(text, { error = false } = {}) {
  $('answer').textContent = text;
  $('answer').classList.toggle('error', error);
}

/** A failed call: in words, with field errors beside their fields. */
function failed(r) {
  const unplaced = showErrors(r.json?.error?.details);
  say(`${describeFailure(r)}${unplaced.length ? ` ${unplaced.map((d) => `${d.field}: ${d.message}`).join('; ')}` : ''}`, { error: true });
}

function needKey() {
  if (publisherKey()) return false;
  say('Enter a publisher key first.', { error: true });
  $('key').focus();
  return true;
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors();
  if (needKey()) return;
  const f = fields();
  say(current ? 'Sending the update…' : 'Publishing…');
  // An update does not send translationOf: the story an article belongs to is fixed at its first publication.
  const { translationOf: _fixed, ...changes } = f;
  const r = current
    ? await call('PATCH', `/api/v1/articles/${encodeURIComponent(current.id)}?audience=true`, { ...changes, changeNote: value('changeNote'), ifVersion: current.version })
    : await call('POST', '/api/v1/articles?audience=true', f);
  if (!r.ok) return failed(r);
  unsaved = false;
  say(describeWrite(r.json));
  list.apply(r.json.article);
  fill(r.json.article);
  editing(r.json.article);
  scheduleDryRun();
});

// --- retraction: a reason and a confirmation first -------------------------------------------------------------
const dialog = $('retract-dialog');
$('retract').addEventListener('click', () => {
  $('retract-headline').textContent = current.headline;
  setDirection($('retract-headline'), current.language);
  $('retract-reason').value = '';
  dialog.showModal();
});
dialog.addEventListener('close', async () => {
  const confirmed = dialog.returnValue === 'confirm';
  dialog.returnValue = '';
  if (!confirmed || !current) {
    say('Not retracted.');
    $('retract').focus();
    return;
  }
  clearErrors();
  if (needKey()) return;
  say('Retracting…');
  const r = await call('DELETE', `/api/v1/articles/${encodeURIComponent(current.id)}?audience=true`, { reason: $('retract-reason').value.trim() || null });
  if (!r.ok) {
    failed(r);
    $('retract').focus();
    return;
  }
  say(describeWrite(r.json));
  list.apply(r.json.article);
  editing(r.json.article);
  showDraft();
  $('answer').focus();
});

// --- history ---------------------------------------------------------------------------------------------------
const TYPE_WORD = { 'article.published': 'Published', 'article.updated': 'Updated', 'article.retracted': 'Retracted' };
async function showHistory(id) {
  if (!publisherKey()) return;
  const r = await call('GET', `/api/v1/articles/${encodeURIComponent(id)}/history`);
  if (current?.id !== id) return;
  $('history').hidden = false;
  if (!r.ok) {
    $('history-list').replaceChildren(el('li', { text: describeFailure(r).replace(/^Not sent: /, 'The history could not be loaded: ') }));
    return;
  }
  // Newest first (the API lists them oldest first; a retraction keeps the version it withdrew).
  const versions = [...(r.json.versions ?? [])].reverse();
  $('history-list').replaceChildren(...versions.map((v) => el('li', { 'data-version': String(v.version) },
    el('span', { class: 'h-what', text: `Version ${v.version} — ${TYPE_WORD[v.type] ?? v.type}` }),
    el('span', { class: 'h-meta' }, el('time', { datetime: v.at, text: when(v.at) }), ` by ${v.author ?? 'an unknown publisher'}`),
    v.changeNote ? setDirection(el('span', { class: 'h-note', text: v.changeNote }), current.language) : null,
  )));
}

// --- preview and dry run -------------------------------------------------------------------------------------
/** The article the form describes, as the server would store it (as far as the browser can tell). */
function draft() {
  if (current?.status === 'retracted') return { ...current, notify: false };
  const f = fields();
  const now = new Date().toISOString();
  return {
    id: current?.id ?? 'new-story', version: current ? current.version + 1 : 1, ...f, body: f.body && sanitizeArticleHtml(f.body),
    publishedAt: current?.publishedAt ?? now, changeNote: current ? value('changeNote') : null, updatedAt: now, status: 'published',
    ...(current?.supersedes ? { supersedes: current.supersedes } : {}),
  };
}

function showDraft() {
  const retracted = current?.status === 'retracted';
  // The server's own version from the dry run is exact (its id, its sanitised body); it is kept only while the
  // form still says the same.
  const exact = !retracted && dry?.matches === JSON.stringify(fields());
  const a = exact ? { ...dry.article, changeNote: current ? value('changeNote') : null } : draft();
  showPreview(a, retracted ? 'article.retracted' : current ? 'article.updated' : 'article.published', { topicName });
}

let dryTimer = null;
let dryRuns = 0;
function scheduleDryRun() {
  showDraft();
  clearTimeout(dryTimer);
  dryTimer = setTimeout(() => void dryRun(), 400);
}

/** Asks the server what sending now would do (`?dryRun=true`: nothing is stored or sent). */
async function dryRun() {
  const run = ++dryRuns;
  const f = fields();
  const audience = $('audience');
  if (current?.status === 'retracted') return void (audience.textContent = 'Retracted: nothing more will be sent.');
  if (!publisherKey()) return void (audience.textContent = 'Enter a publisher key to see how many readers this reaches.');
  if (!f.headline || f.topics.length === 0) return void (audience.textContent = 'Add a headline and topics to see who this reaches.');
  const r = await call('POST', '/api/v1/articles?dryRun=true', current ? { id: current.id, ...f, changeNote: value('changeNote') } : f);
  if (run !== dryRuns) return;
  if (!r.ok) {
    dry = null;
    const details = r.json?.error?.details;
    audience.textContent = details?.length
      ? `Not ready to send: ${details.map((d) => `${d.field} — ${d.message}`).join('; ')}.`
      : describeFailure(r).replace(/^Not sent: /, 'The audience is unknown: ');
    return;
  }
  dry = { article: r.json.article, matches: JSON.stringify(f) };
  const { live = 0, push = 0 } = r.json.audience ?? {};
  audience.textContent = !r.json.event
    ? 'Nothing has changed: sending now would send nothing.'
    : `Sending now reaches ${count(live, 'live reader', 'live readers')}${f.notify ? ` and ${count(push, 'phone', 'phones')} by Web Push` : ' (no Web Push alert: not asked for)'}.`;
  showDraft();
}

form.addEventListener('input', scheduleDryRun);
form.addEventListener('change', scheduleDryRun);
quill.on('text-change', scheduleDryRun);

// The article's text is laid out in its language: Arabic, Hebrew, Persian and Urdu right to left.
const TEXT_FIELDS = ['headline', 'byline', 'summary', 'changeNote', 'image.caption', 'image.credit'];
function applyDirection() {
  for (const name of TEXT_FIELDS) setDirection(form.elements.namedItem(name), value('language'));
  setDirection(quill.root, value('language'));
  setDirection($('retract-reason'), value('language'));
}
$('f-language').addEventListener('input', applyDirection);

// --- choosing a story --------------------------------------------------------------------------------------
/** Whether the form holds changes not sent yet (typed by the editor since the story was opened or sent). */
let unsaved = false;
form.addEventListener('input', () => (unsaved = true));
quill.on('text-change', (_d, _o, source) => source === 'user' && (unsaved = true));
/** Asks before the form's unsent changes are thrown away. */
function mayDiscard() {
  if (!unsaved) return true;
  return window.confirm(current
    ? `Your changes to \u201c${current.headline}\u201d have not been sent. Discard them?`
    : 'This new story has not been sent. Discard it?');
}

async function open(id) {
  if (!mayDiscard()) return;
  clearErrors();
  const r = await call('GET', `/api/v1/articles/${encodeURIComponent(id)}`);
  if (!r.ok) return failed(r);
  dry = null;
  unsaved = false;
  fill(r.json.article);
  editing(r.json.article);
  say('');
  scheduleDryRun();
  $('f-headline').focus();
}

$('new-story').addEventListener('click', () => {
  if (!mayDiscard()) return;
  unsaved = false;
  form.reset();
  quill.setContents([], 'silent');
  clearErrors();
  dry = null;
  editing(null);
  form.elements.namedItem('notify').checked = true;
  applyDirection();
  say('');
  scheduleDryRun();
  $('f-headline').focus();
});

const list = new StoryList({
  onChoose: (id) => void open(id),
  onLive: (a) => {
    // Someone else changed the story being edited: say so before an update is refused.
    if (current?.id === a.id && a.version > current.version) {
      $('version-note').textContent = `Version ${a.version} was ${a.status === 'retracted' ? 'retracted' : 'published'} by someone else meanwhile: open the story again from the list before changing it.`;
    }
  },
});

applyDirection();

async function main() {
  const r = await call('GET', '/api/v1/topics');
  for (const t of r.json?.topics ?? []) {
    if (t.name && t.name !== t.topic) names.set(t.topic, t.name);
    $('topic-options').append(el('option', { value: t.topic, text: t.name ?? t.topic }));
  }
  editing(null);
  scheduleDryRun();
  await list.start();
}
void main();
