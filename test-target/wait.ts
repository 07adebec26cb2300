// Awaiting a condition with a deadline: the one polling loop of the harness and the tests, instead of fixed sleeps.
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** Give up after this long (default 10 000 ms). */
  timeoutMs?: number;
  /** Pause between two checks (default 20 ms). */
  intervalMs?: number;
}

/**
 * Resolves once cond() is true; rejects after timeoutMs with `timed out after N ms waiting for <what>`.
 * `what` may be a function, called only on failure (to describe the state at that moment).
 */
export async function waitUntil(
  what: string | (() => string),
  cond: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, intervalMs = 20 }: WaitOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) {
      const description = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    }
    await sleep(intervalMs);
  }
}

/** Like waitUntil, but resolves with false instead of rejecting at the deadline. */
export async function becomes(
  cond: () => boolean | Promise<boolean>,
  options: WaitOptions = {},
): Promise<boolean> {
  try {
    await waitUntil('', cond, options);
    return true;
  } catch {
    return false;
  }
}
