import {
  applyPatch,
  articleInputSchema,
  articlePatchSchema,
  buildArticle,
  retract,
  retractionSchema,
  sameContent,
  type Article,
  type ArticleInput,
} from '../domain/article.ts';
import { ApiError, parseOrThrow } from '../domain/errors.ts';
import type { EventType, NewsEvent } from '../domain/event.ts';
import { sameHeld, type HeldVersion } from '../domain/held.ts';
import type { Topic } from '../domain/topic.ts';
import type { Store } from '../storage/store.ts';
import { bestVersion, storyIdOf, versionsOf } from '../domain/story.ts';
import { Stories } from './stories.ts';
import { heldAfter, holdAnswer, mustHold, retractedError, type ArticleState, type HoldResult } from './holds.ts';

/** What every write answers: the event it caused (null when nothing was fanned out) and the stored article. */
export interface WriteResult {
  status: 200 | 201;
  event: NewsEvent | null;
  article: Article;
}

export interface PublishOptions {
  /** Id of an article this one replaces (ninjs `evolvedfrom`): the old one leaves the listings. */
  supersedes?: string | null;
}

export interface HoldOptions extends PublishOptions {
  /** When to publish it; null: only when a usable version replaces it (ninjs `withheld`). */
  releaseAt: Date | null;
}

/** What releasing a held version did: published it, dropped it (it could no longer be published), or nothing. */
export type ReleaseResult = { released: WriteResult } | { dropped: string } | null;

export interface NewsServiceDeps {
  store: Store;
  now?: () => Date;
}

const MAX_CAS_ATTEMPTS = 8;

/** What a write decided on the state it read; `cas` makes it happen only if that state is still the stored one. */
type Step<R> =
  /** Nothing to write. */
  | { answer: R }
  /** Only the held version changes. */
  | { hold: HeldVersion | null; answer: R }
  /** A new current version, with its event; the held version follows (heldAfter). */
  | { next: Article; type: EventType; status: 200 | 201; listed: boolean };

/**
 * The one path every change to an article takes: validate, build the new version, store it with its event
 * (compare-and-set on the article and its held version, so concurrent writers on several nodes cannot both win).
 * Holds and embargo releases take the same path. Its answer says only whether the write is stored: every
 * consumer (Socket.IO, SSE, Web Push) follows the history, whatever node wrote the event.
 */
export class NewsService {
  private readonly store: Store;
  private readonly now: () => Date;
  private readonly stories: Stories;

  constructor(deps: NewsServiceDeps) {
    this.store = deps.store;
    this.stories = new Stories(deps.store);
    this.now = deps.now ?? (() => new Date());
  }

  async get(id: string): Promise<Article> {
    const a = await this.store.getArticle(id);
    if (!a) throw new ApiError('not_found', `No article with id ${JSON.stringify(id)}.`);
    return a;
  }

  /**
   * Listed articles, newest first. With `languages`, one entry per story: the version in the reader's most
   * preferred language (else the original), where the story's newest listed version would be.
   */
  async list(query: { topic?: Topic; language?: string; languages?: string[]; limit: number }): Promise<Article[]> {
    const { languages, ...q } = query;
    if (!languages) return this.store.listArticles(q);
    const listed = await this.store.listArticles({ ...q, limit: 100 });
    const seen = new Set<string>();
    const out: Article[] = [];
    for (const a of listed) {
      const storyId = storyIdOf(a);
      if (seen.has(storyId) || out.length >= query.limit) continue;
      seen.add(storyId);
      const original = storyId === a.id ? a : await this.store.getArticle(storyId);
      const best = original ? bestVersion({ id: storyId, versions: versionsOf(original) }, languages, true) : a.id;
      const chosen = best === a.id || !best ? a : await this.store.getArticle(best);
      if (chosen && chosen.status === 'published') out.push(chosen);
    }
    return out;
  }

  /** Upsert by id (POST /api/v1/articles): the body is validated here. A held older version is dropped with it. */
  async publish(body: unknown, options: PublishOptions = {}): Promise<WriteResult> {
    const input: ArticleInput = parseOrThrow(articleInputSchema, body);
    await this.stories.prepare(input, await this.store.getArticle(input.id));
    const result = await this.cas(input.id, ({ article }) => this.decidePublish(input, article, options.supersedes ?? null));
    await this.afterPublish(result, options.supersedes ?? null);
    return result;
  }

