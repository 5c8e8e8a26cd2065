import { Router, type Response } from 'express';
import { z } from 'zod';
import type { PublisherKey } from '../config.ts';
import { parseOrThrow } from '../domain/errors.ts';
import { languageSchema } from '../domain/article.ts';
import { topicSchema } from '../domain/topic.ts';
import type { NewsService, WriteResult } from '../news/service.ts';
import { requirePublisher } from './auth.ts';
import { jsonBody } from './body.ts';
import type { RequestHandler } from 'express';

export const listQuery = z.object({
  topic: topicSchema.optional(),
  language: languageSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

function answer(res: Response, r: WriteResult): void {
  res.status(r.status).json({ event: r.event, article: r.article });
}

export interface ArticleRoutesDeps {
  news: NewsService;
  publisherKeys: readonly PublisherKey[];
  publishLimit: RequestHandler;
  /** Maps an id as given (possibly a ninjs guid alias) to the article id; identity when absent. */
  resolveId?: (id: string) => Promise<string>;
}

/** /api/v1/articles: writes for publishers (key required, rate limited), reads for everyone. */
export function articleRoutes(d: ArticleRoutesDeps): Router {
  const r = Router();
  const resolve = d.resolveId ?? (async (id: string) => id);
  const write = [requirePublisher(d.publisherKeys), d.publishLimit, ...jsonBody()];

  r.get('/', async (req, res) => {
    const q = parseOrThrow(listQuery, req.query);
    res.json({ articles: await d.news.list(q) });
  });
  r.get('/:id', async (req, res) => {
    res.json({ article: await d.news.get(await resolve(String(req.params.id))) });
  });
  r.post('/', ...write, async (req, res) => answer(res, await d.news.publish(req.body)));
  r.patch('/:id', ...write, async (req, res) => answer(res, await d.news.patch(await resolve(String(req.params.id)), req.body)));
  r.delete('/:id', ...write, async (req, res) => answer(res, await d.news.retract(await resolve(String(req.params.id)), req.body)));
  return r;
}
