import { z } from 'zod';
import type { Article } from './article.ts';
import type { Story } from './story.ts';
import type { Topic } from './topic.ts';

export type EventType = 'article.published' | 'article.updated' | 'article.retracted';

/**
 * An event id (and so a cursor): `<ms>-<seq>`, the Redis Streams id format, ordered across the deployment.
 * Clients treat it as opaque and echo it back.
 */
export type EventId = string;
export type Cursor = EventId;

/** One change to one article, as subscribers receive it. */
export interface NewsEvent {
  id: EventId;
  type: EventType;
  at: string;
  topics: Topic[];
  article: Article;
  /** The article's story (original and translations) as it is after this event; see domain/story.ts. */
  story?: Story;
}

/** An event before the log has given it an id. */
export type EventDraft = Omit<NewsEvent, 'id'>;

export const EVENT_ID_RE = /^\d{1,16}-\d{1,16}$/;

/** A cursor as clients send it (Socket.IO `since`, SSE `since`/Last-Event-ID, the events API). */
export const cursorSchema = z.string().regex(EVENT_ID_RE, 'an event id such as "1707404640000-0"');

function parts(id: EventId): [bigint, bigint] {
  const dash = id.indexOf('-');
  return [BigInt(id.slice(0, dash)), BigInt(id.slice(dash + 1))];
}

/** Orders two event ids: negative when a < b, 0 when equal, positive when a > b. */
export function compareIds(a: EventId, b: EventId): number {
  if (a === b) return 0;
  const [am, as] = parts(a);
  const [bm, bs] = parts(b);
  if (am !== bm) return am < bm ? -1 : 1;
  return as < bs ? -1 : as > bs ? 1 : 0;
}
