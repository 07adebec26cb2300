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
  [{ status: 199, body: 'UP' }, false],
  [{ status: 299, body: 'UP' }, true],
  [{ status: 300, body: 'UP' }, false],
])('isHealthy(%j) = %s', (result, expected) => {
  expect(isHealthy(result, 'UP')).toBe(expected);
});

test('poll delays start sub-second and grow to the interval', () => {
  expect([0, 1, 2, 3, 4, 5, 6, 10].map((n) => pollDelay(n, 1000))).toEqual([
    100, 150, 225, 338, 506, 759, 1000, 1000,
  ]);
  expect(pollDelay(0, 50)).toBe(50);
});

/** A fake clock that starts where a real one would (not at 0): sleep advances time instantly. */
function clock() {
  let t = 1_700_000_000_000;
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
  expect(outcome).toEqual({
    healthy: false,
    reason: 'exited',
    attempts: 1,
    elapsedMs: 0,
    last: 'no connection (connect ECONNREFUSED)',
  });
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
  expect(outcome).toEqual({
    healthy: false,
    reason: 'timeout',
    attempts: 16,
    elapsedMs: 12000,
    last: 'HTTP 503 {"status":"DOWN"}',
  });
  // Polls at 0, 100, 250, 475, 813, 1319, 2078, 3078, 4078, 5078, ...: a line every 5 s, not every poll.
  expect(progress).toEqual([
    'still waiting after 5 s: HTTP 503 {"status":"DOWN"}',
    'still waiting after 10 s: HTTP 503 {"status":"DOWN"}',
  ]);
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
  expect(outcome).toEqual({
    healthy: false,
    reason: 'aborted',
    attempts: 3,
    elapsedMs: 100 + 150 + 225,
    last: 'HTTP 503 DOWN',
  });
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

/** Polls a probe that answers `answers` in turn (an Error is thrown), each taking `takes` ms of the clock. */
function scripted(c: ReturnType<typeof clock>, answers: (HttpResult | Error)[], takes: number[] = []) {
  const given: number[] = [];
  const probe = async (ms: number) => {
    c.advance(takes[given.length] ?? 0);
    given.push(ms);
    const a = answers.shift() ?? new Error('no more answers');
    if (a instanceof Error) throw a;
    return a;
  };
  return { given, probe };
}

test('without an injected clock it really waits between polls', async () => {
  const answers: HttpResult[] = [
    { status: 503, body: 'DOWN' },
    { status: 503, body: 'DOWN' },
    { status: 200, body: 'UP' },
  ];
  const outcome = await pollHealth({
    probe: async () => answers.shift() ?? { status: 500, body: '' },
    alive: async () => true,
    expect: 'UP',
    timeoutMs: 10_000,
    intervalMs: 1000,
    probeTimeoutMs: 5000,
  });
  expect(outcome).toMatchObject({ healthy: true, attempts: 3, last: 'HTTP 200 UP' });
  expect(outcome.elapsedMs).toBeGreaterThanOrEqual(100 + 150 - 5); // timers may fire a ms or two early
  expect(outcome.elapsedMs).toBeLessThan(5000);
});

test('the last answer is reported on one line, at most 200 characters of its body', async () => {
  const last = async (body: string) => {
    const c = clock();
    const outcome = await pollHealth({
      probe: async () => ({ status: 503, body }),
      alive: async () => true,
      expect: 'UP',
      timeoutMs: 100,
      intervalMs: 100,
      probeTimeoutMs: 5000,
      now: c.now,
      sleep: c.sleep,
    });
    return outcome.last;
  };
  expect(await last('\n  {"status":\n\t"DOWN"}\r\n')).toBe('HTTP 503 {"status": "DOWN"}');
  expect(await last('a\n\nb')).toBe('HTTP 503 a b');
  expect(await last(' \n ')).toBe('HTTP 503');
  expect(await last('x'.repeat(300))).toBe(`HTTP 503 ${'x'.repeat(200)}`);
});

test('a probe is sent while 0.1 s or more is left, none with less', async () => {
  const down: HttpResult = { status: 503, body: 'DOWN' };
  const c = clock();
  // 800 ms for the first answer, a 100 ms pause: exactly 100 ms left, one more probe gets them.
  const exactly = scripted(c, [down, down], [800, 100]);
  const a = await pollHealth({
    ...exactly,
    alive: async () => true,
    expect: 'UP',
    timeoutMs: 1000,
    intervalMs: 1000,
    probeTimeoutMs: 5000,
    now: c.now,
    sleep: c.sleep,
  });
  expect(exactly.given).toEqual([1000, 100]);
  expect(a).toEqual({
    healthy: false,
    reason: 'timeout',
    attempts: 2,
    elapsedMs: 1000,
    last: 'HTTP 503 DOWN',
  });

  const c2 = clock();
  // 850 ms for the first answer, a 100 ms pause: 50 ms left, no probe; the answer we have stands.
  const less = scripted(c2, [down, { status: 200, body: 'UP' }], [850]);
  const b = await pollHealth({
    ...less,
    alive: async () => true,
    expect: 'UP',
    timeoutMs: 1000,
    intervalMs: 1000,
    probeTimeoutMs: 5000,
    now: c2.now,
    sleep: c2.sleep,
  });
  expect(less.given).toEqual([1000]);
  expect(b).toEqual({
    healthy: false,
    reason: 'timeout',
    attempts: 1,
    elapsedMs: 950,
    last: 'HTTP 503 DOWN',
  });
});

test('a health timeout under 0.1 s still gets its one probe', async () => {
  const c = clock();
  const once = scripted(c, [{ status: 200, body: 'UP' }]);
  const outcome = await pollHealth({
    ...once,
    alive: async () => true,
    expect: 'UP',
    timeoutMs: 50,
    intervalMs: 1000,
    probeTimeoutMs: 5000,
    now: c.now,
    sleep: c.sleep,
  });
  expect(once.given).toEqual([50]);
  expect(outcome).toEqual({ healthy: true, attempts: 1, elapsedMs: 0, last: 'HTTP 200 UP' });
});

test('a refusal near the deadline replaces the answer before it (only a cut-off probe does not)', async () => {
  const c = clock();
  const polls = scripted(c, [{ status: 503, body: 'DOWN' }, new Error('connect ECONNREFUSED')]);
  const outcome = await pollHealth({
    ...polls,
    alive: async () => true,
    expect: 'UP',
    timeoutMs: 250,
    intervalMs: 1000,
    probeTimeoutMs: 5000,
    now: c.now,
    sleep: c.sleep,
  });
  expect(polls.given).toEqual([250, 150]);
  expect(outcome).toMatchObject({ reason: 'timeout', last: 'no connection (connect ECONNREFUSED)' });
});

test('once the time is up: no "still waiting" line and no further pause, the timeout is reported', async () => {
  const c = clock();
  const progress: string[] = [];
  const sleeps: number[] = [];
  const timedOut = () => new Error('timed out');
  // Every probe takes all it is given: 5 s, 5 s, then the 4.95 s left, which ends exactly at the deadline.
  const polls = scripted(c, [timedOut(), timedOut(), timedOut()]);
  const outcome = await pollHealth({
    probe: async (ms) => (c.advance(ms), polls.probe(ms)),
    alive: async () => true,
    expect: 'UP',
    timeoutMs: 15_200,
    intervalMs: 1000,
    probeTimeoutMs: 5000,
    onProgress: (m) => progress.push(m),
    now: c.now,
    sleep: async (ms) => (sleeps.push(ms), c.sleep(ms)),
  });
  expect(polls.given).toEqual([5000, 5000, 4950]);
  expect(sleeps).toEqual([100, 150]);
  expect(progress).toEqual([
    'still waiting after 5 s: no connection (timed out)',
    'still waiting after 10 s: no connection (timed out)',
  ]);
  expect(outcome).toEqual({
    healthy: false,
    reason: 'timeout',
    attempts: 3,
    elapsedMs: 15_200,
    last: 'no connection (timed out)',
  });
});
