import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewsEvent } from '../../src/domain/event.ts';
import { article, seedArabic, seedStory } from '../support/articles.ts';
import { NewsClient } from '../support/clients.ts';
import { SseReader } from '../support/sse.ts';
import { api, startServerOn, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

// One story in several languages: the seed story in English, then its Arabic machine translation.
for (const engine of ['memory', 'redis'] as const) describe(`stories in several languages (${engine} engine)`, () => {
  let srv: TestServer;
  let n = 0;
  const uid = (name: string) => `${name}-${engine}-${++n}`;
  const write = async (method: string, path: string, body?: unknown) => {
    const r = await api(srv.url, method, path, body, srv.auth);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as { event: NewsEvent | null; article: any };
  };
  const publish = (body: Record<string, unknown>) => write('POST', '/api/v1/articles', body);
  /** Publishes an article to `topic` and waits until each client has it: everything sent before it has arrived. */
  const fence = async (clients: NewsClient[], sse: SseReader[] = []) => {
    const { event } = await publish(article(['world/middle-east/iraq']));
    await waitFor('the fence event', () => clients.every((c) => c.ids.includes(event!.id)) && sse.every((s) => s.data.some((e: NewsEvent) => e.id === event!.id)));
    return event!.id;
  };
  const headlines = (events: NewsEvent[], fenceIds: string[]) => events.filter((e) => !fenceIds.includes(e.id)).map((e) => `${e.type} ${e.article.language} ${e.article.id}`);

  beforeAll(async () => {
    srv = await startServerOn(engine, { RATE_LIMIT_PUBLISH_PER_SECOND: '0' });
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('a reader preferring Arabic gets one alert that becomes the Arabic version; readers of English are not alerted twice', async () => {
    const topics = ['world/middle-east'];
    const arabic = await NewsClient.connect(srv.url, { topics, languages: ['ar', 'en'] } as never);
    const english = await NewsClient.connect(srv.url, { topics, languages: ['en-GB', 'en'] } as never);
    const none = await NewsClient.connect(srv.url, { topics });
    const sse = await SseReader.open(`${srv.url}/api/v1/stream?topics=world/middle-east&languages=ar,en`);
    const clients = [arabic, english, none];
    try {
      const id = uid('us-iraq-talks');
      const en = await publish(seedStory(id));
      expect(en.article).toMatchObject({ storyId: id, translationOf: null, machineTranslated: false, image: { url: 'https://news.example.com/img/us-forces.jpg', credit: 'Getty Images' } });
      expect(en.event!.story).toEqual({ id, versions: [{ id, language: 'en' }] });
      const ar = await publish(seedArabic(`${id}-ar`, id));
      expect(ar.article).toMatchObject({ storyId: id, translationOf: id, machineTranslated: true, language: 'ar' });
      expect(ar.event!.story).toEqual({ id, versions: [{ id, language: 'en' }, { id: `${id}-ar`, language: 'ar' }] });
      // A later English update goes to English readers only: Arabic readers have the Arabic version.
      await write('PATCH', `/api/v1/articles/${id}`, { summary: 'Iraq welcomed the talks', notify: true });
      const f = await fence(clients, [sse]);

      expect(headlines(arabic.events, [f])).toEqual([`article.published en ${id}`, `article.published ar ${id}-ar`]);
      expect(arabic.events.slice(0, 2).map((e) => e.story?.id)).toEqual([id, id]); // the page replaces the card of story `id`
      expect(headlines(sse.data, [f])).toEqual(headlines(arabic.events, [f]));
      expect(headlines(english.events, [f])).toEqual([`article.published en ${id}`, `article.updated en ${id}`]);
      expect(headlines(none.events, [f])).toEqual([`article.published en ${id}`, `article.updated en ${id}`]);

      // Replayed from before the story, the same decisions are made from the events themselves.
      const replay = await NewsClient.connect(srv.url, { topics, since: en.event!.id, languages: ['ar'] } as never);
      try {
        await replay.waitForCount(2);
        expect(headlines(replay.events, [f])).toEqual([`article.published ar ${id}-ar`]);
      } finally {
        replay.close();
      }
    } finally {
      for (const c of clients) c.close();
      await sse.close();
    }
  });

  it('retracting a translation withdraws only it, and its readers fall back; retracting the original withdraws every translation', async () => {
    const topics = ['world'];
    const arabic = await NewsClient.connect(srv.url, { topics, languages: ['ar', 'fr', 'en'] } as never);
    const french = await NewsClient.connect(srv.url, { topics, languages: ['fr'] } as never);
    const english = await NewsClient.connect(srv.url, { topics, languages: ['en'] } as never);
    const clients = [arabic, french, english];
    try {
      const id = uid('story');
      await publish(seedStory(id));
      await publish(seedArabic(`${id}-ar`, id));
      await publish(seedStory(`${id}-fr`, { translationOf: id, language: 'fr', headline: 'Les États-Unis reprennent les pourparlers' }));
      const gone = await write('DELETE', `/api/v1/articles/${id}-ar`, { reason: 'Mistranslated' });
      // The retraction names what is left of the story: Arabic readers fall back to French.
      expect(gone.event!.story).toEqual({ id, versions: [{ id, language: 'en' }, { id: `${id}-fr`, language: 'fr' }] });
      expect((await api(srv.url, 'GET', `/api/v1/articles/${id}`)).body.article.translations).toEqual({ fr: `${id}-fr` });
      const f1 = await fence(clients);
      expect(headlines(arabic.events, [f1])).toEqual([`article.published en ${id}`, `article.published ar ${id}-ar`, `article.retracted ar ${id}-ar`]);
      expect(headlines(french.events, [f1])).toEqual([`article.published en ${id}`, `article.published fr ${id}-fr`]);
      expect(headlines(english.events, [f1])).toEqual([`article.published en ${id}`]);

      // A new Arabic translation may follow the withdrawn one.
      await publish(seedArabic(`${id}-ar2`, id));
      await write('DELETE', `/api/v1/articles/${id}`, { reason: 'Could not be confirmed' });
      for (const t of [`${id}-fr`, `${id}-ar2`]) expect((await api(srv.url, 'GET', `/api/v1/articles/${t}`)).body.article).toMatchObject({ status: 'retracted', retraction: { reason: 'Could not be confirmed' } });
      const f2 = await fence(clients);
      const after = (c: NewsClient) => headlines(c.events.slice(c.ids.indexOf(f1) + 1), [f2]);
      // Each reader is told of the withdrawal of the version it has.
      expect(after(arabic)).toEqual([`article.published ar ${id}-ar2`, `article.retracted ar ${id}-ar2`]);
      expect(after(french)).toEqual([`article.retracted fr ${id}-fr`]);
      expect(after(english)).toEqual([`article.retracted en ${id}`]);
      // Nothing of the story can be translated any more.
      const late = await api(srv.url, 'POST', '/api/v1/articles', seedStory(uid('late'), { translationOf: id, language: 'de' }), srv.auth);
      expect(late.status).toBe(400);
      expect(late.body.error.details).toEqual([{ field: 'translationOf', message: `article ${id} has been retracted` }]);
    } finally {
      for (const c of clients) c.close();
    }
  });

  it('languages ["*"] gets every version of every story, live and replayed, over Socket.IO and SSE', async () => {
    const topic = `every/${engine}`;
    const first = await publish(article([topic]));
    const live = await NewsClient.connect(srv.url, { topics: [topic], languages: ['*'] } as never);
    const sse = await SseReader.open(`${srv.url}/api/v1/stream?topics=${topic}&languages=*`);
    try {
      await waitFor('the stream to open', () => sse.comments >= 1);
      const id = uid('every');
      await publish(seedStory(id, { topics: [topic] }));
      await publish(seedArabic(`${id}-ar`, id, { topics: [topic] }));
      await write('PATCH', `/api/v1/articles/${id}-ar`, { summary: 'تغيير', notify: true });
      await write('DELETE', `/api/v1/articles/${id}-ar`, { reason: 'Wrong' });
      const fenceId = (await publish(article([topic]))).article.id;
      const expected = [`article.published ${id}`, `article.published ${id}-ar`, `article.updated ${id}-ar`, `article.retracted ${id}-ar`, `article.published ${fenceId}`];
      await waitFor('the fence', () => live.events.some((e) => e.article.id === fenceId) && sse.data.some((e: NewsEvent) => e.article.id === fenceId));
      expect(live.events.map((e) => `${e.type} ${e.article.id}`)).toEqual(expected);
      expect(sse.data.map((e: NewsEvent) => `${e.type} ${e.article.id}`)).toEqual(expected);
      // Replayed the same way.
      const back = await NewsClient.connect(srv.url, { topics: [topic], since: first.event!.id, languages: ['*'] } as never);
      await back.waitForCount(expected.length);
      expect(back.events.map((e) => `${e.type} ${e.article.id}`)).toEqual(expected);
      back.close();
      // `*` stands alone; listings do not take it.
      const mixed = await live.request('subscribe', { topics: [topic], languages: ['*', 'en'] });
      expect(mixed).toMatchObject({ ok: false, error: { code: 'validation_failed', details: [{ field: 'languages.0' }] } });
      expect((await api(srv.url, 'GET', `/api/v1/stream?topics=${topic}&languages=en,*`)).status).toBe(400);
      expect((await api(srv.url, 'GET', `/api/v1/articles?languages=*`)).status).toBe(400);
    } finally {
      live.close();
      await sse.close();
    }
  });

  it('subscribe sets and changes a connection\'s languages', async () => {
    const topic = `subscribe/${engine}`;
    const c = await NewsClient.connect(srv.url);
    try {
      expect(await c.request('subscribe', { topics: [topic], languages: ['ar'] })).toMatchObject({ ok: true, topics: [topic] });
      const bad = await c.request('subscribe', { topics: [topic], languages: Array.from({ length: 11 }, () => 'en') });
      expect(bad).toMatchObject({ ok: false, error: { code: 'validation_failed', details: [{ field: 'languages', message: 'at most 10 languages' }] } });
      const id = uid('sub');
      await publish(seedStory(id, { topics: [topic] }));
      await publish(seedArabic(`${id}-ar`, id, { topics: [topic] }));
      await c.waitForCount(2);
      // Arabic preferred: the English original (the only version then), then the Arabic one.
      expect(c.events.map((e) => e.article.id)).toEqual([id, `${id}-ar`]);
      expect(await c.request('subscribe', { topics: [topic], languages: null })).toMatchObject({ ok: true });
      await write('PATCH', `/api/v1/articles/${id}`, { summary: 'Changed', notify: true });
      await write('PATCH', `/api/v1/articles/${id}-ar`, { summary: 'تغيير', notify: true });
      const fenceId = (await publish(article([topic]))).article.id;
      await waitFor('the fence', () => c.events.some((e) => e.article.id === fenceId));
      // No preference any more: the original's update, not the translation's.
      expect(c.events.slice(2).map((e) => `${e.type} ${e.article.id}`)).toEqual([`article.updated ${id}`, `article.published ${fenceId}`]);
    } finally {
      c.close();
    }
  });

  it('lists one entry per story in the best language', async () => {
    const topic = `lists/${engine}`;
    const a = uid('listed');
    const b = uid('listed');
    await publish(seedStory(a, { topics: [topic] }));
    await publish(seedArabic(`${a}-ar`, a, { topics: [topic] }));
    await publish(seedStory(b, { topics: [topic], headline: 'Only in English' }));
    const list = async (q: string) => (await api(srv.url, 'GET', `/api/v1/articles?topic=${topic}${q}`)).body.articles.map((x: { id: string }) => x.id);
    expect(await list('')).toEqual([b, `${a}-ar`, a]);
    expect(await list('&languages=ar,en')).toEqual([b, `${a}-ar`]);
    expect(await list('&languages=fr')).toEqual([b, a]);
    expect(await list('&languages=en&limit=1')).toEqual([b]);
    // Paged by the cursor: one story per entry, never repeated on a later page.
    const page = async (q: string) => (await api(srv.url, 'GET', `/api/v1/articles?topic=${topic}&languages=ar,en&limit=1${q}`)).body;
    const first = await page('');
    expect(first.articles.map((x: { id: string }) => x.id)).toEqual([b]);
    const second = await page(`&cursor=${encodeURIComponent(first.next)}`);
    expect(second.articles.map((x: { id: string }) => x.id)).toEqual([`${a}-ar`]);
    expect(second.next).toBeNull();
    expect((await api(srv.url, 'GET', '/api/v1/articles?languages=nope!')).status).toBe(400);
  });

  it('an id-less translation gets a generated id, joins its story, and is withdrawn with its original by the same author', async () => {
    const topic = `idless/${engine}`;
    const a = uid('idless');
    await publish(seedStory(a, { topics: [topic] }));
    const { id: _none, ...body } = seedArabic('unused', a, { topics: [topic] });
    const t = await publish(body);
    expect(t.article.id).toMatch(/^article-\d{8}-[a-z2-7]{6}$/);
    expect(t.article).toMatchObject({ translationOf: a, storyId: a });
    expect(t.event!.story).toEqual({ id: a, versions: [{ id: a, language: 'en' }, { id: t.article.id, language: 'ar' }] });
    expect(t.event!.article).not.toHaveProperty('updatedBy');
    expect((await api(srv.url, 'GET', `/api/v1/articles/${a}`)).body.article.translations).toEqual({ ar: t.article.id });
    // A second Arabic translation of the story, id-less too, is refused before anything is stored.
    expect((await api(srv.url, 'POST', '/api/v1/articles', body, srv.auth)).status).toBe(400);
    await write('DELETE', `/api/v1/articles/${a}`, { reason: 'Wrong' });
    expect((await api(srv.url, 'GET', `/api/v1/articles/${t.article.id}`)).body.article.status).toBe('retracted');
    const trail = (await api(srv.url, 'GET', `/api/v1/articles/${t.article.id}/history`, undefined, srv.auth)).body.versions;
    expect(trail.map((v: { type: string }) => v.type)).toEqual(['article.published', 'article.retracted']);
    expect(trail[1].author).toBe(trail[0].author);
    expect(trail[1].author).toBeTruthy();
  });

  it('keeps image and media in step', async () => {
    const withImage = await publish({ ...article(['world']), image: { url: 'https://news.example.com/a.jpg', caption: 'A', credit: 'B' } });
    expect(withImage.article.media).toEqual([{ role: 'featured', type: 'image', url: 'https://news.example.com/a.jpg', width: null, height: null, caption: 'A', credit: 'B', poster: null, duration: null }]);
    const withVideo = await publish({ ...article(['world']), media: [{ role: 'featured', type: 'video', url: 'https://news.example.com/v.mp4', poster: 'https://news.example.com/p.jpg', duration: 30, caption: 'V' }] });
    expect(withVideo.article.image).toEqual({ url: 'https://news.example.com/p.jpg', caption: 'V', credit: null });
    const patched = await write('PATCH', `/api/v1/articles/${withVideo.article.id}`, { image: { url: 'https://news.example.com/b.jpg' } });
    expect(patched.article.media).toEqual([expect.objectContaining({ role: 'featured', type: 'image', url: 'https://news.example.com/b.jpg' })]);
  });

  it('refuses bad stories and media with 400 naming the field, storing nothing', async () => {
    const original = uid('orig');
    await publish(seedStory(original));
    const translation = `${original}-ar`;
    await publish(seedArabic(translation, original));
    const retracted = uid('gone');
    await publish(article(['world'], { id: retracted }));
    await write('DELETE', `/api/v1/articles/${retracted}`);
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['unknown original', { translationOf: 'no-such-article', language: 'de' }, 'translationOf'],
      ['retracted original', { translationOf: retracted, language: 'de' }, 'translationOf'],
      ['a translation of a translation', { translationOf: translation, language: 'de' }, 'translationOf'],
      ['itself', { translationOf: '$self', language: 'de' }, 'translationOf'],
      ['the original language', { translationOf: original, language: 'en' }, 'language'],
      ['a language the story has', { translationOf: original, language: 'ar' }, 'language'],
      ['machine translated original', { machineTranslated: true }, 'machineTranslated'],
      ['javascript: media', { media: [{ role: 'inline', type: 'image', url: 'javascript:alert(1)' }] }, 'media.0.url'],
      ['data: poster', { media: [{ role: 'related', type: 'video', url: 'https://x.example/v.mp4', poster: 'data:image/png;base64,AA' }] }, 'media.0.poster'],
      ['oversized media', { media: Array.from({ length: 21 }, (_, i) => ({ role: 'inline', type: 'image', url: `https://x.example/${i}.jpg` })) }, 'media'],
      ['two featured', { media: [{ role: 'featured', type: 'image', url: 'https://x.example/1.jpg' }, { role: 'featured', type: 'image', url: 'https://x.example/2.jpg' }] }, 'media'],
      ['image and media disagree', { image: { url: 'https://x.example/1.jpg' }, media: [{ role: 'featured', type: 'image', url: 'https://x.example/2.jpg' }] }, 'image.url'],
    ];
    for (const [why, fields, field] of cases) {
      const id = uid('bad');
      const body = { ...article(['world']), id, ...fields, ...(fields.translationOf === '$self' ? { translationOf: id } : {}) };
      const r = await api(srv.url, 'POST', '/api/v1/articles', body, srv.auth);
      expect([why, r.status]).toEqual([why, 400]);
      expect([why, r.body.error.details.map((d: { field: string }) => d.field)]).toEqual([why, [field]]);
      expect([why, (await api(srv.url, 'GET', `/api/v1/articles/${id}`)).status]).toEqual([why, 404]);
    }
    // translationOf is fixed at first publication: an original cannot claim another story, nor a translation move.
    const other = uid('other');
    await publish(seedStory(other));
    const claim = await api(srv.url, 'POST', '/api/v1/articles', { ...seedStory(original, { version: 2 }), translationOf: other, language: 'fr' }, srv.auth);
    expect(claim.status).toBe(400);
    expect(claim.body.error.details[0].field).toBe('translationOf');
    const move = await api(srv.url, 'POST', '/api/v1/articles', seedArabic(translation, other, { version: 2 }), srv.auth);
    expect(move.body.error.details[0].field).toBe('translationOf');
    const relang = await api(srv.url, 'PATCH', `/api/v1/articles/${original}`, { language: 'ar' }, srv.auth);
    expect(relang.body.error.details[0].field).toBe('language');
    const flagged = await api(srv.url, 'PATCH', `/api/v1/articles/${original}`, { machineTranslated: true }, srv.auth);
    expect(flagged.body.error.details[0].field).toBe('machineTranslated');
    const englished = await api(srv.url, 'POST', '/api/v1/articles', { ...seedArabic(translation, original, { version: 2 }), language: undefined }, srv.auth);
    expect(englished.body.error.details[0].field).toBe('language');
    expect((await api(srv.url, 'GET', `/api/v1/articles/${original}`)).body.article).toMatchObject({ version: 1, language: 'en', translationOf: null, translations: { ar: translation } });
    // A Socket.IO reader naming a bad language is refused at the handshake.
    await expect(NewsClient.connect(srv.url, { topics: ['world'], languages: ['not a tag'] } as never)).rejects.toThrow();
  });
});
