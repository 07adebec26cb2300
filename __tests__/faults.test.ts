// Faults leave the old version serving: every case deploys a broken or interrupted release UNDER LOAD through
// nginx and checks that the deploy fails naming its step, that not one request failed, that the old app still
// answers and is the only app left, and that the include and the releases carry no trace of the attempt.
// Runs the bundled action (dist/index.js) against a real loopback target (sshd, nginx, JVMs, narrow sudo).
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildDemoJar, type DemoJarOptions } from '../test-target/demo-jar.js';
import { processAlive, startTarget, type Target } from '../test-target/harness.js';
import { type LoadReport, underLoad as loadWhile } from '../test-target/load.js';
import {
  startAction,
  targetInputs,
  type ActionResult,
  type StartedAction,
} from '../test-target/run-action.js';

jest.setTimeout(60_000);

let target: Target;
let work: string;
/** The version that serves between the cases. */
const live = { version: '', port: 0, pid: 0 };

// ---------------------------------------------------------------------------------------------------------
// helpers

type Deploy = StartedAction;

/** Starts the action on the target; every stdout line is kept with the time it arrived. */
function startDeploy(inputs: Record<string, string>, env: Record<string, string> = {}): Deploy {
  return startAction({ inputs: targetInputs(target, inputs), env });
}

async function jar(opts: DemoJarOptions): Promise<string> {
  return buildDemoJar(opts);
}

/** A demo jar with an extra stored (uncompressed) entry of random bytes, so it is about `mb` MB large. */
async function bigJar(version: string, mb: number): Promise<string> {
  const base = await buildDemoJar({ version });
  const dir = fs.mkdtempSync(path.join(work, 'big-'));
  const out = path.join(dir, `demo-${version}-${mb}mb.jar`);
  fs.copyFileSync(base, out);
  fs.writeFileSync(path.join(dir, 'padding.bin'), randomBytes(mb * 1024 * 1024));
  await run('jar', ['--update', '--no-compress', '--file', out, '-C', dir, 'padding.bin']);
  fs.rmSync(path.join(dir, 'padding.bin'));
  return out;
}

