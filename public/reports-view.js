// Rendering of alert reports (the JSON of GET /api/v1/reports and GET /api/v1/articles/:id/report): figures in
// the reader's locale, a hand-made SVG chart of acceptances over time with a table of the same numbers. No network
// here: reports.js fetches and streams, this module only builds elements (text is always set as text).

const count = new Intl.NumberFormat(undefined);
const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });
const seconds = new Intl.NumberFormat(undefined, { style: 'unit', unit: 'second', unitDisplay: 'short', maximumFractionDigits: 1 });
const minutes = new Intl.NumberFormat(undefined, { style: 'unit', unit: 'minute', unitDisplay: 'short', maximumFractionDigits: 1 });
const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export const formatCount = (n) => count.format(n);
/** A percentage as the API gives it (0..100), or null: nothing to divide by yet. */
export const formatPercent = (p) => (p === null || p === undefined ? null : percent.format(p / 100));
export function formatDuration(ms) {
  if (ms === null || ms === undefined) return null;
  return ms < 120_000 ? seconds.format(ms / 1000) : minutes.format(ms / 60_000);
}
export const formatTime = (iso) => when.format(new Date(iso));

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, v);
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
}

/** A figure, or "—" that a screen reader reads as words. */
function value(text, missing = 'none yet') {
  if (text !== null) return document.createTextNode(text);
  return el('span', {}, el('span', { 'aria-hidden': 'true' }, '—'), el('span', { class: 'visually-hidden' }, missing));
}

function pair(label, content) {
  return el('div', {}, el('dt', {}, label), el('dd', {}, content));
}

const TYPE = { 'article.published': 'Published', 'article.updated': 'Updated', 'article.retracted': 'Withdrawn' };

/** One alert of the recent list: headline linking to its detail, and its four headline figures. */
export function reportCard(r) {
  const link = el('a', { href: `?article=${encodeURIComponent(r.articleId)}` }, r.headline);
  return el(
    'li',
    { class: 'report-card', 'data-article': r.articleId, 'data-version': String(r.version) },
    el('h3', {}, link),
    el('p', { class: 'meta' }, el('time', { datetime: r.publishedAt }, formatTime(r.publishedAt)), ` · version ${r.version}`),
    el(
      'dl',
      { class: 'figures' },
      pair('Audience', value(formatCount(r.audience))),
      pair('Accepted', value(formatPercent(r.acceptedPct), 'none sent')),
      pair('Opened', value(formatPercent(r.openedPct), 'none accepted')),
      pair('Time to 90%', value(formatDuration(r.timeTo90Ms))),
    ),
  );
}

