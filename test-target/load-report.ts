// The figures of a load run (load.ts): what each finished request adds to the report.

const MAX_FAILURES_KEPT = 50;

/** What one GET gave: an answer, or an error (reused: on a kept-alive connection, before any answer). */
export type Answer = { status: number; body: string } | { error: string; reused: boolean };

export interface LoadFailure {
  /** ms since the load started, when the request failed. */
  atMs: number;
  /** ms since the load started, when the request was sent. */
  sentMs: number;
  /** '/' or '/slow?ms=N'. */
  path: string;
  /**
   * The request errored on a kept-alive connection before any answer came (the race where the server closes an
   * idle connection just as the client reuses it). Such a GET is retried once on a fresh connection (see
   * LoadReport.retriedOnReusedConnection), so a recorded failure has this false unless that retry is dropped.
   */
  reused: boolean;
  /** HTTP status, 0 when the request errored. */
  status: number;
  /** Error code (ECONNREFUSED, ECONNRESET, ETIMEDOUT, ...) or the start of the 5xx body. */
  error: string;
}

export interface LoadReport {
  /** Requests completed (answered or failed). */
  total: number;
  /** Errors plus 5xx answers. */
  failed: number;
  /** Of those, errors on a reused keep-alive connection before any answer (see LoadFailure.reused). */
  failedOnReusedConnection: number;
  /** GETs that died on a kept-alive connection before any answer and were sent again (as browsers do). */
  retriedOnReusedConnection: number;
  /** Answers per HTTP status, e.g. { 200: 950, 502: 3 }. */
  byStatus: Record<string, number>;
  /** Errored requests per error code, e.g. { ECONNRESET: 2 }. */
  errors: Record<string, number>;
  /** The first 50 failures. */
  failures: LoadFailure[];
  /** Non-5xx answers per `version=<v>` found in the body. */
  versions: Record<string, number>;
  /** Version of the most recent non-5xx answer that named one. */
  lastVersion: string | null;
  /** Time since the start (until the end once stopped). */
  durationMs: number;
  /** Date.now() when the load started: failures[].atMs + startedAt is wall-clock time. */
  startedAt: number;
  /** False once all workers have finished. */
  running: boolean;
}

export function newReport(startedAt: number): LoadReport {
  return {
    total: 0,
    failed: 0,
    failedOnReusedConnection: 0,
    retriedOnReusedConnection: 0,
    byStatus: {},
    errors: {},
    failures: [],
    versions: {},
    lastVersion: null,
    durationMs: 0,
    startedAt,
    running: true,
  };
}

/** Counts one finished request into the report; returns true when it failed. */
export function record(report: LoadReport, r: Answer, where: string, sentMs: number, nowMs: number): boolean {
  report.total++;
  const failure = (status: number, error: string, reused: boolean) => {
    report.failed++;
    if (reused) report.failedOnReusedConnection++;
    if (report.failures.length < MAX_FAILURES_KEPT) {
      report.failures.push({
        atMs: Math.round(nowMs),
        status,
        error,
        sentMs: Math.round(sentMs),
        path: where,
        reused,
      });
    }
    return true;
  };
  if ('error' in r) {
    report.errors[r.error] = ((report.errors[r.error] as number | undefined) ?? 0) + 1;
    return failure(0, r.error, r.reused);
  }
  report.byStatus[r.status] = ((report.byStatus[r.status] as number | undefined) ?? 0) + 1;
  if (r.status >= 500) {
    const title = /<title>([^<]*)<\/title>/i.exec(r.body)?.[1];
    return failure(r.status, (title ?? r.body).replace(/\s+/g, ' ').trim().slice(0, 100), false);
  }
  const v = /version=(\S+)/.exec(r.body)?.[1];
  if (v) {
    report.versions[v] = ((report.versions[v] as number | undefined) ?? 0) + 1;
    report.lastVersion = v;
  }
  return false;
}
