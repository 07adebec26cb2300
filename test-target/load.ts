// A bounded HTTP load generator for loopback targets only. `concurrency` workers each loop over GET url + '/'
// and, every `slowEvery`-th request, GET url + '/slow?ms=' + slowMs, over a keep-alive agent. It stops by itself
// after maxDurationMs or maxRequests, or when stop() is called. A request fails when it errors (refused, reset,
// timeout, ...) or answers 5xx.
import { Buffer } from 'node:buffer';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { URL } from 'node:url';
import { newReport, record, type Answer, type LoadReport } from './load-report.js';
import { waitUntil } from './wait.js';

export type { LoadFailure, LoadReport } from './load-report.js';

const REQUEST_TIMEOUT_MS = 10_000;

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

export interface Load {
  /** Stops issuing requests and waits for the ones in flight (each has a 10 s timeout). */
  stop(): Promise<LoadReport>;
  /** The figures so far. */
  snapshot(): LoadReport;
  /** Resolves when the load has stopped, by itself or through stop(). */
  readonly done: Promise<LoadReport>;
}

/** True for 127.0.0.0/8, ::1 and localhost (hostname as URL.hostname gives it: IPv6 in brackets). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return !!m && m.slice(1).every((o) => Number(o) <= 255) && Number(m[1]) === 127;
}

/**
 * The harness's own network namespaces: 10.213/16 (netns.ts) and 10.214/16 (booted/network.ts), which those
 * modules hand out only when the range is neither configured nor routed on the machine: never a real network.
 */
export function isHarnessNamespaceHost(hostname: string): boolean {
  const m = /^10\.(213|214)\.(\d{1,3})\.(\d{1,3})$/.exec(hostname);
  return !!m && Number(m[2]) <= 255 && Number(m[3]) <= 255;
}

function checkInt(value: number, name: string, min: number): void {
  if (!Number.isInteger(value) || value < min)
    throw new Error(`startLoad: ${name} must be an integer >= ${min}`);
}

function errorCode(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown } | null;
  if (typeof err?.code === 'string' && err.code) return err.code;
  return typeof err?.message === 'string' ? err.message : String(e);
}

/** One GET; `fresh`: on a new connection rather than a kept-alive one. */
function request(target: URL, agent: http.Agent | false): Promise<Answer> {
  return new Promise((resolve) => {
    let done = false;
    let answered = false;
    const finish = (r: Answer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    // reused: sent on a kept-alive connection and nothing came back (the classic keep-alive race)
    const fail = (error: string) => finish({ error, reused: req.reusedSocket && !answered });
    const req = http.get(target, { agent }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', (e) => fail(errorCode(e)));
      res.on('aborted', () => fail('ECONNRESET'));
    });
    const timer = setTimeout(() => {
      fail('ETIMEDOUT');
      req.destroy();
    }, REQUEST_TIMEOUT_MS);
    req.on('error', (e) => fail(errorCode(e)));
  });
}

/** The options with their defaults, checked; the two URLs the workers request. */
function settle(opts: LoadOptions) {
  const { url, concurrency = 20, slowEvery = 2, slowMs = 200 } = opts;
  const { maxDurationMs = 120_000, maxRequests = 200_000, failureDelayMs = 10 } = opts;
  const base = new URL(url);
  if (base.protocol !== 'http:') throw new Error(`startLoad: only http: URLs (got ${base.protocol})`);
  if (!isLoopbackHost(base.hostname) && !isHarnessNamespaceHost(base.hostname)) {
    throw new Error(
      `startLoad: refusing ${base.hostname}: only loopback (127.0.0.0/8, localhost) and the harness's namespaces (10.213/16, 10.214/16) may be loaded`,
    );
  }
  checkInt(concurrency, 'concurrency', 1);
  checkInt(slowEvery, 'slowEvery', 0);
  checkInt(slowMs, 'slowMs', 0);
  checkInt(maxDurationMs, 'maxDurationMs', 1);
  checkInt(maxRequests, 'maxRequests', 1);
  const root = base.href.replace(/\/+$/, '');
  const fastUrl = new URL(`${root}/`);
  const slowUrl = new URL(`${root}/slow?ms=${slowMs}`);
  return { concurrency, slowEvery, maxDurationMs, maxRequests, failureDelayMs, fastUrl, slowUrl };
}

