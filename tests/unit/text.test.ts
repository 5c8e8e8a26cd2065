import { describe, expect, it } from 'vitest';
import type { NewsEvent } from '../../src/domain/event.ts';
import { cutText } from '../../src/domain/text.ts';
import { mapNinjs } from '../../src/ninjs/map.ts';
import { validateNinjs } from '../../src/ninjs/validate.ts';
import { buildPayload, MAX_PAYLOAD_BYTES } from '../../src/push/payload.ts';

const graphemes = (s: string) => [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(s)].map((g) => g.segment);

/** True when `cut` (ellipsis removed) is made of whole graphemes of `text`, from its start. */
function wholeGraphemePrefix(text: string, cut: string): boolean {
  const kept = cut.replace(/…$/, '');
  const parts = graphemes(text);
  let joined = '';
  for (const g of parts) {
    if (joined === kept) return true;
    joined += g;
  }
  return joined === kept;
}

const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe('cutText: whole characters, at most max code units', () => {
  it('returns text that fits unchanged', () => {
    expect(cutText('short', 5)).toBe('short');
    expect(cutText('', 3)).toBe('');
  });

  it('cuts on a word boundary when one is in the last part of the room', () => {
    expect(cutText('one two three four', 10)).toBe('one two…');
    expect(cutText('Markets rally, then fall', 16)).toBe('Markets rally…');
  });

  const cases: Array<[string, string]> = [
    ['emoji (surrogate pairs)', '😀'.repeat(40)],
    ['emoji with skin tone and ZWJ families', '👩🏽‍💻👨‍👩‍👧‍👦'.repeat(20)],
    ['flags (regional indicator pairs)', '🇫🇷🇩🇪🇯🇵🇧🇷'.repeat(20)],
    ['combining marks', 'e\u0301a\u0300o\u0302u\u0308'.repeat(30)],
    ['Arabic with harakat', 'بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ '.repeat(10)],
    ['Arabic without spaces', 'مرحبابالعالم'.repeat(20)],
    ['Devanagari conjuncts', 'क्षत्रिय'.repeat(20)],
  ];
  it.each(cases)('%s: never splits a character, never exceeds max', (_name, text) => {
    for (let max = 1; max <= 60; max++) {
      const cut = cutText(text, max);
      expect(cut.length, `max ${max}`).toBeLessThanOrEqual(max);
      expect(cut.endsWith('…'), `max ${max}`).toBe(true);
      expect(lone.test(cut), `lone surrogate at max ${max}: ${JSON.stringify(cut)}`).toBe(false);
      expect(wholeGraphemePrefix(text, cut), `max ${max}: ${JSON.stringify(cut)}`).toBe(true);
    }
  });

  it('a flag is kept whole or left out, never half', () => {
    // Each flag is 4 code units; room for 5 code units plus the ellipsis keeps one flag, not one and a half.
    expect(cutText('🇫🇷🇩🇪🇯🇵', 6)).toBe('🇫🇷…');
  });

  it('Arabic is cut between words when it can be', () => {
    const text = 'أعلنت الحكومة اليوم عن خطة جديدة للنقل العام في المدينة';
    const cut = cutText(text, 30);
    expect(cut).toBe('أعلنت الحكومة اليوم عن خطة…');
    expect(text.startsWith(cut.slice(0, -1))).toBe(true);
  });
});

function event(summary: string, headline = 'Headline'): NewsEvent {
  return {
    id: '1-0',
    type: 'article.published',
    at: '2026-01-01T00:00:00.000Z',
    topics: ['world'],
    article: {
      id: 'a-1', version: 1, headline, summary, body: null, url: null, topics: ['world'], urgency: 3, language: 'en', byline: null,
      image: null, publishedAt: '2026-01-01T00:00:00.000Z', changeNote: null, notify: true, updatedAt: '2026-01-01T00:00:00.000Z', status: 'published',
    },
  };
}

describe('Web Push payload cut', () => {
  it('an emoji-heavy summary is cut between characters: no lone surrogate before the ellipsis', () => {
    // 1,000 emoji are 4,000 bytes of UTF-8: the body must be cut, and every cut length lands somewhere in a pair.
    for (const pad of ['', 'x', 'xx', 'xxx']) {
      const payload = JSON.parse(buildPayload(event(pad + '😀'.repeat(1000))).toString('utf8'));
      expect(Buffer.byteLength(JSON.stringify(payload))).toBeLessThan(MAX_PAYLOAD_BYTES);
      expect(payload.body.endsWith('…')).toBe(true);
      expect(lone.test(payload.body), JSON.stringify(payload.body.slice(-4))).toBe(false);
      expect(payload.body.slice(-3, -1)).toBe('😀');
    }
  });

  it('a flag-heavy title (when the body alone cannot make room) stays whole flags', () => {
    const payload = JSON.parse(buildPayload(event('', '🇺🇦'.repeat(1000))).toString('utf8'));
    expect(payload.title.endsWith('…')).toBe(true);
    expect(wholeGraphemePrefix('🇺🇦'.repeat(1000), payload.title)).toBe(true);
  });
});

describe('ninjs text fields decode every HTML entity', () => {
  const map = (doc: Record<string, unknown>) => mapNinjs(doc, validateNinjs(doc), { map: {}, defaultTopic: 'news' }, new Date('2026-01-01T00:00:00Z')).input;

  it('named, decimal and hex entities in headline, summary, byline and caption', () => {
    const input = map({
      uri: 'urn:test:entities-1',
      type: 'text',
      headline: 'Don&rsquo;t panic &#8211; really',
      description_text: 'Caf&eacute; owners &amp; staff &ndash; &#x201C;relieved&#x201D; &hellip;',
      byline: 'Ren&eacute;e O&#39;Brien',
      subject: [{ name: 'Arts &amp; culture', code: 'x1' }],
      associations: {
        featuremedia: {
          uri: 'urn:test:pic-1', type: 'picture', description_text: '&Aacute;lvaro &middot; Madrid',
          renditions: { original: { href: 'https://img.example.com/a.jpg', width: 1200, height: 800 } },
        },
      },
    });
    expect(input.headline).toBe('Don’t panic – really');
    expect(input.summary).toBe('Café owners & staff – “relieved” …');
    expect(input.byline).toBe('Renée O\'Brien');
    expect((input.image as { caption: string }).caption).toBe('Álvaro · Madrid');
    expect(input.topics).toEqual(['arts-culture']);
  });

  it('decodes once: an escaped entity stays readable as itself', () => {
    const input = map({ uri: 'urn:test:entities-2', type: 'text', headline: 'Writing &amp;rsquo; in HTML', description_text: '&amp;lt;b&amp;gt; is bold' });
    expect(input.headline).toBe('Writing &rsquo; in HTML');
    expect(input.summary).toBe('&lt;b&gt; is bold');
  });

  it('plain-text bodies are decoded, then escaped as HTML', () => {
    const input = map({ uri: 'urn:test:entities-3', type: 'text', headline: 'x', body_text: 'It&rsquo;s 5 &lt; 6\nSecond <line>' });
    expect(input.body).toBe('<p>It’s 5 &lt; 6</p><p>Second &lt;line&gt;</p>');
  });
});
