import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../storage/store.ts';

const MAC_BYTES = 16;
const EVENT_ID = /^\d{1,20}-\d{1,20}$/;
const SUB_ID = /^[\w-]{1,64}$/;

/**
 * Receipt tokens: base64url of `<eventId>.<subscriptionId>.<mac>`, mac = the first 16 bytes of
 * HMAC-SHA256(secret, eventId + "\n" + subscriptionId), itself base64url. Only the server can make one, so a
 * receipt names a push that was really sent, and counting it once per (event, subscription, action) stops replays.
 */
export class ReceiptTokens {
  constructor(private readonly secret: Buffer) {}

  /** RECEIPT_SECRET when set; else a secret made once and kept in the store (every node and restart shares it). */
  static async load(configured: string | null, store: Store): Promise<ReceiptTokens> {
    if (configured) return new ReceiptTokens(Buffer.from(configured));
    const kept = await store.setIfAbsent('receipt-secret', randomBytes(32).toString('base64url'));
    return new ReceiptTokens(Buffer.from(kept));
  }

  private mac(eventId: string, subscriptionId: string): Buffer {
    return createHmac('sha256', this.secret).update(`${eventId}\n${subscriptionId}`).digest().subarray(0, MAC_BYTES);
  }

  make(eventId: string, subscriptionId: string): string {
    return Buffer.from(`${eventId}.${subscriptionId}.${this.mac(eventId, subscriptionId).toString('base64url')}`).toString('base64url');
  }

  /** 'malformed' (400), 'forged' (403) or the event and subscription it was made for. */
  check(token: string): { eventId: string; subscriptionId: string } | 'malformed' | 'forged' {
    if (!/^[A-Za-z0-9_-]{1,300}$/.test(token)) return 'malformed';
    const parts = Buffer.from(token, 'base64url').toString('utf8').split('.');
    if (parts.length !== 3) return 'malformed';
    const [eventId, subscriptionId, mac] = parts as [string, string, string];
    const given = Buffer.from(mac, 'base64url');
    if (!EVENT_ID.test(eventId) || !SUB_ID.test(subscriptionId) || given.length !== MAC_BYTES || !/^[A-Za-z0-9_-]+$/.test(mac)) return 'malformed';
    return timingSafeEqual(given, this.mac(eventId, subscriptionId)) ? { eventId, subscriptionId } : 'forged';
  }
}
