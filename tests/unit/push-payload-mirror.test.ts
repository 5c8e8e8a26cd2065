import { describe, expect, it } from 'vitest';
import type { Article } from '../../src/domain/article.ts';
import type { NewsEvent } from '../../src/domain/event.ts';
import { buildPayload as build, RECEIPT_RESERVE } from '../../src/push/payload.ts';

// The server keeps room for the receipt token (alert reports are always on).
const buildPayload = (event: NewsEvent) => build(event, RECEIPT_RESERVE);

// The newsroom console's preview cuts title and body in the browser (public/push-payload.js); it must cut exactly
// where the server's Web Push payload does.
interface Mirror {
  pushPayload(type: string, eventId: string, a: Partial<Article>): Record<string, unknown>;
}
const mirror = (await import('../../public/push-payload.js' as string)) as Mirror;

function article(over: Partial<Article>): Article {
  return {
    id: 'mirror-1', version: 1, headline: 'Storm closes ports', summary: null, body: null, url: null, topics: ['world'], urgency: 2,
    language: 'en', byline: null, image: null, publishedAt: '2026-11-29T16:00:00.000Z', changeNote: null, notify: true,
    updatedAt: '2026-11-29T16:00:00.000Z', status: 'published', ...over,
  };
}

const words = (n: number, word: string) => Array.from({ length: n }, (_, i) => `${word}${i}`).join(' ');
const cases: Array<[string, Partial<Article>, NewsEvent['type']?]> = [
  ['a short alert', { summary: 'Ferries are cancelled until Friday.' }],
  ['a summary at the schema limit with long URLs', { summary: words(120, 'harbour').slice(0, 1000), url: `https://news.example.com/${'a'.repeat(1500)}`, image: { url: `https://img.example.com/${'b'.repeat(900)}`, caption: null, credit: null } }],
  ['Arabic text (two bytes a letter)', { language: 'ar', headline: 'عنوان '.repeat(50).trim(), summary: 'ملخص الخبر '.repeat(90).slice(0, 1000), url: `https://news.example.com/${'c'.repeat(900)}` }],
  ['emoji and flags at the cut', { summary: '🇺🇦👩‍👩‍👧 '.repeat(150).slice(0, 1000), url: `https://news.example.com/${'d'.repeat(1800)}` }],
  ['a title cut when nothing else is left', { headline: 'h'.repeat(300), summary: 'x'.repeat(1000), url: `https://news.example.com/${'e'.repeat(2700)}` }],
  ['an Arabic machine translation (story, lang, dir, label)', { id: 'mirror-1-ar', language: 'ar', translationOf: 'mirror-1', storyId: 'mirror-1', machineTranslated: true, headline: 'عنوان الخبر', summary: 'ملخص الخبر' }],
  ['a Hebrew original without a story id (the original is its own story)', { language: 'he', headline: 'כותרת', summary: 'תקציר' }],
    ['a withdrawal with a long reason', { status: 'retracted', retraction: { reason: words(150, 'unconfirmed').slice(0, 1000) }, url: `https://news.example.com/${'f'.repeat(1900)}` }, 'article.retracted'],
];

describe('the console preview cuts title and body as the server does', () => {
  it.each(cases)('%s', (_name, over, type = 'article.published') => {
    const a = article(over);
    const event: NewsEvent = { id: '1764432000000-12', type, at: a.updatedAt, topics: a.topics, article: a };
    const server = JSON.parse(buildPayload(event).toString());
    const preview = mirror.pushPayload(type, event.id, a);
    expect(preview).toEqual(server);
  });

  it('the long cases are really cut (the comparison above is not between uncut texts)', () => {
    const a = article(cases[1]![1]);
    const server = JSON.parse(buildPayload({ id: '1-0', type: 'article.published', at: a.updatedAt, topics: a.topics, article: a }).toString());
    expect(server.body.length).toBeLessThan(a.summary!.length);
    expect(server.body.endsWith('…')).toBe(true);
  });
});
