import sanitizeHtml from 'sanitize-html';
import { z } from 'zod';
import { ALL_LANGUAGES } from './story.ts';
import { topicSchema, type Topic } from './topic.ts';

export const ARTICLE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const MAX_BODY_BYTES = 256 * 1024;

export interface ArticleImage {
  url: string;
  caption: string | null;
  credit: string | null;
}

export type ArticleStatus = 'published' | 'retracted';

export type MediaRole = 'featured' | 'inline' | 'related';
export type MediaType = 'image' | 'video';

/** A picture or video of an article. `image` is the featured picture kept in step with `media` (see docs/api.md). */
export interface ArticleMedia {
  role: MediaRole;
  type: MediaType;
  url: string;
  width: number | null;
  height: number | null;
  caption: string | null;
  credit: string | null;
  /** Video only: a still to show before playing. */
  poster: string | null;
  /** Video only: seconds. */
  duration: number | null;
}

export const MAX_MEDIA = 20;

/** An article in its latest version, as stored and as sent to subscribers. */
export interface Article {
  id: string;
  version: number;
  headline: string;
  summary: string | null;
  /** Sanitised HTML; null once retracted. */
  body: string | null;
  url: string | null;
  topics: Topic[];
  urgency: number;
  language: string;
  byline: string | null;
  image: ArticleImage | null;
  publishedAt: string;
  changeNote: string | null;
  notify: boolean;
  updatedAt: string;
  status: ArticleStatus;
  retraction?: { reason: string | null };
  /** Id of the article this one replaces (ninjs `evolvedfrom`). */
  supersedes?: string | null;
  /** Id of the article that replaced this one; such an article leaves the listings. */
  supersededBy?: string | null;
  /** Id of the original this article translates; null for an original. Fixed at first publication. */
  translationOf?: string | null;
  /** Server-set: the original's id for a translation, the article's own id otherwise (absent on old records). */
  storyId?: string;
  machineTranslated?: boolean;
  media?: ArticleMedia[];
  /** Server-set on an original: its live translations, language -> article id. */
  translations?: Record<string, string>;
  /** Name of the publisher whose write made this version; stored, shown only to publishers (never in events). */
  updatedBy?: string | null;
}

/** The article as readers and events see it: without who wrote it. */
export function publicArticle(a: Article): Article {
  const { updatedBy: _hidden, ...rest } = a;
  return rest;
}

const plain = (max: number) => z.string().trim().max(max, `at most ${max} characters`);
const httpUrl = z.url({ protocol: /^https?$/, error: 'an absolute http(s) URL' });

/** BCP 47 language tag, canonicalised ("EN-gb" -> "en-GB"). */
export const languageSchema = z.string().transform((tag, ctx) => {
  try {
    const [canonical] = Intl.getCanonicalLocales(tag);
    if (canonical && /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(tag)) return canonical;
  } catch {
    // fall through to the issue below
  }
  ctx.addIssue({ code: 'custom', message: 'a BCP 47 language tag such as "en" or "pt-BR"' });
  return z.NEVER;
});

export const MAX_LANGUAGES = 10;

/** A reader's languages in order of preference, as a list (Socket.IO, Web Push). */
export const languageListSchema = z.array(languageSchema).min(1).max(MAX_LANGUAGES, `at most ${MAX_LANGUAGES} languages`);

/** The same as a comma-separated query parameter (`languages=ar,en`). */
export const languageListParam = z
  .string()
  .max(400)
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .pipe(languageListSchema);

/** A live reader's languages (Socket.IO, SSE): a list as above, or `*` alone, every version (ALL_LANGUAGES). */
export const liveLanguageListSchema = z.array(z.string()).transform((list, ctx) => {
  if (list.length === 1 && list[0] === ALL_LANGUAGES) return [ALL_LANGUAGES];
  const r = languageListSchema.safeParse(list);
  if (r.success) return r.data;
  for (const issue of r.error.issues) {
    const message = issue.message + (list.includes(ALL_LANGUAGES) ? ` (${ALL_LANGUAGES}, every version, stands alone)` : '');
    ctx.addIssue({ code: 'custom', message, path: issue.path });
  }
  return z.NEVER;
});

