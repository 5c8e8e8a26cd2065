import { Router, type Response } from 'express';
import { z } from 'zod';
import { languageListParam, languageSchema, type Article } from '../domain/article.ts';
import { ApiError, parseOrThrow } from '../domain/errors.ts';
import { topicSchema } from '../domain/topic.ts';
import type { NewsService, WriteResult } from '../news/service.ts';
import { assertInScope, requirePublisher } from './auth.ts';
import { jsonBody } from './body.ts';
import type { PublisherKeyRing } from './publisher-keys.ts';
import type { RequestHandler } from 'express';

export const listQuery = z.object({
  topic: topicSchema.optional(),
  language: languageSchema.optional(),
  /** Ordered language preferences: one entry per story, in the best of them. */
  languages: languageListParam.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

function answer(res: Response, r: WriteResult): void {
  res.status(r.status).json({ event: r.event, article: r.article });
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
    res.json({ articles: await d.news.list(q) });
  });
  r.get('/:id', async (req, res) => {
    res.json({ article: await d.news.get(await resolve(String(req.params.id))) });
  });
  r.post('/', ...write, async (req, res) => {
    await inScope(res, req.body?.id, req.body?.topics);
    answer(res, await d.news.publish(req.body));
  });
  r.patch('/:id', ...write, async (req, res) => {
    const id = await resolve(String(req.params.id));
    await inScope(res, id, req.body?.topics);
    answer(res, await d.news.patch(id, req.body));
  });
  r.delete('/:id', ...write, async (req, res) => {
    const id = await resolve(String(req.params.id));
    await inScope(res, id, undefined);
    answer(res, await d.news.retract(id, req.body));
  });
  return r;
}
