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
import type { Topic } from '../domain/topic.ts';
import type { Store } from '../storage/store.ts';

/** What every write answers: the event it caused (null when nothing was fanned out) and the stored article. */
export interface WriteResult {
  status: 200 | 201;
  event: NewsEvent | null;
  article: Article;
}

export interface PublishOptions {
  /** Id of an article this one replaces (ninjs `evolvedfrom`): the old one leaves the listings. */
  supersedes?: string;
}

export interface NewsServiceDeps {
  store: Store;
  now?: () => Date;
  /** Called on the node that wrote the event, once per event: the seam for Web Push. */
  onCommitted?: (event: NewsEvent) => void | Promise<void>;
}

const MAX_CAS_ATTEMPTS = 8;

/**
 * The one path every change to an article takes: validate, build the new version, store it with its event
 * (compare-and-set, so concurrent writers on several nodes cannot both win), then hand the event on. Delivery to
 * Socket.IO and SSE clients follows the store's tail, so it is the same for events written by any node.
 */
export class NewsService {
  private readonly store: Store;
  private readonly now: () => Date;
  private readonly committedHooks: Array<(event: NewsEvent) => void | Promise<void>> = [];

  constructor(deps: NewsServiceDeps) {
    this.store = deps.store;
    this.now = deps.now ?? (() => new Date());
    if (deps.onCommitted) this.committedHooks.push(deps.onCommitted);
  }

  /** Adds a consumer of events written by this node (e.g. the Web Push channel). */
  onCommitted(hook: (event: NewsEvent) => void | Promise<void>): void {
    this.committedHooks.push(hook);
  }

  async get(id: string): Promise<Article> {
    const a = await this.store.getArticle(id);
    if (!a) throw new ApiError('not_found', `No article with id ${JSON.stringify(id)}.`);
    return a;
  }

  async list(query: { topic?: Topic; language?: string; limit: number }): Promise<Article[]> {
    return this.store.listArticles(query);
  }

  /** Upsert by id (POST /api/v1/articles): the body is validated here. */
  async publish(body: unknown, options: PublishOptions = {}): Promise<WriteResult> {
    const input: ArticleInput = parseOrThrow(articleInputSchema, body);
    return this.casLoop(input.id, async (existing) => {
      if (existing?.status === 'retracted') {
        throw new ApiError('retracted', `Article ${input.id} has been retracted.`, undefined, { currentVersion: existing.version });
      }
      // No version and the current version's content again: the contract's idempotent retry, not a new version.
      if (existing && input.version === undefined && sameContent(buildArticle({ ...input, version: existing.version }, existing, this.now()), existing)) {
        return { done: { status: 200, event: null, article: existing } };
      }
      const next = buildArticle(input, existing, this.now());
      if (options.supersedes && options.supersedes !== next.id) next.supersedes = options.supersedes;
      if (existing) {
        if (next.version === existing.version && sameContent(next, existing)) {
          return { done: { status: 200, event: null, article: existing } };
        }
        if (next.version <= existing.version) {
          throw new ApiError(
            'stale_version',
            `Article ${input.id} is at version ${existing.version}; send version ${existing.version + 1} or higher.`,
            undefined,
            { currentVersion: existing.version },
          );
        }
      }
      const type: EventType = existing ? 'article.updated' : 'article.published';
      return { next, type, status: existing ? 200 : 201, listed: !existing?.supersededBy };
    }).then(async (result) => {
      if (options.supersedes && result.event) await this.markSuperseded(options.supersedes, result.article.id);
      return result;
    });
  }

  /** Partial change (PATCH): the server bumps the version. */
  async patch(id: string, body: unknown): Promise<WriteResult> {
    const patch = parseOrThrow(articlePatchSchema, body);
    return this.casLoop(id, async (existing) => {
      if (!existing) throw new ApiError('not_found', `No article with id ${JSON.stringify(id)}.`);
      if (existing.status === 'retracted') throw new ApiError('retracted', `Article ${id} has been retracted.`, undefined, { currentVersion: existing.version });
      if (patch.ifVersion !== undefined && patch.ifVersion !== existing.version) {
        throw new ApiError('stale_version', `Article ${id} is at version ${existing.version}, not ${patch.ifVersion}.`, undefined, { currentVersion: existing.version });
      }
      return { next: applyPatch(existing, patch, this.now()), type: 'article.updated', status: 200, listed: !existing.supersededBy };
    });
  }

  /** Retraction (DELETE): the body goes, the article stays as `retracted`; repeating it changes nothing. */
  async retract(id: string, body: unknown): Promise<WriteResult> {
    const { reason } = parseOrThrow(retractionSchema, body ?? {});
    return this.casLoop(id, async (existing) => {
      if (!existing) throw new ApiError('not_found', `No article with id ${JSON.stringify(id)}.`);
      if (existing.status === 'retracted') return { done: { status: 200, event: null, article: existing } };
      return { next: retract(existing, reason ?? null, this.now()), type: 'article.retracted', status: 200, listed: false };
    });
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

  private async casLoop(
    id: string,
    decide: (existing: Article | null) => Promise<
      | { done: WriteResult }
      | { next: Article; type: EventType; status: 200 | 201; listed: boolean }
    >,
  ): Promise<WriteResult> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const existing = await this.store.getArticle(id);
      const d = await decide(existing);
      if ('done' in d) {
        // An idempotent retry may follow a write that was answered 503: acknowledge it only once it is durable.
        await this.store.durable();
        return d.done;
      }
      const at = this.now().toISOString();
      const r = await this.store.commit({
        expected: existing,
        article: d.next,
        event: { type: d.type, at, topics: d.next.topics, article: d.next },
        listed: d.listed,
      });
      if (!r.ok) continue; // another writer got in first: decide again on what it wrote
      if (r.event) await this.runHooks(r.event);
      return { status: d.status, event: r.event, article: d.next };
    }
    throw new ApiError('conflict', `Article ${id} is being changed concurrently; retry.`);
  }

  private async runHooks(event: NewsEvent): Promise<void> {
    for (const hook of this.committedHooks) await hook(event);
  }
}
