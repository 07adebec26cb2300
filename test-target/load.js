// A bounded HTTP load generator for loopback targets only (see load.d.ts).
// `concurrency` workers each loop over GET url + '/' and, every `slowEvery`-th request,
// GET url + '/slow?ms=' + slowMs, over a keep-alive agent. It stops by itself after
// maxDurationMs or maxRequests, or when stop() is called. A request fails when it errors
// (refused, reset, timeout, ...) or answers 5xx.
// Plain ESM JavaScript with JSDoc types.
import { Buffer } from 'node:buffer';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { URL } from 'node:url';

const REQUEST_TIMEOUT_MS = 10_000;
const MAX_FAILURES_KEPT = 50;

/**
 * @typedef {{ atMs: number, status: number, error: string, sentMs: number, path: string,
 *             reused: boolean }} LoadFailure
 * @typedef {{
 *   total: number, failed: number, failedOnReusedConnection: number, retriedOnReusedConnection: number,
 *   byStatus: Record<string, number>, errors: Record<string, number>,
 *   failures: LoadFailure[], versions: Record<string, number>,
 *   lastVersion: string | null, durationMs: number, startedAt: number, running: boolean,
 * }} LoadReport
 * @typedef {{ url: string, concurrency?: number, slowEvery?: number, slowMs?: number,
 *             maxDurationMs?: number, maxRequests?: number, failureDelayMs?: number }} LoadOptions
 */

/**
 * True for 127.0.0.0/8, ::1 and localhost.
 * @param {string} hostname as URL.hostname gives it (IPv6 in brackets)
 */
export function isLoopbackHost(hostname) {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return !!m && m.slice(1).every((o) => Number(o) <= 255) && Number(m[1]) === 127;
}

/**
 * @param {number} value
 * @param {string} name
 * @param {number} min
 */
function checkInt(value, name, min) {
  if (!Number.isInteger(value) || value < min)
    throw new Error(`startLoad: ${name} must be an integer >= ${min}`);
}

/**
 * Starts the load. Throws unless the URL's host is on the loopback.
 * @param {LoadOptions} opts
 */