/** The same as a query parameter (`languages=ar,en` or `languages=*`). */
export const liveLanguageListParam = z
  .string()
  .max(400)
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .pipe(liveLanguageListSchema);

export const articleIdSchema = z.string().regex(ARTICLE_ID_RE, 'an id matching [A-Za-z0-9][A-Za-z0-9._:-]{0,127}');

const imageSchema = z.strictObject({
  url: httpUrl,
  caption: plain(1000).nullish(),
  credit: plain(300).nullish(),
});

const dimension = z.number().int().min(1).max(100_000);
const mediaSchema = z
  .strictObject({
    role: z.enum(['featured', 'inline', 'related']),
    type: z.enum(['image', 'video']),
    url: httpUrl,
    width: dimension.nullish(),
    height: dimension.nullish(),
    caption: plain(1000).nullish(),
    credit: plain(300).nullish(),
    poster: httpUrl.nullish(),
    duration: z.number().min(0).max(86_400).nullish(),
  })
  .refine((m) => m.type === 'video' || (m.poster == null && m.duration == null), {
    message: 'poster and duration are for videos',
    path: ['poster'],
  });

const mediaListSchema = z
  .array(mediaSchema)
  .max(MAX_MEDIA, `at most ${MAX_MEDIA} entries`)
  .refine((list) => list.filter((m) => m.role === 'featured').length <= 1, 'at most one featured entry');

const bodySchema = z
  .string()
  .refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_BODY_BYTES, 'at most 256 KiB of HTML');

/** The editable fields of an article, each optional: shared by publication (POST) and partial change (PATCH). */
const editableFields = {
  headline: plain(300).min(1, 'required, 1 to 300 characters'),
  summary: plain(1000).nullish(),
  body: bodySchema.nullish(),
  url: httpUrl.nullish(),
  topics: z.array(topicSchema).min(1, '1 to 20 topics').max(20, '1 to 20 topics'),
  urgency: z.number().int().min(1).max(9),
  language: languageSchema,
  byline: plain(300).nullish(),
  image: imageSchema.nullish(),
  media: mediaListSchema.nullish(),
  machineTranslated: z.boolean(),
  publishedAt: z.iso.datetime({ offset: true, error: 'an ISO 8601 date-time' }),
  changeNote: plain(280).nullish(),
  notify: z.boolean(),
};

/** The fields of a publication, before the story rules (kept unrefined so the draft can be derived from it). */
const articleInputObject = z.strictObject({
  id: articleIdSchema,
  version: z.number().int().min(1).optional(),
  /** The original this article translates (fixed at first publication; see news/stories.ts for the rules). */
  translationOf: articleIdSchema.nullish(),
  ...editableFields,
  urgency: editableFields.urgency.optional(),
  language: editableFields.language.optional(),
  publishedAt: editableFields.publishedAt.optional(),
  notify: editableFields.notify.optional(),
  machineTranslated: editableFields.machineTranslated.optional(),
});

/** The rules of one publication on its own (the rules needing the store are in news/stories.ts). */
function publicationRules(
  a: z.infer<typeof articleInputObject> | Omit<z.infer<typeof articleInputObject>, 'id'> & { id?: string },
  ctx: z.RefinementCtx,
): void {
  if (a.translationOf != null && a.translationOf === a.id) {
    ctx.addIssue({ code: 'custom', path: ['translationOf'], message: 'an article cannot translate itself' });
  }
  if (a.machineTranslated && a.translationOf == null) {
    ctx.addIssue({ code: 'custom', path: ['machineTranslated'], message: 'only a translation (translationOf) can be machine translated' });
  }
  imageAgreesWithMedia(a, ctx);
}

/** What publishers send to `POST /api/v1/articles`. Unknown fields are refused so typos do not vanish silently. */
export const articleInputSchema = articleInputObject.superRefine(publicationRules);
export type ArticleInput = z.infer<typeof articleInputSchema>;

/**
 * A publication that may leave the id to the server (POST /api/v1/articles without `id`). Derived from the
 * unrefined object (zod 4 refuses `.partial()` on a refined one), with the same rules.
 */
