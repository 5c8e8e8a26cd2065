import type { Article, ArticleInput } from '../domain/article.ts';
import { ApiError } from '../domain/errors.ts';
import { versionsOf, type Story } from '../domain/story.ts';
import type { Store } from '../storage/store.ts';

const MAX_CAS_ATTEMPTS = 8;

const invalid = (field: string, message: string) => new ApiError('validation_failed', `Invalid ${field}: ${message}`, [{ field, message }]);

const listed = (a: Article) => a.status === 'published' && !a.supersededBy;

/**
 * The rules of stories (one original, its translations) that need the store: which original a translation
 * names, and the original's list of live translations (`translations`, language -> id), which is the story's
 * index. The rules, each answered 400 before anything is stored:
 * - `translationOf` names a published article that is itself an original (a translation of a translation is
 *   refused, naming the original to point at instead);
 * - it is fixed at first publication: an original never becomes a translation, so chains cannot loop and two
 *   originals cannot claim one story;
 * - one live version per language in a story: a translation in the original's language, or in a language the
 *   story already has, is refused; a translation's language is fixed.
 */
export class Stories {
  constructor(private readonly store: Store) {}

  /**
   * Checks a publication against the story rules and, for a translation, enters it in its original's list before
   * it is stored (so a retraction of the original racing with it finds it). Returns the original, or null.
   */
  async prepare(input: ArticleInput, existing: Article | null): Promise<Article | null> {
    const original = await this.check(input, existing);
    return original ? this.link(original, input.id, input.language ?? 'en') : null;
  }

  /** The story rules for a publication, without changing anything (also for a version held back). */
  async check(input: ArticleInput, existing: Article | null): Promise<Article | null> {
    // As buildArticle: a version that names no language is in English.
    const language = input.language ?? 'en';
    const was = existing?.translationOf ?? null;
    if (existing && input.translationOf !== undefined && (input.translationOf ?? null) !== was) {
      throw invalid('translationOf', was ? `fixed at first publication: this article translates ${was}` : 'fixed at first publication: this article is an original');
    }
    const of = input.translationOf ?? was;
    if (!of) {
      const taken = existing?.translations?.[language];
      if (taken) throw invalid('language', `this story already has a translation in ${language}: ${taken}`);
      return null;
    }
    if (existing && existing.language !== language) throw invalid('language', "a translation's language is fixed; publish a new translation");
    return this.original(of, language, input.id);
  }

  /** A partial change (PATCH) that would break the story rules is refused: a language change, an original flagged as machine-translated. */
  checkPatch(existing: Article, patch: { language?: string; machineTranslated?: boolean }): void {
    if (patch.machineTranslated && !existing.translationOf) throw invalid('machineTranslated', 'only a translation (translationOf) can be machine translated');
    const language = patch.language;
    if (language === undefined || language === existing.language) return;
    if (existing.translationOf) throw invalid('language', "a translation's language is fixed; publish a new translation");
    const taken = existing.translations?.[language];
    if (taken) throw invalid('language', `this story already has a translation in ${language}: ${taken}`);
  }

  private async original(id: string, language: string, translationId: string): Promise<Article> {
    const o = await this.store.getArticle(id);
    if (!o) throw invalid('translationOf', `no article with id ${JSON.stringify(id)}`);
    if (o.status === 'retracted') throw invalid('translationOf', `article ${id} has been retracted`);
    if (o.translationOf) throw invalid('translationOf', `${id} is itself a translation of ${o.translationOf}; point translationOf at ${o.translationOf}`);
    if (o.language === language) throw invalid('language', `the original ${id} is in ${language} already`);
    const taken = o.translations?.[language];
    if (taken && taken !== translationId) throw invalid('language', `story ${id} already has a translation in ${language}: ${taken}`);
    return o;
  }

  /** Enters a translation in its original's list (compare-and-set, no event). */
  private async link(original: Article, id: string, language: string): Promise<Article> {
    let o: Article | null = original;
    for (let i = 0; i < MAX_CAS_ATTEMPTS; i++) {
      if (!o || o.status === 'retracted') throw invalid('translationOf', `article ${original.id} has been retracted`);
      if (o.translations?.[language] === id) return o;
      const next: Article = { ...o, translations: { ...o.translations, [language]: id } };
      if ((await this.store.commit({ expected: o, article: next, event: null, listed: listed(o) })).ok) return next;
      o = await this.store.getArticle(original.id);
      if (o) await this.original(o.id, language, id);
    }
    throw new ApiError('conflict', `Article ${original.id} is being changed concurrently; retry.`);
  }

  /** Takes a withdrawn translation off its original's list. */
  async unlink(originalId: string, id: string): Promise<void> {
    for (let i = 0; i < MAX_CAS_ATTEMPTS; i++) {
      const o = await this.store.getArticle(originalId);
      const entry = Object.entries(o?.translations ?? {}).find(([, v]) => v === id);
      if (!o || !entry) return;
      const { [entry[0]]: _gone, ...rest } = o.translations!;
      if ((await this.store.commit({ expected: o, article: { ...o, translations: rest }, event: null, listed: listed(o) })).ok) return;
    }
  }

  /** The story of `next` (an article about to be stored) as it will be: what its event carries. */
  async storyOf(next: Article): Promise<Story> {
    if (!next.translationOf) return { id: next.id, versions: versionsOf(next) };
    const o = await this.store.getArticle(next.translationOf);
    const others = o ? versionsOf(o).filter((v) => v.id !== next.id) : [];
    return { id: next.translationOf, versions: next.status === 'published' ? [...others, { id: next.id, language: next.language }] : others };
  }

  /** Ids of an original's translations (to withdraw them with it). */
  translationsOf(original: Article): string[] {
    return Object.values(original.translations ?? {});
  }
}
