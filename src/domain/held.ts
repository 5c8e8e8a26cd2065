import type { ArticleInput } from './article.ts';

/**
 * A version kept back (ninjs `embargoed` in the future, or `withheld`) until its time comes, a newer version
 * replaces it, or the article is retracted. An article has at most one. It is part of the article's state: every
 * write that reads it compares-and-sets it together with the article.
 */
export interface HeldVersion {
  /** The article id. */
  id: string;
  /** When to publish it (ISO 8601); null: kept until a usable version replaces it (`withheld`). */
  releaseAt: string | null;
  /** The validated publication to make at release. */
  input: ArticleInput;
  /** Id of the article it replaces (ninjs `evolvedfrom`), or null. */
  supersedes: string | null;
  /** Name of the publisher that held it: the author of the version its release publishes. */
  author?: string | null;
}

/** Two reads of a held version are the same one (what compare-and-set compares). */
export function sameHeld(a: HeldVersion | null, b: HeldVersion | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