function run(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${file} ${args.join(' ')}: ${code} ${err}`)),
    );
  });
}

/** Runs fn while 20 clients load nginx (every second request /slow?ms=200); returns the load report too. */
function underLoad<T>(fn: () => Promise<T>): Promise<{ result: T; report: LoadReport }> {
  return loadWhile(target.nginxUrl, fn);
}

/** Fails with the load's failures placed on the deploy's timeline (ms since the action started). */
function expectNoFailedRequests(report: LoadReport, deploy?: Deploy): void {
  expect(report.total).toBeGreaterThan(20);
  if (report.failed === 0) return;
  const t0 = deploy?.started ?? report.startedAt;
  const failures = report.failures
    .map(
      (f) =>
        `  +${f.atMs + report.startedAt - t0} ms (sent +${f.sentMs + report.startedAt - t0}) ${f.path} ${f.status} ${f.error}${f.reused ? ' (reused connection)' : ''}`,
    )
    .join('\n');
  const steps = (deploy?.lines ?? [])
    .filter((l) => /^::group::|^::error::|: (ok|failed) in |received SIG/.test(l.text))
    .map((l) => `  +${l.at - t0} ms ${l.text}`)
    .join('\n');
  throw new Error(
    `${report.failed} of ${report.total} requests failed (${JSON.stringify(report.byStatus)} ${JSON.stringify(report.errors)})\nfailures:\n${failures}\naction timeline:\n${steps}`,
  );
}

async function waitUntil(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

function filesIn(dir: string, re: RegExp): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (re.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** The log without the debug and mask lines. */
function readable(r: ActionResult): string {
  return r.log
    .split('\n')
    .filter((l) => !l.startsWith('::debug::') && !l.startsWith('::add-mask::'))
    .join('\n');
}

/** Like expect(r.stdout).toMatch(re) (or not), but a failure shows the readable log. */
function expectLog(r: ActionResult, re: RegExp, present = true): void {
  if (re.test(r.stdout) !== present) {
    throw new Error(`expected the log ${present ? '' : 'not '}to match ${re}; log:\n${readable(r)}`);
  }
}

function idlePort(): number {
  return live.port === target.bluePort ? target.greenPort : target.bluePort;
}

interface FaultOptions {
  /** remote-dir of the faulty deploy, when not the target's. */
  remoteDir?: string;
  /** The idle port is held by a foreign process on purpose. */
  idleHeld?: boolean;
}

/** What must hold after any failed deploy: the old version serves, alone, and nothing of the attempt is left. */
async function expectOldVersionKept(
  r: ActionResult,
  step: string,
  report: LoadReport,
  deploy: Deploy,
  include: string,
  { remoteDir = target.remoteDir, idleHeld = false }: FaultOptions = {},
): Promise<void> {
  if (r.code === 0) throw new Error(`the faulty deploy succeeded:\n${readable(r)}`);
  expectLog(r, new RegExp(`^::error::${step} failed: `, 'm'));
  expectLog(
    r,
    new RegExp(
      `^::error::127\\.0\\.0\\.1:${target.sshPort}: ${step} failed on 127\\.0\\.0\\.1:${target.sshPort}: `,
      'm',
    ),
  );
  expect(r.summary).toMatch(/^## Blue\/green deploy failed/);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=${live.version} port=${live.port}\n` });
  expectNoFailedRequests(report, deploy);
  expect(Object.keys(report.versions)).toEqual([live.version]);
  // Only the old app, after at most a few seconds (a stopped app may take a moment to exit).
  await waitUntil(
    `only pid ${live.pid} left (have ${JSON.stringify(target.appProcesses())})`,
    () => {
      const apps = target.appProcesses();
      return apps.length === 1 && apps[0].pid === live.pid;
    },
    15_000,
  );
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
  during?: (d: Deploy) => Promise<void>,
  options: FaultOptions = {},
): Promise<{ r: ActionResult; d: Deploy }> {
  const include = target.readInclude();
  let d: Deploy | undefined;
  const { result: r, report } = await underLoad(async () => {
    d = startDeploy(inputs);
    await during?.(d);
    return d.done;
  });
  await expectOldVersionKept(r, step, report, d as Deploy, include, options);
  return { r, d: d as Deploy };
}

