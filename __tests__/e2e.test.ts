// End to end: the bundled action (dist/index.js) run as the GitHub runner runs it, against a real loopback
// target: OpenSSH sshd, nginx and JVMs, with a non-root deploy user whose sudo is the README's line.
// Each test starts from whatever the target serves (ensureServing deploys a base version when nothing does),
// so the tests pass alone and in any order.
import { jest } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildDemoJar, type DemoJarOptions } from '../test-target/demo-jar.js';
import { processAlive, waitGone } from '../test-target/processes.js';
import { runAction, stopStartedActions, targetInputs, type ActionResult } from '../test-target/run-action.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { expectFailure, expectSuccess } from './support/action.js';
import { ensureServing, otherPort, settled } from './support/serving.js';

jest.setTimeout(120_000);

let target: Target;
beforeAll(async () => {
  target = await startTarget();
});
afterEach(stopStartedActions);
afterAll(async () => {
  await target.stop();
});

async function deploy(
  t: Target,
  jar: DemoJarOptions,
  extra: Record<string, string> = {},
  node?: string,
): Promise<ActionResult> {
  return runAction({ inputs: targetInputs(t, { jar: await buildDemoJar(jar), ...extra }), node });
}

test('first deploy: v1 serves on the blue port, the include is written', async () => {
  const fresh = await startTarget();
  try {
    expect((await fresh.get('/')).status).toBe(502); // nothing behind nginx yet
    const r = await deploy(fresh, { version: 'v1' });
    expectSuccess(r);
    expect(await fresh.get('/')).toEqual({ status: 200, body: `version=v1 port=${fresh.bluePort}\n` });
    expect(fresh.readInclude()).toContain(`set $service_url http://127.0.0.1:${fresh.bluePort};`);
    expect(r.outputs['active-port']).toBe(String(fresh.bluePort));
    expect(r.outputs['previous-port']).toBe('');
    expect(r.outputs['release-id']).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{12}$/);
    expect(Number(r.outputs['duration-seconds'])).toBeGreaterThan(0);
    expect(JSON.parse(r.outputs.hosts)).toEqual([
      {
        host: `127.0.0.1:${fresh.sshPort}`,
        ok: true,
        releaseId: r.outputs['release-id'],
        activePort: fresh.bluePort,
      },
    ]);
    const apps = fresh.appProcesses();
    expect(apps).toHaveLength(1);
    expect(apps[0].cmdline).toContain(`${r.outputs['release-id']}/app.jar --server.port=${fresh.bluePort}`);
    // Each step is a log group with its duration, and a row of the summary.
    const steps = ['Connect', 'Lock', 'Detect ports', 'Upload', 'Launch on', 'Health check', 'Switch nginx'];
    for (const step of [...steps, 'Drain nginx']) {
      expect(r.stdout).toMatch(new RegExp(`::group::${step}`));
      expect(r.summary).toMatch(new RegExp(`\\| ${step}[^|]* \\| ✅ ok \\| \\d+\\.\\d\\d s \\|`));
    }
    expect(r.stdout).toMatch(/Health check: ok in \d+\.\d\d s/);
    expect(r.summary).toMatch(/^## Blue\/green deploy succeeded/);
    expect(r.summary).toContain(`| ${r.outputs['release-id']} | ✅ deployed | ${fresh.bluePort} | – |`);
  } finally {
    await fresh.stop();
  }
});

test('a second deploy: the new version on the idle port, the old app stopped', async () => {
  const old = await ensureServing(target);
  const idle = otherPort(target, old.port);
  const r = await deploy(target, { version: 'v2' });
  expectSuccess(r);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=v2 port=${idle}\n` });
  expect(r.outputs['active-port']).toBe(String(idle));
  expect(r.outputs['previous-port']).toBe(String(old.port));
  // The deploy returns once the old app closed its port; its graceful exit follows within stop-timeout.
  expect(target.listening(old.port)).toBe(false);
  expect(await waitGone(old.pid, 12_000)).toBe(true);
  expect(target.appProcesses()).toHaveLength(1);
  expect(target.appsOn(idle)).toHaveLength(1);
  expect(r.stdout).toMatch(new RegExp(`old pid ${old.pid} on port ${old.port}: (closed its port|exited)`));
  expect(r.summary).toMatch(/\| Stop old app \| ✅ ok \|/);
});

test('a deploy on Node 20 with await-stop: returns only once the old app has exited', async () => {
  const old = await ensureServing(target);
  const idle = otherPort(target, old.port);
  const r = await deploy(target, { version: 'v3' }, { 'await-stop': 'true' }, process.execPath);
  expectSuccess(r);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=v3 port=${idle}\n` });
  expect(r.outputs['previous-port']).toBe(String(old.port));
  expect(processAlive(old.pid)).toBe(false);
  expect(target.appProcesses()).toHaveLength(1);
  expect(r.stdout).toMatch(new RegExp(`old pid ${old.pid} on port ${old.port}: exited`));
});

