import type { Article } from './article.ts';
import type { NewsEvent } from './event.ts';

/**
 * One story in several languages: an original article and its translations (`translationOf`). Each event of a
 * story carries the story's live versions as they are after the event (`NewsEvent.story`), so that who gets it is
 * decided from the event alone, the same way live and on replay.
 */
export interface StoryVersion {
  id: string;
  language: string;
}

export interface Story {
  /** The original's id. */
  id: string;
  /** The live (published) versions after the event, the original first when it is live. */
  versions: StoryVersion[];
}

/** Readers' ordered language preferences; null or empty: none (they get the original). */
export type LanguagePreferences = readonly string[] | null | undefined;

/**
 * As a live reader's only language (`languages: ["*"]`): every version of every story, each as its own event, with
 * no story rule. For tools that list versions rather than show alerts (the newsroom console).
 */
export const ALL_LANGUAGES = '*';

export const storyIdOf = (a: Article): string => a.storyId ?? a.translationOf ?? a.id;

/**
 * The live versions of a story, from its original as stored (which lists its live translations). A retracted
 * original still lists the translations its retraction is withdrawing, until each is withdrawn.
 */
export function versionsOf(original: Article): StoryVersion[] {
  const out: StoryVersion[] = original.status === 'published' ? [{ id: original.id, language: original.language }] : [];
  for (const [language, id] of Object.entries(original.translations ?? {})) out.push({ id, language });
  return out;
}

/** Whether an article in `tag` serves a reader asking for `pref`: the same tag, or one is a subtag of the other. */
export function languageMatches(tag: string, pref: string): boolean {
  const t = tag.toLowerCase();
  const p = pref.toLowerCase();
  return t === p || t.startsWith(p + '-') || p.startsWith(t + '-');
}

/**
 * The version a reader gets: the one in their most preferred language; with no preference, the original. When no
 * version is in a language they name, `fallbackToOriginal` decides: the original (live channels and listings,
 * where languages order) or nothing (Web Push, where `languages` also filters).
 */
export function bestVersion(story: Story, prefs: LanguagePreferences, fallbackToOriginal: boolean): string | null {
  const original = story.versions.find((v) => v.id === story.id)?.id ?? null;
  if (!prefs || prefs.length === 0) return original;
  for (const pref of prefs) {
    const v = story.versions.find((x) => languageMatches(x.language, pref));
    if (v) return v.id;
  }
  return fallbackToOriginal ? original : null;
}

/** The story an event belongs to; an event stored before stories existed is a story of one. */
export function storyOfEvent(event: NewsEvent): Story {
  const a = event.article;
  return event.story ?? { id: storyIdOf(a), versions: event.type === 'article.retracted' ? [] : [{ id: a.id, language: a.language }] };
}

/**
 * Whether a reader with these preferences gets this event: a version goes to the readers for whom it is the best
 * live version of its story; a retraction goes to those for whom it was the best before it (they fall back to the
 * next best version, which the event's `story` names).
 */
export function readerGets(event: NewsEvent, prefs: LanguagePreferences, fallbackToOriginal: boolean): boolean {
  if (prefs?.[0] === ALL_LANGUAGES) return true;
  const story = storyOfEvent(event);
  const a = event.article;
  const versions = event.type === 'article.retracted' && !story.versions.some((v) => v.id === a.id)
    ? [...story.versions, { id: a.id, language: a.language }]
    : story.versions;
  return bestVersion({ id: story.id, versions }, prefs, fallbackToOriginal) === a.id;
}
