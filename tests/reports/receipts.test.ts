import { describe, expect, it } from 'vitest';
import type { NewsEvent } from '../../src/domain/event.ts';
import { buildPayload, MAX_PAYLOAD_BYTES, RECEIPT_RESERVE, withReceipt } from '../../src/push/payload.ts';
import { ReceiptTokens } from '../../src/reports/receipts.ts';

const tokens = new ReceiptTokens(Buffer.from('secret-0123456789'));

describe('receipt tokens', () => {
  it('verifies its own tokens and names what they were made for', () => {
    const t = tokens.make('1732900000000-3', 'f1e2d3c4-0000-4000-8000-123456789abc');
    expect(tokens.check(t)).toEqual({ eventId: '1732900000000-3', subscriptionId: 'f1e2d3c4-0000-4000-8000-123456789abc' });
    expect(new ReceiptTokens(Buffer.from('another-secret')).check(t)).toBe('forged');
    expect(tokens.check('%%%')).toBe('malformed');
    expect(tokens.check(Buffer.from('1-0.sub').toString('base64url'))).toBe('malformed');
    expect(tokens.check(Buffer.from('1-0.sub.AAAA').toString('base64url'))).toBe('malformed');
  });

  it('keeps the longest payload with the longest token within the 3,000-byte limit (encryption adds 103 bytes)', () => {
    const event = {
      id: '99999999999999999999-99999999999999999999', type: 'article.published', at: new Date().toISOString(), topics: ['world'],
      article: { id: 'a'.repeat(200), version: 9, headline: 'é'.repeat(400), summary: 'ü '.repeat(3_000), url: `https://x.example/${'p'.repeat(1_500)}`, image: { url: `https://x.example/${'i'.repeat(500)}` }, urgency: 1, notify: true, supersedes: 'b'.repeat(200) },
    } as unknown as NewsEvent;
    const token = tokens.make(event.id, 's'.repeat(64));
    const full = withReceipt(buildPayload(event, RECEIPT_RESERVE), token);
    expect(full.length + 103).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(JSON.parse(full.toString()).receipt).toBe(token);
  });
});
