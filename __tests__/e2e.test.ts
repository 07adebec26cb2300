// End to end: the bundled action (dist/index.js) run as the GitHub runner runs it, against a real loopback
// target: OpenSSH sshd, nginx and JVMs, with a non-root deploy user whose sudo is the README's line.
import { jest } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildDemoJar } from '../test-target/demo-jar.js';
import { processAlive, startTarget, type Target } from '../test-target/harness.js';
import { runAction, targetInputs, type ActionResult } from '../test-target/run-action.js';

jest.setTimeout(120_000);

let target: Target;
beforeAll(async () => {
  target = await startTarget();
});
afterAll(async () => {
  await target?.stop();
});

async function deploy(
  version: string,
  extra: Record<string, string> = {},
  opts: Parameters<typeof buildDemoJar>[0] | null = null,
  node?: string,
) {
  const jar = await buildDemoJar(opts ?? { version });
  return runAction({ inputs: targetInputs(target, { jar, ...extra }), node });
}

function appsOn(port: number) {
  return target
    .appProcesses()
    .filter(
      (p) => p.cmdline.includes(`--server.port=${port} `) || p.cmdline.endsWith(`--server.port=${port}`),
    );
}

async function waitGone(pid: number, ms: number) {
  const end = Date.now() + ms;
  while (processAlive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return !processAlive(pid);
}

function expectSuccess(r: ActionResult) {
  if (r.code !== 0) throw new Error(`action failed (${r.code}):\n${r.log}`);
}

let v1Pid = 0;
let v2Pid = 0;

test('first deploy: v1 serves on the blue port, the include is written', async () => {
  expect((await target.get('/')).status).toBe(502); // nothing behind nginx yet
  const r = await deploy('v1');
  expectSuccess(r);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=v1 port=${target.bluePort}\n` });
  expect(target.readInclude()).toContain(`set $service_url http://127.0.0.1:${target.bluePort};`);
  expect(r.outputs['active-port']).toBe(String(target.bluePort));
  expect(r.outputs['previous-port']).toBe('');
  expect(r.outputs['release-id']).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{12}$/);
  expect(Number(r.outputs['duration-seconds'])).toBeGreaterThan(0);
  expect(JSON.parse(r.outputs.hosts)).toEqual([
    {
      host: `127.0.0.1:${target.sshPort}`,
      ok: true,
      releaseId: r.outputs['release-id'],
      activePort: target.bluePort,
    },
  ]);
  const apps = target.appProcesses();
  expect(apps).toHaveLength(1);
  v1Pid = apps[0].pid;
  expect(apps[0].cmdline).toContain(`${r.outputs['release-id']}/app.jar --server.port=${target.bluePort}`);
  // Each step is a log group with its duration, and a row of the summary.
  for (const step of [
    'Connect',
    'Lock',
    'Detect ports',
    'Upload',
    'Launch on',
    'Health check',
    'Switch nginx',
    'Drain nginx',
  ]) {
    expect(r.stdout).toMatch(new RegExp(`::group::${step}`));
    expect(r.summary).toMatch(new RegExp(`\\| ${step}[^|]* \\| ✅ ok \\| \\d+\\.\\d\\d s \\|`));
  }
  expect(r.stdout).toMatch(/Health check: ok in \d+\.\d\d s/);
  expect(r.summary).toMatch(/^## Blue\/green deploy succeeded/);
  expect(r.summary).toContain(`| ${r.outputs['release-id']} | ✅ deployed | ${target.bluePort} | – |`);
});

test('second deploy: v2 on the green port, v1 stopped', async () => {
  const r = await deploy('v2');
  expectSuccess(r);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=v2 port=${target.greenPort}\n` });
  expect(r.outputs['active-port']).toBe(String(target.greenPort));
  expect(r.outputs['previous-port']).toBe(String(target.bluePort));
  // The deploy returns once v1 closed its port; its graceful exit follows within stop-timeout.
  expect(target.listening(target.bluePort)).toBe(false);
  expect(await waitGone(v1Pid, 12_000)).toBe(true);
  const apps = target.appProcesses();
  expect(apps.map((a) => a.pid)).toHaveLength(1);
  v2Pid = apps[0].pid;
  expect(appsOn(target.greenPort)).toHaveLength(1);
  expect(r.stdout).toMatch(
    new RegExp(`old pid ${v1Pid} on port ${target.bluePort}: (closed its port|exited)`),
  );
  expect(r.summary).toMatch(/\| Stop old app \| ✅ ok \|/);
});

test('third deploy (on Node 20 too): v3 back on the blue port, v2 stopped, waited for with await-stop', async () => {
  const r = await deploy('v3', { 'await-stop': 'true' }, null, process.execPath);
  expectSuccess(r);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=v3 port=${target.bluePort}\n` });
  expect(r.outputs['previous-port']).toBe(String(target.greenPort));
  expect(processAlive(v2Pid)).toBe(false);
  expect(target.appProcesses()).toHaveLength(1);
  expect(r.stdout).toMatch(new RegExp(`old pid ${v2Pid} on port ${target.greenPort}: exited`));
});

