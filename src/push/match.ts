import type { NewsEvent } from '../domain/event.ts';
import { bestVersion, readerGets, storyOfEvent } from '../domain/story.ts';
import { matchesAny } from '../domain/topic.ts';
import type { QuietHours, Subscription } from './types.ts';

/**
 * One formatter per time zone, made on first use: building an Intl.DateTimeFormat costs far more than using one,
 * and a fan-out asks for the same few zones for every subscriber. Zones are validated, but Intl takes any casing
 * of a name ("europe/paris"), so the cache is bounded all the same.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
const MAX_FORMATTERS = 1_000;

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    if (formatters.size >= MAX_FORMATTERS) formatters.delete(formatters.keys().next().value!);
    formatters.set(timeZone, f);
  }
  return f;
}

/** Minutes since midnight on the wall clock of `timeZone` at `at` (so DST changes move the quiet hours with it). */
export function minutesIn(timeZone: string, at: Date): number {
  let hour = 0;
  let minute = 0;
  for (const p of formatter(timeZone).formatToParts(at)) {
    if (p.type === 'hour') hour = Number(p.value);
    else if (p.type === 'minute') minute = Number(p.value);
  }
  return hour * 60 + minute;
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * Whether `at` falls in the quiet hours (which may span midnight: 22:00-07:00), by the wall clock of their time
 * zone: on the day clocks go forward a window inside the skipped hour is shorter (or empty), on the day they go
 * back a wall-clock time that happens twice is quiet both times.
 */
export function inQuietHours(q: QuietHours, at: Date): boolean {
  const now = minutesIn(q.timeZone, at);
  const start = toMinutes(q.start);
  const end = toMinutes(q.end);
  if (start === end) return false;
  return start < end ? now >= start && now < end : now >= start || now < end;
}

/**
 * Whether a published or updated version goes to this subscriber: it must ask to notify, follow one of the
 * subscriber's topics (hierarchy included), be urgent enough, be the version of its story in the subscriber's
 * most preferred language (only languages it names; with none named, the original), and be outside its quiet
 * hours unless it is a flash (urgency 1). Retractions are not matched: they go to whoever got the article.
 */
export function wants(sub: Subscription, event: NewsEvent, at: Date): boolean {
  const a = event.article;
  if (!a.notify || event.type === 'article.retracted') return false;
  if (!matchesAny(sub.topics, event.topics)) return false;
  if (a.urgency > sub.maxUrgency) return false;
  if (!readerGets(event, sub.languages, false)) return false;
  if (sub.quietHours && a.urgency > 1 && inQuietHours(sub.quietHours, at)) return false;
  return true;
}

/**
 * Whether a withdrawal goes to a subscriber who got the article: not when a better version of its story (a
 * translation in a language they prefer) has replaced it on their device since; that version's own withdrawal
 * reaches them instead.
 */
export function wantsWithdrawal(sub: Subscription, event: NewsEvent): boolean {
  return readerGets(event, sub.languages, true);
}

/**
 * For the withdrawal of a translation: the version of its story a recipient falls back to (the next language it
 * accepts that is still live), pushed in place of the withdrawal; null: the withdrawal itself. A withdrawn
 * original withdraws every version, so it has no fallback.
 */
export function fallbackFor(sub: Subscription, event: NewsEvent): string | null {
  if (event.type !== 'article.retracted' || !event.article.translationOf) return null;
  const best = bestVersion(storyOfEvent(event), sub.languages, false);
  return best && best !== event.article.id ? best : null;
}
