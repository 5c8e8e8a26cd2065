import { createHash } from 'node:crypto';
import { ARTICLE_ID_RE } from '../domain/article.ts';

/**
 * The article id for a ninjs `guid`/`uri`. Ids that already fit the article id rule are kept as they are; others
 * (URLs with `/`, very long URNs) become a readable tail plus a hash of the whole, so the same guid always gives
 * the same article and `GET /api/v1/articles/<guid>` finds it without a stored alias.
 */
export function articleIdFor(guid: string): string {
  if (ARTICLE_ID_RE.test(guid)) return guid;
  const hash = createHash('sha256').update(guid).digest('hex').slice(0, 16);
  const tail = guid
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/[^A-Za-z0-9._:-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(-100)
    .replace(/^[^A-Za-z0-9]+/, '');
  return tail ? `${tail}-${hash}` : `ninjs-${hash}`;
}
