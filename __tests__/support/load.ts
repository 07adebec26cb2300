// Load through nginx while deploys run, and the one check every load test makes: not one request failed (on
// failure: each failed request placed on the deploys' timelines).
import { underLoad, type LoadOptions, type LoadReport } from '../../test-target/load.js';
import type { StartedAction } from '../../test-target/run-action.js';
import type { Target } from '../../test-target/target.js';

/** A deploy as the timeline shows it: its stdout lines and a label. */
export interface Timeline {
  label?: string;
  started?: number;
  lines: StartedAction['lines'];
}

/**
 * Runs fn while 20 clients load the target's nginx (every second request /slow?ms=200, by default), from before
 * it starts until after it ended; returns fn's result and the load report.
 */
export function whileLoaded<T>(
  target: Target,
  fn: () => Promise<T>,
  opts: Partial<LoadOptions> & { warmup?: number } = {},
): Promise<{ result: T; report: LoadReport }> {
  return underLoad(target.nginxUrl, fn, opts);
}

const STEP_LINE = /^::group::|^::error::|^::warning::|: (ok|failed) in |another deploy|received SIG/;

/** Fails (unless no request failed) with the failures and the deploys' steps, in ms since the load started. */
export function expectNoFailedRequests(report: LoadReport, deploys: Timeline[] = [], minimum = 20): void {
  expect(report.total).toBeGreaterThan(minimum);
  if (report.failed === 0) return;
  const t0 = report.startedAt;
  const failures = report.failures.map(
    (f) =>
      `  +${f.atMs} ms (sent +${f.sentMs}) ${f.path} ${f.status} ${f.error}${f.reused ? ' (reused connection)' : ''}`,
  );
  const steps = deploys
    .flatMap((d) =>
      d.lines
        .filter((l) => STEP_LINE.test(l.text))
        .map((l) => ({ at: l.at, line: `  +${l.at - t0} ms ${d.label ? `[${d.label}] ` : ''}${l.text}` })),
    )
    .sort((a, b) => a.at - b.at)
    .map((x) => x.line);
  throw new Error(
    `${report.failed} of ${report.total} requests failed ` +
      `(${JSON.stringify(report.byStatus)} ${JSON.stringify(report.errors)})\n` +
      `failures:\n${failures.join('\n')}\ntimeline:\n${steps.join('\n')}`,
  );
}
