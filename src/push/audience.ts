import type { EventDraft } from '../domain/event.ts';
import { audienceOf } from '../domain/topic.ts';
import { wants } from './match.ts';
import type { SubscriptionStore } from './subscriptions.ts';

/**
 * How many subscriptions the Web Push fan-out of `event` would send to at `now`: the same lookup (the per-topic
 * index over the event's topics and their ancestors) and the same preferences (match.ts) as the fan-out, and for
 * a retraction those who got the article. Nothing is sent or recorded.
 */
export async function pushAudience(subs: SubscriptionStore, event: EventDraft, now: Date): Promise<number> {
  if (event.type === 'article.retracted') return (await subs.deliveredTo(event.article.supersedes ?? event.article.id)).length;
  if (!event.article.notify) return 0;
  const candidates = await subs.getMany(await subs.followersOf(audienceOf(event.topics)));
  const asEvent = { ...event, id: '' };
  let n = 0;
  for (const s of candidates) if (wants(s, asEvent, now)) n++;
  return n;
}
