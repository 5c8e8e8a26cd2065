import { describe, expect, it } from 'vitest';
import type { Article } from '../../src/domain/article.ts';
import type { NewsEvent } from '../../src/domain/event.ts';
import { bestVersion, languageMatches, readerGets, type Story } from '../../src/domain/story.ts';
import { buildPayload, directionOf, MAX_PAYLOAD_BYTES } from '../../src/push/payload.ts';

const story: Story = { id: 'o', versions: [{ id: 'o', language: 'en' }, { id: 't-ar', language: 'ar' }, { id: 't-pt', language: 'pt-BR' }] };

function article(id: string, language: string, extra: Partial<Article> = {}): Article {
  return {
    id, version: 1, headline: 'H', summary: null, body: null, url: null, topics: ['world'], urgency: 3, language, byline: null, image: null,
    publishedAt: '2026-01-01T00:00:00.000Z', changeNote: null, notify: true, updatedAt: '2026-01-01T00:00:00.000Z', status: 'published',
    storyId: 'o', translationOf: id === 'o' ? null : 'o', ...extra,
  };
}
const event = (type: NewsEvent['type'], a: Article, s: Story): NewsEvent => ({ id: '1-0', type, at: a.updatedAt, topics: a.topics, article: a, story: s });

describe('the story rule', () => {
  it('matches a tag with more or fewer subtags, in either direction', () => {
    expect(languageMatches('en', 'en-GB')).toBe(true);
    expect(languageMatches('pt-BR', 'pt')).toBe(true);
    expect(languageMatches('en', 'eo')).toBe(false);
    expect(languageMatches('zh-Hant', 'zh-Hans')).toBe(false);
  });

  it('picks the most preferred language the story has; no preference: the original', () => {
    expect(bestVersion(story, ['fr', 'ar', 'en'], true)).toBe('t-ar');
    expect(bestVersion(story, ['pt'], true)).toBe('t-pt');
    expect(bestVersion(story, null, false)).toBe('o');
    expect(bestVersion(story, ['fr'], true)).toBe('o'); // live channels and listings: the original
    expect(bestVersion(story, ['fr'], false)).toBeNull(); // Web Push: languages filter
  });

  it('sends a version to the readers it is best for, a retraction to those it was best for', () => {
    const ar = article('t-ar', 'ar');
    expect(readerGets(event('article.published', ar, story), ['ar', 'en'], true)).toBe(true);
    expect(readerGets(event('article.published', ar, story), ['en', 'ar'], true)).toBe(false);
    expect(readerGets(event('article.published', ar, story), [], true)).toBe(false);
    const left: Story = { id: 'o', versions: [{ id: 'o', language: 'en' }] };
    const gone = event('article.retracted', { ...ar, status: 'retracted' }, left);
    expect(readerGets(gone, ['ar', 'en'], true)).toBe(true);
    expect(readerGets(gone, ['en'], true)).toBe(false);
    // The original's withdrawal, while its translations are still being withdrawn: not to Arabic readers.
    const original = event('article.retracted', { ...article('o', 'en'), status: 'retracted' }, { id: 'o', versions: [{ id: 't-ar', language: 'ar' }] });
    expect(readerGets(original, ['ar'], true)).toBe(false);
    expect(readerGets(original, null, true)).toBe(true);
  });

  it('treats an event stored before stories as a story of one', () => {
    const { story: _none, ...old } = event('article.published', article('x', 'fr', { storyId: undefined, translationOf: undefined }), story);
    expect(readerGets(old, ['en'], true)).toBe(true);
    expect(readerGets(old, ['en'], false)).toBe(false);
    expect(readerGets(old, null, false)).toBe(true);
  });
});

describe('the push payload of a translation', () => {
  it('carries lang, dir, the story and the featured image within the limit, cutting the Arabic summary first', () => {
    const long = 'بدأت واشنطن وبغداد الشهر الماضي محادثات رسمية '.repeat(60);
    const a = article('t-ar', 'ar', { summary: long, machineTranslated: true, image: { url: 'https://news.example.com/img/us-forces.jpg', caption: null, credit: null } });
    const raw = buildPayload(event('article.published', a, story));
    expect(raw.length).toBeLessThan(MAX_PAYLOAD_BYTES);
    const p = JSON.parse(raw.toString('utf8'));
    expect(p).toMatchObject({ storyId: 'o', lang: 'ar', dir: 'rtl', machineTranslated: true, image: 'https://news.example.com/img/us-forces.jpg' });
    expect(p.body.endsWith('…')).toBe(true);
  });
  it('gives each language its direction', () => {
    expect([directionOf('ar'), directionOf('he'), directionOf('fa-IR'), directionOf('ur'), directionOf('en'), directionOf('ja'), directionOf('xx-invalid-!')]).toEqual(['rtl', 'rtl', 'rtl', 'rtl', 'ltr', 'ltr', 'auto']);
  });
});
