// mode: status end to end: the bundled action against a real loopback target (OpenSSH sshd, nginx, JVMs, a
// non-root deploy user). It reports what runs where, since when, its health, where nginx routes, the lock and
// the last deploys, as the job summary and as the `status` output; and it changes nothing: every file under
// remote-dir and the nginx dir (bytes, mode, mtime, ctime) and every process of the target are the same after.
import { jest } from '@jest/globals';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostStatus, StatusOutcome } from '../src/status.js';
import { buildDemoJar } from '../test-target/demo-jar.js';
import { descendants, listProcesses } from '../test-target/processes.js';
import {
  runAction,
  startAction,
  stopStartedActions,
  targetInputs,
  type ActionResult,
} from '../test-target/run-action.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { deployAccount } from '../test-target/users.js';
import { expectSuccess, readable } from './support/action.js';
import { settled } from './support/serving.js';
import { waitUntil } from '../test-target/wait.js';

jest.setTimeout(120_000);

let target: Target;
beforeAll(async () => {
  target = await startTarget();
});
afterEach(stopStartedActions);
afterAll(async () => {
  await target.stop();
});

const SHA = '0123456789abcdef0123456789abcdef01234567';

async function deploy(version: string, runId: string): Promise<ActionResult> {
  const jar = await buildDemoJar({ version });
  // The old app's killer ends 2 s after a deploy (see snapshot).
  const r = await runAction({
    inputs: targetInputs(target, { jar, 'stop-timeout': '2' }),
    env: { GITHUB_RUN_ID: runId, GITHUB_SHA: SHA },
  });
  expectSuccess(r, `the deploy of ${version}`);
  return r;
}

/** The action in mode status; its `status` output parsed, one host. */
async function status(): Promise<{ r: ActionResult; host: string; s: HostStatus }> {
  const r = await runAction({ inputs: targetInputs(target, { mode: 'status' }) });
  expectSuccess(r, 'status');
  const outcomes = JSON.parse(r.outputs.status) as StatusOutcome[];
  expect(outcomes.map((o) => [o.host, o.error])).toEqual([[`127.0.0.1:${target.sshPort}`, undefined]]);
  const s = outcomes[0].status;
  if (!s) throw new Error(`no status:\n${readable(r)}`);
  return { r, host: outcomes[0].host, s };
}

/** Every file and folder under dir: type, mode, size, mtime, ctime, and a file's sha256 or a link's target. */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p, { bigint: true });
      const content = st.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : '';
      out[p] = `${st.mode.toString(8)} ${st.size} ${st.mtimeNs} ${st.ctimeNs} ${st.ino} ${content}`;
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * The target's processes: its apps, nginx's master and workers, sshd and its sessions, the deploy user's. sshd's
 * title counts connections being set up: its pid is what counts.
 */
function ofDeployUser(all = listProcesses()): number[] {
  const uid = deployAccount().uid;
  return all
    .filter((p) => lstatSync(`/proc/${p.pid}`, { throwIfNoEntry: false })?.uid === uid)
    .map((p) => p.pid);
}

function processes(): string[] {
  const all = listProcesses();
  const ofDeploy = ofDeployUser(all);
  const pids = new Set([
    ...target.appProcesses().map((p) => p.pid),
    target.nginxPid,
    ...descendants(target.nginxPid, all),
    target.sshdPid,
    ...descendants(target.sshdPid, all),
    ...ofDeploy,
  ]);
  return all
    .filter((p) => pids.has(p.pid))
    .map((p) => `${p.pid} ${p.pid === target.sshdPid ? 'sshd' : p.cmdline}`);
}

/**
 * Once the target is quiet: no SSH session open (the action's own ends a moment after it exits; sshd forks one
 * for the harness's readiness probe a moment after it connects), no process of the deploy user but the apps (a
 * deploy's killer of the old app lives until stop-timeout), and the same processes twice 200 ms apart.
 */
async function snapshot() {
  let last = '';
  await waitUntil(
    'the target quiet',
    () => {
      const now = JSON.stringify(processes());
      const apps = new Set(target.appProcesses().map((p) => p.pid));
      const quiet =
        descendants(target.sshdPid).length === 0 &&
        ofDeployUser().every((pid) => apps.has(pid)) &&
        now === last;
      last = now;
      return quiet;
    },
    { timeoutMs: 20_000, intervalMs: 200 },
  );
  return {
    remoteDir: files(target.localPath(target.remoteDir)),
    nginx: files(target.nginxDir),
    processes: processes(),
  };
}

test('a host never deployed to: nginx routes where nothing listens, no lock, no history; nothing created', async () => {
  const before = await snapshot();
  expect(before.remoteDir).toEqual({});
  const { r, s } = await status();
  expect(await snapshot()).toEqual(before);
  expect(s).toEqual({
    ports: [
      { port: target.bluePort, color: 'blue', listening: false, routed: 'primary' },
      { port: target.greenPort, color: 'green', listening: false },
    ],
    nginx: {
      include: target.nginxInclude,
      upstream: target.nginxUpstreamFile,
      port: target.bluePort,
      via: 'include',
      listening: false,
    },
    lock: { held: false },
    releases: 0,
    deploys: [],
    notes: [],
  });
  expect(r.summary).toContain('\nNone recorded.\n');
});

