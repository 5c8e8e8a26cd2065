import type { RequestHandler } from 'express';
import { assertInScope } from '../http/auth.ts';
import type { Store } from '../storage/store.ts';
import { mapNinjs, type TopicRules } from './map.ts';
import { validateNinjs } from './validate.ts';

/**
 * The scope rule for ninjs (see http/auth.ts): a scoped key may send a document only when every topic it maps to,
 * every topic of the article it would update, retract or supersede, and every topic of a version held back for
 * that article fall under the key's scope. Checked before anything is stored, held or dropped. A document that
 * does not validate is refused here with the same 400 the route would give.
 */
export function ninjsScope(store: Store, rules: TopicRules, now: () => Date): RequestHandler {
  return async (req, res, next) => {
    if (res.locals.scope === null) return next();
    const intent = mapNinjs(req.body as Record<string, unknown>, validateNinjs(req.body), rules, now());
    assertInScope(res, intent.input.topics, 'this document would be filed under');
    for (const id of [String(intent.input.id), intent.supersedes]) {
      if (id === null) continue;
      const current = await store.getArticle(id);
      if (current) assertInScope(res, current.topics, `article ${id} is filed under`);
      const held = await store.getHeld(id);
      if (held) assertInScope(res, held.input.topics, `the version of ${id} held back is filed under`);
    }
    next();
  };
}
