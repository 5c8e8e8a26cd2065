import type { EventId, EventType } from './event.ts';

/** One version of an article in its audit trail: what made it, who, when and why. */
export interface VersionRecord {
  version: number;
  type: EventType;
  /** When it was written (the event's `at`). */
  at: string;
  /** Name of the publisher key (or `superdesk`) whose write made it; null when not known. */
  author: string | null;
  changeNote: string | null;
  /** The event it caused; null when it caused none. */
  eventId: EventId | null;
}
