import sanitizeHtml from 'sanitize-html';
import { z } from 'zod';
import { topicSchema, type Topic } from './topic.ts';

export const ARTICLE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const MAX_BODY_BYTES = 256 * 1024;

export interface ArticleImage {
  url: string;
  caption: string | null;
  credit: string | null;
}

export type ArticleStatus = 'published' | 'retracted';

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

export const articleIdSchema = z.string().regex(ARTICLE_ID_RE, 'an id matching [A-Za-z0-9][A-Za-z0-9._:-]{0,127}');

const imageSchema = z.strictObject({
  url: httpUrl,
  caption: plain(1000).nullish(),
  credit: plain(300).nullish(),
});

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
  publishedAt: z.iso.datetime({ offset: true, error: 'an ISO 8601 date-time' }),
  changeNote: plain(280).nullish(),
  notify: z.boolean(),
};

/** What publishers send to `POST /api/v1/articles`. Unknown fields are refused so typos do not vanish silently. */
export const articleInputSchema = z.strictObject({
  id: articleIdSchema,
  version: z.number().int().min(1).optional(),
  ...editableFields,
  urgency: editableFields.urgency.optional(),
  language: editableFields.language.optional(),
  publishedAt: editableFields.publishedAt.optional(),
  notify: editableFields.notify.optional(),
});
export type ArticleInput = z.infer<typeof articleInputSchema>;

/** A publication that may leave the id to the server (POST /api/v1/articles without `id`). */
export const articleDraftSchema = articleInputSchema.partial({ id: true });

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
    publishedAt: editableFields.publishedAt.optional(),
    changeNote: editableFields.changeNote,
    notify: editableFields.notify.optional(),
  });
export type ArticlePatch = z.infer<typeof articlePatchSchema>;

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
  const { updatedAt: _u, status: _s, retraction: _r, supersededBy: _b, updatedBy: _p, ...content } = a;
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
    image: image(input.image),
    publishedAt: input.publishedAt ? new Date(input.publishedAt).toISOString() : existing?.publishedAt ?? now.toISOString(),
    changeNote: input.changeNote ?? null,
    // Only a first publication alerts by default; later versions must ask for it. A retry of the current version
    // keeps what that version had, so it compares as the same content.
    notify: input.notify ?? (existing === null ? true : existing.version === version ? existing.notify : false),
    updatedAt: now.toISOString(),
    status: 'published',
    ...(existing?.supersedes ? { supersedes: existing.supersedes } : {}),
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
  if (fields.image !== undefined) next.image = image(fields.image);
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