test('a build that crashes at start fails the step; v3 keeps serving; nothing left on the idle port', async () => {
  const r = await deploy('v4-crash', {}, { version: 'v4-crash', crash: true });
  expect(r.code).not.toBe(0);
  expect(r.stdout).toMatch(
    /::error::.*Health check failed on 127\.0\.0\.1:\d+: the new app \(pid \d+\) exited before it became healthy/,
  );
  expect(r.stdout).toMatch(/Last 40 lines of .*app\.log:/);
  expect(r.stdout).toContain('crash requested'); // the app's own words, from its log
  expect(await target.get('/')).toEqual({ status: 200, body: `version=v3 port=${target.bluePort}\n` });
  expect(target.listening(target.greenPort)).toBe(false);
  expect(appsOn(target.greenPort)).toHaveLength(0);
  expect(r.summary).toMatch(/\| Health check \| ❌ failed \|/);
  expect(r.summary).toMatch(/^## Blue\/green deploy failed/);
  expect(target.readInclude()).toContain(`:${target.bluePort};`);
});

test('a build that never turns healthy fails at health-timeout; v3 keeps serving; its process is stopped', async () => {
  const r = await deploy('v5-down', { 'health-timeout': '3' }, { version: 'v5-down', health: 'DOWN' });
  expect(r.code).not.toBe(0);
  expect(r.stdout).toMatch(/was not healthy within 3 s; last answer: HTTP 503 \{"status":"DOWN"\}/);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=v3 port=${target.bluePort}\n` });
  expect(target.listening(target.greenPort)).toBe(false);
  expect(appsOn(target.greenPort)).toHaveLength(0);
  expect(target.appProcesses()).toHaveLength(1);
});

test('the next good deploy after failures goes to the idle port as usual', async () => {
  const r = await deploy('v6');
  expectSuccess(r);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=v6 port=${target.greenPort}\n` });
});

test('redeploying the same jar reuses the release on the host (no upload), in a folder of its own', async () => {
  const first = await deploy('v6', { 'release-id': 'build-6' });
  expectSuccess(first);
  const r = await deploy('v6', { 'release-id': 'build-6' }); // e.g. a workflow_dispatch redeploy of one commit
  expectSuccess(r);
  expect(first.outputs['release-id']).toBe('build-6');
  expect(r.outputs['release-id']).toBe('build-6-2'); // never the folder the running app uses
  expect(r.stdout).toMatch(/already on the host: linked from .*, nothing uploaded/);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=v6 port=${target.greenPort}\n` });
});

test('by default the deploy does not wait for a slow graceful shutdown: a watchdog kills it at stop-timeout', async () => {
  const live = Number(/:(\d+);/.exec(target.readInclude())?.[1]);
  const [old] = appsOn(live);
  // A 20 s request straight to the old app (not through nginx, so the drain does not wait for it) keeps the
  // old app's graceful shutdown busy far longer than stop-timeout.
  const slow = target.getDirect(live, '/slow?ms=20000', { timeoutMs: 30_000 });
  await new Promise((r) => setTimeout(r, 300));
  const r = await deploy('v7', { 'stop-timeout': '3' });
  expectSuccess(r);
  expect(r.stdout).toMatch(
    new RegExp(`old pid ${old.pid} on port ${live}: closed its port; still finishing`),
  );
  expect(r.durationMs).toBeLessThan(10_000);
  const ended = Date.now();
  expect(processAlive(old.pid)).toBe(true); // still finishing its request
  expect(target.listening(live)).toBe(false);
  expect(await waitGone(old.pid, 8_000)).toBe(true);
  expect(Date.now() - ended).toBeLessThan(6_000); // killed at stop-timeout, not after its 20 s request
  expect((await slow).status).toBe(0); // the request it could not finish in time was cut
  expect((await target.get('/')).body).toMatch(/^version=v7 /);
});

test('old releases are pruned to keep-releases, never the running one', async () => {
  const r = await deploy('v8', { 'keep-releases': '2' });
  expectSuccess(r);
  const releases = readdirSync(join(target.remoteDir, 'releases')).sort();
  expect(releases).toHaveLength(2);
  expect(releases).toContain(r.outputs['release-id']);
  for (const app of target.appProcesses()) {
    expect(releases.some((id) => app.cmdline.includes(id))).toBe(true);
  }
});