  /** Partial change (PATCH): the server bumps the version. */
  async patch(id: string, body: unknown): Promise<WriteResult> {
    const patch = parseOrThrow(articlePatchSchema, body);
    const current = await this.store.getArticle(id);
    if (current) this.stories.checkPatch(current, patch);
    return this.cas(id, ({ article: existing }) => {
      if (!existing) throw new ApiError('not_found', `No article with id ${JSON.stringify(id)}.`);
      if (existing.status === 'retracted') throw retractedError(existing);
      if (patch.ifVersion !== undefined && patch.ifVersion !== existing.version) {
        throw new ApiError('stale_version', `Article ${id} is at version ${existing.version}, not ${patch.ifVersion}.`, undefined, { currentVersion: existing.version });
      }
      return { next: applyPatch(existing, patch, this.now()), type: 'article.updated', status: 200, listed: !existing.supersededBy };
    });
  }

  /**
   * Retraction (DELETE, ninjs `canceled`): the body goes, the article stays as `retracted`, and a held version
   * goes too; repeating it changes nothing. An article that was only ever held is dropped and answered 404.
   */
  async retract(id: string, body: unknown): Promise<WriteResult> {
    const { reason } = parseOrThrow(retractionSchema, body ?? {});
    const result = await this.cas<WriteResult | null>(id, ({ article: existing, held }) => {
      if (!existing) {
        if (held) return { hold: null, answer: null };
        throw new ApiError('not_found', `No article with id ${JSON.stringify(id)}.`);
      }
      if (existing.status === 'retracted') return { answer: { status: 200, event: null, article: existing } };
      return { next: retract(existing, reason ?? null, this.now()), type: 'article.retracted', status: 200, listed: false };
    });
    if (!result) throw new ApiError('not_found', `No published article with id ${JSON.stringify(id)}; its held version was dropped.`);
    if (result.event) await this.afterRetract(result.article, reason ?? null);
    return result;
  }

