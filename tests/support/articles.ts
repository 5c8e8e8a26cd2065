/** The sample article from the contract (docs/api.md), as a newsroom tool sends it. */
export function sampleArticle(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'us-iraq-talks-2024-02-08',
    version: 1,
    headline: 'US to resume talks with Iraqi armed forces',
    summary: 'Washington and Baghdad last month began formal talks aimed at ending the presence of the anti-ISIS military coalition in Iraq',
    body: '<p>The US and Iraq will resume talks aimed at ending the presence of American forces in Iraq, the US-led anti-ISIS coalition announced on Thursday.</p>',
    url: 'https://news.example.com/world/2024/02/08/us-iraq-talks',
    topics: ['world/middle-east/iraq', 'us/politics'],
    urgency: 3,
    language: 'en',
    byline: 'Washington bureau',
    image: {
      url: 'https://news.example.com/img/us-forces.jpg',
      caption: 'US combat forces left Iraq in 2011 following the 2003 invasion.',
      credit: 'Getty Images',
    },
    publishedAt: '2024-02-08T15:04:00Z',
    changeNote: null,
    notify: true,
    ...overrides,
  };
}

let n = 0;
/** A small article with a unique id. */
export function article(topics: string[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  n += 1;
  return { id: `a-${process.pid}-${Date.now()}-${n}`, headline: `Headline ${n}`, topics, ...overrides };
}

/**
 * The seed story in English with its captioned, credited photo and its related video, under `id` (unique per
 * test), and its Arabic machine translation.
 */
export function seedStory(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { image: _image, ...rest } = sampleArticle();
  return {
    ...rest,
    id,
    media: [
      {
        role: 'featured', type: 'image', url: 'https://news.example.com/img/us-forces.jpg', width: 1200, height: 675,
        caption: 'US combat forces left Iraq in 2011 following the 2003 invasion.', credit: 'Getty Images',
      },
      {
        role: 'related', type: 'video', url: 'https://news.example.com/video/strikes-iraq-syria.mp4', width: 1280, height: 720,
        poster: 'https://news.example.com/img/strikes-poster.jpg', duration: 94,
        caption: 'US launches retaliatory strikes on Iran-backed targets in Iraq and Syria – video', credit: 'Reuters',
      },
    ],
    ...overrides,
  };
}

export function seedArabic(id: string, originalId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return seedStory(id, {
    translationOf: originalId,
    machineTranslated: true,
    language: 'ar',
    headline: 'الولايات المتحدة تستأنف المحادثات مع القوات المسلحة العراقية',
    summary: 'بدأت واشنطن وبغداد الشهر الماضي محادثات رسمية تهدف إلى إنهاء وجود التحالف العسكري المناهض لداعش في العراق',
    body: '<p>ستستأنف الولايات المتحدة والعراق المحادثات.</p>',
    url: 'https://news.example.com/ar/world/2024/02/08/us-iraq-talks',
    ...overrides,
  });
}
