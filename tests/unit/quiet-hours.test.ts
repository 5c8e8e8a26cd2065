import { afterEach, describe, expect, it } from 'vitest';
import type { NewsEvent } from '../../src/domain/event.ts';
import { inQuietHours, minutesIn, wants } from '../../src/push/match.ts';
import type { QuietHours, Subscription } from '../../src/push/types.ts';

const quiet = (start: string, end: string, timeZone: string): QuietHours => ({ start, end, timeZone });

/** [UTC instant, wall clock there (for the reader), quiet?] */
type Case = [string, string, boolean];

function check(q: QuietHours, cases: Case[]): void {
  for (const [utc, local, expected] of cases) {
    const at = new Date(utc);
    const m = minutesIn(q.timeZone, at);
    expect(`${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`, `${utc} in ${q.timeZone}`).toBe(local);
    expect(inQuietHours(q, at), `${utc} (${local} ${q.timeZone}) in ${q.start}-${q.end}`).toBe(expected);
  }
}

describe('quiet hours by the wall clock of the reader\'s zone', () => {
  it('across midnight, east of UTC (Tokyo +9, Kolkata +5:30)', () => {
    check(quiet('22:00', '07:00', 'Asia/Tokyo'), [
      ['2026-06-01T12:59:00Z', '21:59', false],
      ['2026-06-01T13:00:00Z', '22:00', true],
      ['2026-06-01T15:00:00Z', '00:00', true],
      ['2026-06-01T21:59:00Z', '06:59', true],
      ['2026-06-01T22:00:00Z', '07:00', false],
    ]);
    check(quiet('23:30', '06:15', 'Asia/Kolkata'), [
      ['2026-06-01T17:59:00Z', '23:29', false],
      ['2026-06-01T18:00:00Z', '23:30', true],
      ['2026-06-02T00:44:00Z', '06:14', true],
      ['2026-06-02T00:45:00Z', '06:15', false],
    ]);
  });

  it('across midnight, west of UTC (Honolulu -10), where the quiet night spans two UTC dates', () => {
    check(quiet('22:00', '07:00', 'Pacific/Honolulu'), [
      ['2026-06-02T07:59:00Z', '21:59', false],
      ['2026-06-02T08:00:00Z', '22:00', true],
      ['2026-06-02T10:00:00Z', '00:00', true],
      ['2026-06-02T16:59:00Z', '06:59', true],
      ['2026-06-02T17:00:00Z', '07:00', false],
    ]);
  });

  it('a window within a day, and an empty window', () => {
    check(quiet('09:00', '17:00', 'America/Los_Angeles'), [
      ['2026-06-01T15:59:00Z', '08:59', false],
      ['2026-06-01T16:00:00Z', '09:00', true],
      ['2026-06-02T00:00:00Z', '17:00', false],
    ]);
    check(quiet('08:00', '08:00', 'UTC'), [['2026-06-01T08:00:00Z', '08:00', false]]);
  });

  it('on the day clocks go forward (New York, 2026-03-08 02:00 EST -> 03:00 EDT)', () => {
    // 02:00-02:59 never happens: a 01:30-02:30 window lasts 30 minutes that night.
    check(quiet('01:30', '02:30', 'America/New_York'), [
      ['2026-03-08T06:29:00Z', '01:29', false],
      ['2026-03-08T06:30:00Z', '01:30', true],
      ['2026-03-08T06:59:00Z', '01:59', true],
      ['2026-03-08T07:00:00Z', '03:00', false],
      ['2026-03-08T07:30:00Z', '03:30', false],
    ]);
    // The night is an hour shorter: 07:00 comes at 11:00 UTC, not 12:00.
    check(quiet('22:00', '07:00', 'America/New_York'), [
      ['2026-03-08T02:59:00Z', '21:59', false],
      ['2026-03-08T03:00:00Z', '22:00', true],
      ['2026-03-08T06:59:00Z', '01:59', true],
      ['2026-03-08T07:00:00Z', '03:00', true],
      ['2026-03-08T10:59:00Z', '06:59', true],
      ['2026-03-08T11:00:00Z', '07:00', false],
    ]);
  });

  it('on the day clocks go back (New York, 2026-11-01 02:00 EDT -> 01:00 EST)', () => {
    // 01:00-01:59 happens twice: 01:30-01:59 is quiet both times, and 02:00-02:29 EST after it.
    check(quiet('01:30', '02:30', 'America/New_York'), [
      ['2026-11-01T05:29:00Z', '01:29', false],
      ['2026-11-01T05:30:00Z', '01:30', true],
      ['2026-11-01T05:59:00Z', '01:59', true],
      ['2026-11-01T06:00:00Z', '01:00', false],
      ['2026-11-01T06:29:00Z', '01:29', false],
      ['2026-11-01T06:30:00Z', '01:30', true],
      ['2026-11-01T07:00:00Z', '02:00', true],
      ['2026-11-01T07:29:00Z', '02:29', true],
      ['2026-11-01T07:30:00Z', '02:30', false],
    ]);
    // The night is an hour longer: 07:00 comes at 12:00 UTC.
    check(quiet('22:00', '07:00', 'America/New_York'), [
      ['2026-11-01T01:59:00Z', '21:59', false],
      ['2026-11-01T02:00:00Z', '22:00', true],
      ['2026-11-01T11:00:00Z', '06:00', true],
      ['2026-11-01T11:59:00Z', '06:59', true],
      ['2026-11-01T12:00:00Z', '07:00', false],
    ]);
  });
});

