import type { Article } from '../domain/article.ts';
import { ApiError } from '../domain/errors.ts';
import { sameHeld, type HeldVersion } from '../domain/held.ts';

/** An article's state as every write reads it and compares-and-sets it: the current version and the held one. */
export interface ArticleState {
  article: Article | null;
  held: HeldVersion | null;
}

/** What holding a version answers (202): nothing fanned out, the article as readers see it now, what is held. */
export interface HoldResult {
  status: 202;
  event: null;
  article: Article | null;
  held: { id: string; version: number | null; releaseAt: string | null };
  /** When asked for: nobody is reached now, a held version is sent when it is published. */
  audience?: { push: number; live: number };
}

/** 409 `retracted`: a retracted article takes no new version. */
export const retractedError = (a: Article) => new ApiError('retracted', `Article ${a.id} has been retracted.`, undefined, { currentVersion: a.version });

/**
 * Whether `candidate` is to be held in this state. It is refused now, not at release time, when it could never be
 * published: the article is retracted, the same or a newer version is published, or a newer one is already held.
 * False when it is held already exactly so (a repeated delivery): nothing to write.
 */
export function mustHold(candidate: HeldVersion, { article, held }: ArticleState): boolean {
  if (article?.status === 'retracted') throw retractedError(article);
  const version = candidate.input.version;
  if (article && version !== undefined && version <= article.version) {
    throw new ApiError('stale_version', `Article ${article.id} is already at version ${article.version}.`, undefined, { currentVersion: article.version });
  }
  if (sameHeld(held, candidate)) return false;
  const heldVersion = held?.input.version;
  if (version !== undefined && heldVersion !== undefined && version < heldVersion) {
    throw new ApiError('stale_version', `Version ${heldVersion} of article ${candidate.id} is already held.`, undefined, {
      currentVersion: article?.version ?? null,
    });
  }
  return true;
}

/**
 * The held version left once `next` is the current version: only a newer one stays. An older or unversioned one
 * is replaced by what was just published, and nothing is held for a retracted article.
 */
export function heldAfter(held: HeldVersion | null, next: Article): HeldVersion | null {
  if (!held || next.status === 'retracted') return null;
  const version = held.input.version;
  return version !== undefined && version > next.version ? held : null;
}

export function holdAnswer(candidate: HeldVersion, article: Article | null): HoldResult {
  return {
    status: 202,
    event: null,
    article,
    held: { id: candidate.id, version: candidate.input.version ?? null, releaseAt: candidate.releaseAt },
  };
}
