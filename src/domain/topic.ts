import { z } from 'zod';

/** A topic path: 1 to 4 lowercase slugs, e.g. `world/middle-east/iraq`. */
export type Topic = string & { readonly __brand?: 'Topic' };

const SLUG = '[a-z0-9][a-z0-9-]{0,62}';
export const TOPIC_RE = new RegExp(`^${SLUG}(?:/${SLUG}){0,3}$`);

export const topicSchema = z
  .string()
  .regex(TOPIC_RE, 'a topic is 1 to 4 lowercase slugs separated by "/", each [a-z0-9][a-z0-9-]{0,62}');

/** What a reader follows to get every topic (Socket.IO, SSE, /events): no published topic can be `*`. */
export const ALL_TOPICS = '*' as Topic;

/** A topic to follow: a topic, or `*` for every topic. */
export const followedTopicSchema = z.union([topicSchema, z.literal(ALL_TOPICS)], {
  error: 'a topic is 1 to 4 lowercase slugs separated by "/", each [a-z0-9][a-z0-9-]{0,62}, or * for every topic',
});

/** `world/middle-east/iraq` -> [`world`, `world/middle-east`, `world/middle-east/iraq`]. */
export function ancestorsAndSelf(topic: Topic): Topic[] {
  const parts = topic.split('/');
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** Whoever follows `followed` gets what is published to `published` (hierarchy included). */
export function covers(followed: Topic, published: Topic): boolean {
  return followed === ALL_TOPICS || published === followed || published.startsWith(followed + '/');
}

/** True when any of the followed topics covers any of the published ones. */
export function matchesAny(followed: Iterable<Topic>, published: readonly Topic[]): boolean {
  for (const f of followed) {
    for (const p of published) if (covers(f, p)) return true;
  }
  return false;
}

/** Every topic an event published to `topics` is visible under (each topic and all its ancestors), deduplicated. */
export function audienceOf(topics: readonly Topic[]): Topic[] {
  const all = new Set<Topic>();
  for (const t of topics) for (const a of ancestorsAndSelf(t)) all.add(a);
  return [...all];
}

/** Turns free text into a slug usable in a topic ("Middle East" -> "middle-east"), or null when nothing is left. */
export function slugify(text: string): string | null {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return slug.length > 0 ? slug : null;
}

/** At most this many topics per connection, stream or query. */
export const MAX_TOPICS_PER_CONNECTION = 100;

/** A `topics=a,b` query parameter: comma-separated topics, 1 to MAX_TOPICS_PER_CONNECTION. */
export const topicListParam = z
  .string({ error: 'required: comma-separated topics' })
  .transform((s) => s.split(',').map((t) => t.trim()).filter(Boolean))
  .pipe(z.array(followedTopicSchema).min(1, 'at least one topic').max(MAX_TOPICS_PER_CONNECTION, `at most ${MAX_TOPICS_PER_CONNECTION} topics`));
