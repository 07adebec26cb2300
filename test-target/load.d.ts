// Types for load.js (hand-written; the .js file is plain ESM).

export interface LoadOptions {
  /** Base URL, e.g. target.nginxUrl. Its host must be in 127.0.0.0/8, ::1 or localhost, or startLoad throws. */
  url: string;
  /** Parallel workers, and maxSockets of the keep-alive agent (default 20). */
  concurrency?: number;
  /** Every slowEvery-th request is `/slow?ms=<slowMs>`, the others `/` (default 2; 0: never slow). */
  slowEvery?: number;
  /** Sleep asked of the app by the slow requests (default 200). */
  slowMs?: number;
  /** The load stops by itself after this long (default 120000). */
  maxDurationMs?: number;
  /** ... or after this many requests were started (default 200000). */
  maxRequests?: number;
  /** Pause of a worker after a failed request, so that a dead upstream does not spin it (default 10). */
  failureDelayMs?: number;
}

export interface LoadFailure {
  /** ms since the load started, when the request failed. */
  atMs: number;
  /** ms since the load started, when the request was sent. */
  sentMs: number;
  /** '/' or '/slow?ms=N'. */
  path: string;
  /**
   * The request errored on a kept-alive connection (req.reusedSocket) before any answer came: the race
   * where the server closes an idle connection just as the client reuses it. Such a GET is retried once on a
   * fresh connection (see LoadReport.retriedOnReusedConnection), so a recorded failure has this false unless
   * that retry is ever dropped.
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

export interface Load {
  /** Stops issuing requests and waits for the ones in flight (each has a 10 s timeout). */
  stop(): Promise<LoadReport>;
  /** The figures so far. */
  snapshot(): LoadReport;
  /** Resolves when the load has stopped, by itself or through stop(). */
  readonly done: Promise<LoadReport>;
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export declare function isLoopbackHost(hostname: string): boolean;

/** Starts the load (node:http, keep-alive agent, 10 s per-request timeout). */
export declare function startLoad(opts: LoadOptions): Load;

/** Resolves (with a snapshot) once the last answer came from `version`; throws after timeoutMs or if the load stopped. */
export declare function waitForVersion(
  load: Pick<Load, 'snapshot'>,
  version: string,
  timeoutMs: number,
): Promise<LoadReport>;

/**
 * Runs fn while the load runs against url (20 clients by default, every second request /slow?ms=200), from
 * marginMs (300) before until marginMs after it; returns fn's result and the load report.
 */
export declare function underLoad<T>(
  url: string,
  fn: () => Promise<T>,
  opts?: Partial<LoadOptions> & { marginMs?: number },
): Promise<{ result: T; report: LoadReport }>;
