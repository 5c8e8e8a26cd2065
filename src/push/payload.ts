import { createHash } from 'node:crypto';
import type { NewsEvent } from '../domain/event.ts';
import { cutText } from '../domain/text.ts';

/** What the service worker receives (aes128gcm-encrypted), as the contract lists it. */
export interface PushPayload {
  type: NewsEvent['type'];
  eventId: string;
  articleId: string;
  version: number;
  title: string;
  body: string;
  url: string | null;
  image: string | null;
  urgency: number;
  /** The article this one replaces (ninjs evolvedfrom): the device replaces that alert too. */
  supersedes?: string;
  /** Receipt token for POST /api/v1/push/receipts (added per subscriber by withReceipt). */
  receipt?: string;
}

export const MAX_PAYLOAD_BYTES = 3_000;
/** The encrypted record adds 86 bytes of header and 17 of padding and tag; keep the plaintext under that. */
const MAX_PLAINTEXT = MAX_PAYLOAD_BYTES - 103;
/** Room kept for `,"receipt":"<token>"` (a token is at most about 140 characters). */
export const RECEIPT_RESERVE = 200;

/** The payload without its receipt, cut to leave `reserve` bytes for one (built once per batch). */
export function buildPayload(event: NewsEvent, reserve = 0): Buffer {
  const max = MAX_PLAINTEXT - reserve;
  const a = event.article;
  const retracted = event.type === 'article.retracted';
  const payload: PushPayload = {
    type: event.type,
    eventId: event.id,
    articleId: a.id,
    version: a.version,
    title: retracted ? `Withdrawn: ${a.headline}` : a.headline,
    body: retracted ? a.retraction?.reason ?? 'This report has been withdrawn.' : a.summary ?? '',
    url: a.url,
    image: retracted ? null : a.image?.url ?? null,
    urgency: a.urgency,
    ...(a.supersedes ? { supersedes: a.supersedes } : {}),
  };
  let json = JSON.stringify(payload);
  // Cut the body on a word boundary until the whole fits; then, only if needed, drop the image and the title's tail.
  for (let cut = payload.body.length; Buffer.byteLength(json) > max && cut > 0; cut = Math.floor(cut * 0.8)) {
    payload.body = cutText(payload.body, cut);
    json = JSON.stringify(payload);
  }
  if (Buffer.byteLength(json) > max) {
    payload.body = '';
    payload.image = null;
    payload.title = cutText(payload.title, 200);
    json = JSON.stringify(payload);
  }
  return Buffer.from(json);
}

/** One subscriber's payload: the batch's payload with its receipt token as the last member. */
export function withReceipt(base: Buffer, token: string): Buffer {
  return Buffer.concat([base.subarray(0, base.length - 1), Buffer.from(`,"receipt":"${token}"}`)]);
}

/** The contract's mapping of IPTC urgency onto Web Push urgency. */
export function pushUrgency(urgency: number): 'high' | 'normal' | 'low' | 'very-low' {
  if (urgency <= 2) return 'high';
  if (urgency <= 4) return 'normal';
  if (urgency <= 7) return 'low';
  return 'very-low';
}

/**
 * The `Topic` header: the same for every version of an article (and for an article that supersedes it), so the
 * push service replaces a pending older alert. Apple and autopush accept only [A-Za-z0-9]{1,32}.
 */
export function pushTopic(event: NewsEvent): string {
  const chain = event.article.supersedes ?? event.article.id;
  return createHash('sha256').update(chain).digest('hex').slice(0, 32);
}
