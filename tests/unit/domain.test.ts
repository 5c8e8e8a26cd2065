import { describe, expect, it } from 'vitest';
import { applyPatch, articleInputSchema, buildArticle, sameContent, sanitizeBody } from '../../src/domain/article.ts';
import { compareIds } from '../../src/domain/event.ts';
import { ancestorsAndSelf, audienceOf, covers, slugify, TOPIC_RE } from '../../src/domain/topic.ts';

describe('topics', () => {
  it('follow the hierarchy', () => {
    expect(covers('world', 'world/middle-east/iraq')).toBe(true);
    expect(covers('world/middle-east', 'world')).toBe(false);
    expect(covers('world', 'worldwide')).toBe(false);
    expect(ancestorsAndSelf('a/b/c')).toEqual(['a', 'a/b', 'a/b/c']);
    expect(audienceOf(['a/b', 'a/c'])).toEqual(['a', 'a/b', 'a/c']);
  });
  it('are 1 to 4 lowercase slugs', () => {
    for (const ok of ['world', 'a/b/c/d', 'x1-y', '9']) expect(TOPIC_RE.test(ok)).toBe(true);
    for (const bad of ['', 'World', 'a/b/c/d/e', '-a', 'a//b', 'a/', 'a b', 'x'.repeat(64)]) expect(TOPIC_RE.test(bad)).toBe(false);
    expect(slugify('Middle East & Africa')).toBe('middle-east-africa');
    expect(slugify('Économie')).toBe('economie');
    expect(slugify('!!!')).toBeNull();
  });
});

describe('event ids', () => {
  it('order numerically, not as strings', () => {
    expect(compareIds('9-0', '10-0')).toBeLessThan(0);
    expect(compareIds('10-2', '10-10')).toBeLessThan(0);
    expect(compareIds('10-0', '10-0')).toBe(0);
  });
});

describe('articles', () => {
  const now = new Date('2024-02-08T15:05:00Z');
  const input = articleInputSchema.parse({ id: 'a1', headline: ' Hello ', topics: ['world', 'world'], language: 'EN-gb' });
  it('get the contract defaults', () => {
    const a = buildArticle(input, null, now);
    expect(a).toMatchObject({ version: 1, urgency: 5, language: 'en-GB', notify: true, headline: 'Hello', topics: ['world'], publishedAt: now.toISOString(), status: 'published' });
  });
  it('later versions do not notify unless asked, keep publishedAt, and compare by content', () => {
    const v1 = buildArticle(input, null, now);
    const v2 = buildArticle(input, v1, new Date('2024-02-08T16:00:00Z'));
    expect(v2).toMatchObject({ version: 2, notify: false, publishedAt: v1.publishedAt });
    const retry = buildArticle({ ...input, version: 1 }, v1, new Date('2024-02-08T17:00:00Z'));
    expect(sameContent(retry, v1)).toBe(true);
    expect(sameContent(v2, v1)).toBe(false);
    const patched = applyPatch(v1, { headline: 'New', changeNote: 'Headline' }, now);
    expect(patched).toMatchObject({ version: 2, headline: 'New', changeNote: 'Headline', notify: false, topics: ['world'] });
  });
  it('body HTML loses scripts, handlers and javascript: URLs but keeps the text and safe links', () => {
    const html = sanitizeBody('<p style="x" onmouseover="steal()">Hi <a href="javascript:alert(1)">x</a> <a href="https://e.com">e</a><iframe src="https://e.com"></iframe><svg onload=alert(1)></svg></p><script>alert(1)</script>');
    expect(html).toBe('<p>Hi <a rel="noopener noreferrer">x</a> <a href="https://e.com" rel="noopener noreferrer">e</a></p>');
  });
});
