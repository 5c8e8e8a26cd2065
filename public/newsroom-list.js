// The console's story list: the recent articles, filtered by topic and status, paged with the listing's cursor,
// and kept up to date live (every topic, `*`). Choosing a story hands it to `onChoose`.
import { el, URGENCY, when } from '/alert-card.js';
import { setDirection } from '/client/direction.js';
import { ALL_LANGUAGES, ALL_TOPICS, NewsPush } from '/client/newspush.js';
import { call, describeFailure, publisherKey } from '/newsroom-api.js';

const $ = (id) => document.getElementById(id);
const PAGE = 20;
const LIVE_TEXT = { connecting: 'Connecting…', live: 'Live: new versions appear as they go out', reconnecting: 'Reconnecting…', offline: 'Offline: the list is not updated' };
const STATUS_WORD = { published: 'published', retracted: 'retracted' };

export class StoryList {
  constructor({ onChoose, onLive }) {
    this.onChoose = onChoose;
    this.onLive = onLive;
    this.filter = { topic: '', status: 'published' };
    this.next = null;
    this.loads = 0;
    /** id -> the newest version listed */
    this.shown = new Map();
    this.selected = null;
    $('filter-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.filter = { topic: $('filter-topic').value.trim().toLowerCase(), status: $('filter-status').value };
      void this.load();
    });
    $('filter-status').addEventListener('change', () => $('filter-form').requestSubmit());
    $('older').addEventListener('click', () => void this.load({ older: true }));
    // The list follows every topic and every version (translations too, as the listing has them: a reader's one
    // alert per story would leave them out); the console keeps no cursor of its own between visits (it reloads the list).
    const memory = new Map();
    this.live = new NewsPush({
      server: location.origin,
      topics: [ALL_TOPICS],
      languages: [ALL_LANGUAGES],
      storage: { getItem: (k) => memory.get(k) ?? null, setItem: (k, v) => memory.set(k, v) },
    });
    this.live.on('news', (e) => this.apply(e.article));
    this.live.on('resync', () => void this.load());
    this.live.on('state', (state) => {
      $('list-live').dataset.state = state;
      $('list-live').textContent = LIVE_TEXT[state] ?? state;
    });
  }

  /** Loads the list, then follows every topic live (what is published meanwhile is replayed). */
  start() {
    return this.live.follow([ALL_TOPICS], { beforeConnect: () => this.load() });
  }

  /** The first page again (older: the next page after what is shown). */
  async load({ older = false } = {}) {
    const gen = ++this.loads;
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (this.filter.topic) q.set('topic', this.filter.topic);
    q.set('status', this.filter.status);
    if (older && this.next) q.set('cursor', this.next);
    if (!publisherKey() && this.filter.status !== 'published') {
      $('list-status').textContent = 'Enter a publisher key to see retracted stories.';
      return;
    }
    $('story-list').setAttribute('aria-busy', 'true');
    const r = await call('GET', `/api/v1/articles?${q}`);
    if (gen !== this.loads) return;
    $('story-list').setAttribute('aria-busy', 'false');
    if (!r.ok) {
      $('list-status').textContent = r.json?.error?.code === 'validation_failed'
        ? `No such filter: ${r.json.error.details?.map((d) => d.message).join('; ') ?? r.json.error.message}`
        : describeFailure(r).replace(/^Not sent: /, 'The list could not be loaded: ');
      return;
    }
    if (!older) {
      this.shown.clear();
      $('story-list').replaceChildren();
    }
    for (const a of r.json.articles ?? []) this.put(a, { append: true });
    this.next = r.json.next ?? null;
    $('older').hidden = !this.next;
    const n = this.shown.size;
    $('list-status').textContent = n === 0 ? 'No stories match.' : `${n} ${n === 1 ? 'story' : 'stories'} shown${this.next ? '; older ones below' : ''}.`;
  }

  /** Whether `a` belongs in the list as filtered. */
  matches(a) {
    const t = this.filter.topic;
    const topicOk = !t || a.topics.some((x) => x === t || x.startsWith(`${t}/`));
    return topicOk && (this.filter.status === 'all' || a.status === this.filter.status) && !a.supersededBy;
  }

  /** A live event: the story moves to the top (or leaves the list when it no longer matches). */
  apply(a) {
    const known = this.shown.get(a.id);
    // Older than what is listed, or the same (the console's own write arrives again as an event): nothing to do.
    if (known && (known.version > a.version || (known.version === a.version && (known.status === 'retracted' || known.status === a.status)))) return;
    if (a.supersedes) this.remove(a.supersedes);
    if (this.matches(a)) this.put(a, { append: false });
    else this.remove(a.id);
    this.onLive?.(a);
    // Events do not say who made a version (only publishers may know): the history does.
    if (!a.updatedBy && this.shown.has(a.id) && publisherKey()) {
      void call('GET', `/api/v1/articles/${encodeURIComponent(a.id)}/history`).then((r) => {
        const latest = r.ok ? r.json?.versions?.findLast((v) => v.version === a.version) : null;
        const row = this.row(a.id);
        if (latest?.author && row && this.shown.get(a.id)?.version === a.version) row.querySelector('.s-by').textContent = `by ${latest.author}`;
      });
    }
  }

  row(id) {
    return $('story-list').querySelector(`li[data-id="${CSS.escape(id)}"]`);
  }

  remove(id) {
    this.shown.delete(id);
    this.row(id)?.remove();
  }

  put(a, { append }) {
    this.shown.set(a.id, a);
    const headline = setDirection(el('span', { class: 's-headline', text: a.headline }), a.language);
    const urgency = URGENCY[a.urgency] ?? `Urgency ${a.urgency}`;
    const meta = el('span', { class: 's-meta' },
      el('span', { class: `s-urgency urgency-${a.urgency}`, text: urgency }),
      el('span', { class: 's-topics', text: a.topics.join(', ') }),
      el('span', { class: `s-status ${a.status}`, text: STATUS_WORD[a.status] ?? a.status }),
      el('span', { class: 's-version', text: `v${a.version}` }),
      el('time', { datetime: a.updatedAt, text: when(a.updatedAt) }),
      el('span', { class: 's-by', text: a.updatedBy ? `by ${a.updatedBy}` : '' }),
    );
    const button = el('button', { type: 'button', class: 'story' }, headline, meta);
    button.addEventListener('click', () => this.onChoose(a.id));
    const li = el('li', { 'data-id': a.id, 'data-version': String(a.version), 'data-status': a.status }, button);
    if (a.id === this.selected) button.setAttribute('aria-current', 'true');
    const existing = this.row(a.id);
    if (existing && append) existing.replaceWith(li);
    else {
      existing?.remove();
      if (append) $('story-list').append(li);
      else $('story-list').prepend(li);
    }
  }

  /** Marks the story being edited. */
  select(id) {
    this.selected = id;
    for (const b of $('story-list').querySelectorAll('button[aria-current]')) b.removeAttribute('aria-current');
    if (id) this.row(id)?.querySelector('button')?.setAttribute('aria-current', 'true');
  }
}
