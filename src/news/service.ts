import { randomBytes } from 'node:crypto';
import {
  applyPatch,
  articleDraftSchema,
  articleInputSchema,
  articlePatchSchema,
  buildArticle,
  publicArticle,
  retract,
  retractionSchema,
  sameContent,
  type Article,
  type ArticleInput,
} from '../domain/article.ts';
import { ApiError, parseOrThrow } from '../domain/errors.ts';
import type { EventDraft, EventType, NewsEvent } from '../domain/event.ts';
import { sameHeld, type HeldVersion } from '../domain/held.ts';
import type { VersionRecord } from '../domain/history.ts';
import type { Topic } from '../domain/topic.ts';
import type { Logger } from '../ops/logger.ts';
import type { ArticleQuery, ListPosition } from '../storage/store.ts';
import type { Store } from '../storage/store.ts';
import { bestVersion, storyIdOf, versionsOf, type Story } from '../domain/story.ts';
import { matchesAny } from '../domain/topic.ts';
import { Stories } from './stories.ts';
import { heldAfter, holdAnswer, mustHold, retractedError, type ArticleState, type HoldResult } from './holds.ts';
import { generateArticleId, type RandomSource } from './ids.ts';

/** Who a write reaches: Web Push subscriptions it goes to, and clients of this node following its topics. */
export interface Audience {
  push: number;
  live: number;
}

/** Counts the audience of an event about to be written (the push module's matching, the channels' followers). */
export type AudienceCounter = (event: EventDraft) => Promise<Audience>;

const NOBODY: Audience = { push: 0, live: 0 };

/** What every write answers: the event it caused (null when nothing was fanned out), the stored article, whom it reaches. */
export interface WriteResult {
  status: 200 | 201;
  event: NewsEvent | null;
  article: Article;
  /** Only when asked for (WriteContext.audience): counting costs about as much as the push fan-out's lookup. */
  audience?: Audience;
}

export interface WriteContext {
  /** Who is writing: the name of the publisher key (or `superdesk`); recorded with the version, never the key. */
  author?: string | null;
  /** Count whom the write reaches (the answer's `audience`). */
  audience?: boolean;
}

export interface PublishOptions extends WriteContext {
  /** Id of an article this one replaces (ninjs `evolvedfrom`): the old one leaves the listings. */
  supersedes?: string | null;
}

/** What a dry run answers: what the write would do, with nothing stored or sent. */
export interface DryRunResult {
  dryRun: true;
  event: Pick<EventDraft, 'type' | 'topics'> | null;
  article: Article;
  audience: Audience;
}

/** A page of a listing, and where the next one starts (null: none). */
export interface ArticlePage {
  articles: Article[];
  next: ListPosition | null;
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
  /** Random bytes for the suffix of generated ids (crypto.randomBytes by default). */
  random?: RandomSource;
  logger?: Logger;
}

const MAX_CAS_ATTEMPTS = 8;
/** Suffixes tried for a generated id before giving up: with 30 random bits, a second is already rare. */
const MAX_ID_ATTEMPTS = 5;

/** What a write decided on the state it read; `cas` makes it happen only if that state is still the stored one. */
type Step<R> =
  /** Nothing to write. */
  | { answer: R }
  /** Only the held version changes. */
  | { hold: HeldVersion | null; answer: R }
  /** A new current version, with its event; the held version follows (heldAfter). */
  | { next: Article; type: EventType; status: 200 | 201; listed: boolean };

/** The answer of an id-generating write whose id was taken meanwhile: draw another. */
const TAKEN = Symbol('id taken');

/**
 * The one path every change to an article takes: validate, build the new version, store it with its event
 * (compare-and-set on the article and its held version, so concurrent writers on several nodes cannot both win).
 * Holds and embargo releases take the same path. Its answer says only whether the write is stored: every
 * consumer (Socket.IO, SSE, Web Push) follows the history, whatever node wrote the event.
 */
export class NewsService {
  private readonly store: Store;
  private readonly now: () => Date;
  private readonly random: RandomSource;
  private readonly logger: Logger | null;
  private countAudience: AudienceCounter = async () => NOBODY;
  private readonly stories: Stories;