export function startLoad({
  url,
  concurrency = 20,
  slowEvery = 2,
  slowMs = 200,
  maxDurationMs = 120_000,
  maxRequests = 200_000,
  failureDelayMs = 10,
}) {
  const base = new URL(url);
  if (base.protocol !== 'http:') throw new Error(`startLoad: only http: URLs (got ${base.protocol})`);
  if (!isLoopbackHost(base.hostname)) {
    throw new Error(
      `startLoad: refusing ${base.hostname}: only loopback (127.0.0.0/8, localhost) may be loaded`,
    );
  }
  checkInt(concurrency, 'concurrency', 1);
  checkInt(slowEvery, 'slowEvery', 0);
  checkInt(slowMs, 'slowMs', 0);
  checkInt(maxDurationMs, 'maxDurationMs', 1);
  checkInt(maxRequests, 'maxRequests', 1);
  const root = base.href.replace(/\/+$/, '');
  const fastUrl = new URL(root + '/');
  const slowUrl = new URL(root + '/slow?ms=' + slowMs);

  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const startedAt = Date.now();
  const t0 = performance.now();
  let stopping = false;
  let finishedAtMs = /** @type {number | null} */ (null);
  let started = 0;

  /** @type {LoadReport} */
  const report = {
    total: 0,
    failed: 0,
    failedOnReusedConnection: 0,
    byStatus: {},
    errors: {},
    failures: [],
    versions: {},
    lastVersion: null,
    retriedOnReusedConnection: 0,
    durationMs: 0,
    startedAt,
    running: true,
  };

  const deadline = setTimeout(() => {
    stopping = true;
  }, maxDurationMs);
  deadline.unref?.();

  /**
   * @param {URL} target
   * @param {boolean} [fresh] on a new connection rather than a kept-alive one
   * @returns {Promise<{ status: number, body: string } | { error: string, reused: boolean }>}
   */
  function request(target, fresh = false) {
    return new Promise((resolve) => {
      let done = false;
      let answered = false;
      /** @param {{ status: number, body: string } | { error: string, reused: boolean }} r */
      const finish = (r) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(r);
      };
      /** @param {string} error */
      const fail = (error) =>
        // reused: sent on a kept-alive connection and nothing came back (the classic keep-alive race)
        finish({ error, reused: req.reusedSocket && !answered });
      const req = http.get(target, { agent: fresh ? false : agent }, (res) => {
        answered = true;
        const chunks = /** @type {Buffer[]} */ ([]);
        res.on('data', (c) => chunks.push(c));
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

  /**
   * @param {number} sentMs
   * @param {string} path
   * @param {number} status
   * @param {string} error
   * @param {boolean} reused
   */
  function recordFailure(sentMs, path, status, error, reused) {
    report.failed++;
    if (reused) report.failedOnReusedConnection++;
    if (report.failures.length < MAX_FAILURES_KEPT) {
      const atMs = Math.round(performance.now() - t0);
      report.failures.push({ atMs, status, error, sentMs: Math.round(sentMs), path, reused });
    }
  }

  async function worker() {
    while (!stopping && started < maxRequests) {
      started++;
      const slow = slowEvery > 0 && started % slowEvery === 0;
      const target = slow ? slowUrl : fastUrl;
      const sentMs = performance.now() - t0;
      let r = await request(target);
      // Like browsers and curl (RFC 9112, 9.3.1), a GET that died on a kept-alive connection before any answer
      // is sent once more on a fresh one: nginx closes idle keep-alive connections whenever it reloads, and a
      // request can cross that close. Counted in retriedOnReusedConnection; a second failure counts as failed.
      if ('error' in r && r.reused) {
        report.retriedOnReusedConnection++;
        r = await request(target, true);
      }
      const where = target.pathname + target.search;
      report.total++;
      if ('error' in r) {
        report.errors[r.error] = (report.errors[r.error] ?? 0) + 1;
        recordFailure(sentMs, where, 0, r.error, r.reused);
      } else {
        report.byStatus[r.status] = (report.byStatus[r.status] ?? 0) + 1;
        if (r.status >= 500) {
          const title = /<title>([^<]*)<\/title>/i.exec(r.body)?.[1];
          recordFailure(
            sentMs,
            where,
            r.status,
            (title ?? r.body).replace(/\s+/g, ' ').trim().slice(0, 100),
            false,
          );
        } else {
          const v = /version=(\S+)/.exec(r.body)?.[1];
          if (v) {
            report.versions[v] = (report.versions[v] ?? 0) + 1;
            report.lastVersion = v;
          }
        }
      }
      if (('error' in r || r.status >= 500) && failureDelayMs > 0 && !stopping) await sleep(failureDelayMs);
    }
  }

  const finished = Promise.all(Array.from({ length: concurrency }, () => worker())).then(() => {
    clearTimeout(deadline);
    agent.destroy();
    finishedAtMs = performance.now() - t0;
    report.running = false;
  });

  /** @returns {LoadReport} */
  function snapshot() {
    return {
      ...report,
      byStatus: { ...report.byStatus },
      errors: { ...report.errors },
      failures: report.failures.map((f) => ({ ...f })),
      versions: { ...report.versions },
      durationMs: Math.round(finishedAtMs ?? performance.now() - t0),
    };
  }

  return {
    /** Stops issuing requests, waits for the ones in flight (each bounded by the 10 s timeout). */
    async stop() {
      stopping = true;
      await finished;
      return snapshot();
    },
    snapshot,
    /** Resolves when the load has stopped (by itself or by stop()). */
    done: finished.then(() => snapshot()),
  };
}

/** @param {unknown} e */
function errorCode(e) {
  const err = /** @type {{ code?: unknown, message?: unknown }} */ (e);
  if (typeof err?.code === 'string' && err.code) return err.code;
  return typeof err?.message === 'string' ? err.message : String(e);
}

/**
 * Waits until the last answered request came from `version`; resolves with a snapshot.
 * Throws after timeoutMs, or when the load stopped first.
 * @param {{ snapshot(): LoadReport }} load
 * @param {string} version
 * @param {number} timeoutMs
 */
export async function waitForVersion(load, version, timeoutMs) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = load.snapshot();
    if (s.lastVersion === version) return s;
    if (!s.running)
      throw new Error(`waitForVersion: the load stopped before ${version} answered (last: ${s.lastVersion})`);
    if (Date.now() >= end) {
      throw new Error(
        `waitForVersion: no answer from ${version} within ${timeoutMs} ms (last: ${s.lastVersion})`,
      );
    }
    await sleep(20);
  }
}

/**
 * Runs fn while the load runs against url (20 clients by default, every second request /slow?ms=200), from a
 * little before until a little after it; returns fn's result and the load report.
 * @template T
 * @param {string} url
 * @param {() => Promise<T>} fn
 * @param {Partial<Parameters<typeof startLoad>[0]> & { marginMs?: number }} [opts]
 * @returns {Promise<{ result: T, report: LoadReport }>}
 */
export async function underLoad(url, fn, opts = {}) {
  const { marginMs = 300, ...loadOpts } = opts;
  const load = startLoad({
    url,
    concurrency: 20,
    slowEvery: 2,
    slowMs: 200,
    maxDurationMs: 60_000,
    ...loadOpts,
  });
  try {
    await new Promise((r) => setTimeout(r, marginMs));
    const result = await fn();
    await new Promise((r) => setTimeout(r, marginMs));
    return { result, report: await load.stop() };
  } finally {
    await load.stop();
  }
}
