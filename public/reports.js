// "Sent alerts": the recent alerts with their headline figures, and per alert (?article=<id>) every figure of its
// report, with a chart that follows the report stream while the alert goes out. The publisher key is the one the
// newsroom console keeps in this tab's sessionStorage.
import { formatCount, renderReport, reportCard } from '/reports-view.js';

const KEY = 'newspush.publisherKey';
const $ = (id) => document.getElementById(id);
const key = () => sessionStorage.getItem(KEY) ?? '';
const say = (text) => ($('status').textContent = text);

$('key').value = key();
$('key-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(KEY, $('key').value.trim());
  start();
});

/** GET with the key; null (and a message) when it did not work. */
async function get(path) {
  if (!key()) {
    say('Enter a publisher key to see the reports.');
    return null;
  }
  let res;
  try {
    res = await fetch(path, { headers: { Authorization: `Bearer ${key()}` } });
  } catch (err) {
    say(`The server could not be reached: ${err.message}`);
    return null;
  }
  const json = await res.json().catch(() => null);
  if (res.ok) return json;
  say(res.status === 401 ? 'The server does not accept this publisher key.' : `${res.status}: ${json?.error?.message ?? 'request failed'}`);
  return null;
}

async function loadList() {
  const json = await get('/api/v1/reports?limit=50');
  if (!json) return;
  const list = $('reports');
  list.replaceChildren(...json.reports.map(reportCard));
  if (!json.reports.length) list.append(Object.assign(document.createElement('li'), { className: 'empty', textContent: 'No alert has gone out yet.' }));
  say(`${formatCount(json.reports.length)} recent alerts.`);
}

// --- the report stream: fetch + a stream reader (EventSource cannot send the Authorization header) ---

let stream = null;

function setLive(state, text) {
  $('live').dataset.state = state;
  $('live').textContent = text;
}

/** Splits Server-Sent Events into { event, data } messages (comments and other fields ignored). */
async function* sseMessages(body, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  signal.addEventListener('abort', () => reader.cancel().catch(() => undefined), { once: true });
  let buffer = '';
  let event = 'message';
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const line of lines) {
      if (line === '') {
        if (data.length) yield { event, data: data.join('\n') };
        event = 'message';
        data = [];
      } else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      else if (line.startsWith('event:')) event = line.slice(6).trim();
    }
  }
}

async function follow(id) {
  const url = `/api/v1/articles/${encodeURIComponent(id)}/report/stream`;
  const controller = new AbortController();
  stream = controller;
  let delay = 1000;
  while (!controller.signal.aborted) {
    try {
      const res = await fetch(url, { headers: { Authorization: `Bearer ${key()}`, Accept: 'text/event-stream' }, signal: controller.signal });
      if (res.status === 401 || res.status === 403 || res.status === 404) {
        setLive('offline', res.status === 404 ? 'No report for this article.' : 'The server does not accept this publisher key.');
        return;
      }
      if (!res.ok || !res.body) throw new Error(`status ${res.status}`);
      for await (const m of sseMessages(res.body, controller.signal)) {
        if (m.event !== 'report') continue;
        const report = JSON.parse(m.data);
        show(report);
        delay = 1000;
        const sending = report.versions.some((v) => !v.complete);
        setLive('live', sending ? 'Live: updating while the alert goes out.' : 'Live: sending finished; a new version would show here.');
      }
    } catch (err) {
      if (controller.signal.aborted) return;
    }
    setLive('reconnecting', 'Reconnecting to the report stream…');
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 20_000);
  }
}

function show(report) {
  renderReport($('versions'), report);
  say(report.versions.length ? '' : 'Nothing has gone out for this article yet.');
  const newest = report.versions.at(-1);
  $('detail-heading').textContent = newest ? newest.headline : report.articleId;
  document.title = `${newest ? newest.headline : report.articleId} — Sent alerts`;
}

async function openReport(id) {
  $('list-view').hidden = true;
  $('detail-view').hidden = false;
  const report = await get(`/api/v1/articles/${encodeURIComponent(id)}/report`);
  if (report) show(report);
  else if (!key()) return;
  // The stream starts with the whole report too, so a first answer that failed is made up for.
  setLive('connecting', 'Connecting to the report stream…');
  follow(id);
}

function start() {
  stream?.abort();
  const id = new URL(location.href).searchParams.get('article');
  if (id) openReport(id);
  else loadList();
}

$('refresh').addEventListener('click', loadList);
start();
