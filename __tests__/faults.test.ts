// Faults leave the old version serving: every case deploys a broken or interrupted release UNDER LOAD through
// nginx and checks that the deploy fails naming its step, that not one request failed, that the old app still
// answers and is the only app left, and that the include and the releases carry no trace of the attempt.
// Runs the bundled action (dist/index.js) against a real loopback target (sshd, nginx, JVMs, narrow sudo).
// Every case starts from what the target serves at that moment (beforeEach), so the cases pass alone and in
// any order.
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildDemoJar } from '../test-target/demo-jar.js';
import { execOk } from '../test-target/exec.js';
import { descendants, listProcesses, processAlive, stopChild } from '../test-target/processes.js';
import {
  startAction,
  stopStartedActions,
  targetInputs,
  type ActionResult,
  type StartedAction,
} from '../test-target/run-action.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { deployAccount, type Account } from '../test-target/users.js';
import { waitUntil } from '../test-target/wait.js';
import { expectLog, jvmStarted, readable } from './support/action.js';
import { expectNoFailedRequests, whileLoaded } from './support/load.js';
import { ensureServing, otherPort, serving, settled, type Live } from './support/serving.js';

jest.setTimeout(60_000);

let target: Target;
let work: string;
/** What serves when a case starts. */
let live: Live;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'bgd-faults-'));
  fs.chmodSync(work, 0o755);
  target = await startTarget();
});

afterEach(stopStartedActions);
afterAll(async () => {
  await target.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

beforeEach(async () => {
  live = await ensureServing(target, 'v1');
});

// ---------------------------------------------------------------------------------------------------------
// helpers

function startDeploy(inputs: Record<string, string>): StartedAction {
  return startAction({ inputs: targetInputs(target, inputs) });
}

/** A demo jar with an extra stored (uncompressed) entry of random bytes, so it is about `mb` MB large. */
async function bigJar(version: string, mb: number): Promise<string> {
  const base = await buildDemoJar({ version });
  const dir = fs.mkdtempSync(path.join(work, 'big-'));
  const out = path.join(dir, `demo-${version}-${mb}mb.jar`);
  fs.copyFileSync(base, out);
  fs.writeFileSync(path.join(dir, 'padding.bin'), randomBytes(mb * 1024 * 1024));
  await execOk('jar', ['--update', '--no-compress', '--file', out, '-C', dir, 'padding.bin']);
  fs.rmSync(path.join(dir, 'padding.bin'));
  return out;
}

function filesIn(dir: string, re: RegExp): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return filesIn(p, re);
    return re.test(e.name) ? [p] : [];
  });
}

function idlePort(): number {
  return otherPort(target, live.port);
}

interface FaultOptions {
  /** remote-dir of the faulty deploy, when not the target's. */
  remoteDir?: string;
  /** The idle port is held by a foreign process on purpose. */
  idleHeld?: boolean;
}

