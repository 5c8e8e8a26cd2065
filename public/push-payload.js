// The title and body a Web Push alert carries, cut exactly as the server cuts them (src/push/payload.ts and
// src/domain/text.ts mirror: keep the limits and the order of fields in step). The console's preview shows these;
// tests/unit/push-payload-mirror.test.ts checks the two agree.

/** The server's ceiling for the encrypted payload, less the 86 bytes of header and 17 of padding and tag. */
export const MAX_PAYLOAD_BYTES = 3_000;
// 103 bytes of encryption overhead, and 200 kept for the receipt token the server adds per subscriber.
const MAX_PLAINTEXT = MAX_PAYLOAD_BYTES - 103 - 200;
/** Below this share of the room, a word boundary is not worth the lost text: cut mid-word instead. */
const WORD_BOUNDARY_MIN_SHARE = 0.6;
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const bytes = (s) => new TextEncoder().encode(s).length;
const RTL_SCRIPTS = new Set(['Arab', 'Hebr', 'Thaa', 'Syrc', 'Nkoo', 'Adlm', 'Rohg', 'Mand', 'Samr']);

/** The notification's direction, as the server's directionOf: `rtl` for a language written right to left. */
export function directionOf(language) {
  try {
    const script = new Intl.Locale(language).maximize().script;
    return !script ? 'auto' : RTL_SCRIPTS.has(script) ? 'rtl' : 'ltr';
  } catch {
    return 'auto';
  }
}

/** Cuts plain text to at most `max` UTF-16 code units between whole characters, on a word boundary when one is near. */
export function cutText(text, max) {
  if (text.length <= max) return text;
  if (max < 1) return '';
  const room = max - 1; // the ellipsis takes one code unit
  let end = 0;
  let lastSpace = -1;
  for (const { index, segment } of graphemes.segment(text)) {
    if (index + segment.length > room) break;
    if (/^\s/.test(segment)) lastSpace = index;
    end = index + segment.length;
  }
  const kept = lastSpace > max * WORD_BOUNDARY_MIN_SHARE ? text.slice(0, lastSpace) : text.slice(0, end);
  return kept.replace(/[\s,;:.-]+$/, '') + '…';
}

/**
 * The payload the server builds for an event of `type` on article `a` (`eventId` is only known once sent: a
 * preview passes one of the same form, `<ms>-<seq>`, whose length is what matters).
 */
export function pushPayload(type, eventId, a) {
  const retracted = type === 'article.retracted';
  const payload = {
    type,
    eventId,
    articleId: a.id,
    version: a.version,
    title: retracted ? `Withdrawn: ${a.headline}` : a.headline,
    body: retracted ? a.retraction?.reason ?? 'This report has been withdrawn.' : a.summary ?? '',
    url: a.url ?? null,
    image: retracted ? null : a.image?.url ?? null,
    urgency: a.urgency,
    ...(a.supersedes ? { supersedes: a.supersedes } : {}),
    storyId: a.storyId ?? a.translationOf ?? a.id,
    lang: a.language,
    dir: directionOf(a.language),
    ...(a.machineTranslated ? { machineTranslated: true } : {}),
  };
  let json = JSON.stringify(payload);
  for (let max = payload.body.length; bytes(json) > MAX_PLAINTEXT && max > 0; max = Math.floor(max * 0.8)) {
    payload.body = cutText(payload.body, max);
    json = JSON.stringify(payload);
  }
  if (bytes(json) > MAX_PLAINTEXT) {
    payload.body = '';
    payload.image = null;
    payload.title = cutText(payload.title, 200);
    json = JSON.stringify(payload);
  }
  if (bytes(json) > MAX_PLAINTEXT) payload.url = null;
  return payload;
}
