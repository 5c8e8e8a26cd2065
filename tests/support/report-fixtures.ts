/** Reports shaped as the contract gives them (docs/api.md), for the page's rendering before a real fan-out. */
export function versionReport(over: { version?: number; complete?: boolean; acceptedOverTime?: Array<[number, number]>; accepted?: number; shown?: number; opened?: number } = {}) {
  const acceptedOverTime = over.acceptedOverTime ?? [[0, 1200], [1, 5400], [2, 2100], [4, 300]];
  const accepted = over.accepted ?? acceptedOverTime.reduce((a, [, n]) => a + n, 0);
  return {
    version: over.version ?? 1,
    eventId: `1700000000000-${over.version ?? 1}`,
    type: (over.version ?? 1) > 1 ? 'article.updated' : 'article.published',
    headline: 'Earthquake of magnitude 6.1 strikes off the coast',
    publishedAt: '2026-11-29T14:05:00.000Z',
    live: { dispatched: 2345, replayed: 67 },
    push: {
      matched: 10_500,
      skipped: { urgency: 120, language: 45, quietHours: 310 },
      sent: 10_025,
      accepted,
      failed: { gone: 14, tooLarge: 1, otherClient: 2, server: 3, network: 4, refused: 5 },
      retried: 21,
      expired: 6,
      superseded: 7,
      firstAcceptedMs: 180,
      p50AcceptedMs: 1_400,
      p90AcceptedMs: 2_600,
      lastAcceptedMs: 4_700,
      acceptedOverTime,
    },
    shown: over.shown ?? 8_100,
    opened: over.opened ?? 905,
    complete: over.complete ?? true,
  };
}

export const listFixture = {
  reports: [
    { articleId: 'quake-1', version: 2, eventId: '1700000000000-2', headline: 'Earthquake: tsunami warning lifted', publishedAt: '2026-11-29T14:20:00.000Z', audience: 12_845, pushMatched: 10_500, liveDispatched: 2_345, acceptedPct: 89.5, openedPct: 10.25, timeTo90Ms: 2_600 },
    { articleId: 'quiet-1', version: 1, eventId: '1700000000000-0', headline: 'Nothing sent by push yet', publishedAt: '2026-11-29T13:00:00.000Z', audience: 3, pushMatched: 0, liveDispatched: 3, acceptedPct: null, openedPct: null, timeTo90Ms: null },
  ],
};
