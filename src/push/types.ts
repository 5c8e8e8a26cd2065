import { createPublicKey } from 'node:crypto';
import { z } from 'zod';
import { languageSchema } from '../domain/article.ts';
import { topicSchema, type Topic } from '../domain/topic.ts';

export interface QuietHours {
  start: string;
  end: string;
  timeZone: string;
}

/** What a reader chooses: which topics, how urgent, which languages, when not to be disturbed. */
export interface Preferences {
  topics: Topic[];
  maxUrgency: number;
  /** null: every language. */
  languages: string[] | null;
  quietHours: QuietHours | null;
}

export interface PushKeys {
  p256dh: string;
  auth: string;
}

export interface Subscription extends Preferences {
  id: string;
  endpoint: string;
  keys: PushKeys;
  /** sha256 of the bearer token; the token itself is only ever shown to its owner once. */
  tokenHash: string;
  createdAt: string;
}

const b64url = /^[A-Za-z0-9_-]+=*$/;

/** A P-256 public key as browsers send it: 65 bytes, uncompressed (0x04 || x || y), on the curve. */
export function isP256Point(value: string): boolean {
  try {
    const raw = Buffer.from(value, 'base64url');
    if (raw.length !== 65 || raw[0] !== 0x04) return false;
    // Node refuses a point that is not on the curve.
    createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') }, format: 'jwk' });
    return true;
  } catch {
    return false;
  }
}

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time as HH:MM (24 h)');
const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'an IANA time zone such as "Europe/Paris"');

export const quietHoursSchema = z.strictObject({ start: hhmm, end: hhmm, timeZone });

export const preferencesPatchSchema = z.strictObject({
  topics: z.array(topicSchema).min(1, '1 to 50 topics').max(50, '1 to 50 topics').optional(),
  maxUrgency: z.number().int().min(1).max(9).optional(),
  languages: z.array(languageSchema).min(1).max(20).nullable().optional(),
  quietHours: quietHoursSchema.nullable().optional(),
});

export const pushSubscriptionSchema = z.object({
  endpoint: z.string().max(2048),
  expirationTime: z.number().nullable().optional(),
  keys: z.object({
    p256dh: z.string().regex(b64url).refine(isP256Point, 'a P-256 public key (65 bytes, uncompressed, base64url)'),
    auth: z.string().regex(b64url).refine((s) => Buffer.from(s, 'base64url').length === 16, '16 bytes, base64url'),
  }),
});

export const createSubscriptionSchema = z.strictObject({
  subscription: pushSubscriptionSchema,
  topics: z.array(topicSchema).min(1, '1 to 50 topics').max(50, '1 to 50 topics'),
  maxUrgency: z.number().int().min(1).max(9).optional(),
  languages: z.array(languageSchema).min(1).max(20).nullable().optional(),
  quietHours: quietHoursSchema.nullable().optional(),
});

/** What the owner sees of a subscription (never the token hash or the keys). */
export function publicView(s: Subscription) {
  return { id: s.id, topics: s.topics, maxUrgency: s.maxUrgency, languages: s.languages, quietHours: s.quietHours };
}