/** Starts the load (node:http, keep-alive agent, 10 s per-request timeout). Throws unless the URL is loopback. */
export function startLoad(opts: LoadOptions): Load {
  const { concurrency, slowEvery, maxDurationMs, maxRequests, failureDelayMs, fastUrl, slowUrl } =
    settle(opts);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const t0 = performance.now();
  const report = newReport(Date.now());
  let stopping = false;
  const isStopping = () => stopping;
  let finishedAtMs: number | null = null;
  let started = 0;
  const deadline = setTimeout(() => (stopping = true), maxDurationMs);
  deadline.unref();

  async function worker(): Promise<void> {
    while (!isStopping() && started < maxRequests) {
      started++;
      const target = slowEvery > 0 && started % slowEvery === 0 ? slowUrl : fastUrl;
      const sentMs = performance.now() - t0;
      let r = await request(target, agent);
      // Like browsers and curl (RFC 9112, 9.3.1), a GET that died on a kept-alive connection before any answer
      // is sent once more on a fresh one: nginx closes idle keep-alive connections whenever it reloads, and a
      // request can cross that close. Counted in retriedOnReusedConnection; a second failure counts as failed.
      if ('error' in r && r.reused) {
        report.retriedOnReusedConnection++;
        r = await request(target, false);
      }
      const failed = record(report, r, target.pathname + target.search, sentMs, performance.now() - t0);
      if (failed && failureDelayMs > 0 && !isStopping()) await sleep(failureDelayMs);
    }
  }

  const finished = Promise.all(Array.from({ length: concurrency }, () => worker())).then(() => {
    clearTimeout(deadline);
    agent.destroy();
    finishedAtMs = performance.now() - t0;
    report.running = false;
  });

  const snapshot = (): LoadReport => ({
    ...report,
    byStatus: { ...report.byStatus },
    errors: { ...report.errors },
    failures: report.failures.map((f) => ({ ...f })),
    versions: { ...report.versions },
    durationMs: Math.round(finishedAtMs ?? performance.now() - t0),
  });

  return {
    async stop() {
      stopping = true;
      await finished;
      return snapshot();
    },
    snapshot,
    done: finished.then(() => snapshot()),
  };
}

/** Resolves (with a snapshot) once the last answer came from `version`; throws after timeoutMs or if the load stopped. */
export async function waitForVersion(
  load: Pick<Load, 'snapshot'>,
  version: string,
  timeoutMs: number,
): Promise<LoadReport> {
  await waitUntil(
    () => `an answer from ${version} (last: ${load.snapshot().lastVersion})`,
    () => {
      const s = load.snapshot();
      if (!s.running && s.lastVersion !== version) {
        throw new Error(
          `waitForVersion: the load stopped before ${version} answered (last: ${s.lastVersion})`,
        );
      }
      return s.lastVersion === version;
    },
    { timeoutMs },
  );
  return load.snapshot();
}

/** Resolves once the load has completed `n` more requests than it had when called. */
export async function waitForRequests(
  load: Pick<Load, 'snapshot'>,
  n: number,
  timeoutMs = 10_000,
): Promise<void> {
  const from = load.snapshot().total;
  await waitUntil(`${n} requests of the load to complete`, () => load.snapshot().total >= from + n, {
    timeoutMs,
  });
}

/**
 * Runs fn while the load runs against url (20 clients by default, every second request /slow?ms=200), from
 * before until after it: fn starts once the load has completed `warmup` requests (default 40) and the load stops
 * once it has completed as many more after fn. Returns fn's result and the load report.
 */
export async function underLoad<T>(
  url: string,
  fn: () => Promise<T>,
  opts: Partial<LoadOptions> & { warmup?: number } = {},
): Promise<{ result: T; report: LoadReport }> {
  const { warmup = 40, ...loadOpts } = opts;
  const load = startLoad({
    url,
    concurrency: 20,
    slowEvery: 2,
    slowMs: 200,
    maxDurationMs: 60_000,
    ...loadOpts,
  });
  try {
    await waitForRequests(load, warmup);
    const result = await fn();
    await waitForRequests(load, warmup);
    return { result, report: await load.stop() };
  } finally {
    await load.stop();
  }
}
