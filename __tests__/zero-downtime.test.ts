// The promise of the action, under traffic: while full deploys run, a bounded load through nginx (fast and
// slow requests, so some are in flight at the switch and at the old app's stop) sees no failed request.
// Each test starts from what the target serves at that moment, so the tests pass alone and in any order.
import { jest } from '@jest/globals';
import { buildDemoJar } from '../test-target/demo-jar.js';
import type { LoadReport } from '../test-target/load.js';
import { waitGone } from '../test-target/processes.js';
import { runAction, stopStartedActions, targetInputs } from '../test-target/run-action.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { expectSuccess } from './support/action.js';
import { whileLoaded } from './support/load.js';
import { ensureServing, otherPort, type Live } from './support/serving.js';

jest.setTimeout(180_000);

let target: Target;
let live: Live;

beforeAll(async () => {
  target = await startTarget();
});
afterEach(stopStartedActions);
afterAll(async () => {
  await target.stop();
});
beforeEach(async () => {
  live = await ensureServing(target, 'v1');
});

function describeFailures(report: LoadReport): string {
  return JSON.stringify({
    failed: report.failed,
    byStatus: report.byStatus,
    errors: report.errors,
    first: report.failures.slice(0, 5),
  });
}

/** 20 clients through nginx, every other request 250 ms long, from before the deploy until after it. */
function deployUnderLoad(inputs: Record<string, string>) {
  return whileLoaded(target, () => runAction({ inputs: targetInputs(target, inputs) }), {
    slowMs: 250,
    warmup: 100,
  });
}

test.each([
  ['v2', {}],
  ['v3', { 'await-stop': 'true' }],
])('deploying %s under load fails no request', async (version, extra: Record<string, string>) => {
  const previous = live;
  const jar = await buildDemoJar({ version, startDelayMs: 1000 });
  const { result, report } = await deployUnderLoad({ jar, ...extra });

  expect(result.code).toBe(0);
  expect(describeFailures(report)).toBe(
    describeFailures({
      ...report,
      failed: 0,
      byStatus: { 200: report.byStatus[200] },
      errors: {},
      failures: [],
    }),
  );
  expect(report.total).toBeGreaterThan(100);
  expect(report.versions[previous.version]).toBeGreaterThan(0); // the old version answered during the deploy
  expect(report.versions[version]).toBeGreaterThan(0); // and the new one after the switch
  expect(report.lastVersion).toBe(version);
  expect((await target.get('/')).body).toBe(`version=${version} port=${otherPort(target, previous.port)}\n`);
  // Besides the new app, only the old one may still run (finishing its requests), and only until its exit;
  // with await-stop the deploy returned after that exit.
  const others = target.appProcesses().filter((p) => !p.cmdline.includes(result.outputs['release-id']));
  const mayRun = 'await-stop' in extra ? [] : [previous.pid];
  expect(others.map((p) => p.pid).filter((pid) => !mayRun.includes(pid))).toEqual([]);
  expect(await waitGone(previous.pid, 12_000)).toBe(true);
  expect(target.appProcesses()).toHaveLength(1);
});

test('a build broken behind nginx is rolled back after the switch, with no failed request', async () => {
  const jar = await buildDemoJar({ version: 'v4-proxy-broken', brokenBehindProxy: true });
  const before = (await target.get('/')).body;
  const includeBefore = target.readInclude();
  const idle = otherPort(target, live.port);
  // verify-url goes through nginx, from the host: the new app is healthy on its own port but answers 500 there.
  const { result, report } = await deployUnderLoad({
    jar,
    'verify-url': `${target.nginxUrl}/actuator/health`,
  });

  expect(result.code).not.toBe(0);
  expect(result.stdout).toMatch(
    /::error::.*Verify through nginx failed.*not healthy through nginx \(HTTP 500/,
  );
  expect(result.stdout).toMatch(/switch nginx back to port \d+/);
  expect((await target.get('/')).body).toBe(before);
  expect(target.includePort()).toBe(live.port);
  expect(target.readInclude()).toBe(includeBefore); // switched there and back: the exact bytes again
  // Requests the broken build answered through nginx are its own 500s: those are the build's fault, not the
  // deploy's. No request may fail for any other reason (connection errors, 502 from a stopped upstream).
  const statuses = Object.keys(report.byStatus).filter((s) => s !== '200' && s !== '500');
  expect({ errors: report.errors, statuses }).toEqual({ errors: {}, statuses: [] });
  expect(report.failures.every((f) => f.status === 500 && f.error.includes('broken behind proxy'))).toBe(
    true,
  );
  // The rollback waits for the new app's exit: when the step ends, only the old app runs.
  expect(target.appsOn(idle)).toEqual([]);
  expect(target.listening(idle)).toBe(false);
  expect(target.appProcesses().map((p) => p.pid)).toEqual([live.pid]);
});

test('an old nginx worker still busy past drain-timeout: a warning, the deploy completes, no failed request', async () => {
  const jar = await buildDemoJar({ version: 'v5', startDelayMs: 1000 });
  // A long request through nginx, to the old app: the old nginx worker that carries it outlives drain-timeout.
  const slow = target.get('/slow?ms=8000', { timeoutMs: 20_000 }).then((r) => ({ ...r, at: Date.now() }));
  await target.requestsInFlight(live.port);
  const { result, report } = await deployUnderLoad({ jar, 'drain-timeout': '1' });
  const ended = Date.now();

  expectSuccess(result);
  expect(result.stdout).toMatch(
    /^::warning::.*old nginx workers were still busy after drain-timeout \(1 s\)/m,
  );
  expect(result.stdout).toMatch(/Drain nginx: ok in 1\.\d\d s/);
  expect(result.outputs['active-port']).toBe(String(otherPort(target, live.port)));
  expect(describeFailures(report)).toBe(describeFailures({ ...report, failed: 0, errors: {}, failures: [] }));
  expect(report.lastVersion).toBe('v5');
  // The deploy did not wait for it; the old worker and the old app still finished it, with the old version.
  const answer = await slow;
  expect(answer.at).toBeGreaterThan(ended);
  expect({ status: answer.status, body: answer.body }).toEqual({
    status: 200,
    body: `version=${live.version} port=${live.port}\n`,
  });
});
