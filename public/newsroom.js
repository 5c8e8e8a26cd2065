// Newsroom console: publish, update and retract articles with a publisher key kept in sessionStorage only.
// Validation errors from the server are shown next to the fields they name.
const KEY = 'newspush.publisherKey';
const $ = (id) => document.getElementById(id);
const form = $('article-form');

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

function article() {
  const image = value('image.url') ? { url: value('image.url'), caption: value('image.caption') ?? null, credit: value('image.credit') ?? null } : undefined;
  return {
    headline: value('headline'),
    summary: value('summary'),
    body: value('body'),
    url: value('url'),
    topics: (value('topics') ?? '').split(',').map((t) => t.trim()).filter(Boolean),
    urgency: Number(value('urgency')),
    language: value('language'),
    image,
    notify: form.elements.namedItem('notify').checked,
    changeNote: value('changeNote'),
  };
}

function clearErrors() {
  for (const e of form.querySelectorAll('.error')) e.textContent = '';
  for (const i of form.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
}

function showErrors(details) {
  for (const d of details ?? []) {
    // "topics.2" -> the topics field; "image.url" -> the image URL field.
    const name = [d.field, d.field.replace(/\.\d+$/, ''), d.field.split('.')[0]].find((n) => document.getElementById(`e-${n}`));
    const slot = name ? document.getElementById(`e-${name}`) : null;
    if (!slot) continue;
    slot.textContent = slot.textContent ? `${slot.textContent}; ${d.message}` : d.message;
    const input = form.elements.namedItem(name);
    input?.setAttribute('aria-invalid', 'true');
    input?.setAttribute('aria-describedby', `e-${name}`);
  }
}

async function send(method, path, body) {
  const key = sessionStorage.getItem(KEY);
  const res = await fetch(path, {
    method,
    headers: { 'Content-Type': 'application/json', ...(key ? { Authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = await res.json().catch(() => null);
  $('answer').textContent = JSON.stringify(json, null, 2);
  if (res.ok) {
    const e = json.event;
    $('answer-summary').textContent = `${res.status}: ${e ? `${e.type} (event ${e.id})` : 'nothing new to send'} — version ${json.article.version}, ${json.article.status}`;
  } else {
    $('answer-summary').textContent = `${res.status} ${json?.error?.code ?? ''}: ${json?.error?.message ?? 'request failed'}`;
    showErrors(json?.error?.details);
  }
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  clearErrors();
  const action = ev.submitter?.value ?? 'publish';
  const id = value('id') ?? '';
  const a = article();
  if (action === 'publish') void send('POST', '/api/v1/articles', { id, ...a, changeNote: undefined });
  else if (action === 'update') void send('PATCH', `/api/v1/articles/${encodeURIComponent(id)}`, a);
  else void send('DELETE', `/api/v1/articles/${encodeURIComponent(id)}`, { reason: value('reason') ?? null });
});