  constructor(deps: NewsServiceDeps) {
    this.store = deps.store;
    this.stories = new Stories(deps.store);
    this.now = deps.now ?? (() => new Date());
    this.random = deps.random ?? randomBytes;
    this.logger = deps.logger ?? null;
  }

  /** How write answers count their audience (set by the composition root once push and the channels exist). */
  measureAudienceWith(counter: AudienceCounter): void {
    this.countAudience = counter;
  }

  async get(id: string): Promise<Article> {
    const a = await this.store.getArticle(id);
    if (!a) throw new ApiError('not_found', `No article with id ${JSON.stringify(id)}.`);
    return a;
  }

  /**
   * A page of a listing, newest first; `next` is where the following page starts. With `languages`, one entry per
   * story: the version in the reader's most preferred language (else the original), at the position of the story's
   * newest version in this listing, so that pages never repeat a story.
   */
  async list(query: ArticleQuery & { languages?: string[] }): Promise<ArticlePage> {
    const { languages, ...q } = query;
    if (!languages) {
      const found = await this.store.listArticles({ ...q, limit: q.limit + 1 });
      const articles = found.slice(0, q.limit);
      const last = articles[articles.length - 1];
      return { articles, next: found.length > q.limit && last ? { updatedAt: last.updatedAt, id: last.id } : null };
    }
    const out: Article[] = [];
    let lastRow: ListPosition | null = null;
    let after = q.after;
    let more = true;
    while (more && out.length <= q.limit) {
      const rows = await this.store.listArticles({ ...q, ...(after ? { after } : {}), limit: 100 });
      more = rows.length === 100;
      for (const a of rows) {
        after = { updatedAt: a.updatedAt, id: a.id };
        const entry = await this.storyEntry(a, languages, q);
        if (!entry) continue;
        if (out.length === q.limit) {
          more = true;
          out.push(entry); // only to say that there is a next page
          break;
        }
        out.push(entry);
        lastRow = after;
      }
    }
    const hasNext = out.length > q.limit;
    return { articles: out.slice(0, q.limit), next: hasNext && lastRow ? lastRow : null };
  }

  /** The entry listed for `row`'s story at `row`, or null when the story is listed at a newer version of it. */
  private async storyEntry(row: Article, languages: string[], q: ArticleQuery): Promise<Article | null> {
    const storyId = storyIdOf(row);
    const original = storyId === row.id ? row : await this.store.getArticle(storyId);
    if (original) {
      for (const v of versionsOf(original)) {
        if (v.id === row.id) continue;
        const other = v.id === original.id ? original : await this.store.getArticle(v.id);
        if (other && inListing(other, q) && newer(other, row)) return null;
      }
    }
    const best = original ? bestVersion({ id: storyId, versions: versionsOf(original) }, languages, true) : row.id;
    const chosen = best === row.id || !best ? row : await this.store.getArticle(best);
    if ((q.status ?? 'published') === 'published') return chosen && chosen.status === 'published' ? chosen : null;
    // Listings with retracted articles: the preferred version when it is in this listing too, else the row itself.
    return chosen && inListing(chosen, { ...q, topic: undefined, language: undefined }) ? chosen : row;
  }

  /** The article's versions, oldest first, with who made each; 404 when the article is unknown. */
  async history(id: string): Promise<VersionRecord[]> {
    const versions = await this.store.articleHistory(id);
    if (versions.length === 0) await this.get(id);
    return versions;
  }

