import { isHealthy, pollDelay, pollHealth } from '../src/health.js';
import { IncompleteAnswer, type HttpResult } from '../src/remote.js';

test.each([
  [{ status: 200, body: '{"status":"UP"}' }, true],
  [{ status: 200, body: '{"status":"UP","components":{"db":{"status":"UP"}}}' }, true],
  [{ status: 503, body: '{"status":"DOWN"}' }, false],
  [{ status: 200, body: '{"status":"DOWN","note":"UP soon"}' }, false],
  [{ status: 200, body: '{"state":"UP"}' }, true],
  [{ status: 200, body: 'all systems UP' }, true],
  [{ status: 200, body: 'ok' }, false],
  [{ status: 301, body: 'UP' }, false],
  [{ status: 500, body: 'UP' }, false],
])('isHealthy(%j) = %s', (result, expected) => {
  expect(isHealthy(result, 'UP')).toBe(expected);
});

test('poll delays start sub-second and grow to the interval', () => {
  expect([0, 1, 2, 3, 4, 5, 6, 10].map((n) => pollDelay(n, 1000))).toEqual([
    100, 150, 225, 338, 506, 759, 1000, 1000,
  ]);
  expect(pollDelay(0, 50)).toBe(50);
});

/** A fake clock: sleep advances time instantly. */
function clock() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms), advance: (ms: number) => (t += ms) };
}

test('healthy after a few refusals and a DOWN', async () => {
  const c = clock();
  const answers: (HttpResult | Error)[] = [
    new Error('connect ECONNREFUSED'),
    new Error('connect ECONNREFUSED'),
    { status: 503, body: '{"status":"DOWN"}' },
    { status: 200, body: '{"status":"UP"}' },
  ];
  let aliveChecks = 0;
  const outcome = await pollHealth({
    probe: async () => {
      const a = answers.shift();
      if (a === undefined) throw new Error('no more answers');
      if (a instanceof Error) throw a;
      return a;
    },
    alive: async () => (aliveChecks++, true),
    expect: 'UP',
    timeoutMs: 10000,
    intervalMs: 1000,
    probeTimeoutMs: 5000,
    now: c.now,
    sleep: c.sleep,
  });
  expect(outcome).toEqual({
    healthy: true,
    attempts: 4,
    elapsedMs: 100 + 150 + 225,
    last: 'HTTP 200 {"status":"UP"}',
  });
  expect(aliveChecks).toBe(2);
});

test('fails fast when the process has exited', async () => {
  const c = clock();
  const outcome = await pollHealth({
    probe: async () => {
      throw new Error('connect ECONNREFUSED');
    },
    alive: async () => false,
    expect: 'UP',
    timeoutMs: 120000,
    intervalMs: 1000,
    probeTimeoutMs: 5000,
    now: c.now,
    sleep: c.sleep,
  });
  expect(outcome).toMatchObject({ healthy: false, reason: 'exited', attempts: 1, elapsedMs: 0 });
});

test('times out on an app that stays DOWN, with the last answer', async () => {
  const c = clock();
  const progress: string[] = [];
  const outcome = await pollHealth({
    probe: async () => ({ status: 503, body: '{"status":"DOWN"}' }),
    alive: async () => true,
    expect: 'UP',
    timeoutMs: 12000,
    intervalMs: 1000,
    probeTimeoutMs: 5000,
    onProgress: (m) => progress.push(m),
    now: c.now,
    sleep: c.sleep,
  });
  expect(outcome).toMatchObject({ healthy: false, reason: 'timeout', last: 'HTTP 503 {"status":"DOWN"}' });
  expect(outcome.elapsedMs).toBe(12000);
  expect(progress.length).toBeGreaterThanOrEqual(2);
  expect(progress[0]).toMatch(/^still waiting after \d+ s: HTTP 503/);
});

test('stops when aborted', async () => {
  const c = clock();
  const abort = new AbortController();
  let probes = 0;
  const outcome = await pollHealth({
    probe: async () => {
      if (++probes === 3) abort.abort();
      return { status: 503, body: 'DOWN' };
    },
    alive: async () => true,
    expect: 'UP',
    timeoutMs: 60000,
    intervalMs: 1000,
    probeTimeoutMs: 5000,
    signal: abort.signal,
    now: c.now,
    sleep: c.sleep,
  });
  expect(outcome).toMatchObject({ healthy: false, reason: 'aborted', attempts: 3 });
});

test('each probe gets the probe timeout, never more than what is left of the health timeout', async () => {
  const c = clock();
  const given: number[] = [];
  const outcome = await pollHealth({
    probe: async (ms) => {
      given.push(ms);
      c.advance(ms); // every probe takes all the time it is given
      throw new Error('timed out');
    },
    alive: async () => true,
    expect: 'UP',
    timeoutMs: 12_000,
    intervalMs: 1000,
    probeTimeoutMs: 5000,
    now: c.now,
    sleep: c.sleep,
  });
  expect(given).toEqual([5000, 5000, 1750]);
  expect(outcome).toMatchObject({ healthy: false, reason: 'timeout', elapsedMs: 12_000 });
});

test('a slow endpoint is usable with a longer probe timeout', async () => {
  const c = clock();
  const outcome = await pollHealth({
    probe: async (ms) => {
      if (ms < 8000) throw new Error('timed out');
      c.advance(7000);
      return { status: 200, body: 'UP' };
    },
    alive: async () => true,
    expect: 'UP',
    timeoutMs: 60_000,
    intervalMs: 1000,
    probeTimeoutMs: 10_000,
    now: c.now,
    sleep: c.sleep,
  });
  expect(outcome).toEqual({ healthy: true, attempts: 1, elapsedMs: 7000, last: 'HTTP 200 UP' });
});

test('an answer whose body never ends is reported as such, not as a lost connection', async () => {
  const c = clock();
  const outcome = await pollHealth({
    probe: async () => {
      throw new IncompleteAnswer('HTTP 200, but its body did not end within 5 s');
    },
    alive: async () => true,
    expect: 'UP',
    timeoutMs: 1000,
    intervalMs: 1000,
    probeTimeoutMs: 5000,
    now: c.now,
    sleep: c.sleep,
  });
  expect(outcome).toMatchObject({
    healthy: false,
    reason: 'timeout',
    last: 'HTTP 200, but its body did not end within 5 s',
  });
});

test('a last probe cut short by the deadline keeps the answer before it; a full-length one does not', async () => {
  const run = async (probeTimeoutMs: number) => {
    const c = clock();
    let n = 0;
    return pollHealth({
      probe: async (ms) => {
        c.advance(n === 0 ? 500 : ms);
        if (n++ === 0) return { status: 503, body: 'DOWN' };
        throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
      },
      alive: async () => true,
      expect: 'UP',
      timeoutMs: 1000,
      intervalMs: 50,
      probeTimeoutMs,
      now: c.now,
      sleep: c.sleep,
    });
  };
  expect((await run(5000)).last).toBe('HTTP 503 DOWN');
  expect((await run(50)).last).toBe('no connection (The operation was aborted due to timeout)');
});
