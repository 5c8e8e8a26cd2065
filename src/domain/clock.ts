/**
 * The time, in milliseconds since the epoch. Logic that depends on the time (quiet hours, when a push expires,
 * when an embargo lifts) takes a Clock instead of calling Date.now(), so a test sets the time instead of waiting.
 */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
