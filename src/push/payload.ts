import { createHash } from 'node:crypto';
import type { NewsEvent } from '../domain/event.ts';
import { storyIdOf } from '../domain/story.ts';
import { cutText } from '../domain/text.ts';

/** What the service worker receives (aes128gcm-encrypted), as the contract lists it. */
export interface PushPayload {
  type: NewsEvent['type'];
  eventId: string;
  articleId: string;
  version: number;
  title: string;
  body: string;
  url: string | null;
  image: string | null;
  urgency: number;
  /** The article this one replaces (ninjs evolvedfrom): the device replaces that alert too. */
  supersedes?: string;
  /** The story (the original's id): every language of a story replaces the same notification. */
  storyId: string;
  /** The notification's language and direction. */
  lang: string;
  dir: 'ltr' | 'rtl' | 'auto';
  /** Present (true) on a machine translation. */
  machineTranslated?: true;
}

const RTL_SCRIPTS = new Set(['Arab', 'Hebr', 'Thaa', 'Syrc', 'Nkoo', 'Adlm', 'Rohg', 'Mand', 'Samr']);

/** `rtl` for a language written in a right-to-left script (ar, fa, he, ur), as public/client/direction.js. */
export function directionOf(language: string): 'ltr' | 'rtl' | 'auto' {
  try {
    const script = new Intl.Locale(language).maximize().script;
    return !script ? 'auto' : RTL_SCRIPTS.has(script) ? 'rtl' : 'ltr';
  } catch {
    return 'auto';
  }
}

export const MAX_PAYLOAD_BYTES = 3_000;
/** The encrypted record adds 86 bytes of header and 17 of padding and tag; keep the plaintext under that. */
const MAX_PLAINTEXT = MAX_PAYLOAD_BYTES - 103;

export function buildPayload(event: NewsEvent): Buffer {
  const a = event.article;
  const retracted = event.type === 'article.retracted';
  const payload: PushPayload = {
    type: event.type,
    eventId: event.id,
    articleId: a.id,
    version: a.version,
    title: retracted ? `Withdrawn: ${a.headline}` : a.headline,
    body: retracted ? a.retraction?.reason ?? 'This report has been withdrawn.' : a.summary ?? '',
    url: a.url,
    image: retracted ? null : a.image?.url ?? null,
    urgency: a.urgency,
    ...(a.supersedes ? { supersedes: a.supersedes } : {}),
    storyId: storyIdOf(a),
    lang: a.language,
    dir: directionOf(a.language),
    ...(a.machineTranslated ? { machineTranslated: true as const } : {}),
  };
  let json = JSON.stringify(payload);
  // Cut the body on a word boundary until the whole fits; then, only if needed, drop the image and the title's tail.
  for (let max = payload.body.length; Buffer.byteLength(json) > MAX_PLAINTEXT && max > 0; max = Math.floor(max * 0.8)) {
    payload.body = cutText(payload.body, max);
    json = JSON.stringify(payload);
  }
  if (Buffer.byteLength(json) > MAX_PLAINTEXT) {
    payload.body = '';
    payload.image = null;
    payload.title = cutText(payload.title, 200);
    json = JSON.stringify(payload);
  }
  return Buffer.from(json);
}

/** The contract's mapping of IPTC urgency onto Web Push urgency. */
export function pushUrgency(urgency: number): 'high' | 'normal' | 'low' | 'very-low' {
  if (urgency <= 2) return 'high';
  if (urgency <= 4) return 'normal';
  if (urgency <= 7) return 'low';
  return 'very-low';
}

/**
 * The `Topic` header: the same for every version of an article, every language of its story and an article that
 * supersedes it, so the push service replaces a pending older alert. Apple and autopush accept only [A-Za-z0-9]{1,32}.
 */
export function pushTopic(event: NewsEvent): string {
  const chain = event.article.supersedes ?? storyIdOf(event.article);
  return createHash('sha256').update(chain).digest('hex').slice(0, 32);
}
