import { z } from 'zod';
import { streamQuery } from '../delivery/sse.ts';
import { articleDraftSchema, articlePatchSchema, retractionSchema } from '../domain/article.ts';
import { ERRORS, type ErrorCode } from '../domain/errors.ts';
import { createSubscriptionSchema, preferencesPatchSchema } from '../push/types.ts';
import { receiptBody, reportsQuery } from '../reports/routes.ts';
import { audienceQuery, listQuery, publishQuery } from './articles.ts';
import { eventsQuery } from './reading.ts';

/**
 * Every route the server answers, with the zod schemas its handler validates with. This list is the one place a
 * route is registered for the OpenAPI document (GET /api/v1/openapi.json); tests/integration/openapi.test.ts walks
 * the Express app and fails for a route that is missing here. Request schemas are the routes' own, imported;
 * response shapes are described here (the server builds its answers from TypeScript types, not zod).
 */

export type Auth = 'publisher' | 'publisher-or-signature' | 'subscription-token';

export interface RouteResponse {
  description: string;
  /** JSON body; omitted for bodies that are not JSON (see contentType). */
  schema?: z.ZodType;
  contentType?: string;
}

export interface RouteDoc {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** Express path syntax: /api/v1/articles/:id */
  path: string;
  tag: 'publishing' | 'reading' | 'web push' | 'operations' | 'assets';
  summary: string;
  auth?: Auth;
  query?: z.ZodObject;
  body?: { schema: z.ZodType; required: boolean; description?: string };
  /** Success answers; the error answers come from `errors`. */
  responses: Record<number, RouteResponse>;
  errors?: ErrorCode[];
}

// ---- response shapes -------------------------------------------------------------------------------------------

const nullableString = z.string().nullable();

const mediaView = z
  .object({
    role: z.enum(['featured', 'inline', 'related']),
    type: z.enum(['image', 'video']),
    url: z.string(),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    caption: nullableString,
    credit: nullableString,
    poster: nullableString.meta({ description: 'Videos: a still shown before playing.' }),
    duration: z.number().nullable().meta({ description: 'Videos: seconds.' }),
  })
  .meta({ id: 'Media' });

const storyView = z
  .object({ id: z.string(), versions: z.array(z.object({ id: z.string(), language: z.string() })) })
  .meta({ id: 'Story', description: "The article's story (original and translations) as it is after the event: its live versions." });

export const articleView = z
  .object({
    id: z.string(),
    version: z.number().int().min(1),
    headline: z.string(),
    summary: nullableString,
    body: nullableString.meta({ description: 'Sanitised HTML; null once retracted.' }),
    url: nullableString,
    topics: z.array(z.string()),
    urgency: z.number().int().min(1).max(9),
    language: z.string(),
    byline: nullableString,
    image: z.object({ url: z.string(), caption: nullableString, credit: nullableString }).nullable(),
    publishedAt: z.string(),
    changeNote: nullableString,
    notify: z.boolean(),
    updatedAt: z.string(),
    status: z.enum(['published', 'retracted']),
    retraction: z.object({ reason: nullableString }).optional(),
    supersedes: nullableString.optional(),
    supersededBy: nullableString.optional(),
    translationOf: nullableString.optional().meta({ description: 'Id of the original this article translates; null for an original.' }),
    storyId: z.string().optional().meta({ description: "The original's id for a translation, the article's own id otherwise." }),
    machineTranslated: z.boolean().optional(),
    media: z.array(mediaView).optional(),
    translations: z.record(z.string(), z.string()).optional().meta({ description: 'On an original: its live translations, language -> article id.' }),
    updatedBy: nullableString.optional().meta({ description: 'The publisher whose write made this version (only with a publisher key).' }),
  })
  .meta({ id: 'Article' });

export const eventView = z
  .object({
    id: z.string().meta({ description: 'Opaque, ordered across the deployment; echo it back as a cursor.', example: '1707404640000-0' }),
    type: z.enum(['article.published', 'article.updated', 'article.retracted']),
    at: z.string(),
    topics: z.array(z.string()),
    article: articleView,
    story: storyView.optional(),
  })
  .meta({ id: 'Event' });

