import type { RawReport } from './store.ts';

/** Counter names in the store (also what the push engine and the live feed count). */
export const C = {
  liveDispatched: 'live',
  replayed: 'replayed',
  matched: 'matched',
  skippedUrgency: 'skip.urgency',
  skippedLanguage: 'skip.language',
  skippedQuiet: 'skip.quietHours',
  /** Subscribers the fan-out queued (matched minus skipped); with the fan-out done, the report can be complete. */
  recipients: 'recipients',
  fanoutDone: 'fanout',
  sent: 'sent',
  retried: 'retried',
  expired: 'expired',
  superseded: 'superseded',
  shown: 'shown',
  opened: 'opened',
} as const;

export const FAILURES = ['gone', 'tooLarge', 'otherClient', 'server', 'network', 'refused'] as const;
export type FailureClass = (typeof FAILURES)[number];
export const failedField = (c: FailureClass) => `failed.${c}`;

/**
 * A time by which `p` of the acceptances had happened, from the per-second buckets: the end of the second in
 * which the count reached p, kept within the first and last acceptance (exact to the second).
 */
function percentile(buckets: Array<[number, number]>, total: number, p: number, first: number, last: number): number | null {
  if (total === 0) return null;
  const need = Math.ceil(total * p);
  let seen = 0;
  for (const [s, n] of buckets) {
    seen += n;
    if (seen >= need) return Math.min(last, Math.max(first, (s + 1) * 1000 - 1));
  }
  return last;
}

export function versionReport(r: RawReport) {
  const c = (f: string) => r.counts[f] ?? 0;
  const buckets: Array<[number, number]> = Object.entries(r.counts)
    .filter(([k]) => /^s\d+$/.test(k))
    .map(([k, n]): [number, number] => [Number(k.slice(1)), n])
    .filter(([, n]) => n > 0)
    .sort((a, b) => a[0] - b[0]);
  const accepted = c('accepted');
  const first = r.counts.first ?? null;
  const last = r.counts.last ?? null;
  const failed = Object.fromEntries(FAILURES.map((f) => [f, c(failedField(f))])) as Record<FailureClass, number>;
  const failedTotal = FAILURES.reduce((s, f) => s + failed[f], 0);
  // Each recipient ends accepted, failed (one class: for one given up at its TTL, its last answer's) or superseded.
  const settled = accepted + failedTotal + c(C.superseded);
  const complete = !r.meta.push || (c(C.fanoutDone) > 0 && settled >= c(C.recipients));
  return {
    version: r.meta.version,
    eventId: r.meta.eventId,
    type: r.meta.type,
    headline: r.meta.headline,
    publishedAt: r.meta.publishedAt,
    live: { dispatched: c(C.liveDispatched), replayed: c(C.replayed) },
    push: {
      matched: c(C.matched),
      skipped: { urgency: c(C.skippedUrgency), language: c(C.skippedLanguage), quietHours: c(C.skippedQuiet) },
      sent: c(C.sent),
      accepted,
      failed,
      retried: c(C.retried),
      expired: c(C.expired),
      superseded: c(C.superseded),
      firstAcceptedMs: first,
      p50AcceptedMs: first === null || last === null ? null : percentile(buckets, accepted, 0.5, first, last),
      p90AcceptedMs: first === null || last === null ? null : percentile(buckets, accepted, 0.9, first, last),
      lastAcceptedMs: last,
      acceptedOverTime: buckets,
    },
    shown: c(C.shown),
    opened: c(C.opened),
    complete,
  };
}

export type VersionReport = ReturnType<typeof versionReport>;

export function summary(r: RawReport) {
  const v = versionReport(r);
  return {
    articleId: r.meta.articleId,
    version: v.version,
    eventId: v.eventId,
    headline: v.headline,
    publishedAt: v.publishedAt,
    audience: v.push.matched + v.live.dispatched,
    pushMatched: v.push.matched,
    liveDispatched: v.live.dispatched,
    acceptedPct: v.push.sent > 0 ? (v.push.accepted / v.push.sent) * 100 : null,
    openedPct: v.push.accepted > 0 ? (v.opened / v.push.accepted) * 100 : null,
    timeTo90Ms: v.push.p90AcceptedMs,
  };
}