/** What must hold after any failed deploy: the old version serves, alone, and nothing of the attempt is left. */
async function expectOldVersionKept(r: ActionResult, step: string, include: string, options: FaultOptions) {
  const { remoteDir = target.remoteDir, idleHeld = false } = options;
  if (r.code === 0) throw new Error(`the faulty deploy succeeded:\n${readable(r)}`);
  // The host and the step, once, in the one annotation of the failure (the runner shows it on the job's page).
  expectLog(r, new RegExp(`^::error::127\\.0\\.0\\.1:${target.sshPort}: ${step} failed: `, 'm'));
  expect(r.stdout.split('\n').filter((line) => line.startsWith('::error::'))).toHaveLength(1);
  expect(r.summary).toMatch(/^## Blue\/green deploy failed/);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=${live.version} port=${live.port}\n` });
  // Only the old app, after at most a few seconds (a stopped app may take a moment to exit).
  await settled(target);
  expect(target.appProcesses().map((p) => p.pid)).toEqual([live.pid]);
  if (!idleHeld) expect(target.listening(idlePort())).toBe(false);
  expect(target.readInclude()).toBe(include);
  expect(filesIn(path.dirname(target.nginxInclude), /\.tmp$/)).toEqual([]);
  expect(filesIn(path.join(remoteDir, 'releases'), /\.part$/)).toEqual([]);
  expect(fs.existsSync(path.join(remoteDir, 'run', 'pending'))).toBe(false);
}

/** A faulty deploy under load, then the common checks. */
async function faultyDeploy(
  step: string,
  inputs: Record<string, string>,
  during?: (d: StartedAction) => Promise<void>,
  options: FaultOptions = {},
): Promise<{ r: ActionResult; d: StartedAction }> {
  const include = target.readInclude();
  let d: StartedAction | undefined;
  const { result: r, report } = await whileLoaded(target, async () => {
    d = startDeploy(inputs);
    await during?.(d);
    return d.done;
  });
  const deploy = d as StartedAction;
  expectNoFailedRequests(report, [deploy]);
  expect(Object.keys(report.versions)).toEqual([live.version]);
  await expectOldVersionKept(r, step, include, options);
  return { r, d: deploy };
}

/** A normal deploy (under load) that must succeed and leave `version` serving alone on the idle port. */
async function goodDeploy(version: string, extra: Record<string, string> = {}): Promise<ActionResult> {
  const before = await serving(target);
  const idle = before ? otherPort(target, before.port) : target.bluePort;
  let d: StartedAction | undefined;
  const { result: r, report } = await whileLoaded(target, async () => {
    d = startDeploy({ jar: await buildDemoJar({ version }), ...extra });
    return d.done;
  });
  if (r.code !== 0) throw new Error(`deploy of ${version} failed (${r.code}):\n${readable(r)}`);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=${version} port=${idle}\n` });
  expectNoFailedRequests(report, [d as StartedAction]);
  await settled(target);
  return r;
}

/** Per-connection sshd processes of the target's sshd ("sshd: deploy [priv]", "sshd: deploy@notty"). */
function sshdSessions(): number[] {
  const procs = listProcesses();
  const under = new Set(descendants(target.sshdPid, procs));
  return procs
    .filter((p) => under.has(p.pid) && p.cmdline.startsWith('sshd:') && p.cmdline.includes(target.username))
    .map((p) => p.pid);
}

/** `python3 -m http.server PORT` on 127.0.0.1, as root or as another user; resolves once it listens. */
async function foreignServer(port: number, user?: Pick<Account, 'uid' | 'gid'>): Promise<ChildProcess> {
  const child = spawn('/usr/bin/python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1'], {
    cwd: work,
    stdio: 'ignore',
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  try {
    await waitUntil(`python3 to listen on ${port}`, () => target.listening(port));
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return child;
}

// ---------------------------------------------------------------------------------------------------------

test('0. the baseline: a good deploy under the same load loses no request', async () => {
  const r = await goodDeploy('v2');
  expect(r.outputs['previous-port']).toBe(String(live.port));
});

test('1. the new app crashes at start', async () => {
  const { r } = await faultyDeploy('Health check', {
    jar: await buildDemoJar({ version: 'f1-crash', crash: true }),
  });
  expect(r.stdout).toMatch(/the new app \(pid \d+\) exited before it became healthy/);
  expect(r.stdout).toContain('crash requested');
});

test('2. the new app never turns healthy (health-timeout 3)', async () => {
  const { r } = await faultyDeploy('Health check', {
    jar: await buildDemoJar({ version: 'f2-down', health: 'DOWN' }),
    'health-timeout': '3',
  });
  expect(r.stdout).toMatch(/was not healthy within 3 s; last answer: HTTP 503 \{"status":"DOWN"\}/);
});

test('3. nginx -t rejects the configuration: the include is put back byte for byte', async () => {
  const conf = fs.readFileSync(target.nginxConfig, 'utf8');
  const include = fs.readFileSync(target.nginxInclude);
  // nginx runs with the config it loaded; only a new `nginx -t` (and a reload) would see this line.
  fs.appendFileSync(target.nginxConfig, '\nthis_directive_does_not_exist on;\n');
  try {
    const { r } = await faultyDeploy('Switch nginx', { jar: await buildDemoJar({ version: 'f3' }) });
    expectLog(r, /unknown directive "this_directive_does_not_exist"/);
    expectLog(r, /nginx -t rejected the new configuration/);
    expectLog(r, /the previous configuration was restored; nginx still serves it/);
    expect(fs.readFileSync(target.nginxInclude)).toEqual(include);
  } finally {
    fs.writeFileSync(target.nginxConfig, conf);
  }
});

test('4. the nginx reload fails (systemctl on a host without systemd): the include is put back', async () => {
  const include = fs.readFileSync(target.nginxInclude);
  const { r } = await faultyDeploy('Switch nginx', {
    jar: await buildDemoJar({ version: 'f4' }),
    'nginx-reload': 'systemctl',
  });
  expectLog(r, /nginx reload failed/);
  expectLog(r, /the previous configuration was restored; nginx still serves it/);
  expect(fs.readFileSync(target.nginxInclude)).toEqual(include);
});

test('5. the SSH connection drops during the health check: no switch, the half-started app is stopped on the host', async () => {
  let halfStarted = 0;
  const { r, d } = await faultyDeploy(
    'Health check',
    { jar: await buildDemoJar({ version: 'f5-slow', startDelayMs: 8000 }) },
    async (deploy) => {
      await deploy.waitForLine(/^::group::Health check/);
      halfStarted = await jvmStarted(target, deploy.lines);
      const killed = sshdSessions();
      expect(killed.length).toBeGreaterThan(0);
      for (const pid of killed) process.kill(pid, 'SIGKILL');
    },
  );
  expect(d.lines.some((l) => l.text.startsWith('::group::Switch nginx'))).toBe(false);
  expect(processAlive(halfStarted)).toBe(false);
  // The action saw the link go (it cannot stop the app itself: that is the lock shell's job on the host): in
  // a health probe (the connection) or in the liveness check between probes (the channel).
  expectLog(r, /^::error::.*Health check failed.*(connect|connection|SSH channel closed)/im);
  expect(r.durationMs).toBeLessThan(20_000);
  // The lock went with the session: the next deploy gets it at once and works.
  const next = await goodDeploy('f5-next');
  expectLog(next, /another deploy holds the lock/, false);
});

test('6a. the upload is corrupted on the host: sha256 mismatch, the .part is removed, nothing launched', async () => {
  const big = await bigJar('f6-corrupt', 96);
  const releaseId = `corrupt-${Date.now()}`;
  const part = path.join(target.remoteDir, 'releases', releaseId, 'app.jar.part');
  const size = () => (fs.existsSync(part) ? fs.statSync(part).size : 0);
  const { r } = await faultyDeploy('Upload', { jar: big, 'release-id': releaseId }, async () => {
    // Once the upload is well under way, overwrite its first bytes (internal-sftp writes in order, so they
    // are already on disk and will not be written again).
    await waitUntil(`8 MB of ${part}`, () => size() >= 8 * 1024 * 1024, { timeoutMs: 30_000, intervalMs: 1 });
    const fd = fs.openSync(part, 'r+');
    fs.writeSync(fd, Buffer.from('corrupted by the test'), 0, 21, 0);
    fs.closeSync(fd);
  });
  expectLog(r, /checksum mismatch: expected [0-9a-f]{64}, host has [0-9a-f]{64}/);
  expectLog(r, /::group::Launch/, false);
  expect(fs.existsSync(path.join(target.remoteDir, 'releases', releaseId, 'app.jar'))).toBe(false);
});

test('6b. the disk is full (remote-dir on a 1 MB tmpfs, 3 MB jar): refused before any byte is sent', async () => {
  const big = await bigJar('f6-full', 3);
  const small = fs.mkdtempSync(path.join(target.dir, 'small-disk-'));
  const { uid, gid } = deployAccount();
  const options = `size=1m,mode=755,uid=${uid},gid=${gid}`;
  await execOk('mount', ['-t', 'tmpfs', '-o', options, 'bgd-faults-tmpfs', small]);
  try {
    const { r } = await faultyDeploy('Upload', { jar: big, 'remote-dir': small }, undefined, {
      remoteDir: small,
    });
    expectLog(r, /not enough disk space \(disk full\?\): \d+ KiB free, \d+ KiB needed/);
    expectLog(r, /::group::Launch/, false);
    expect(fs.readdirSync(path.join(small, 'releases'))).toEqual([]);
  } finally {
    await execOk('umount', [small]).catch(() => execOk('umount', ['-l', small]));
  }
});

test('7a. the idle port is held by a process we did not start (deploy user): refused, named, untouched', async () => {
  const port = idlePort();
  const foreign = await foreignServer(port, deployAccount());
  try {
    const { r } = await faultyDeploy(
      'Detect ports',
      { jar: await buildDemoJar({ version: 'f7' }) },
      undefined,
      {
        idleHeld: true,
      },
    );
    expectLog(
      r,
      new RegExp(
        `idle port ${port} is held by pid ${foreign.pid} \\(/usr/bin/python3 -m http\\.server ${port} --bind 127\\.0\\.0\\.1\\), which this action did not start; refusing to touch it`,
      ),
    );
    expect(processAlive(foreign.pid as number)).toBe(true);
    expect(target.listening(port)).toBe(true);
  } finally {
    await stopChild(foreign);
  }
});

test('7b. the idle port is held by a root process the deploy user cannot see: refused, untouched', async () => {
  const port = idlePort();
  const foreign = await foreignServer(port);
  try {
    const { r } = await faultyDeploy(
      'Detect ports',
      { jar: await buildDemoJar({ version: 'f7' }) },
      undefined,
      {
        idleHeld: true,
      },
    );
    expectLog(
      r,
      new RegExp(
        `idle port ${port} is held by a process the deploy user cannot see \\(owned by another user\\), which this action did not start; refusing to touch it`,
      ),
    );
    expect(processAlive(foreign.pid as number)).toBe(true);
    expect(target.listening(port)).toBe(true);
  } finally {
    await stopChild(foreign);
  }
});

test('8. the runner cancels (SIGINT) during the health check: the new app is stopped, the lock released', async () => {
  let halfStarted = 0;
  let signalled = 0;
  const { r, d } = await faultyDeploy(
    'Health check',
    { jar: await buildDemoJar({ version: 'f8-slow', startDelayMs: 8000 }) },
    async (deploy) => {
      await deploy.waitForLine(/^::group::Health check/);
      halfStarted = await jvmStarted(target, deploy.lines);
      signalled = Date.now();
      deploy.child.kill('SIGINT');
    },
  );
  expectLog(r, /received SIGINT: cancelling the deploy; the old version keeps serving/);
  expectLog(r, /: Health check failed: the deploy was cancelled/);
  expectLog(r, /undo: stop the new app/);
  expect(d.lines.some((l) => l.text.startsWith('::group::Switch nginx'))).toBe(false);
  expect(processAlive(halfStarted)).toBe(false);
  expect(Date.now() - signalled).toBeLessThan(15_000);
  const next = await goodDeploy('f8-next', { 'lock-timeout': '5' });
  expectLog(next, /another deploy holds the lock/, false);
});
