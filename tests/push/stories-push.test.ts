import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { article, seedArabic, seedStory } from '../support/articles.ts';
import { PushService } from '../support/push-service.ts';
import { api, startServerOn, type TestServer } from '../support/server.ts';
import { sleep, waitFor } from '../support/wait.ts';

// Web Push of a story in several languages: one push per story, in the subscriber's best language.
for (const engine of ['memory', 'redis'] as const) describe(`Web Push of stories (${engine} engine)`, () => {
  let push: PushService;
  let srv: TestServer;

  beforeAll(async () => {
    push = await PushService.start();
    srv = await startServerOn(engine, { ...push.serverEnv, RATE_LIMIT_PUBLISH_PER_SECOND: '0', RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '0', PUSH_TTL_SECONDS: '60' });
  });
  afterAll(async () => {
    await srv?.close();
    await push?.stop();
  });

  async function subscribe(prefs: Record<string, unknown>) {
    const sub = push.subscriber();
    const r = await api(srv.url, 'POST', '/api/v1/push/subscriptions', { subscription: sub.subscription, topics: [`stories-${engine}`], ...prefs });
    if (r.status !== 201) throw new Error(`subscribe: ${r.status} ${JSON.stringify(r.body)}`);
    return sub;
  }
  const publish = async (body: Record<string, unknown>, method = 'POST', path = '/api/v1/articles') => {
    const r = await api(srv.url, method, path, body, srv.auth);
    if (r.status >= 300) throw new Error(`${method}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const summary = (name: string) => push.for(name).map((p) => `${p.payload.type} ${p.payload.lang} ${p.payload.articleId}`);

  it('a subscriber with ["ar","en"] gets one push per story, the Arabic one replacing the English one; English readers are pushed once', async () => {
    const topics = [`stories-${engine}`];
    const both = await subscribe({ languages: ['ar', 'en'] });
    const english = await subscribe({ languages: ['en'] });
    const any = await subscribe({});
    const arabicOnly = await subscribe({ languages: ['ar'] });
    const id = `push-story-${engine}`;
    await publish(seedStory(id, { topics }));
    await waitFor('the English alert', () => [both, english, any].every((s) => push.for(s.name).length === 1));
    await publish(seedArabic(`${id}-ar`, id, { topics }));
    await waitFor('the Arabic alert', () => push.for(both.name).length === 2 && push.for(arabicOnly.name).length === 1);
    // An English update that asks to notify goes to English readers, not to those who have the Arabic version.
    await publish({ summary: 'Iraq welcomed the talks', notify: true }, 'PATCH', `/api/v1/articles/${id}`);
    await waitFor('the English update', () => push.for(english.name).length === 2 && push.for(any.name).length === 2);
    // Fences: later stories in English and in Arabic; once each reader has those, anything before has arrived.
    const fences = [(await publish(article(topics, { urgency: 3 }))).article.id, (await publish(article(topics, { urgency: 3, language: 'ar' }))).article.id];
    const fenced = (name: string, n: number) => push.for(name).filter((p) => fences.includes(p.payload.articleId)).length === n;
    await waitFor('the fences', () => fenced(both.name, 2) && fenced(english.name, 1) && fenced(any.name, 2) && fenced(arabicOnly.name, 1));
    const story = (name: string) => summary(name).filter((s) => s.includes(id));

    expect(story(both.name)).toEqual([`article.published en ${id}`, `article.published ar ${id}-ar`]);
    expect(story(english.name)).toEqual([`article.published en ${id}`, `article.updated en ${id}`]);
    expect(story(any.name)).toEqual([`article.published en ${id}`, `article.updated en ${id}`]);
    expect(story(arabicOnly.name)).toEqual([`article.published ar ${id}-ar`]);

    // Every language of the story has the same Topic, so the push service replaces a pending alert.
    const [en, ar] = push.for(both.name);
    expect(ar!.headers.topic).toBe(en!.headers.topic);
    expect(ar!.payload).toMatchObject({
      storyId: id, lang: 'ar', dir: 'rtl', machineTranslated: true,
      title: 'الولايات المتحدة تستأنف المحادثات مع القوات المسلحة العراقية',
      image: 'https://news.example.com/img/us-forces.jpg',
    });
    expect(en!.payload).toMatchObject({ storyId: id, lang: 'en', dir: 'ltr', image: 'https://news.example.com/img/us-forces.jpg' });
    expect(en!.payload.machineTranslated).toBeUndefined();

    // Withdrawing the original withdraws the translation: each reader is told of the version it got.
    await api(srv.url, 'DELETE', `/api/v1/articles/${id}`, { reason: 'Could not be confirmed' }, srv.auth);
    const withdrawal = (name: string) => push.for(name).find((p) => p.payload.type === 'article.retracted');
    await waitFor('the withdrawals', () => [both, english, any, arabicOnly].every((s) => withdrawal(s.name)), 10_000);
    expect(withdrawal(both.name)!.payload).toMatchObject({ articleId: `${id}-ar`, lang: 'ar', dir: 'rtl' });
    expect(withdrawal(both.name)!.headers.topic).toBe(en!.headers.topic);
    expect(withdrawal(english.name)!.payload).toMatchObject({ articleId: id, lang: 'en' });
    expect(withdrawal(arabicOnly.name)!.payload).toMatchObject({ articleId: `${id}-ar` });
    for (const s of [both, english, any, arabicOnly]) expect(push.for(s.name).filter((p) => p.payload.type === 'article.retracted')).toHaveLength(1);
  });

  it('withdrawing a translation: its readers get the next language they accept in its place, or the withdrawal', async () => {
    const topics = [`stories-${engine}`];
    const both = await subscribe({ languages: ['ar', 'en'] });
    const arabicOnly = await subscribe({ languages: ['ar'] });
    const english = await subscribe({ languages: ['en'] });
    const id = `push-fallback-${engine}`;
    await publish(seedStory(id, { topics }));
    await publish(seedArabic(`${id}-ar`, id, { topics }));
    await waitFor('the alerts', () => push.for(both.name).length === 2 && push.for(arabicOnly.name).length === 1 && push.for(english.name).length === 1);
    await api(srv.url, 'DELETE', `/api/v1/articles/${id}-ar`, { reason: 'Mistranslated' }, srv.auth);
    await waitFor('the fallback and the withdrawal', () => push.for(both.name).length === 3 && push.for(arabicOnly.name).length === 2, 10_000);
    expect(push.for(both.name)[2]!.payload).toMatchObject({ type: 'article.updated', articleId: id, lang: 'en', storyId: id });
    expect(push.for(both.name)[2]!.headers.topic).toBe(push.for(both.name)[1]!.headers.topic);
    expect(push.for(arabicOnly.name)[1]!.payload).toMatchObject({ type: 'article.retracted', articleId: `${id}-ar`, body: 'Mistranslated' });
    // The reader who fell back to English now has the English version: its withdrawal reaches them.
    await api(srv.url, 'DELETE', `/api/v1/articles/${id}`, {}, srv.auth);
    await waitFor('the English withdrawal', () => push.for(both.name).length === 4 && push.for(english.name).length === 2, 10_000);
    expect(push.for(both.name)[3]!.payload).toMatchObject({ type: 'article.retracted', articleId: id });
    expect(push.for(arabicOnly.name)).toHaveLength(2);
  });

  it('a translation alert that lands after its withdrawal looked for its readers: they get the fallback too, or the withdrawal', async () => {
    const topics = [`stories-${engine}`];
    const both = await subscribe({ languages: ['ar', 'en'] });
    const arabicOnly = await subscribe({ languages: ['ar'] });
    const id = `push-late-${engine}`;
    await publish(seedStory(id, { topics }));
    await waitFor('the English alert', () => push.for(both.name).length === 1);
    // A push service that holds its answers: the Arabic alert is still going out when it is withdrawn.
    let release!: () => void;
    push.gate = new Promise<void>((r) => (release = r));
    try {
      await publish(seedArabic(`${id}-ar`, id, { topics }));
      await waitFor('the Arabic alert to be under way', () => push.for(both.name).length === 2 && push.for(arabicOnly.name).length === 1, 10_000);
      await api(srv.url, 'DELETE', `/api/v1/articles/${id}-ar`, { reason: 'Mistranslated' }, srv.auth);
      // The withdrawal waits 1 s, then looks for who got the Arabic alert: nobody yet, the push service has not answered.
      await sleep(1_500);
      expect(push.for(both.name)).toHaveLength(2);
    } finally {
      push.gate = null;
      release();
    }
    // The alerts land now: the batch that delivered them sends what the withdrawal's fan-out would have.
    await waitFor('the late fallback and withdrawal', () => push.for(both.name).length === 3 && push.for(arabicOnly.name).length === 2, 10_000);
    expect(push.for(both.name)[2]!.payload).toMatchObject({ type: 'article.updated', articleId: id, lang: 'en', storyId: id });
    expect(push.for(both.name)[2]!.headers.topic).toBe(push.for(both.name)[1]!.headers.topic);
    expect(push.for(arabicOnly.name)[1]!.payload).toMatchObject({ type: 'article.retracted', articleId: `${id}-ar`, body: 'Mistranslated' });
    await sleep(1_000);
    expect(push.for(both.name)).toHaveLength(3);
    expect(push.for(arabicOnly.name)).toHaveLength(2);
  });
});
