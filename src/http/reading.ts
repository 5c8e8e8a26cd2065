import { Router } from 'express';
import { z } from 'zod';
import { parseOrThrow } from '../domain/errors.ts';
import { cursorSchema } from '../domain/event.ts';
import { topicListParam, type Topic } from '../domain/topic.ts';
import type { Store } from '../storage/store.ts';

export const eventsQuery = z.object({
  topics: topicListParam,
  since: cursorSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** /api/v1/topics and /api/v1/events: public reads straight from the store. */
export function readingRoutes(store: Store, siteTopics: readonly Topic[]): Router {
  const r = Router();
  r.get('/topics', async (_req, res) => {
    const counts = await store.topicCounts();
    for (const t of siteTopics) if (!counts.has(t)) counts.set(t, 0);
    const topics = [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([topic, articles]) => ({ topic, articles }));
    res.json({ topics });
  });
  r.get('/events', async (req, res) => {
    const q = parseOrThrow(eventsQuery, req.query);
    const page = await store.readEvents(q.since ?? null, q.topics, q.limit);
    res.json({ events: page.events, resync: page.resync });
  });
  return r;
}