export const articleDraftSchema = articleInputObject.partial({ id: true }).superRefine(publicationRules);

/** What publishers send to `PATCH /api/v1/articles/:id`. */
export const articlePatchSchema = z
  .strictObject({
    ifVersion: z.number().int().min(1).optional(),
    headline: editableFields.headline.optional(),
    summary: editableFields.summary,
    body: editableFields.body,
    url: editableFields.url,
    topics: editableFields.topics.optional(),
    urgency: editableFields.urgency.optional(),
    language: editableFields.language.optional(),
    byline: editableFields.byline,
    image: editableFields.image,
    media: editableFields.media,
    machineTranslated: editableFields.machineTranslated.optional(),
    publishedAt: editableFields.publishedAt.optional(),
    changeNote: editableFields.changeNote,
    notify: editableFields.notify.optional(),
  })
  .superRefine(imageAgreesWithMedia);
export type ArticlePatch = z.infer<typeof articlePatchSchema>;

/** `image` and the featured entry of `media`, when both are sent, must name the same picture. */
function imageAgreesWithMedia(
  a: { image?: { url: string } | null; media?: Array<{ role: string; type: string; url: string; poster?: string | null }> | null },
  ctx: z.RefinementCtx,
): void {
  const featured = a.media?.find((m) => m.role === 'featured');
  if (!a.image || !featured) return;
  if (featuredPicture(featured) !== a.image.url) {
    ctx.addIssue({ code: 'custom', path: ['image', 'url'], message: "differs from media's featured entry; send one of them, or the same picture in both" });
  }
}

export const retractionSchema = z.strictObject({ reason: plain(1000).nullish() });

const SANITIZE_OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [
    ...sanitizeHtml.defaults.allowedTags,
    'img', 'figure', 'figcaption', 'picture', 'source', 'del', 'ins', 'sub', 'sup',
  ],
  allowedAttributes: {
    a: ['href', 'title', 'rel', 'target'],
    img: ['src', 'alt', 'title', 'width', 'height', 'loading'],
    source: ['srcset', 'media', 'type'],
    '*': ['lang', 'dir'],
  },
  allowedSchemes: ['http', 'https', 'mailto', 'tel'],
  allowedSchemesByTag: { img: ['http', 'https'], source: ['http', 'https'] },
  allowProtocolRelative: false,
  transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: 'noopener noreferrer' }) },
};

/** Reduces article HTML to a safe subset: no script, no event handlers, no javascript: URLs. */
export function sanitizeBody(html: string): string {
  return sanitizeHtml(html, SANITIZE_OPTIONS);
}

/** The fields that make two versions "the same content" for idempotent retries. */
export function contentOf(a: Article): unknown {
  const { updatedAt: _u, status: _s, retraction: _r, supersededBy: _b, translations: _t, updatedBy: _p, ...content } = a;
  return content;
}

export function sameContent(a: Article, b: Article): boolean {
  return JSON.stringify(sortKeys(contentOf(a))) === JSON.stringify(sortKeys(contentOf(b)));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}

function image(i: z.infer<typeof imageSchema> | null | undefined): ArticleImage | null {
  return i ? { url: i.url, caption: i.caption ?? null, credit: i.credit ?? null } : null;
}

type MediaInput = z.infer<typeof mediaSchema>;

/** The picture a featured entry shows: an image itself, a video's poster. */
function featuredPicture(m: { type: string; url: string; poster?: string | null }): string | null {
  return m.type === 'image' ? m.url : m.poster ?? null;
}

function mediaEntry(m: MediaInput): ArticleMedia {
  return {
    role: m.role,
    type: m.type,
    url: m.url,
    width: m.width ?? null,
    height: m.height ?? null,
    caption: m.caption ?? null,
    credit: m.credit ?? null,
    poster: m.poster ?? null,
    duration: m.duration ?? null,
  };
}

/**
 * Keeps `image` and `media` in step: an `image` sent alone becomes the featured media entry; a featured entry
 * (its picture, or a video's poster) fills `image`. Exported for the ninjs mapping.
 */