/** Cumulative acceptances per second from [second, acceptedInThatSecond] pairs, from 0 to the last second. */
export function cumulative(pairs) {
  const sorted = [...pairs].sort((a, b) => a[0] - b[0]);
  const last = sorted.length ? sorted[sorted.length - 1][0] : 0;
  const perSecond = new Map(sorted.map(([s, n]) => [s, n]));
  const out = [];
  let total = 0;
  for (let s = 0; s <= last; s++) {
    total += perSecond.get(s) ?? 0;
    out.push([s, total]);
  }
  return out;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A round step for about `n` ticks over 0..max. */
function step(max, n) {
  const raw = Math.max(max / n, 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
}

/** What the chart says, in one sentence (its text alternative). */
export function chartSummary(v) {
  const p = v.push;
  if (!p.accepted) return p.sent ? `${formatCount(p.sent)} sent; none accepted yet.` : 'Nothing accepted by a push service yet.';
  const parts = [`${formatCount(p.accepted)} accepted by push services`];
  if (p.lastAcceptedMs !== null) parts.push(`the last after ${formatDuration(p.lastAcceptedMs)}`);
  if (p.p50AcceptedMs !== null) parts.push(`half of them within ${formatDuration(p.p50AcceptedMs)}`);
  if (p.p90AcceptedMs !== null) parts.push(`90% within ${formatDuration(p.p90AcceptedMs)}`);
  return `${parts.join(', ')}.`;
}

/** The chart: readers whose push service had accepted the alert, second by second since publication. */
export function acceptanceChart(v, id, width = 640) {
  // Drawn at the width it is shown at (one unit a CSS pixel), so its text stays legible on a phone.
  const W = Math.min(Math.max(Math.round(width), 300), 960), H = W < 500 ? 200 : 240, L = 56, R = 28, T = 20, B = 40;
  const series = cumulative(v.push.acceptedOverTime);
  // Acceptances of second s happened within [s, s + 1): the line rises at its end.
  const lastSecond = series.length ? series[series.length - 1][0] + 1 : 1;
  const most = Math.max(series.length ? series[series.length - 1][1] : 0, 1);
  const ys = step(most, 4);
  // The top of the scale is the first round figure at or above the total, so the top line is labelled.
  const top = Math.ceil(most / ys) * ys;
  const x = (s) => L + (s / lastSecond) * (W - L - R);
  const y = (n) => H - B - (n / top) * (H - T - B);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${id}-title ${id}-desc`, class: 'chart', preserveAspectRatio: 'xMidYMid meet' });
  root.append(svg('title', { id: `${id}-title` }, `Acceptances over time, version ${v.version}`), svg('desc', { id: `${id}-desc` }, chartSummary(v)));
  const grid = svg('g', { class: 'grid', 'aria-hidden': 'true' });
  for (let n = 0; n <= top; n += ys) {
    grid.append(svg('line', { x1: L, x2: W - R, y1: y(n), y2: y(n) }), svg('text', { x: L - 6, y: y(n) + 4, class: 'tick y' }, formatCount(n)));
  }
  const xs = step(lastSecond, W < 500 ? 3 : 6);
  for (let s = 0; s <= lastSecond; s += xs) grid.append(svg('text', { x: x(s), y: H - B + 18, class: 'tick x' }, formatDuration(s * 1000)));
  grid.append(svg('text', { x: (L + W - R) / 2, y: H - 4, class: 'axis-label' }, 'since publication'));
  root.append(grid);
  if (series.length) {
    // A step line: the count holds through each second and rises at its end.
    let d = `M ${x(0)} ${y(0)}`;
    for (const [s, n] of series) d += ` H ${x(s + 1)} V ${y(n)}`;
    root.append(svg('path', { d: `${d} V ${y(0)} Z`, class: 'area', 'aria-hidden': 'true' }), svg('path', { d, class: 'line', 'aria-hidden': 'true' }));
  }
  // The 50% and 90% times, one label when they fall together (close enough to overlap).
  const marks = [];
  for (const [label, ms] of [['50%', v.push.p50AcceptedMs], ['90%', v.push.p90AcceptedMs]]) {
    if (ms === null || ms === undefined) continue;
    const at = x(Math.min(ms / 1000, lastSecond));
    const near = marks.find((m) => Math.abs(m.at - at) < 36);
    if (near) near.label += ` ${label}`;
    else marks.push({ at, label });
  }
  for (const { at, label } of marks) {
    const right = at > W - R - 60;
    root.append(
      svg('line', { x1: at, x2: at, y1: T, y2: H - B, class: 'mark', 'aria-hidden': 'true' }),
      svg('text', { x: right ? at - 4 : at + 4, y: T - 6, class: `mark-label${right ? ' end' : ''}`, 'aria-hidden': 'true' }, label),
    );
  }
  return root;
}

/** The chart's numbers as a table: second, accepted in it, accepted so far. */
export function acceptanceTable(v) {
  const perSecond = new Map(v.push.acceptedOverTime.map(([s, n]) => [s, n]));
  const body = el('tbody');
  for (const [s, total] of cumulative(v.push.acceptedOverTime)) {
    if (!perSecond.get(s)) continue;
    body.append(el('tr', {}, el('th', { scope: 'row' }, formatDuration(s * 1000)), el('td', {}, formatCount(perSecond.get(s))), el('td', {}, formatCount(total))));
  }
  return el(
    'table',
    { class: 'chart-table' },
    el('caption', {}, `Acceptances per second, version ${v.version}`),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Second since publication'), el('th', { scope: 'col' }, 'Accepted in it'), el('th', { scope: 'col' }, 'Accepted so far'))),
    body,
  );
}

const of = (n, total) => (total ? ` (${percent.format(n / total)})` : '');

/** Every figure of a version's report, labelled in words. */
export function figureGroups(v) {
  const p = v.push;
  const failed = Object.values(p.failed).reduce((a, b) => a + b, 0);
  const n = formatCount;
  return [
    ['Live', [
      ['Readers connected live when it went out', n(v.live.dispatched)],
      ['Delivered later by replay', n(v.live.replayed)],
    ]],
    ['Web Push', [
      ['Subscribers matched', n(p.matched)],
      ['Skipped: urgency above the reader\'s choice', n(p.skipped.urgency)],
      ['Skipped: not in the reader\'s languages', n(p.skipped.language)],
      ['Skipped: the reader\'s quiet hours', n(p.skipped.quietHours)],
      ['Sent to push services', n(p.sent)],
      ['Accepted by push services', `${n(p.accepted)}${of(p.accepted, p.sent)}`],
      ['Failed, in all', `${n(failed)}${of(failed, p.sent)}`],
      ['Failed: subscription gone (removed)', n(p.failed.gone)],
      ['Failed: too large', n(p.failed.tooLarge)],
      ['Failed: other refusals by the push service', n(p.failed.otherClient)],
      ['Failed: push service errors', n(p.failed.server)],
      ['Failed: network errors', n(p.failed.network)],
      ['Failed: endpoint refused by this server', n(p.failed.refused)],
      ['Retried', n(p.retried)],
      ['Given up when the alert expired', n(p.expired)],
      ['Not sent: superseded or withdrawn first', n(p.superseded)],
    ]],
    ['Speed', [
      ['First accepted after', formatDuration(p.firstAcceptedMs)],
      ['Half accepted within', formatDuration(p.p50AcceptedMs)],
      ['90% accepted within', formatDuration(p.p90AcceptedMs)],
      ['Last accepted after', formatDuration(p.lastAcceptedMs)],
    ]],
    ['Readers', [
      ['Notifications shown', `${n(v.shown)}${of(v.shown, p.accepted)}`],
      ['Opened', `${n(v.opened)}${of(v.opened, p.accepted)}`],
    ]],
  ];
}

/** Builds the empty section of one version; `updateVersion` fills it once in the page (and as the report streams). */
export function versionSection(v, articleId) {
  const id = `v${v.version}-${articleId.replace(/[^\w-]/g, '_')}`;
  const section = el('section', { class: 'version-report', 'aria-labelledby': `${id}-h`, 'data-version': String(v.version) });
  section.append(
    el('h3', { id: `${id}-h` }, `Version ${v.version}`),
    el('p', { class: 'meta' }, el('span', { class: 'type' }), ' · ', el('time', { datetime: v.publishedAt }, formatTime(v.publishedAt)), ' · ', el('span', { class: 'progress' })),
    el('p', { class: 'report-headline' }),
    el('p', { class: 'no-push' }, "No Web Push subscriber wanted this alert (none follows its topics, or each one's choices left it out), so nothing went out by push and there is nothing to chart."),
    el('figure', { class: 'chart-box' }, el('div', { class: 'chart-slot' }), el('figcaption', {}, 'Readers whose push service accepted the alert, by seconds since publication')),
    el('details', { class: 'chart-data' }, el('summary', {}, 'The chart as a table'), el('div', { class: 'table-slot' })),
    el('div', { class: 'figure-groups' }),
  );
  section.dataset.chartId = id;
  return section;
}

export function updateVersion(section, v) {
  section.querySelector('.type').textContent = TYPE[v.type] ?? v.type;
  section.querySelector('.progress').textContent = v.complete ? 'sending finished' : 'still sending';
  section.classList.toggle('sending', !v.complete);
  section.querySelector('.report-headline').textContent = v.headline;
  // A flat line at zero would look like a failure; an alert that had no push audience says so in words.
  const noPush = v.complete && v.push.sent === 0 && v.push.matched === 0;
  section.querySelector('.no-push').hidden = !noPush;
  section.querySelector('.chart-box').hidden = noPush;
  section.querySelector('.chart-data').hidden = noPush;
  const slot = section.querySelector('.chart-slot');
  slot.replaceChildren(acceptanceChart(v, section.dataset.chartId, slot.clientWidth || undefined));
  section.querySelector('.table-slot').replaceChildren(acceptanceTable(v));
  const groups = figureGroups(v).map(([title, rows]) => el('div', { class: 'figure-group' }, el('h4', {}, title), el('dl', {}, ...rows.map(([label, text]) => pair(label, value(text))))));
  section.querySelector('.figure-groups').replaceChildren(...groups);
}

/** Renders (or updates in place) a whole article report into `container`, newest version first. */
export function renderReport(container, report) {
  const seen = new Set();
  for (const v of [...report.versions].reverse()) {
    seen.add(String(v.version));
    const existing = container.querySelector(`section.version-report[data-version="${v.version}"]`);
    if (existing) updateVersion(existing, v);
    else {
      const section = versionSection(v, report.articleId);
      const newer = [...container.querySelectorAll('section.version-report')].find((s) => Number(s.dataset.version) < v.version);
      container.insertBefore(section, newer ?? null);
      updateVersion(section, v);
    }
  }
  for (const s of container.querySelectorAll('section.version-report')) if (!seen.has(s.dataset.version)) s.remove();
}
