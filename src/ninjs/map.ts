import type { Topic } from '../domain/topic.ts';
import { slugify } from '../domain/topic.ts';
import { ApiError } from '../domain/errors.ts';
import { MAX_MEDIA } from '../domain/article.ts';
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
function field(doc: Doc, ...names: string[]): unknown {
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
  height?: number;
  mime?: string;
  duration?: number;
}

function renditions(item: Doc): Rendition[] {
  const raw = item.renditions;
  const list: Doc[] = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? Object.values(raw as Record<string, Doc>) : [];
  return list
    .filter((r) => r && typeof r === 'object' && typeof r.href === 'string' && /^https?:\/\//.test(r.href))
    .map((r) => ({
      href: String(r.href),
      width: typeof r.width === 'number' ? r.width : undefined,
      height: typeof r.height === 'number' ? r.height : undefined,
      mime: str(r.mimetype) ?? str(r.contenttype) ?? str(r.contentType),
      duration: typeof r.duration === 'number' && r.duration >= 0 && r.duration <= 86_400 ? r.duration : undefined,
    }));
}

const isVideo = (r: Rendition) => (r.mime ? r.mime.startsWith('video/') || r.mime === 'application/x-mpegURL' : /\.(mp4|webm|m3u8|mov)(\?|$)/i.test(r.href));
const isImage = (r: Rendition) => (r.mime ? r.mime.startsWith('image/') : !isVideo(r));

/**
 * The largest rendition at most `maxWidth` px wide (2048: a page picture, sharp on a high-density screen), else the
 * smallest larger one, else any.
 */
function pick(list: Rendition[], maxWidth: number): Rendition | undefined {
  const sized = list.filter((r) => r.width !== undefined);
  const sane = sized.filter((r) => r.width! <= maxWidth).sort((a, b) => b.width! - a.width!);
  return sane[0] ?? sized.sort((a, b) => a.width! - b.width!)[0] ?? list[0];
}

/** The page picture among a picture's renditions. */
export function bestRendition(list: Rendition[]): string | undefined {
  return pick(list.filter(isImage), 2048)?.href;
}

type Association = [name: string, item: Doc];

function associationsOf(doc: Doc): Association[] {
  const raw = doc.associations;
  return Array.isArray(raw)
    ? raw.filter((a) => a && typeof a === 'object').map((a: Doc) => [String(a.name ?? ''), a])
    : raw && typeof raw === 'object'
      ? Object.entries(raw as Record<string, Doc>).filter(([, a]) => a && typeof a === 'object')
      : [];
}

const PICTURE_TYPES = new Set(['picture', 'graphic', 'image']);
/** Superdesk names the lead picture featuremedia or main-*; agencies mainpic; else the first picture leads. */
const LEAD = /^(featuremedia|main|mainpic)/;
/** Superdesk's pictures and videos embedded in the body are editor_0, editor_1, ... */
const INLINE = /^editor_/;

function creditOf(item: Doc): string | null {
  return textField(str(item.byline) ?? str(item.by) ?? str(item.creditline) ?? str(item.copyrightholder) ?? str(item.copyrightHolder), MAX.credit);
}

/**
 * One media entry for a picture or video association (null when it has no usable rendition): a picture shows its
 * page-sized rendition (up to 2048 px); a video plays its largest MP4 rendition up to 1920 px (else any video
 * rendition), with its largest still up to 1280 px as the poster (what a card or a notification shows).
 */
function mediaEntry([, item]: Association, role: 'featured' | 'inline' | 'related'): Record<string, unknown> | null {
  const list = renditions(item);
  const video = String(item.type ?? '') === 'video';
  const caption = captionOf(item);
  const chosen = video ? pick(list.filter((r) => isVideo(r) && (!r.mime || r.mime === 'video/mp4')), 1920) ?? pick(list.filter(isVideo), 1920) : pick(list.filter(isImage), 2048);
  if (!chosen) return null;
  const poster = video ? pick(list.filter(isImage), 1280)?.href ?? null : null;
  return {
    role,
    type: video ? 'video' : 'image',
    url: chosen.href,
    width: chosen.width ?? null,
    height: chosen.height ?? null,
    caption: caption ? cutText(caption, MAX.caption) : null,
    credit: creditOf(item),
    ...(video ? { poster, duration: chosen.duration ?? list.find((r) => r.duration !== undefined)?.duration ?? null } : {}),
  };
}

/**
 * Every picture and video association, as `media`: the lead picture featured, Superdesk's body embeds inline, the
 * rest related; at most MAX_MEDIA, the featured one first. `image` is the featured picture (kept in step).
 */
function mediaOf(doc: Doc): { image: Record<string, unknown> | null; media: Record<string, unknown>[] } {
  const all = associationsOf(doc).filter(([, a]) => PICTURE_TYPES.has(String(a.type ?? '')) || String(a.type ?? '') === 'video');
  const pictures = all.filter(([, a]) => PICTURE_TYPES.has(String(a.type ?? '')));
  const ranked = [...pictures].sort(([a], [b]) => Number(!LEAD.test(a)) - Number(!LEAD.test(b)));
  let featured: Record<string, unknown> | null = null;
  let lead: Association | undefined;
  for (const p of ranked) {
    featured = mediaEntry(p, 'featured');
    if (featured) {
      lead = p;
      break;
    }
  }
  const rest = all.filter((a) => a !== lead).map((a) => mediaEntry(a, INLINE.test(a[0]) ? 'inline' : 'related')).filter((m): m is Record<string, unknown> => m !== null);
  const media = (featured ? [featured, ...rest] : rest).slice(0, MAX_MEDIA);
  return { image: featured ? { url: featured.url, caption: featured.caption, credit: featured.credit } : null, media };
}

const TRANSLATED_FROM = /(^|[:/#])(translated_?from|translation_?of)$/i;

/**
 * The guid or uri of the item this one translates: Superdesk's `translated_from` (or its `translation_id`, the
 * group's original, when that is another item); ninjs 3.x an association whose `rel` says so (NewsML-G2's
 * `irel:translatedFrom`); ninjs 2.x/3.x an alternative id with that role. ninjs itself has no translation field.
 */
function translatedFrom(doc: Doc, guid: string): string | undefined {
  const superdesk = str(doc.translated_from) ?? (str(doc.translation_id) !== guid ? str(doc.translation_id) : undefined);
  if (superdesk) return superdesk;
  const rel = associationsOf(doc).find(([, a]) => TRANSLATED_FROM.test(String(a.rel ?? '')));
  if (rel) return str(rel[1].uri) ?? str(rel[1].guid);
  const alt = [doc.altids, doc.altIds].flat().find((x) => !!x && typeof x === 'object' && TRANSLATED_FROM.test(String((x as Doc).role ?? ''))) as Doc | undefined;
  return alt ? str(alt.value) : undefined;
}

/** IPTC digital source types that say a machine made the content (used for a translation: a machine translation). */
const MACHINE_MADE = /(trainedAlgorithmicMedia|algorithmicMedia)$/;

/** `digitalsourcetype` (1.x: a URI string; 2.x/3.x: `{ uri, name }`) says a machine made it. */
function machineMade(doc: Doc): boolean {
  const t = field(doc, 'digitalsourcetype', 'digitalSourceType');
  const uri = typeof t === 'string' ? t : t && typeof t === 'object' ? str((t as Doc).uri) ?? str((t as Doc).literal) : undefined;
  return !!uri && MACHINE_MADE.test(uri);
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
  const rawVersion = field(doc, 'version');
  const version = rawVersion !== undefined && /^\d+$/.test(String(rawVersion)) ? Math.max(1, Number(rawVersion)) : undefined;
  const urgency = Number(field(doc, 'urgency'));
  const summary = summaryOf(doc);
  const byline = str(doc.byline) ?? str(doc.by);
  const pubstatus = String(field(doc, 'pubstatus', 'pubStatus') ?? 'usable');
  const embargo = date(field(doc, 'embargoed'));
  const evolved = str(field(doc, 'evolvedfrom', 'evolvedFrom'));
  const language = str(doc.language);
  const original = translatedFrom(doc, guid);
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
    ...mediaOf(doc),
    ...(original ? { translationOf: articleIdFor(original) } : {}),
    ...(original && machineMade(doc) ? { machineTranslated: true } : {}),
    ...(date(field(doc, 'firstpublished', 'firstPublished', 'firstcreated', 'firstCreated')) ? { publishedAt: date(field(doc, 'firstpublished', 'firstPublished', 'firstcreated', 'firstCreated')) } : {}),
  };
  const embargoUntil = embargo && Date.parse(embargo) > now.getTime() ? new Date(embargo) : null;
  const action = pubstatus === 'canceled' ? 'retract' : pubstatus === 'withheld' || embargoUntil ? 'hold' : 'publish';
  return { action, input, guid, embargoUntil, supersedes: evolved ? articleIdFor(evolved) : null };
}
