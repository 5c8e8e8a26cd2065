import { Router } from 'express';
import { z } from 'zod';
import { parseOrThrow } from '../domain/errors.ts';
import { EVENT_ID_RE } from '../domain/event.ts';
import { topicSchema, type Topic } from '../domain/topic.ts';
import { MAX_TOPICS_PER_CONNECTION } from '../delivery/socketio.ts';
import type { Store } from '../storage/store.ts';

const eventsQuery = z.object({
  topics: z
    .string({ error: 'required: comma-separated topics' })
    .transform((s) => s.split(',').map((t) => t.trim()).filter(Boolean))
    .pipe(z.array(topicSchema).min(1, 'at least one topic').max(MAX_TOPICS_PER_CONNECTION)),
  since: z.string().regex(EVENT_ID_RE, 'an event id such as "1707404640000-0"').optional(),
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