  /**
   * A withdrawn translation leaves its original's list (its readers fall back to the next language they accept);
   * a withdrawn original withdraws every translation, each with its own event.
   */
  private async afterRetract(article: Article, reason: string | null): Promise<void> {
    if (article.translationOf) return this.stories.unlink(article.translationOf, article.id);
    for (const id of this.stories.translationsOf(article)) {
      try {
        await this.retract(id, { reason });
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 'not_found')) throw err;
        await this.stories.unlink(article.id, id);
      }
    }
  }

  /**
   * Keeps a version back until `releaseAt` (an embargo) or until a usable version replaces it (withheld). It is
   * validated and checked against what is published now, so a version that could never go out is refused now.
   */
  async hold(body: unknown, options: HoldOptions): Promise<HoldResult> {
    const input = parseOrThrow(articleInputSchema, body);
    await this.stories.check(input, await this.store.getArticle(input.id));
    const candidate: HeldVersion = {
      id: input.id,
      releaseAt: options.releaseAt ? options.releaseAt.toISOString() : null,
      input,
      supersedes: options.supersedes ?? null,
    };
    const answer = await this.cas<HoldResult>(input.id, (state) => {
      const answer = holdAnswer(candidate, state.article);
      return mustHold(candidate, state) ? { hold: candidate, answer } : { answer };
    });
    return answer as HoldResult;
  }

  /** Held versions due at `now`, earliest first (the embargo scheduler releases them one by one). */
  dueHeld(now: Date, limit: number): Promise<HeldVersion[]> {
    return this.store.dueHeld(now, limit);
  }

  /**
   * Publishes `item`, a held version read earlier, if it is still the one held: publishing it and removing it are
   * one compare-and-set, so when nodes race to release it only one publishes, and a held version replaced since
   * it was read is never published in its old form. One that can no longer be published (a newer version or a
   * retraction came first) is dropped.
   */
  async release(item: HeldVersion): Promise<ReleaseResult> {
    let storyError: ApiError | null = null;
    try {
      await this.stories.prepare(item.input, await this.store.getArticle(item.id));
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 400)) throw err;
      storyError = err; // its original was withdrawn meanwhile, say: it can no longer be published
    }
    const result = await this.cas<ReleaseResult>(item.id, ({ article, held }) => {
      if (!sameHeld(held, item)) return { answer: null }; // released by another node, replaced, or dropped
      if (storyError) return { hold: null, answer: { dropped: storyError.code } };
      try {
        const step = this.decidePublish(item.input, article, item.supersedes);
        return 'next' in step ? step : { hold: null, answer: { dropped: 'already_published' } };
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) return { hold: null, answer: { dropped: err.code } };
        throw err;
      }
    });
    if (result && 'status' in result) {
      await this.afterPublish(result, item.supersedes);
      return { released: result };
    }
    return result;
  }

  /** The rules of an upsert: a new id publishes, a higher version updates, a repeat of the current one is a no-op. */
  private decidePublish(input: ArticleInput, existing: Article | null, supersedes: string | null): Step<WriteResult> {
    if (existing?.status === 'retracted') throw retractedError(existing);
    const now = this.now();
    const build = (version: number | undefined) => {
      const a = buildArticle({ ...input, version }, existing, now);
      if (supersedes && supersedes !== a.id) a.supersedes = supersedes;
      return a;
    };
    const next = build(input.version);
    if (existing) {
      // A retry without a version is compared with the current version as if it had named it.
      const retry = input.version === undefined ? build(existing.version) : next;
      if (sameContent(retry, existing)) return { answer: { status: 200, event: null, article: existing } };
      if (next.version <= existing.version) {
        throw new ApiError(
          'stale_version',
          `Article ${input.id} is at version ${existing.version}; send version ${existing.version + 1} or higher.`,
          undefined,
          { currentVersion: existing.version },
        );
      }
    }
    return { next, type: existing ? 'article.updated' : 'article.published', status: existing ? 200 : 201, listed: !existing?.supersededBy };
  }

  private async afterPublish(result: WriteResult, supersedes: string | null): Promise<void> {
    if (supersedes && result.event) await this.markSuperseded(supersedes, result.article.id);
    // A translation stored while its original was being withdrawn goes with it.
    const of = result.article.translationOf;
    if (of && result.event && (await this.store.getArticle(of))?.status !== 'published') {
      await this.retract(result.article.id, { reason: 'The original report was withdrawn.' });
    }
  }

  /** Marks `oldId` as replaced by `newId`; it leaves the listings. No event: the new article's event says it. */
  private async markSuperseded(oldId: string, newId: string): Promise<void> {
    for (let i = 0; i < MAX_CAS_ATTEMPTS; i++) {
      const old = await this.store.getArticle(oldId);
      if (!old || old.supersededBy === newId) return;
      const r = await this.store.commit({ expected: old, article: { ...old, supersededBy: newId }, event: null, listed: false });
      if (r.ok) return;
    }
  }

  private async read(id: string): Promise<ArticleState> {
    const [article, held] = await Promise.all([this.store.getArticle(id), this.store.getHeld(id)]);
    return { article, held };
  }

  /**
   * Reads the article's state, lets `decide` choose, and writes the choice only if the state is still the one read
   * (else decides again on what the other writer stored).
   */
  private async cas<R = WriteResult>(id: string, decide: (state: ArticleState) => Step<R>): Promise<R | WriteResult> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const state = await this.read(id);
      const step = decide(state);
      if ('next' in step) {
        const story = await this.stories.storyOf(step.next);
        const r = await this.store.commit({
          expected: state.article,
          article: step.next,
          event: { type: step.type, at: this.now().toISOString(), topics: step.next.topics, article: step.next, story },
          listed: step.listed,
          held: { expected: state.held, next: heldAfter(state.held, step.next) },
        });
        if (!r.ok) continue;
        return { status: step.status, event: r.event, article: step.next };
      }
      if ('hold' in step && !(await this.store.commitHeld({ id, expected: state.article, held: { expected: state.held, next: step.hold } }))) continue;
      // Nothing new was written (an idempotent retry, a refusal answered as such), or only a held version: the
      // answer may follow a write that was answered 503, so it is given only once what it describes is durable.
      await this.store.durable();
      return step.answer;
    }
    throw new ApiError('conflict', `Article ${id} is being changed concurrently; retry.`);
  }
}
