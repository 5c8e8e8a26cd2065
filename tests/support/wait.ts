/** Polls `check` until it returns a value other than undefined/false, or fails after `ms` with `what` in the message. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves after `ms`; for asserting that something did NOT happen within a window. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
