import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { articleInputSchema } from '../../src/domain/article.ts';
import { articleIdFor } from '../../src/ninjs/ids.ts';
import { mapNinjs } from '../../src/ninjs/map.ts';
import { validateNinjs } from '../../src/ninjs/validate.ts';
import { api, startServerOn, type TestServer } from '../support/server.ts';

const FIXTURES = new URL('../fixtures/ninjs/', import.meta.url);
const read = (path: string) => JSON.parse(readFileSync(new URL(path, FIXTURES), 'utf8')) as Record<string, unknown>;
const NOW = new Date('2026-01-01T00:00:00Z');
function ingest(path: string) {
  const doc = read(path);
  const intent = mapNinjs(doc, validateNinjs(doc), { map: {}, defaultTopic: 'news' }, NOW);
  return articleInputSchema.parse(intent.input);
}
const EN_GUID = 'urn:newsml:gulfnews.example:2024-02-08T15:04:00:us-iraq-talks';

describe('ninjs translations and media', () => {
  it("Superdesk: translated_from is the story's original; every picture and video association is media", () => {
    const en = ingest('made/superdesk-original-en.json');
    // translation_id naming the item itself: an original.
    expect(en.translationOf).toBeUndefined();
    expect(en.media).toEqual([
      {
        role: 'featured', type: 'image', url: 'https://cdn.gulfnews.example/img/us-forces-1400.jpg', width: 1400, height: 933, credit: 'Getty Images',
        caption: 'US combat forces left Iraq in 2011 following the 2003 invasion, but thousands were sent back in 2014 to help Baghdad defeat ISIS under an international coalition.',
      },
      {
        // The largest MP4 a page can use (the 4K original is not), its 1280 px still as the poster.
        role: 'related', type: 'video', url: 'https://cdn.gulfnews.example/video/strikes-1280.mp4', width: 1280, height: 720,
        poster: 'https://cdn.gulfnews.example/video/strikes-poster-1280.jpg', duration: null, credit: 'Reuters',
        caption: 'US launches retaliatory strikes on Iran-backed targets in Iraq and Syria – video',
      },
    ]);
    expect(en.image).toEqual({ url: 'https://cdn.gulfnews.example/img/us-forces-1400.jpg', caption: expect.stringMatching(/^US combat forces/), credit: 'Getty Images' });
    const ar = ingest('made/superdesk-translation-ar.json');
    expect(ar).toMatchObject({ translationOf: articleIdFor(EN_GUID), language: 'ar', headline: 'الولايات المتحدة تستأنف المحادثات مع القوات المسلحة العراقية' });
    expect(ar.media).toHaveLength(2);
  });

  it('ninjs 3.1: an association with rel irel:translatedFrom; a machine-made translation; an HLS and MP4 video', () => {
    const fr = ingest('made/ninjs-3.1-translation-video.json');
    expect(fr).toMatchObject({ translationOf: articleIdFor('http://ninjs.example.com/newsitems/20240208-talks'), machineTranslated: true, language: 'fr', image: null });
    expect(fr.media).toEqual([{
      role: 'related', type: 'video', url: 'https://video.example.com/strikes/720.mp4', width: 1280, height: 720, duration: 94,
      poster: 'https://video.example.com/strikes/poster.jpg', caption: 'Frappes américaines en Irak et en Syrie – vidéo', credit: 'Reuters',
    }]);
  });

  it('ninjs 2.2: an alternative id with the role irel:translatedFrom', () => {
    expect(ingest('made/ninjs-2.2-translation.json')).toMatchObject({ translationOf: articleIdFor('http://ninjs.example.com/newsitems/20240208-talks'), language: 'de' });
  });

  it('the IPTC multimedia sample: both pictures, the lead one featured', () => {
    const r = ingest('iptc/3.1_007_multimedia.json');
    expect(r.media!.map((m) => [m.role, m.type, m.url])).toEqual([
      ['featured', 'image', 'http://hosted.ap.org/photos/2/2643c588-dc8d-4923-bebd-e3b904edbb3a-big.jpg'],
      ['related', 'image', 'http://hosted.ap.org/photos/2/2643c588-dc8d-4923-bebd-e3b904xyz000-big.jpg'],
    ]);
  });
});

for (const engine of ['memory', 'redis'] as const) describe(`ninjs stories through the server (${engine} engine)`, () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServerOn(engine, { RATE_LIMIT_PUBLISH_PER_SECOND: '0' });
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('the Superdesk original, then its Arabic translation, make one story; a translation whose original is unknown is refused', async () => {
    const early = await api(srv.url, 'POST', '/api/v1/ninjs', read('made/superdesk-translation-ar.json'), srv.auth);
    expect(early.status).toBe(400);
    expect(early.body.error.details).toEqual([{ field: 'translationOf', message: expect.stringContaining('no article with id') }]);
    const en = await api(srv.url, 'POST', '/api/v1/ninjs', read('made/superdesk-original-en.json'), srv.auth);
    expect(en.status).toBe(201);
    const ar = await api(srv.url, 'POST', '/api/v1/ninjs', read('made/superdesk-translation-ar.json'), srv.auth);
    expect(ar.status).toBe(201);
    expect(ar.body.article).toMatchObject({ storyId: en.body.article.id, translationOf: en.body.article.id, language: 'ar' });
    expect(ar.body.event.story.versions.map((v: { language: string }) => v.language)).toEqual(['en', 'ar']);
    const listed = await api(srv.url, 'GET', '/api/v1/articles?topic=politics&languages=ar');
    expect(listed.body.articles.map((a: { id: string }) => a.id)).toEqual([ar.body.article.id]);
  });

  it('an embargoed translation is checked against the story rules when it is held', async () => {
    const later = { embargoed: '2099-01-01T00:00:00+0000' };
    const orphan = { ...read('made/superdesk-translation-ar.json'), ...later, guid: `urn:held-orphan-${engine}`, translated_from: `urn:no-such-original-${engine}` };
    const refused = await api(srv.url, 'POST', '/api/v1/ninjs', orphan, srv.auth);
    expect(refused.status).toBe(400);
    expect(refused.body.error.details[0].field).toBe('translationOf');
    // In the original's language: refused too.
    const english = { ...read('made/superdesk-translation-ar.json'), ...later, guid: `urn:held-en-${engine}`, language: 'en' };
    expect((await api(srv.url, 'POST', '/api/v1/ninjs', english, srv.auth)).body.error.details[0].field).toBe('language');
    const french = { ...read('made/superdesk-translation-ar.json'), ...later, guid: `urn:held-fr-${engine}`, language: 'fr' };
    const held = await api(srv.url, 'POST', '/api/v1/ninjs', french, srv.auth);
    expect(held.status).toBe(202);
  });
});
