import type { NewsEvent } from '../domain/event.ts';
import { matchesAny } from '../domain/topic.ts';
import type { QuietHours, Subscription } from './types.ts';

/** Minutes since midnight, now, in the subscriber's own time zone. */
function minutesIn(timeZone: string, at: Date): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return get('hour') * 60 + get('minute');
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Whether `at` falls in the quiet hours (which may span midnight: 22:00-07:00). */
export function inQuietHours(q: QuietHours, at: Date): boolean {
  const now = minutesIn(q.timeZone, at);
  const start = toMinutes(q.start);
  const end = toMinutes(q.end);
  if (start === end) return false;
  return start < end ? now >= start && now < end : now >= start || now < end;
}

/**
 * Whether a published or updated version goes to this subscriber: it must ask to notify, follow one of the
 * subscriber's topics (hierarchy included), be urgent enough, in one of its languages, and outside its quiet
 * hours unless it is a flash (urgency 1). Retractions are not matched: they go to whoever got the article.
 */
export function wants(sub: Subscription, event: NewsEvent, at: Date): boolean {
  const a = event.article;
  if (!a.notify || event.type === 'article.retracted') return false;
  if (!matchesAny(sub.topics, event.topics)) return false;
  if (a.urgency > sub.maxUrgency) return false;
  if (sub.languages && !sub.languages.some((l) => l.toLowerCase() === a.language.toLowerCase() || a.language.toLowerCase().startsWith(l.toLowerCase() + '-'))) return false;
  if (sub.quietHours && a.urgency > 1 && inQuietHours(sub.quietHours, at)) return false;
  return true;
}