test('after v1 and v2: v2 on the live port since its start, healthy, routed; lock free; both deploys; nothing changed', async () => {
  const r1 = await deploy('v1', '1001');
  const v2Started = Date.now();
  const r2 = await deploy('v2', '1002');
  await settled(target);
  const live = Number(r2.outputs['active-port']);
  const idle = live === target.bluePort ? target.greenPort : target.bluePort;
  const [v1, v2] = [r1.outputs['release-id'], r2.outputs['release-id']];

  const before = await snapshot();
  const { r, host, s } = await status();
  expect(await snapshot()).toEqual(before);

  const app = target.appsOn(live);
  expect(app).toHaveLength(1);
  const row = s.ports.find((p) => p.port === live);
  const since = row?.app?.since ?? '';
  expect(row).toEqual({
    port: live,
    color: live === target.bluePort ? 'blue' : 'green',
    listening: true,
    app: { pid: app[0].pid, since, release: v2 },
    health: {
      url: `http://127.0.0.1:${live}/actuator/health`,
      state: 'healthy',
      answer: 'HTTP 200 {"status":"UP"}',
    },
    routed: 'primary',
  });
  // Whole seconds, from the host's start ticks and boot time: within the v2 deploy.
  expect(since).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  expect(Date.parse(since)).toBeGreaterThanOrEqual(Math.floor(v2Started / 1000) * 1000 - 1000);
  expect(Date.parse(since)).toBeLessThanOrEqual(v2Started + r2.durationMs);
  expect(s.ports.find((p) => p.port === idle)).toEqual({
    port: idle,
    color: idle === target.bluePort ? 'blue' : 'green',
    listening: false,
  });
  expect(s.nginx).toEqual({
    include: target.nginxInclude,
    upstream: target.nginxUpstreamFile,
    port: live,
    via: 'include',
    release: v2,
    listening: true,
  });
  expect(s.lock).toEqual({ held: false });
  expect(s.releases).toBe(2);
  expect(s.notes).toEqual([]);
  const url = (run: string) => `https://github.com/example/app/actions/runs/${run}`;
  const common = {
    mode: 'deploy',
    result: 'deployed',
    outcome: 'deployed',
    actor: 'test-runner',
    commit: '0123456',
  };
  expect(s.deploys).toEqual([
    {
      ...common,
      id: s.deploys[0].id,
      release: v2,
      port: live,
      url: url('1002'),
      started: s.deploys[0].started,
      ended: s.deploys[0].ended,
    },
    {
      ...common,
      id: s.deploys[1].id,
      release: v1,
      port: idle,
      url: url('1001'),
      started: s.deploys[1].started,
      ended: s.deploys[1].ended,
    },
  ]);

  // The summary's rows are the output's values.
  const color = row?.color ?? '';
  expect(r.summary).toContain(
    `\n| ${host} | ${live} ${color} | ${v2} (pid ${app[0].pid}) | ${since} | no | ✅ healthy | ✅ yes |\n`,
  );
  expect(r.summary).toContain(`\n| ${host} | ${live} (${v2}) via ${target.nginxInclude} | free | 2 | – |\n`);
  expect(r.summary).toContain(
    `\n| [${s.deploys[0].id}](${url('1002')}) | deploy | ${v2} | ${live} | deployed | test-runner | 0123456 | ${s.deploys[0].started} | ${s.deploys[0].ended} |\n`,
  );
});

// After the test above (one target, in order): v1 and v2 are in the history.
test('while a deploy holds the lock: held, with the holder it recorded; that run is running', async () => {
  const jar = await buildDemoJar({ version: 'v3', startDelayMs: 6000 });
  const d = startAction({ inputs: targetInputs(target, { jar }), env: { GITHUB_RUN_ID: '1003' } });
  await d.waitForLine(/^::group::Health check/);
  const { r, host, s } = await status();
  expect(d.child.exitCode).toBeNull();
  expect(s.lock).toEqual({ held: true, holder: s.lock.holder });
  expect(s.lock.holder).toMatch(/^run 1003 by test-runner of example\/app since \d{4}-\d\d-\d\dT[\d:.]+Z$/);
  expect(s.deploys[0]).toMatchObject({ mode: 'deploy', result: 'running', outcome: 'running' });
  expect(s.deploys[0].url).toBe('https://github.com/example/app/actions/runs/1003');
  expect(s.deploys.slice(1).map((x) => x.outcome)).toEqual(['deployed', 'deployed']);
  expect(r.summary).toContain(`\n| ${host} | `);
  expect(r.summary).toContain(` | 🔒 held by ${s.lock.holder ?? ''} | `);
  expectSuccess(await d.done, 'the deploy of v3');
  const after = await status();
  expect(after.s.lock).toEqual({ held: false });
  expect(after.s.deploys[0]).toMatchObject({ id: s.deploys[0].id, outcome: 'deployed' });
});
