// Step 4: poll the new app until it is healthy. Sub-second polls at first (a fast app is switched to as soon
// as it is ready), growing to health-interval; never a fixed sleep. A connection refused is followed by a
// check that the process still lives, so a crash fails the step at once instead of at the timeout.
import { IncompleteAnswer, type HttpResult } from './remote.js';

export interface HealthPollOptions {
  /** One request, which must end within the given time. */
  probe: (timeoutMs: number) => Promise<HttpResult>;
  /** The longest one probe may take; never longer than what is left of timeoutMs. */
  probeTimeoutMs: number;
  alive: () => Promise<boolean>;
  expect: string;
  timeoutMs: number;
  intervalMs: number;
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export type HealthOutcome =
  | { healthy: true; attempts: number; elapsedMs: number; last: string }
  | {
      healthy: false;
      reason: 'timeout' | 'exited' | 'aborted';
      attempts: number;
      elapsedMs: number;
      last: string;
    };

const FIRST_DELAY_MS = 100;
const PROGRESS_EVERY_MS = 5000;
const MIN_PROBE_MS = 100;

/**
 * Healthy: a 2xx answer, and then, for a JSON body with a `status` field (Spring Boot actuator), that status
 * equals `expect`; for any other body, the body contains `expect`.
 */
export function isHealthy(result: HttpResult, expect: string): boolean {
  if (result.status < 200 || result.status > 299) return false;
  try {
    const json: unknown = JSON.parse(result.body);
    if (json && typeof json === 'object' && 'status' in json) {
      return String(json.status) === expect;
    }
  } catch {
    // not JSON: fall through to the text check
  }
  return result.body.includes(expect);
}

/** 100 ms, then 1.5 times longer each poll, up to the interval. */
export function pollDelay(attempt: number, intervalMs: number): number {
  return Math.min(intervalMs, Math.round(FIRST_DELAY_MS * 1.5 ** attempt));
}

function describe(result: HttpResult): string {
  const body = result.body.replace(/\s+/g, ' ').trim();
  return `HTTP ${result.status}${body ? ` ${body.slice(0, 200)}` : ''}`;
}

export async function pollHealth(o: HealthPollOptions): Promise<HealthOutcome> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = now();
  let attempts = 0;
  let last = 'no answer yet';
  let lastProgress = started;
  for (;;) {
    if (o.signal?.aborted)
      return { healthy: false, reason: 'aborted', attempts, elapsedMs: now() - started, last };
    const remaining = o.timeoutMs - (now() - started);
    // Too little time left for a request to say anything: the answer we have is the last one.
    if (attempts > 0 && remaining < MIN_PROBE_MS) {
      return { healthy: false, reason: 'timeout', attempts, elapsedMs: now() - started, last };
    }
    const given = Math.max(1, Math.min(o.probeTimeoutMs, remaining));
    attempts++;
    try {
      const result = await o.probe(given);
      last = describe(result);
      if (isHealthy(result, o.expect)) return { healthy: true, attempts, elapsedMs: now() - started, last };
    } catch (error) {
      // Errors and DOMExceptions (an AbortSignal's timeout) alike: a name and a message.
      const { name = '', message = String(error) } = error as { name?: string; message?: string };
      // A last probe cut short by the deadline says less than the answer before it: keep that one.
      const timedOut = /abort|timeout/i.test(`${name} ${message}`);
      const cut = timedOut || error instanceof IncompleteAnswer;
      const cutShort = cut && given < o.probeTimeoutMs && last !== 'no answer yet';
      if (!cutShort) last = error instanceof IncompleteAnswer ? message : `no connection (${message})`;
      if (!(await o.alive()))
        return { healthy: false, reason: 'exited', attempts, elapsedMs: now() - started, last };
    }
    const elapsed = now() - started;
    if (elapsed >= o.timeoutMs || remaining <= 0) {
      return { healthy: false, reason: 'timeout', attempts, elapsedMs: elapsed, last };
    }
    if (o.onProgress && now() - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = now();
      o.onProgress(`still waiting after ${Math.round(elapsed / 1000)} s: ${last}`);
    }
    await sleep(Math.min(pollDelay(attempts - 1, o.intervalMs), Math.max(0, o.timeoutMs - elapsed)));
  }
}