describe('matching a fan-out', () => {
  const RealDateTimeFormat = Intl.DateTimeFormat;
  afterEach(() => {
    Intl.DateTimeFormat = RealDateTimeFormat;
  });

  const event = (urgency: number): NewsEvent => ({
    id: '1-0', type: 'article.published', at: '2026-06-01T00:00:00.000Z', topics: ['world'],
    article: { id: 'a', version: 1, headline: 'h', summary: null, body: null, url: null, topics: ['world'], urgency, language: 'en', byline: null, image: null, publishedAt: '2026-06-01T00:00:00.000Z', changeNote: null, notify: true, updatedAt: '2026-06-01T00:00:00.000Z', status: 'published' },
  });
  const sub = (i: number, q: QuietHours | null): Subscription => ({
    id: `s${i}`, endpoint: `https://push.example/${i}`, keys: { p256dh: '', auth: '' }, topics: ['world'], maxUrgency: 9, languages: null, quietHours: q, tokenHash: '', createdAt: '',
  });

  it('builds one formatter per zone, not one per subscriber per event; urgency 1 passes quiet hours', () => {
    let made = 0;
    Intl.DateTimeFormat = new Proxy(RealDateTimeFormat, {
      construct(target, args: ConstructorParameters<typeof Intl.DateTimeFormat>) {
        made++;
        return new target(...args);
      },
    });
    // Zones no other test here uses, so none is cached yet.
    const zones = ['Europe/Lisbon', 'Australia/Adelaide', 'America/Sao_Paulo'];
    const subs = Array.from({ length: 3_000 }, (_, i) => sub(i, quiet('22:00', '07:00', zones[i % 3]!)));
    const at = new Date('2026-06-01T23:30:00Z'); // Lisbon 00:30 (quiet), Adelaide 09:00, Sao Paulo 20:30
    for (let n = 0; n < 5; n++) {
      const got = subs.filter((s) => wants(s, event(3), at));
      expect(got).toHaveLength(2_000);
      expect(got.every((s) => s.quietHours!.timeZone !== 'Europe/Lisbon')).toBe(true);
      expect(subs.filter((s) => wants(s, event(1), at))).toHaveLength(3_000);
    }
    expect(made).toBe(3);
  });
});