export function mediaInStep(img: ArticleImage | null, list: ArticleMedia[]): { image: ArticleImage | null; media: ArticleMedia[] } {
  const featured = list.find((m) => m.role === 'featured');
  if (featured) {
    const url = featuredPicture(featured);
    return { image: url ? { url, caption: featured.caption, credit: featured.credit } : img, media: list };
  }
  if (!img) return { image: null, media: list };
  const entry: ArticleMedia = { role: 'featured', type: 'image', url: img.url, width: null, height: null, caption: img.caption, credit: img.credit, poster: null, duration: null };
  return { image: img, media: [entry, ...list] };
}

/**
 * Builds the stored article from a validated publication. `existing` is the current version, if any:
 * it supplies the defaults that depend on history (version, publishedAt, notify).
 */
export function buildArticle(input: ArticleInput, existing: Article | null, now: Date): Article {
  const version = input.version ?? (existing ? existing.version + 1 : 1);
  return {
    id: input.id,
    version,
    headline: input.headline,
    summary: input.summary ?? null,
    body: input.body == null ? null : sanitizeBody(input.body),
    url: input.url ?? null,
    topics: dedupe(input.topics),
    urgency: input.urgency ?? 5,
    language: input.language ?? 'en',
    byline: input.byline ?? null,
    ...mediaInStep(image(input.image), (input.media ?? []).map(mediaEntry)),
    translationOf: input.translationOf ?? existing?.translationOf ?? null,
    storyId: input.translationOf ?? existing?.translationOf ?? input.id,
    machineTranslated: input.machineTranslated ?? false,
    publishedAt: input.publishedAt ? new Date(input.publishedAt).toISOString() : existing?.publishedAt ?? now.toISOString(),
    changeNote: input.changeNote ?? null,
    // Only a first publication alerts by default; later versions must ask for it. A retry of the current version
    // keeps what that version had, so it compares as the same content.
    notify: input.notify ?? (existing === null ? true : existing.version === version ? existing.notify : false),
    updatedAt: now.toISOString(),
    status: 'published',
    ...(existing?.supersedes ? { supersedes: existing.supersedes } : {}),
    ...(existing?.translations ? { translations: existing.translations } : {}),
  };
}

/** Applies a validated partial change to the current version; the version is bumped. */
export function applyPatch(existing: Article, patch: ArticlePatch, now: Date): Article {
  const { ifVersion: _ignored, ...fields } = patch;
  const next: Article = {
    ...existing,
    version: existing.version + 1,
    changeNote: null,
    notify: false,
    updatedAt: now.toISOString(),
  };
  if (fields.headline !== undefined) next.headline = fields.headline;
  if (fields.summary !== undefined) next.summary = fields.summary;
  if (fields.body !== undefined) next.body = fields.body === null ? null : sanitizeBody(fields.body);
  if (fields.url !== undefined) next.url = fields.url;
  if (fields.topics !== undefined) next.topics = dedupe(fields.topics);
  if (fields.urgency !== undefined) next.urgency = fields.urgency;
  if (fields.language !== undefined) next.language = fields.language;
  if (fields.byline !== undefined) next.byline = fields.byline;
  if (fields.media !== undefined) Object.assign(next, mediaInStep(null, (fields.media ?? []).map(mediaEntry)));
  if (fields.image !== undefined) {
    // A new image replaces the featured entry (unless media was sent too: the schema made them agree).
    const rest = (next.media ?? []).filter((m) => m.role !== 'featured' || fields.media != null);
    Object.assign(next, mediaInStep(image(fields.image), rest));
  }
  if (fields.machineTranslated !== undefined) next.machineTranslated = fields.machineTranslated;
  if (fields.publishedAt !== undefined) next.publishedAt = new Date(fields.publishedAt).toISOString();
  if (fields.changeNote !== undefined) next.changeNote = fields.changeNote;
  if (fields.notify !== undefined) next.notify = fields.notify;
  return next;
}

export function retract(existing: Article, reason: string | null, now: Date): Article {
  return {
    ...existing,
    body: null,
    status: 'retracted',
    retraction: { reason },
    notify: existing.notify,
    updatedAt: now.toISOString(),
  };
}

function dedupe(topics: Topic[]): Topic[] {
  return [...new Set(topics)];
}
