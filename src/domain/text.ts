/** Plain-text helpers shared by every part that shortens what readers see (ninjs mapping, Web Push payloads). */

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Below this share of the room, a word boundary is not worth the lost text: cut mid-word instead. */
const WORD_BOUNDARY_MIN_SHARE = 0.6;

/**
 * Cuts plain text to at most `max` UTF-16 code units (what the article schema's limits count), ending with an
 * ellipsis. The cut falls between whole characters as a reader sees them (grapheme clusters: an emoji, a flag, a
 * letter with its combining marks stay whole, and a surrogate pair is never split); on a word boundary when one
 * lies in the last part of the room. Text that fits is returned unchanged.
 */
export function cutText(text: string, max: number): string {
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
