import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { articleInputSchema } from '../../src/domain/article.ts';
import { ApiError } from '../../src/domain/errors.ts';
import { articleIdFor } from '../../src/ninjs/ids.ts';
import { bestRendition, mapNinjs, topicsFor } from '../../src/ninjs/map.ts';
import { cutText } from '../../src/domain/text.ts';
import { detectFlavour, fixDate, validateNinjs } from '../../src/ninjs/validate.ts';

const FIXTURES = new URL('../fixtures/ninjs/', import.meta.url);
const read = (path: string) => JSON.parse(readFileSync(new URL(path, FIXTURES), 'utf8')) as Record<string, unknown>;
const rules = { map: {}, defaultTopic: 'news' };
const NOW = new Date('2026-01-01T00:00:00Z');

function ingest(path: string, r = rules) {
  const doc = read(path);
  const flavour = validateNinjs(doc);
  const intent = mapNinjs(doc, flavour, r, NOW);
  // Whatever the mapping produces must pass the same validation as a hand-written publication.
  articleInputSchema.parse(intent.input);
  return { flavour, ...intent };
}

function refusal(path: string): ApiError {
  try {
    ingest(path);
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error(`${path} was accepted`);
}

const AP_TRIAL = {
  headline: 'Captain of wrecked cruise ship on trial in Italy',
  byline: "Paulo Santalucia and Frances d'Emilio",
  id: articleIdFor('http://ninjs.example.com/newsitems/20130709simp123'),
};

describe('every fixture is ingested or refused with a reason', () => {
  const all = [
    ...readdirSync(new URL('iptc/', FIXTURES)).map((f) => `iptc/${f}`),
    ...readdirSync(new URL('superdesk/', FIXTURES)).filter((f) => !f.includes('schema')).map((f) => `superdesk/${f}`),
  ];
  it('covers all of them', () => {
    expect(all.length).toBeGreaterThanOrEqual(30);
    for (const f of all) {
      try {
        const r = ingest(f);
        expect(r.input.headline, f).toEqual(expect.any(String));
      } catch (e) {
        expect(e, f).toBeInstanceOf(ApiError);
        expect((e as ApiError).details?.length, f).toBeGreaterThan(0);
      }
    }
  });
});

describe('IPTC ninjs 1.x', () => {
  it.each(['iptc/1.4_ninjsExSimpleText1.json', 'iptc/1.6_001_simple_example.json', 'iptc/1.6_004_simple_text_article.json'])('%s: headline_*/body_* variants', (f) => {
    const r = ingest(f);
    expect(r.flavour).toBe('1');
    expect(r.action).toBe('publish');
    expect(r.input).toMatchObject({ id: AP_TRIAL.id, headline: AP_TRIAL.headline, byline: AP_TRIAL.byline, urgency: 5, topics: ['news'], image: null });
    expect(r.input.body).toMatch(/^<p>GROSSETO, Italy \(AP\)/);
    expect(r.input).not.toHaveProperty('version');
  });
  it('1.6 multimedia: the picture association becomes the image with caption and credit', () => {
    const r = ingest('iptc/1.6_007_multimedia.json');
    expect(r.input).toMatchObject({ language: 'en', headline: AP_TRIAL.headline });
    expect(r.input.image).toEqual({
      url: 'http://hosted.ap.org/photos/2/2643c588-dc8d-4923-bebd-e3b904edbb3a-big.jpg',
      caption: expect.stringMatching(/^The Costa Concordia cruise ship lies on its side/),
      credit: 'Paulo Santalucia',
    });
  });
});

describe('IPTC ninjs 2.x', () => {
  it('dpa: headlines[], bodies[] (HTML), by, language, urgency, string version', () => {
    const r = ingest('iptc/2.1_dpa_text.json');
    expect(r.flavour).toBe('2');
    expect(r.input).toMatchObject({ id: 'urn:newsml:dpa.com:20090101:190510-99-167362', version: 2, headline: 'Faktencheck Derby-Elfmeter: Hat Schiedsrichter Zwayer recht?', byline: 'Von Christian Hollmann, dpa', language: 'de', urgency: 4 });
    expect(r.input.body).toMatch(/^<section class="main"><p>Für Lucien Favre/);
  });
  it('NTB: descriptions[] as summary, subject names as topics, nb-NO', () => {
    const r = ingest('iptc/2.1_ntb_text.json');
    expect(r.input).toMatchObject({ version: 6, headline: 'Google har kjøpt giganttomt i Skien', byline: 'NTB', language: 'nb-NO', topics: ['innenriks', 'teknologi', 'industri', 'olje-og-energi'], publishedAt: '2019-08-09T09:30:04.000Z' });
    expect(r.input.summary).toBe('IT-giganten Google har kjøpt en tomt på nærmere 2.000 mål i Skien i tilfelle det blir behov for flere datasentre i Europa.');
  });
  it('2.2 multimedia: array associations and renditions', () => {
    const r = ingest('iptc/2.2_007_multimedia.json');
    expect(r.input).toMatchObject({ headline: AP_TRIAL.headline, byline: AP_TRIAL.byline });
    expect((r.input.image as { url: string }).url).toBe('http://hosted.ap.org/photos/2/2643c588-dc8d-4923-bebd-e3b904edbb3a-big.jpg');
  });
});

describe('IPTC ninjs 3.x (camelCase)', () => {
  it('TT: genres and subjects, a picture whose largest rendition is too big for a page', () => {
    const r = ingest('iptc/3.0_tt_text_image_3.json');
    expect(r.flavour).toBe('3');
    expect(r.input).toMatchObject({ version: 1, headline: 'Militärövning i jätteformat hålls 2023', language: 'sv', urgency: 3, topics: ['krig-konflikter-och-oroligheter'] });
    // Hires is 4724 px wide: the sane choice is the largest rendition at most 2048 px.
    expect(r.input.image).toMatchObject({ url: 'https://beta.tt.se/media/text/210526-militarovning-a0f2d045/a001_NormalPreview.jpg', credit: 'Karl Melander/TT' });
    expect(r.input.body).toMatch(/^<p>Militärövning i jätteformat hålls 2023<\/p><p>Försvar TT<\/p>/);
  });
  it('NTB 3.0 maps like its 2.1 twin', () => {
    const a = ingest('iptc/3.0_ntb_text.json');
    const b = ingest('iptc/2.1_ntb_text.json');
    expect(a.input).toEqual(b.input);
  });
});

describe('refusals', () => {
  it.each([
    ['iptc/1.6_006_photo_only.json', 'type'],
    ['iptc/2.1_ap_image.json', 'type'],
    ['iptc/3.1_008_event.json', 'type'],
    ['iptc/2.2_002_renditions_example.json', 'uri'],
  ])('%s is refused naming %s', (f, field) => {
    const e = refusal(f);
    expect(e.code).toBe('validation_failed');
    expect(e.details!.map((d) => d.field)).toContain(field);
  });
  it('schema complaints are passed on with their paths', () => {
    const doc = { ...read('iptc/3.1_004_simple_text_article.json'), urgency: 'high', pubStatus: 'maybe' };
    let err: ApiError | undefined;
    try {
      validateNinjs(doc);
    } catch (e) {
      err = e as ApiError;
    }
    expect(err?.code).toBe('validation_failed');
    expect(err!.details!.map((d) => d.field)).toEqual(expect.arrayContaining(['urgency', 'pubStatus']));
  });
  it('a document with no headline is refused', () => {
    const e = (() => {
      try {
        mapNinjs({ uri: 'urn:x:1', type: 'text', body_text: 'no title' }, '1', rules, NOW);
      } catch (err) {
        return err as ApiError;
      }
    })();
    expect(e?.details?.[0]?.field).toBe('headline');
  });
});

describe('Superdesk', () => {
  it('composite package: guid, string version, +0000 dates, map-style renditions', () => {
    const r = ingest('superdesk/composite-package.json');
    expect(r.flavour).toBe('superdesk');
    expect(r.input).toMatchObject({
      id: 'urn:newsml:localhost:2017-02-01T11:18:33.977356:c1a2d498-5170-4eea-8a9b-f1025c012962',
      version: 3, headline: 'Quinoa tattooed hashtag', byline: 'Ljuba Ranković', urgency: 3, language: 'en',
      topics: ['arts-culture-and-entertainment'], publishedAt: '2017-02-01T10:18:33.000Z',
    });
    // "original" is exactly 2048 px: the largest sane rendition.
    expect(r.input.image).toEqual({ url: expect.stringContaining('d3ad29bafe0710c42b7cfc201939f266c6ca5c11a713625388decff4da87ba5b.jpg'), caption: 'Venice', credit: 'Ljuba Ranković' });
  });
  it('embargoed item: an embargo in the past publishes now; one in the future holds', () => {
    const past = ingest('superdesk/embargoed.json');
    expect(past.action).toBe('publish');
    expect(past.input).toMatchObject({ id: 'fd8e441b-a698-4411-9246-7d5de21cced9', version: 11, headline: 'Trouble is brewing for the future of beer', byline: 'Aaron J. Staples, Michigan State University' });
    expect(past.input.summary).toMatch(/^Brewers are pursuing solutions/);
    const doc = { ...read('superdesk/embargoed.json'), embargoed: '2026-06-29T02:30:00+0000' };
    const future = mapNinjs(doc, validateNinjs(doc), rules, NOW);
    expect(future.action).toBe('hold');
    expect(future.embargoUntil?.toISOString()).toBe('2026-06-29T02:30:00.000Z');
  });
  it('pubstatus withheld holds, canceled retracts, evolvedfrom supersedes', () => {
    const base = read('superdesk/composite-package.json');
    expect(mapNinjs({ ...base, pubstatus: 'withheld' }, 'superdesk', rules, NOW).action).toBe('hold');
    expect(mapNinjs({ ...base, pubstatus: 'canceled' }, 'superdesk', rules, NOW).action).toBe('retract');
    const rewrite = mapNinjs({ ...base, guid: 'urn:newsml:localhost:rewrite-1', evolvedfrom: base.guid }, 'superdesk', rules, NOW);
    expect(rewrite.supersedes).toBe(base.guid);
  });
});

describe('mapping rules', () => {
  it('NINJS_TOPIC_MAP matches scheme:code, kind:code, code or name before slugs and the default', () => {
    const doc = { subject: [{ name: 'Arts, culture and entertainment', code: '01000000' }], service: [{ name: 'News', code: 'n' }] };
    expect(topicsFor(doc, { map: { 'subject:01000000': ['culture'] }, defaultTopic: 'news' })).toEqual(['culture']);
    expect(topicsFor(doc, { map: { 'service:n': ['wire'] }, defaultTopic: 'news' })).toEqual(['wire']);
    expect(topicsFor(doc, { map: { 'arts, culture and entertainment': ['arts'] }, defaultTopic: 'news' })).toEqual(['arts']);
    expect(topicsFor(doc, rules)).toEqual(['arts-culture-and-entertainment']);
    expect(topicsFor({ service: [{ name: 'News', code: 'n' }] }, { map: {}, defaultTopic: 'wire' })).toEqual(['wire']);
    const byUri = { subjects: [{ name: 'Politics', uri: 'http://cv.iptc.org/newscodes/mediatopic/11000000' }] };
    expect(topicsFor(byUri, { map: { 'http://cv.iptc.org/newscodes/mediatopic/:11000000': ['us/politics'] }, defaultTopic: 'news' })).toEqual(['us/politics']);
    const tt = read('iptc/3.0_tt_text_image_3.json');
    expect(topicsFor(tt, { map: { 'http://tt.se/spec/subref/1.0/:16000000': ['world/conflict'] }, defaultTopic: 'news' })).toEqual(['world/conflict']);
  });
  it('ids: kept when they fit the rule, else a stable readable form', () => {
    expect(articleIdFor('urn:newsml:dpa.com:20090101:190510-99-167362')).toBe('urn:newsml:dpa.com:20090101:190510-99-167362');
    const a = articleIdFor('http://ninjs.example.com/newsitems/20130709simp123');
    expect(a).toMatch(/^ninjs\.example\.com-newsitems-20130709simp123-[0-9a-f]{16}$/);
    expect(articleIdFor('http://ninjs.example.com/newsitems/20130709simp123')).toBe(a);
    expect(articleIdFor('http://ninjs.example.com/newsitems/20130709simp124')).not.toBe(a);
  });
  it('long text is cut on a word boundary; dates get their colon; renditions stay sane', () => {
    expect(cutText('one two three four', 10)).toBe('one two…');
    expect(fixDate('2017-02-01T10:18:33+0000')).toBe('2017-02-01T10:18:33+00:00');
    expect(bestRendition([{ href: 'https://x/a.jpg', width: 4000 }, { href: 'https://x/b.jpg', width: 1200 }, { href: 'https://x/c.jpg', width: 300 }])).toBe('https://x/b.jpg');
    expect(bestRendition([{ href: 'https://x/v.mp4', width: 800, mime: 'video/mp4' }])).toBeUndefined();
    expect(detectFlavour({ uri: 'x', headlines: [] })).toBe('2');
  });
});
