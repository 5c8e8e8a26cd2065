import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { articleIdSchema, languageListParam, languageSchema, publicArticle, type Article } from '../domain/article.ts';
import { ApiError, parseOrThrow } from '../domain/errors.ts';
import { topicSchema } from '../domain/topic.ts';
import type { NewsService, WriteResult } from '../news/service.ts';
import type { ListPosition } from '../storage/store.ts';
import { assertInScope, bearerToken, findPublisher, requirePublisher } from './auth.ts';
import { jsonBody } from './body.ts';
import type { PublisherKeyRing } from './publisher-keys.ts';
import type { RequestHandler } from 'express';

/** The opaque `next`/`cursor` of listings: base64url JSON of the last article's position. */
const positionSchema = z.strictObject({ u: z.iso.datetime(), i: articleIdSchema });
const encodeCursor = (p: ListPosition) => Buffer.from(JSON.stringify({ u: p.updatedAt, i: p.id })).toString('base64url');
const cursorParam = z
  .string()
  .max(400)
  .transform((s, ctx) => {
    try {
      const p = positionSchema.parse(JSON.parse(Buffer.from(s, 'base64url').toString('utf8')));
      return { updatedAt: p.u, id: p.i } satisfies ListPosition;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'a cursor from the `next` of a previous page' });
      return z.NEVER;
    }
  });

export const listQuery = z.object({
  topic: topicSchema.optional(),
  language: languageSchema.optional(),
  status: z.enum(['published', 'retracted', 'all']).default('published'),
  /** Ordered language preferences: one entry per story, in the best of them (pages by the same cursor). */
  languages: languageListParam.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: cursorParam.optional(),
});

const flag = z.enum(['true', 'false']).optional().transform((v) => v === 'true');
/** `?audience=true` on a write: count whom it reaches. */
export const audienceQuery = z.object({ audience: flag });
/** POST also takes `?dryRun=true`: store and send nothing, say what would happen. */
export const publishQuery = audienceQuery.extend({ dryRun: flag });

function answer(res: Response, r: WriteResult): void {
  res.status(r.status).json({ event: r.event, article: r.article, ...(r.audience ? { audience: r.audience } : {}) });
}

export interface ArticleRoutesDeps {
  news: NewsService;
  publisherKeys: PublisherKeyRing;
  publishLimit: RequestHandler;
  /** Maps an id as given (possibly a ninjs guid or uri) to the article id; identity when absent. */
  resolveId?: (id: string) => Promise<string>;
}

/** /api/v1/articles: writes for publishers (key required, rate limited), reads for everyone. */
export function articleRoutes(d: ArticleRoutesDeps): Router {
  const r = Router();
  const resolve = d.resolveId ?? (async (id: string) => id);
  const write = [requirePublisher(d.publisherKeys), d.publishLimit, ...jsonBody()];
  /** Reads are public; with a publisher key they also show who made each version. */
  const isPublisher = (req: Request) => findPublisher(d.publisherKeys.current(), bearerToken(req)) !== null;
  const shown = (req: Request) => (isPublisher(req) ? (a: Article) => ({ ...a, updatedBy: a.updatedBy ?? null }) : publicArticle);
  /** Who writes, and whether the answer counts whom the write reaches (`?audience=true`). */
  const context = (req: Request, res: Response) => ({ author: String(res.locals.publisher), audience: parseOrThrow(audienceQuery, req.query).audience });
  const stored = async (id: string): Promise<Article | null> => {
    try {
      return await d.news.get(id);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'not_found') return null;
      throw err;
    }
  };
  /** A scoped key may change only articles filed, before and after the change, under its topics. */
  const inScope = async (res: Response, id: unknown, newTopics: unknown) => {
    if (res.locals.scope === null) return;
    assertInScope(res, newTopics, 'this article would be filed under');
    const current = typeof id === 'string' ? await stored(id) : null;
    if (current) assertInScope(res, current.topics, `article ${current.id} is filed under`);
  };

  r.get('/', async (req, res) => {
    const q = parseOrThrow(listQuery, req.query);
    if (q.status !== 'published' && !isPublisher(req)) throw new ApiError('unauthorized', `status=${q.status} lists retracted articles: send Authorization: Bearer <publisher key>.`);
    const { cursor, ...query } = q;
    const page = await d.news.list({ ...query, ...(cursor ? { after: cursor } : {}) });
    res.json({ articles: page.articles.map(shown(req)), next: page.next ? encodeCursor(page.next) : null });
  });
  r.get('/:id', async (req, res) => {
    res.json({ article: shown(req)(await d.news.get(await resolve(String(req.params.id)))) });
  });
  r.get('/:id/history', requirePublisher(d.publisherKeys), async (req, res) => {
    res.json({ versions: await d.news.history(await resolve(String(req.params.id))) });
  });
  r.post('/', ...write, async (req, res) => {
    const { dryRun } = parseOrThrow(publishQuery, req.query);
    await inScope(res, req.body?.id, req.body?.topics);
    if (dryRun) res.json(await d.news.dryRun(req.body, context(req, res)));
    else answer(res, await d.news.publish(req.body, context(req, res)));
  });
  r.patch('/:id', ...write, async (req, res) => {
    const id = await resolve(String(req.params.id));
    await inScope(res, id, req.body?.topics);
    answer(res, await d.news.patch(id, req.body, context(req, res)));
  });
  r.delete('/:id', ...write, async (req, res) => {
    const id = await resolve(String(req.params.id));
    await inScope(res, id, undefined);
    answer(res, await d.news.retract(id, req.body, context(req, res)));
  });
  return r;
}