  /**
   * Upsert by id (POST /api/v1/articles): the body is validated here. A held older version is dropped with it.
   * Without an id, the server makes one from the headline and date, and creates it only where nothing is yet.
   */
  async publish(body: unknown, options: PublishOptions = {}): Promise<WriteResult> {
    const supersedes = options.supersedes ?? null;
    const draft = parseOrThrow(articleDraftSchema, body);
    let result: WriteResult | typeof TAKEN = TAKEN;
    if (draft.id !== undefined) {
      const input = { ...draft, id: draft.id };
      await this.stories.prepare(input, await this.store.getArticle(input.id));
      result = await this.cas(input.id, ({ article }) => this.decidePublish(input, article, supersedes), options);
    }
    for (let i = 0; result === TAKEN && i < MAX_ID_ATTEMPTS; i++) {
      const input = { ...draft, id: this.newId(draft) };
      // A generated id names nothing stored yet (the compare-and-set below makes sure): the story rules as for a new article.
      const taken = await this.read(input.id);
      if (taken.article || taken.held) continue;
      await this.stories.prepare(input, null);
      result = await this.cas<WriteResult | typeof TAKEN>(
        input.id,
        ({ article, held }) => (article || held ? { answer: TAKEN } : this.decidePublish(input, null, supersedes)),
        options,
      );
    }
    if (result === TAKEN) throw new ApiError('conflict', 'Could not find a free id for this article; retry.');
    await this.afterPublish(result, supersedes);
    return this.withAudience(result, options);
  }

  /**
   * What publishing `body` would do now (POST /api/v1/articles?dryRun=true): the same validation and version rules
   * (a stale version is refused as it would be), nothing stored, nothing sent. Without an id, one that is free now.
   */
  async dryRun(body: unknown, options: PublishOptions = {}): Promise<DryRunResult> {
    const draft = parseOrThrow(articleDraftSchema, body);
    let id = draft.id;
    let state: ArticleState | null = null;
    for (let i = 0; id === undefined && i < MAX_ID_ATTEMPTS; i++) {
      const candidate = this.newId(draft);
      const s = await this.read(candidate);
      if (!s.article && !s.held) [id, state] = [candidate, s];
    }
    if (id === undefined) throw new ApiError('conflict', 'Could not find a free id for this article; retry.');
    const { article } = state ?? (await this.read(id));
    await this.stories.check({ ...draft, id }, article);
    const step = this.decidePublish({ ...draft, id }, article, options.supersedes ?? null);
    if (!('next' in step)) return { dryRun: true, event: null, article: step.answer.article, audience: NOBODY };
    const event = this.draft(step.type, step.next, await this.stories.storyOf(step.next));
    return { dryRun: true, event: { type: event.type, topics: event.topics }, article: { ...step.next, updatedBy: options.author ?? null }, audience: await this.countAudience(event) };
  }

  /** Partial change (PATCH): the server bumps the version. */
  async patch(id: string, body: unknown, context: WriteContext = {}): Promise<WriteResult> {
    const patch = parseOrThrow(articlePatchSchema, body);
    const current = await this.store.getArticle(id);
    if (current) this.stories.checkPatch(current, patch);
    const result = await this.cas(id, ({ article: existing }) => {
      if (!existing) throw new ApiError('not_found', `No article with id ${JSON.stringify(id)}.`);
      if (existing.status === 'retracted') throw retractedError(existing);
      if (patch.ifVersion !== undefined && patch.ifVersion !== existing.version) {
        throw new ApiError('stale_version', `Article ${id} is at version ${existing.version}, not ${patch.ifVersion}.`, undefined, { currentVersion: existing.version });
      }
      return { next: applyPatch(existing, patch, this.now()), type: 'article.updated', status: 200, listed: !existing.supersededBy };
    }, context);
    return this.withAudience(result, context);
  }

  /**
   * Retraction (DELETE, ninjs `canceled`): the body goes, the article stays as `retracted`, and a held version
   * goes too; repeating it changes nothing. An article that was only ever held is dropped and answered 404.
   */
  async retract(id: string, body: unknown, context: WriteContext = {}): Promise<WriteResult> {
    const { reason } = parseOrThrow(retractionSchema, body ?? {});
    const result = await this.cas<WriteResult | null>(id, ({ article: existing, held }) => {
      if (!existing) {
        if (held) return { hold: null, answer: null };
        throw new ApiError('not_found', `No article with id ${JSON.stringify(id)}.`);
      }
      if (existing.status === 'retracted') return { answer: { status: 200, event: null, article: existing } };
      return { next: retract(existing, reason ?? null, this.now()), type: 'article.retracted', status: 200, listed: false };
    }, context);
    if (!result) throw new ApiError('not_found', `No published article with id ${JSON.stringify(id)}; its held version was dropped.`);
    if (result.event) await this.afterRetract(result.article, reason ?? null, context);
    return this.withAudience(result, context);
  }

