import { describe, expect, it } from 'vitest';
import { ARTICLE_ID_RE } from '../../src/domain/article.ts';
import { generateArticleId, headlineSlug, MAX_SLUG, randomSuffix } from '../../src/news/ids.ts';

describe('generated article ids', () => {
  it.each([
    ['US to resume talks with Iraqi armed forces', 'us-to-resume-talks-with-iraqi-armed-forces'],
    ['Ærøskøbing: Straße nach Łódź — déjà vu!', 'aeroskobing-strasse-nach-lodz-deja-vu'],
    ['Ça va? Þór, Œuvre & Ñandú', 'ca-va-thor-oeuvre-nandu'],
    ['الولايات المتحدة تستأنف المحادثات', 'article'],
    ['الولايات المتحدة 2024', 'article'],
    ['Москва: Putin meets Xi', 'putin-meets-xi'],
    ['   ---   ', 'article'],
    ['COVID-19: 1,000 new cases', 'covid-19-1-000-new-cases'],
  ])('slug of %j is %j', (headline, slug) => {
    expect(headlineSlug(headline)).toBe(slug);
  });

  it('cuts a long headline on a word boundary within 60 characters, and a single over-long word at 60', () => {
    const slug = headlineSlug('The parliament voted on Tuesday to extend the emergency measures for another six months');
    expect(slug.length).toBeLessThanOrEqual(MAX_SLUG);
    expect(slug).toBe('the-parliament-voted-on-tuesday-to-extend-the-emergency');
    expect(headlineSlug('x'.repeat(200))).toBe('x'.repeat(MAX_SLUG));
  });

  it('joins slug, UTC date and a base32 suffix into an id that fits the id rule', () => {
    const bytes = Uint8Array.from([0, 31, 32, 255, 7, 26]);
    expect(randomSuffix(() => bytes)).toBe('a7a7h2'); // each byte's low 5 bits: 0->a, 31->7, 32->a, 255->7, 7->h, 26->2
    const id = generateArticleId('Late night news', new Date('2024-02-08T23:59:59+00:00'), () => bytes);
    expect(id).toBe('late-night-news-20240208-a7a7h2');
    const longest = generateArticleId('y'.repeat(300), new Date(), () => bytes);
    expect(longest).toMatch(ARTICLE_ID_RE);
    expect(longest).toMatch(/^y{60}-\d{8}-[a-z2-7]{6}$/);
  });
});
