import { Router, type RequestHandler } from 'express';
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

/** A page of `/api/v1/events` holds at most this many bytes of events: a client that never reads holds one page. */
export const EVENTS_PAGE_BYTES = 1024 * 1024;

export interface HistoryReadLimits {
  /** Per-address budget of history reads (429 `rate_limited` past it). */
  budget: RequestHandler;
  /** A cursor with more matching events than this after it gets resync (REPLAY_MAX_EVENTS). */
  maxBehind: number;
}

/** /api/v1/topics and /api/v1/events: public reads straight from the store. */
export function readingRoutes(store: Store, siteTopics: readonly Topic[], history: HistoryReadLimits, names: Readonly<Record<Topic, string>> = {}): Router {
  const r = Router();
  r.get('/topics', async (_req, res) => {
    const counts = await store.topicCounts();
    for (const t of siteTopics) if (!counts.has(t)) counts.set(t, 0);
    const topics = [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([topic, articles]) => ({ topic, name: names[topic] ?? topic, offered: siteTopics.includes(topic), articles }));
    res.json({ topics });
  });
  r.get('/events', history.budget, async (req, res) => {
    const q = parseOrThrow(eventsQuery, req.query);
    const page = await store.readEvents(q.since ?? null, q.topics, q.limit, { maxBytes: EVENTS_PAGE_BYTES, maxBehind: history.maxBehind });
    // A resync names where to continue from (the newest event now; null: none): replaying from it misses nothing later.
    res.json({ events: page.events, resync: page.resync, ...(page.reason ? { reason: page.reason } : {}), ...(page.resync ? { head: page.head } : {}), more: page.more });
  });
  return r;
}
