import type { Topic } from '../domain/topic.ts';
import { slugify } from '../domain/topic.ts';
import { ApiError } from '../domain/errors.ts';
import { cutText } from '../domain/text.ts';
import { decodeHTML, escapeUTF8 } from 'entities';
import { articleIdFor } from './ids.ts';
import { fixDate, type Flavour } from './validate.ts';

type Doc = Record<string, unknown>;

/** What a ninjs document asks for, as an article publication the news service understands. */
export interface NinjsIntent {
  action: 'publish' | 'hold' | 'retract';
  /** Body for NewsService.publish (an ArticleInput). */
  input: Record<string, unknown>;
  /** The original guid/uri. */
  guid: string;
  /** A future embargo: publish at this time, not before. */
  embargoUntil: Date | null;
  /** Article id of the item this one supersedes (ninjs `evolvedfrom`). */
  supersedes: string | null;
}

export interface TopicRules {
  map: Record<string, Topic[]>;
  defaultTopic: Topic;
}

const TEXT_TYPES = new Set(['text', 'composite']);
const MAX = { headline: 300, summary: 1000, byline: 300, caption: 1000, credit: 300 };

/** Reads the first of several spellings of a field (1.x/2.x lowercase, 3.x camelCase). */
function pick(doc: Doc, ...names: string[]): unknown {
  for (const n of names) if (doc[n] !== undefined && doc[n] !== null && doc[n] !== '') return doc[n];
  return undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/**
 * Readers' text from a ninjs text field: every HTML entity decoded (named, decimal, hex: agencies send
 * `Don&rsquo;t` even in plain-text fields) and whitespace collapsed.
 */
function plainText(text: string): string {
  return decodeHTML(text).replace(/\s+/g, ' ').trim();
}

/** Plain text from an HTML fragment: tags dropped, then as plainText. */
function stripTags(html: string): string {
  return plainText(html.replace(/<[^>]*>/g, ' '));
}

/** A raw plain-text field, decoded and cut to the article schema's limit; null when empty. */
function textField(text: string | undefined, max: number): string | null {
  const t = text === undefined ? '' : plainText(text);
  return t ? cutText(t, max) : null;
}

const paragraphs = (text: string) => text.split(/\n{1,}/).map((p) => p.trim()).filter(Boolean).map((p) => `<p>${escapeUTF8(decodeHTML(p))}</p>`).join('');

/** 2.x/3.x `headlines`, `descriptions`, `bodies`: an array of `{ role, contenttype, value }`. */
function fromList(list: unknown, preferRoles: string[]): { value: string; html: boolean } | undefined {
  if (!Array.isArray(list)) return undefined;
  const items = list.filter((x): x is Doc => !!x && typeof x === 'object' && typeof (x as Doc).value === 'string');
  const ranked = [...items].sort((a, b) => rank(a) - rank(b));
  function rank(x: Doc): number {
    const i = preferRoles.indexOf(String(x.role ?? ''));
    return i < 0 ? preferRoles.length : i;
  }
  const html = ranked.find((x) => /html/.test(String(x.contenttype ?? x.contentType ?? '')));
  const chosen = html && rank(html) === rank(ranked[0]!) ? html : ranked[0];
  return chosen ? { value: String(chosen.value), html: /html/.test(String(chosen.contenttype ?? chosen.contentType ?? '')) } : undefined;
}

/** 1.x fields named `headline_*`, `body_*`, `description_*`. */
function fromPattern(doc: Doc, prefix: string, prefer: string[]): { value: string; html: boolean } | undefined {
  for (const suffix of prefer) {
    const v = str(doc[`${prefix}_${suffix}`]);
    if (v) return { value: v, html: /html|richtext/.test(suffix) };
  }
  const key = Object.keys(doc).find((k) => k.startsWith(`${prefix}_`) && str(doc[k]));
  return key ? { value: str(doc[key])!, html: /html|richtext/.test(key) } : undefined;
}

function headlineOf(doc: Doc): string | undefined {
  const h = str(doc.headline) ?? fromList(doc.headlines, ['main', ''])?.value ?? fromPattern(doc, 'headline', ['main'])?.value;
  return h ? stripTags(h) : undefined;
}

function summaryOf(doc: Doc): string | undefined {
  const d = str(doc.description_text) ? { value: str(doc.description_text)!, html: false } : fromPattern(doc, 'description', ['text', 'html']) ?? fromList(doc.descriptions, ['summary', 'text', 'teaser', '']);
  return d ? (d.html ? stripTags(d.value) : plainText(d.value)) : undefined;
}

function captionOf(picture: Doc): string | undefined {
  const text = str(picture.description_text);
  if (text) return plainText(text);
  const d = fromList(picture.descriptions, ['caption', 'text', '']);
  if (d) return d.html ? stripTags(d.value) : plainText(d.value);
  return headlineOf(picture);
}

function bodyOf(doc: Doc): string | undefined {
  const b = fromPattern(doc, 'body', ['html', 'xhtml', 'richtext', 'text', 'main']) ?? fromList(doc.bodies, ['text', 'main', '']);
  if (!b) return undefined;
  if (b.html || /^\s*</.test(b.value)) return b.value;
  return paragraphs(b.value);
}

interface Concept {
  kind: 'subject' | 'service' | 'genre';
  name?: string;
  code?: string;
  scheme?: string;
}

function concepts(doc: Doc): Concept[] {
  const out: Concept[] = [];
  const add = (kind: Concept['kind'], list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const x of list) {
      if (!x || typeof x !== 'object') continue;
      const c = x as Doc;
      // 2.x/3.x may identify a concept only by its URI: the scheme is the URI up to its last segment, the code that segment.
      const uri = str(c.uri);
      const code = str(c.code) ?? str(c.literal) ?? str(c.qcode) ?? uri?.match(/[^/#]+$/)?.[0];
      const name = str(c.name);
      out.push({ kind, name: name ? plainText(name) : undefined, code, scheme: str(c.scheme) ?? uri?.replace(/[^/#]*$/, '') });
    }
  };
  add('subject', doc.subject);
  add('subject', doc.subjects);
  add('service', doc.service);
  add('genre', doc.genre);
  add('genre', doc.genres);
  return out;
}

/**
 * Topics: NINJS_TOPIC_MAP entries match `scheme:code`, `kind:code` (subject:, service:, genre:), a bare code, or
 * a name (case-insensitive); without a match, subject names become slugs; failing that, NINJS_DEFAULT_TOPIC.
 */
export function topicsFor(doc: Doc, rules: TopicRules): Topic[] {
  const byName = new Map(Object.entries(rules.map).map(([k, v]) => [k.toLowerCase(), v]));
  const found = new Set<Topic>();
  const all = concepts(doc);
  for (const c of all) {
    const keys = [
      c.scheme && c.code ? `${c.scheme}:${c.code}` : null,
      c.code ? `${c.kind}:${c.code}` : null,
      c.code ?? null,
      c.name ? c.name.toLowerCase() : null,
    ].filter((k): k is string => k !== null);
    for (const k of keys) {
      const t = rules.map[k] ?? byName.get(k.toLowerCase());
      if (t) {
        t.forEach((x) => found.add(x));
        break;
      }
    }
  }
  if (found.size === 0) {
    for (const c of all) if (c.kind === 'subject' && c.name) {
      const s = slugify(c.name);
      if (s) found.add(s);
    }
  }
  if (found.size === 0) found.add(rules.defaultTopic);
  return [...found].slice(0, 20);
}

interface Rendition {
  href: string;
  width?: number;
  mime?: string;
}

function renditions(item: Doc): Rendition[] {
  const raw = item.renditions;
  const list: Doc[] = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? Object.values(raw as Record<string, Doc>) : [];
  return list
    .filter((r) => r && typeof r === 'object' && typeof r.href === 'string' && /^https?:\/\//.test(r.href))
    .map((r) => ({ href: String(r.href), width: typeof r.width === 'number' ? r.width : undefined, mime: str(r.mimetype) ?? str(r.contenttype) ?? str(r.contentType) }));
}

/** The largest rendition a browser can sensibly show (at most 2048 px wide), else the smallest larger one. */
export function bestRendition(list: Rendition[]): string | undefined {
  const images = list.filter((r) => !r.mime || r.mime.startsWith('image/'));
  const sized = images.filter((r) => r.width !== undefined);
  const sane = sized.filter((r) => r.width! <= 2048).sort((a, b) => b.width! - a.width!);
  if (sane[0]) return sane[0].href;
  const big = sized.sort((a, b) => a.width! - b.width!);
  return big[0]?.href ?? images[0]?.href;
}

function pictureOf(doc: Doc): Record<string, unknown> | null {
  const raw = doc.associations;
  const entries: Array<[string, Doc]> = Array.isArray(raw)
    ? raw.filter((a) => a && typeof a === 'object').map((a: Doc) => [String(a.name ?? ''), a])
    : raw && typeof raw === 'object'
      ? Object.entries(raw as Record<string, Doc>).filter(([, a]) => a && typeof a === 'object')
      : [];
  const pictures = entries.filter(([, a]) => ['picture', 'graphic', 'image'].includes(String(a.type ?? '')));
  // Superdesk names the lead picture featuremedia or main-*; agencies mainpic or the first one.
  pictures.sort(([a], [b]) => Number(!/^(featuremedia|main|mainpic)/.test(a)) - Number(!/^(featuremedia|main|mainpic)/.test(b)));
  for (const [, p] of pictures) {
    const url = bestRendition(renditions(p));
    if (!url) continue;
    const caption = captionOf(p);
    const credit = str(p.byline) ?? str(p.by) ?? str(p.creditline) ?? str(p.copyrightholder) ?? str(p.copyrightHolder);
    return { url, caption: caption ? cutText(caption, MAX.caption) : null, credit: textField(credit, MAX.credit) };
  }
  return null;
}

function date(v: unknown): string | undefined {
  const s = str(v);
  if (!s) return undefined;
  const d = new Date(fixDate(s));
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** Maps a validated ninjs document onto the article contract. Refuses what cannot be a text article, saying why. */
export function mapNinjs(doc: Doc, flavour: Flavour, rules: TopicRules, now: Date): NinjsIntent {
  const guid = str(doc.guid) ?? str(doc.uri);
  if (!guid) throw new ApiError('validation_failed', 'A ninjs document needs a guid or uri.', [{ field: 'uri', message: 'required' }]);
  const type = str(doc.type) ?? 'text';
  if (!TEXT_TYPES.has(type)) {
    throw new ApiError('validation_failed', `A ${type} item is not a news article: send the text or composite item that carries it.`, [
      { field: 'type', message: `"${type}" is not a text or composite item` },
    ]);
  }
  const headline = headlineOf(doc);
  if (!headline) throw new ApiError('validation_failed', 'The document has no headline.', [{ field: flavour === '1' || flavour === 'superdesk' ? 'headline' : 'headlines', message: 'required' }]);
  const rawVersion = pick(doc, 'version');
  const version = rawVersion !== undefined && /^\d+$/.test(String(rawVersion)) ? Math.max(1, Number(rawVersion)) : undefined;
  const urgency = Number(pick(doc, 'urgency'));
  const summary = summaryOf(doc);
  const byline = str(doc.byline) ?? str(doc.by);
  const pubstatus = String(pick(doc, 'pubstatus', 'pubStatus') ?? 'usable');
  const embargo = date(pick(doc, 'embargoed'));
  const evolved = str(pick(doc, 'evolvedfrom', 'evolvedFrom'));
  const language = str(doc.language);
  const input: Record<string, unknown> = {
    id: articleIdFor(guid),
    ...(version !== undefined ? { version } : {}),
    headline: cutText(headline, MAX.headline),
    summary: summary ? cutText(summary, MAX.summary) : null,
    body: bodyOf(doc) ?? null,
    byline: textField(byline, MAX.byline),
    topics: topicsFor(doc, rules),
    urgency: Number.isInteger(urgency) && urgency >= 1 && urgency <= 9 ? urgency : 5,
    ...(language ? { language } : {}),
    image: pictureOf(doc),
    ...(date(pick(doc, 'firstpublished', 'firstPublished', 'firstcreated', 'firstCreated')) ? { publishedAt: date(pick(doc, 'firstpublished', 'firstPublished', 'firstcreated', 'firstCreated')) } : {}),
  };
  const embargoUntil = embargo && Date.parse(embargo) > now.getTime() ? new Date(embargo) : null;
  const action = pubstatus === 'canceled' ? 'retract' : pubstatus === 'withheld' || embargoUntil ? 'hold' : 'publish';
  return { action, input, guid, embargoUntil, supersedes: evolved ? articleIdFor(evolved) : null };
}
