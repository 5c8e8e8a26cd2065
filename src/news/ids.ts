import { randomBytes } from 'node:crypto';
import transliterate from '@sindresorhus/transliterate';

/** Where the random part of generated ids comes from: `n` random bytes (crypto.randomBytes by default). */
export type RandomSource = (n: number) => Uint8Array;

export const MAX_SLUG = 60;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const SUFFIX = 6;

/**
 * A readable slug of a headline: Latin letters transliterated ("Straße" -> "strasse", "Łódź" -> "lodz"), everything
 * that is not a Latin letter or an ASCII digit a separator, cut on a word boundary to at most 60 characters.
 * Other scripts are not transliterated (a romanised Arabic headline reads badly): with no Latin letter at all the
 * slug is `article`.
 */
export function headlineSlug(headline: string): string {
  const latin = headline.normalize('NFC').replace(/\p{Script=Latin}+/gu, (run) => transliterate(run));
  const words = latin.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  if (!words.some((w) => /[a-z]/.test(w))) return 'article';
  let slug = '';
  for (const w of words) {
    const next = slug ? `${slug}-${w}` : w;
    if (next.length > MAX_SLUG) break;
    slug = next;
  }
  // A first word longer than the limit is cut rather than dropped.
  return slug || words[0]!.slice(0, MAX_SLUG);
}

/** 6 lowercase base32 characters: 30 bits, uniform (each byte's low 5 bits). */
export function randomSuffix(random: RandomSource): string {
  const bytes = random(SUFFIX);
  let out = '';
  for (let i = 0; i < SUFFIX; i++) out += BASE32[bytes[i]! & 31];
  return out;
}

/** `<slug>-<YYYYMMDD UTC>-<suffix>`: us-to-resume-talks-with-iraqi-armed-forces-20240208-k3x9qa. */
export function generateArticleId(headline: string, date: Date, random: RandomSource = randomBytes): string {
  const ymd = date.toISOString().slice(0, 10).replaceAll('-', '');
  return `${headlineSlug(headline)}-${ymd}-${randomSuffix(random)}`;
}
