// The promise of the action, under traffic: while full deploys run, a bounded load through nginx (fast and
// slow requests, so some are in flight at the switch and at the old app's stop) sees no failed request.
import { jest } from '@jest/globals';
import { buildDemoJar } from '../test-target/demo-jar.js';
import { startTarget, type Target } from '../test-target/harness.js';
import { underLoad, type LoadReport } from '../test-target/load.js';
import { runAction, targetInputs } from '../test-target/run-action.js';

jest.setTimeout(180_000);

let target: Target;
beforeAll(async () => {
  target = await startTarget();
  const r = await runAction({ inputs: targetInputs(target, { jar: await buildDemoJar({ version: 'v1' }) }) });
  if (r.code !== 0) throw new Error(r.log);
});
afterAll(async () => {
  await target?.stop();
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
async function deployUnderLoad(inputs: Record<string, string>) {
  return underLoad(target.nginxUrl, () => runAction({ inputs: targetInputs(target, inputs) }), {
    slowMs: 250,
    marginMs: 500,
  });
}

test.each([
  ['v2', {}],
  ['v3', { 'await-stop': 'true' }],
])('deploying %s under load fails no request', async (version, extra) => {
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
  const previous = version === 'v2' ? 'v1' : 'v2';
  expect(report.versions[previous]).toBeGreaterThan(0); // the old version answered during the deploy
  expect(report.versions[version]).toBeGreaterThan(0); // and the new one after the switch
  expect(report.lastVersion).toBe(version);
  expect((await target.get('/')).body).toMatch(new RegExp(`^version=${version} `));
  expect(target.appProcesses().filter((p) => !p.cmdline.includes(result.outputs['release-id']))).toEqual(
    version === 'v3' ? [] : expect.any(Array),
  );
});

test('a build broken behind nginx is rolled back after the switch, with no failed request', async () => {
  const jar = await buildDemoJar({ version: 'v4-proxy-broken', brokenBehindProxy: true });
  const before = (await target.get('/')).body;
  const includeBefore = target.readInclude();
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
  expect(target.readInclude()).toMatch(/set \$service_url http:\/\/127\.0\.0\.1:\d+;/);
  expect(target.readInclude().match(/:(\d+);/)?.[1]).toBe(includeBefore.match(/:(\d+);/)?.[1]);
  // Requests the broken build answered through nginx are its own 500s: those are the build's fault, not the
  // deploy's. No request may fail for any other reason (connection errors, 502 from a stopped upstream).
  const statuses = Object.keys(report.byStatus).filter((s) => s !== '200' && s !== '500');
  expect({ errors: report.errors, statuses }).toEqual({ errors: {}, statuses: [] });
  expect(report.failures.every((f) => f.status === 500 && /broken behind proxy/.test(f.error))).toBe(true);
  await new Promise((r) => setTimeout(r, 500));
  expect(
    target
      .appProcesses()
      .map((p) => p.cmdline)
      .join('\n'),
  ).not.toContain('--server.port=' + target.greenPort);
});