  /**
   * A withdrawn translation leaves its original's list (its readers fall back to the next language they accept);
   * a withdrawn original withdraws every translation, each with its own event.
   */
  private async afterRetract(article: Article, reason: string | null, context: WriteContext = {}): Promise<void> {
    if (article.translationOf) return this.stories.unlink(article.translationOf, article.id);
    for (const id of this.stories.translationsOf(article)) {
      try {
        // The same publisher withdraws the translations (their audit trail says so); no audience is counted for them.
        await this.retract(id, { reason }, { author: context.author });
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
      author: options.author ?? null,
    };
    const answer = await this.cas<HoldResult>(input.id, (state) => {
      const answer = holdAnswer(candidate, state.article);
      return mustHold(candidate, state) ? { hold: candidate, answer } : { answer };
    }, options);
    return this.withAudience(answer as HoldResult, options);
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
    }, { author: item.author ?? null });
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
  private async cas<R = WriteResult>(id: string, decide: (state: ArticleState) => Step<R>, context: WriteContext): Promise<R | WriteResult> {
    const author = context.author ?? null;
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const state = await this.read(id);
      const step = decide(state);
      if ('next' in step) {
        const article: Article = { ...step.next, updatedBy: author };
        const story = await this.stories.storyOf(step.next);
        const event = this.draft(step.type, step.next, story);
        // Counted just before the write, as the fan-out will find it.
        const audience = context.audience ? await this.countAudience(event) : undefined;
        const r = await this.store.commit({
          expected: state.article,
          article,
          event,
          listed: step.listed,
          held: { expected: state.held, next: heldAfter(state.held, step.next) },
          record: { version: article.version, type: step.type, at: event.at, author, changeNote: step.type === 'article.retracted' ? article.retraction?.reason ?? null : article.changeNote },
        });
        if (!r.ok) continue;
        this.logger?.info({ articleId: id, version: article.version, type: step.type, eventId: r.event?.id ?? null, publisher: author }, 'article version stored');
        return { status: step.status, event: r.event, article, ...(audience ? { audience } : {}) };
      }
      if ('hold' in step && !(await this.store.commitHeld({ id, expected: state.article, held: { expected: state.held, next: step.hold } }))) continue;
      // Nothing new was written (an idempotent retry, a refusal answered as such), or only a held version: the
      // answer may follow a write that was answered 503, so it is given only once what it describes is durable.
      await this.store.durable();
      return step.answer;
    }
    throw new ApiError('conflict', `Article ${id} is being changed concurrently; retry.`);
  }

  /** The answer with its audience when asked for (nobody when the write sent nothing), else without. */
  private withAudience<T extends { audience?: Audience }>(answer: T, context: WriteContext): T {
    const { audience, ...rest } = answer;
    return (context.audience ? { ...rest, audience: audience ?? NOBODY } : rest) as T;
  }

  /** The event of a new version, with its story: readers never see who wrote it. */
  private draft(type: EventType, next: Article, story?: Story): EventDraft {
    return { type, at: this.now().toISOString(), topics: next.topics, article: publicArticle(next), ...(story ? { story } : {}) };
  }

  private newId(draft: { headline: string; publishedAt?: string }): string {
    return generateArticleId(draft.headline, draft.publishedAt ? new Date(draft.publishedAt) : this.now(), this.random);
  }
}

/** Listing order, newest first: whether `a` is listed before `b`. */
function newer(a: ListPosition, b: ListPosition): boolean {
  return a.updatedAt > b.updatedAt || (a.updatedAt === b.updatedAt && a.id > b.id);
}

/** Whether `a` is in the listing `q` asks for (as the stores filter it). */
function inListing(a: Article, q: ArticleQuery): boolean {
  const status = q.status ?? 'published';
  const retracted = a.status === 'retracted';
  const listed = !retracted && !a.supersededBy;
  if (status === 'published' ? !listed : status === 'retracted' ? !retracted : !listed && !retracted) return false;
  if (q.topic && !matchesAny([q.topic], a.topics)) return false;
  return !q.language || a.language === q.language;
}