/** A normal deploy (under load) that must succeed; updates `live`. */
async function goodDeploy(version: string, extra: Record<string, string> = {}): Promise<ActionResult> {
  const idle = idlePort();
  let d: Deploy | undefined;
  const { result: r, report } = await underLoad(async () => {
    d = startDeploy({ jar: await jar({ version }), ...extra });
    return d.done;
  });
  if (r.code !== 0) throw new Error(`deploy of ${version} failed (${r.code}):\n${readable(r)}`);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=${version} port=${idle}\n` });
  expectNoFailedRequests(report, d);
  const previous = live.pid;
  if (previous) await waitUntil(`old pid ${previous} to exit`, () => !processAlive(previous), 15_000);
  const apps = target.appProcesses();
  expect(apps).toHaveLength(1);
  Object.assign(live, { version, port: idle, pid: apps[0].pid });
  return r;
}

/** Per-connection sshd processes of the target's sshd ("sshd: deploy [priv]", "sshd: deploy@notty"). */
function sshdSessions(): number[] {
  const parent = new Map<number, number>();
  const cmd = new Map<number, string>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      cmd.set(Number(name), fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim());
    } catch {
      // gone
    }
  }
  const under = (pid: number): boolean => {
    for (let p = parent.get(pid); p; p = parent.get(p)) if (p === target.sshdPid) return true;
    return false;
  };
  return [...cmd.entries()]
    .filter(([pid, c]) => under(pid) && c.startsWith('sshd:') && c.includes(target.username))
    .map(([pid]) => pid);
}

function launchedPid(d: Deploy): number {
  const line = d.lines.find((l) => /^pid \d+, log /.test(l.text));
  if (!line) throw new Error(`no launch line in:\n${d.lines.map((l) => l.text).join('\n')}`);
  return Number(/^pid (\d+)/.exec(line.text)?.[1]);
}

function deployUser(): { uid: number; gid: number } {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('deploy:'));
  if (!line) throw new Error('no deploy user');
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** `python3 -m http.server PORT` on 127.0.0.1, as root or as another user; resolves once it listens. */
async function foreignServer(port: number, user?: { uid: number; gid: number }): Promise<ChildProcess> {
  const child = spawn('/usr/bin/python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1'], {
    cwd: work,
    stdio: 'ignore',
    ...(user ?? {}),
  });
  await waitUntil(`python3 to listen on ${port}`, () => target.listening(port), 10_000);
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const closed = new Promise((r) => child.once('close', r));
  child.kill('SIGTERM');
  await Promise.race([closed, sleep(5000).then(() => child.kill('SIGKILL'))]);
  await closed;
}

// ---------------------------------------------------------------------------------------------------------

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'bgd-faults-'));
  fs.chmodSync(work, 0o755);
  target = await startTarget();
  // v1 normally, then v2 under load: the baseline that a good deploy loses no request.
  const d = startDeploy({ jar: await jar({ version: 'v1' }) });
  const r = await d.done;
  if (r.code !== 0) throw new Error(`v1 failed:\n${readable(r)}`);
  Object.assign(live, { version: 'v1', port: target.bluePort, pid: target.appProcesses()[0].pid });
  await goodDeploy('v2');
});

afterAll(async () => {
  await target?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('1. the new app crashes at start', async () => {
  const { r } = await faultyDeploy('Health check', { jar: await jar({ version: 'f1-crash', crash: true }) });
  expectLog(r, /the new app \(pid \d+\) exited before it became healthy/);
  expectLog(r, /crash requested/);
});

test('2. the new app never turns healthy (health-timeout 3)', async () => {
  const { r } = await faultyDeploy('Health check', {
    jar: await jar({ version: 'f2-down', health: 'DOWN' }),
    'health-timeout': '3',
  });
  expectLog(r, /was not healthy within 3 s; last answer: HTTP 503 \{"status":"DOWN"\}/);
});

test('3. nginx -t rejects the configuration: the include is put back byte for byte', async () => {
  const conf = fs.readFileSync(target.nginxConfig, 'utf8');
  const include = target.readInclude();
  // nginx runs with the config it loaded; only a new `nginx -t` (and a reload) would see this line.
  fs.appendFileSync(target.nginxConfig, '\nthis_directive_does_not_exist on;\n');
  try {
    const { r } = await faultyDeploy('Switch nginx', { jar: await jar({ version: 'f3' }) });
    expectLog(r, /unknown directive "this_directive_does_not_exist"/);
    expectLog(r, /nginx -t rejected the configuration with the new include/);
    expectLog(r, /the previous include was restored/);
    expect(fs.readFileSync(target.nginxInclude)).toEqual(Buffer.from(include));
  } finally {
    fs.writeFileSync(target.nginxConfig, conf);
  }
});

test('4. the nginx reload fails (systemctl on a host without systemd): the include is put back', async () => {
  const include = target.readInclude();
  const { r } = await faultyDeploy('Switch nginx', {
    jar: await jar({ version: 'f4' }),
    'nginx-reload': 'systemctl',
  });
  expectLog(r, /nginx reload failed/);
  expectLog(r, /the previous include was restored/);
  expect(fs.readFileSync(target.nginxInclude)).toEqual(Buffer.from(include));
});

test('6a. the upload is corrupted on the host: sha256 mismatch, the .part is removed, nothing launched', async () => {
  const big = await bigJar('f6-corrupt', 96);
  const releaseId = `corrupt-${Date.now()}`;
  const part = path.join(target.remoteDir, 'releases', releaseId, 'app.jar.part');
  let corrupted = false;
  const { r } = await faultyDeploy('Upload', { jar: big, 'release-id': releaseId }, async () => {
    // Once the upload is well under way, overwrite its first bytes (internal-sftp writes in order, so they
    // are already on disk and will not be written again).
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      let size = 0;
      try {
        size = fs.statSync(part).size;
      } catch {
        // not yet there
      }
      if (size >= 8 * 1024 * 1024) {
        const fd = fs.openSync(part, 'r+');
        fs.writeSync(fd, Buffer.from('corrupted by the test'), 0, 21, 0);
        fs.closeSync(fd);
        corrupted = true;
        return;
      }
      await new Promise((res) => setImmediate(res));
    }
  });
  expect(corrupted).toBe(true);
  expectLog(r, /checksum mismatch: expected [0-9a-f]{64}, host has [0-9a-f]{64}/);
  expectLog(r, /::group::Launch/, false);
  expect(fs.existsSync(path.join(target.remoteDir, 'releases', releaseId, 'app.jar'))).toBe(false);
});

test('6b. the disk is full (remote-dir on a 1 MB tmpfs, 3 MB jar): refused before any byte is sent', async () => {
  const big = await bigJar('f6-full', 3);
  const small = path.join(target.dir, 'small-disk');
  fs.mkdirSync(small);
  const { uid, gid } = deployUser();
  await run('mount', [
    '-t',
    'tmpfs',
    '-o',
    `size=1m,mode=755,uid=${uid},gid=${gid}`,
    'bgd-faults-tmpfs',
    small,
  ]);
  try {
    const { r } = await faultyDeploy('Upload', { jar: big, 'remote-dir': small }, undefined, {
      remoteDir: small,
    });
    expectLog(r, /not enough disk space \(disk full\?\): \d+ KiB free, \d+ KiB needed/);
    expectLog(r, /::group::Launch/, false);
    expect(fs.readdirSync(path.join(small, 'releases'))).toEqual([]);
  } finally {
    await run('umount', [small]).catch(() => run('umount', ['-l', small]));
  }
});

test('7a. the idle port is held by a process we did not start (deploy user): refused, named, untouched', async () => {
  const port = idlePort();
  const foreign = await foreignServer(port, deployUser());
  try {
    const { r } = await faultyDeploy('Detect ports', { jar: await jar({ version: 'f7' }) }, undefined, {
      idleHeld: true,
    });
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
    const { r } = await faultyDeploy('Detect ports', { jar: await jar({ version: 'f7' }) }, undefined, {
      idleHeld: true,
    });
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

test('5. the SSH connection drops during the health check: no switch, the half-started app is stopped on the host', async () => {
  let killed: number[] = [];
  let halfStarted = 0;
  const { r, d } = await faultyDeploy(
    'Health check',
    { jar: await jar({ version: 'f5-slow', startDelayMs: 8000 }) },
    async (deploy) => {
      await deploy.waitForLine(/^::group::Health check/);
      halfStarted = launchedPid(deploy);
      await sleep(1000);
      expect(processAlive(halfStarted)).toBe(true);
      killed = sshdSessions();
      expect(killed.length).toBeGreaterThan(0);
      for (const pid of killed) process.kill(pid, 'SIGKILL');
    },
  );
  expect(d.lines.some((l) => l.text.startsWith('::group::Switch nginx'))).toBe(false);
  expect(processAlive(halfStarted)).toBe(false);
  // The action saw the link go (it cannot stop the app itself: that is the lock shell's job on the host).
  expectLog(r, /^::error::Health check failed: .*(connect|connection)/im);
  expect(r.durationMs).toBeLessThan(20_000);
  // The lock went with the session: the next deploy gets it at once and works.
  const next = await goodDeploy('v3');
  expectLog(next, /another deploy holds the lock/, false);
});

test('8. the runner cancels (SIGINT) during the health check: the new app is stopped, the lock released', async () => {
  let halfStarted = 0;
  let signalled = 0;
  const { r, d } = await faultyDeploy(
    'Health check',
    { jar: await jar({ version: 'f8-slow', startDelayMs: 8000 }) },
    async (deploy) => {
      await deploy.waitForLine(/^::group::Health check/);
      halfStarted = launchedPid(deploy);
      await sleep(1000);
      signalled = Date.now();
      deploy.child.kill('SIGINT');
    },
  );
  expectLog(r, /received SIGINT: cancelling the deploy; the old version keeps serving/);
  expectLog(r, /Health check failed on .*: the deploy was cancelled/);
  expectLog(r, /undo: stop the new app/);
  expect(d.lines.some((l) => l.text.startsWith('::group::Switch nginx'))).toBe(false);
  expect(processAlive(halfStarted)).toBe(false);
  expect(Date.now() - signalled).toBeLessThan(15_000);
  const next = await goodDeploy('v4', { 'lock-timeout': '5' });
  expectLog(next, /another deploy holds the lock/, false);
});