test('a build that crashes at start fails the step; the old version keeps serving; nothing left on the idle port', async () => {
  const live = await ensureServing(target);
  const idle = otherPort(target, live.port);
  const include = target.readInclude();
  const r = await deploy(target, { version: 'v4-crash', crash: true });
  expectFailure(r);
  expect(r.stdout).toMatch(
    /^::error::127\.0\.0\.1:\d+: Health check failed: the new app \(pid \d+\) exited before it became healthy/m,
  );
  expect(r.stdout).toMatch(/Last 40 lines of .*app\.log:/);
  expect(r.stdout).toContain('crash requested'); // the app's own words, from its log
  expect(await target.get('/')).toEqual({ status: 200, body: `version=${live.version} port=${live.port}\n` });
  expect(target.listening(idle)).toBe(false);
  expect(target.appsOn(idle)).toHaveLength(0);
  expect(target.appProcesses().map((p) => p.pid)).toEqual([live.pid]);
  expect(r.summary).toMatch(/\| Health check \| ❌ failed \|/);
  expect(r.summary).toMatch(/^## Blue\/green deploy failed/);
  expect(target.readInclude()).toBe(include);
});

test('a build that never turns healthy fails at health-timeout; the old version keeps serving; its process is stopped', async () => {
  const live = await ensureServing(target);
  const idle = otherPort(target, live.port);
  const r = await deploy(target, { version: 'v5-down', health: 'DOWN' }, { 'health-timeout': '3' });
  expectFailure(r);
  expect(r.stdout).toMatch(/was not healthy within 3 s; last answer: HTTP 503 \{"status":"DOWN"\}/);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=${live.version} port=${live.port}\n` });
  expect(target.listening(idle)).toBe(false);
  expect(target.appsOn(idle)).toHaveLength(0);
  expect(target.appProcesses().map((p) => p.pid)).toEqual([live.pid]);
});

test('the next good deploy after a failed one goes to the idle port as usual', async () => {
  const live = await ensureServing(target);
  const idle = otherPort(target, live.port);
  expectFailure(await deploy(target, { version: 'v6-crash', crash: true }));
  const r = await deploy(target, { version: 'v6' });
  expectSuccess(r);
  expect(r.outputs['active-port']).toBe(String(idle));
  expect(await target.get('/')).toEqual({ status: 200, body: `version=v6 port=${idle}\n` });
});

test('redeploying the same jar reuses the release on the host (no upload), in a folder of its own', async () => {
  await ensureServing(target);
  const first = await deploy(target, { version: 'v7' }, { 'release-id': 'build-7' });
  expectSuccess(first);
  const port = Number(first.outputs['active-port']);
  // e.g. a workflow_dispatch redeploy of one commit
  const r = await deploy(target, { version: 'v7' }, { 'release-id': 'build-7' });
  expectSuccess(r);
  expect(first.outputs['release-id']).toBe('build-7');
  expect(r.outputs['release-id']).toBe('build-7-2'); // never the folder the running app uses
  expect(r.stdout).toMatch(/already on the host: linked from .*, nothing uploaded/);
  const now = otherPort(target, port);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=v7 port=${now}\n` });
});

test('by default the deploy does not wait for a slow graceful shutdown: a watchdog kills it at stop-timeout', async () => {
  const old = await ensureServing(target);
  // A 20 s request straight to the old app (not through nginx, so the drain does not wait for it) keeps the
  // old app's graceful shutdown busy far longer than stop-timeout.
  const slow = target.getDirect(old.port, '/slow?ms=20000', { timeoutMs: 30_000 });
  await target.requestsInFlight(old.port);
  const r = await deploy(target, { version: 'v8' }, { 'stop-timeout': '3' });
  expectSuccess(r);
  expect(r.stdout).toMatch(
    new RegExp(
      `old pid ${old.pid} on port ${old.port}: closed its port \\d+\\.\\d\\d s after SIGTERM; still finishing`,
    ),
  );
  expect(r.durationMs).toBeLessThan(10_000);
  const ended = Date.now();
  expect(processAlive(old.pid)).toBe(true); // still finishing its request
  expect(target.listening(old.port)).toBe(false);
  expect(await waitGone(old.pid, 8_000)).toBe(true);
  expect(Date.now() - ended).toBeLessThan(6_000); // killed at stop-timeout, not after its 20 s request
  expect((await slow).status).toBe(0); // the request it could not finish in time was cut
  expect((await target.get('/')).body).toMatch(/^version=v8 /);
});

test('old releases are pruned to keep-releases, never the running one', async () => {
  await ensureServing(target);
  expectSuccess(await deploy(target, { version: 'v9a' }));
  const r = await deploy(target, { version: 'v9' }, { 'keep-releases': '2' });
  expectSuccess(r);
  await settled(target);
  const releases = readdirSync(join(target.remoteDir, 'releases')).sort();
  expect(releases).toHaveLength(2);
  expect(releases).toContain(r.outputs['release-id']);
  const apps = target.appProcesses();
  expect(apps).toHaveLength(1);
  for (const app of apps) expect(releases.some((id) => app.cmdline.includes(id))).toBe(true);
});

test('a failed verify-url on a first deploy: nothing to switch back to, the step fails and says so', async () => {
  const fresh = await startTarget();
  try {
    const verify = { 'verify-url': `${fresh.nginxUrl}/actuator/health` };
    const r = await deploy(fresh, { version: 'v1-proxy-broken', brokenBehindProxy: true }, verify);
    expectFailure(r);
    expect(r.stdout).toMatch(/^::warning::.*first deploy: there is no previous version to switch back to/m);
    expect(r.stdout).toMatch(
      /^::error::.*Verify through nginx failed.*not healthy through nginx \(HTTP 500.*nothing to switch back to/m,
    );
    expect(r.summary).toMatch(/\| Verify through nginx \| ❌ failed \|/);
    expect(r.summary).toMatch(/^## Blue\/green deploy failed/);
    // The new version stays: nginx routes to it (its own 500s behind the proxy), and it runs, alone.
    expect(fresh.includePort()).toBe(fresh.bluePort);
    expect(await fresh.get('/')).toMatchObject({ status: 500 });
    expect(await fresh.getDirect(fresh.bluePort, '/')).toEqual({
      status: 200,
      body: `version=v1-proxy-broken port=${fresh.bluePort}\n`,
    });
    expect(fresh.appsOn(fresh.bluePort)).toHaveLength(1);
    expect(fresh.appProcesses()).toHaveLength(1);
  } finally {
    await fresh.stop();
  }
});