const audienceView = z
  .object({ push: z.number().int().min(0), live: z.number().int().min(0).meta({ description: 'Clients of the node that answered.' }) })
  .meta({ id: 'Audience', description: 'Whom the write reaches (with `?audience=true`, and on dry runs).' });

const writeResult = z.object({ event: eventView.nullable(), article: articleView, audience: audienceView.optional() }).meta({ id: 'WriteResult' });

const dryRunResult = z
  .object({ dryRun: z.literal(true), event: z.object({ type: eventView.shape.type, topics: z.array(z.string()) }).nullable(), article: articleView, audience: audienceView })
  .meta({ id: 'DryRunResult' });

const versionView = z.object({
  version: z.number().int().min(1),
  type: eventView.shape.type,
  at: z.string(),
  author: nullableString,
  changeNote: nullableString,
  eventId: nullableString,
});

export const errorEnvelope = z
  .object({
    error: z.looseObject({
      code: z.enum(Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'Error' });

const preferencesView = z.object({
  id: z.string(),
  topics: z.array(z.string()),
  maxUrgency: z.number().int(),
  languages: z.array(z.string()).nullable(),
  quietHours: z.object({ start: z.string(), end: z.string(), timeZone: z.string() }).nullable(),
});

const status = (value: string) => z.object({ status: z.literal(value) });

// ---- the routes ------------------------------------------------------------------------------------------------

const WRITE_ERRORS: ErrorCode[] = ['validation_failed', 'invalid_json', 'unauthorized', 'payload_too_large', 'unsupported_media_type', 'rate_limited', 'unavailable'];

export const ROUTES: RouteDoc[] = [
  {
    method: 'post', path: '/api/v1/articles', tag: 'publishing', auth: 'publisher',
    summary: 'Publish an article or a new version of it (upsert by id; without id, a new article with an id made by the server); `?dryRun=true` stores and sends nothing',
    query: publishQuery,
    body: { schema: articleDraftSchema, required: true },
    responses: {
      201: { description: 'Published: `article.published`', schema: writeResult },
      200: { description: 'A newer version (`article.updated`), or the same content again (`"event": null`); with `?dryRun=true`, what would happen', schema: z.union([writeResult, dryRunResult]) },
    },
    errors: [...WRITE_ERRORS, 'stale_version', 'retracted'],
  },
  {
    method: 'patch', path: '/api/v1/articles/:id', tag: 'publishing', auth: 'publisher',
    summary: 'Change some fields; the server bumps the version (`ifVersion` guards against lost edits)',
    query: audienceQuery,
    body: { schema: articlePatchSchema, required: true },
    responses: { 200: { description: '`article.updated`', schema: writeResult } },
    errors: [...WRITE_ERRORS, 'not_found', 'stale_version', 'retracted'],
  },
  {
    method: 'delete', path: '/api/v1/articles/:id', tag: 'publishing', auth: 'publisher',
    summary: 'Retract an article (optional reason)',
    query: audienceQuery,
    body: { schema: retractionSchema, required: false },
    responses: { 200: { description: '`article.retracted`, or `"event": null` when it already was', schema: writeResult } },
    errors: [...WRITE_ERRORS, 'not_found'],
  },
  {
    method: 'post', path: '/api/v1/ninjs', tag: 'publishing', auth: 'publisher-or-signature',
    summary: 'Publish, hold or retract from an IPTC ninjs (1.x, 2.x, 3.x) or Superdesk document',
    query: audienceQuery,
    body: {
      schema: z.looseObject({}).meta({ description: 'An IPTC ninjs document, validated against the official schema of its version (https://iptc.org/standards/ninjs/).' }),
      required: true,
    },
    responses: {
      200: { description: 'As POST /api/v1/articles (update, retraction or repeat)', schema: writeResult },
      201: { description: 'Published', schema: writeResult },
      202: { description: 'Held (withheld, or embargoed until `held.releaseAt`)', schema: z.object({ event: z.null(), article: articleView.nullable(), held: z.object({ id: z.string(), version: z.number().nullable(), releaseAt: nullableString }), audience: audienceView.optional() }) },
    },
    errors: [...WRITE_ERRORS, 'stale_version', 'retracted'],
  },
  {
    method: 'get', path: '/api/v1/articles', tag: 'reading', summary: 'Latest articles, newest first, a page at a time (`status=retracted|all` with a publisher key)',
    query: listQuery,
    responses: { 200: { description: 'A page of articles; `next` is the cursor of the following, older page', schema: z.object({ articles: z.array(articleView), next: nullableString }) } },
    errors: ['validation_failed', 'unauthorized'],
  },
  {
    method: 'get', path: '/api/v1/articles/:id/history', tag: 'publishing', auth: 'publisher', summary: "An article's versions, oldest first, with who made each",
    responses: { 200: { description: 'The audit trail', schema: z.object({ versions: z.array(versionView) }) } },
    errors: ['unauthorized', 'not_found'],
  },
  {
    method: 'get', path: '/api/v1/articles/:id', tag: 'reading', summary: 'One article by id (or by its ninjs guid/uri)',
    responses: { 200: { description: 'The article', schema: z.object({ article: articleView }) } },
    errors: ['not_found'],
  },
  {
    method: 'get', path: '/api/v1/topics', tag: 'reading', summary: 'Topics of retained articles with their counts, plus TOPICS',
    responses: { 200: { description: 'The topics', schema: z.object({ topics: z.array(z.object({ topic: z.string(), articles: z.number().int() })) }) } },
  },
  {
    method: 'get', path: '/api/v1/events', tag: 'reading', summary: 'Retained events after a cursor, oldest first',
    query: eventsQuery,
    responses: { 200: { description: '`resync: true` (and no events) when the cursor cannot be replayed, with `reason` and `head`, the id to continue from', schema: z.object({ events: z.array(eventView), resync: z.boolean(), reason: z.enum(['history_truncated', 'history_reset', 'too_far_behind']).optional(), head: z.string().nullable().optional(), more: z.boolean() }) } },
    errors: ['validation_failed'],
  },
  {
    method: 'get', path: '/api/v1/stream', tag: 'reading', summary: 'Server-Sent Events: replay after `since` or Last-Event-ID, then live events',
    query: streamQuery,
    responses: { 200: { description: '`id:` the event id, `data:` the event JSON; `event: resync` (with `id:` the id to continue from) when the cursor cannot be replayed; heartbeat comments', contentType: 'text/event-stream' } },
    errors: ['validation_failed', 'rate_limited', 'unavailable'],
  },
  {
    method: 'get', path: '/api/v1/openapi.json', tag: 'reading', summary: 'This document (OpenAPI 3.1)',
    responses: { 200: { description: 'The OpenAPI document', contentType: 'application/json' } },
  },
  {
    method: 'get', path: '/api/v1/push/key', tag: 'web push', summary: 'The VAPID public key to subscribe with',
    responses: { 200: { description: 'base64url P-256 public key', schema: z.object({ publicKey: z.string() }) } },
  },
  {
    method: 'post', path: '/api/v1/push/subscriptions', tag: 'web push', summary: 'Register a browser push subscription with its preferences',
    body: { schema: createSubscriptionSchema, required: true },
    responses: {
      201: { description: 'Created; keep `token` to manage it', schema: preferencesView.extend({ token: z.string() }) },
      200: { description: 'The same endpoint again: same id, preferences replaced, new token', schema: preferencesView.extend({ token: z.string() }) },
    },
    errors: ['validation_failed', 'invalid_json', 'payload_too_large', 'unsupported_media_type', 'rate_limited', 'unavailable'],
  },
  {
    method: 'get', path: '/api/v1/push/subscriptions/:id', tag: 'web push', auth: 'subscription-token', summary: 'Read a subscription',
    responses: { 200: { description: 'Its preferences', schema: preferencesView } },
    errors: ['not_found'],
  },
  {
    method: 'patch', path: '/api/v1/push/subscriptions/:id', tag: 'web push', auth: 'subscription-token', summary: 'Change its topics, maxUrgency, languages or quiet hours',
    body: { schema: preferencesPatchSchema, required: true },
    responses: { 200: { description: 'The new preferences', schema: preferencesView } },
    errors: ['validation_failed', 'invalid_json', 'not_found', 'unsupported_media_type'],
  },
  {
    method: 'delete', path: '/api/v1/push/subscriptions/:id', tag: 'web push', auth: 'subscription-token', summary: 'Remove a subscription',
    responses: { 204: { description: 'Removed' } },
    errors: ['not_found'],
  },
  {
    method: 'post', path: '/api/v1/push/receipts', tag: 'web push', summary: 'The service worker showed an alert, or the reader opened it (any origin; JSON or text/plain)',
    body: { schema: receiptBody, required: true, description: '`receipt` is the token of the push payload' },
    responses: { 200: { description: '`counted: false` for a repeat of (event, subscription, action)', schema: z.object({ counted: z.boolean() }) } },
    errors: ['validation_failed', 'forbidden', 'not_found', 'payload_too_large', 'rate_limited', 'unavailable'],
  },
  {
    method: 'get', path: '/api/v1/articles/:id/report', tag: 'publishing', auth: 'publisher', summary: 'What happened to each alert of an article: live, Web Push, shown, opened',
    responses: { 200: { description: 'One VersionReport per version that went out, oldest first (see docs/api.md)', schema: z.object({ articleId: z.string(), versions: z.array(z.looseObject({ version: z.number().int(), eventId: z.string(), complete: z.boolean() })) }) } },
    errors: ['unauthorized', 'not_found', 'unavailable'],
  },
  {
    method: 'get', path: '/api/v1/articles/:id/report/stream', tag: 'publishing', auth: 'publisher', summary: 'Server-Sent Events: the report at once, then at most once a second while it changes',
    responses: { 200: { description: '`event: report`, `data:` the report JSON; heartbeat comments', contentType: 'text/event-stream' } },
    errors: ['unauthorized', 'not_found'],
  },
  {
    method: 'get', path: '/api/v1/reports', tag: 'publishing', auth: 'publisher', summary: 'Recent alerts with their headline figures, newest first',
    query: reportsQuery,
    responses: { 200: { description: 'The reports (a scoped key sees its scope only)', schema: z.object({ reports: z.array(z.looseObject({ articleId: z.string(), eventId: z.string(), audience: z.number().int() })) }) } },
    errors: ['validation_failed', 'unauthorized', 'unavailable'],
  },
  {
    method: 'get', path: '/healthz', tag: 'operations', summary: 'Liveness: 200 while the process runs',
    responses: { 200: { description: 'Alive', schema: status('ok') } },
  },
  {
    method: 'get', path: '/readyz', tag: 'operations', summary: 'Readiness: 200 when it can serve (storage reachable, not shutting down)',
    responses: { 200: { description: 'Ready', schema: status('ready') } },
    errors: ['unavailable'],
  },
  {
    method: 'get', path: '/metrics', tag: 'operations', summary: 'Prometheus metrics',
    responses: { 200: { description: 'Prometheus text format', contentType: 'text/plain' } },
  },
  {
    method: 'get', path: '/vendor/purify.js', tag: 'assets', summary: 'DOMPurify as an ES module, for the pages',
    responses: { 200: { description: 'JavaScript', contentType: 'text/javascript' } },
  },
  {
    method: 'get', path: '/vendor/quill.js', tag: 'assets', summary: 'Quill, the newsroom console\'s rich-text editor (its browser bundle)',
    responses: { 200: { description: 'JavaScript', contentType: 'text/javascript' } },
  },
  {
    method: 'get', path: '/vendor/quill.snow.css', tag: 'assets', summary: 'Quill\'s theme, for the newsroom console',
    responses: { 200: { description: 'CSS', contentType: 'text/css' } },
  },
  {
    method: 'get', path: '/favicon.ico', tag: 'assets', summary: 'Redirects to /favicon.svg',
    responses: { 301: { description: 'To /favicon.svg' } },
  },
];
