// Never leave the site down (issue 8), the faults: a stranger answering the health check, a full disk on a
// redeploy of the same jar, a deploy user whose umask is 027. Each deploy runs the bundled action under load
// through nginx (0 failed requests); a failed one must name its step in its one ::error:: line and leave
// nothing of the attempt behind: the old app serves alone, the idle port is free, the include and the upstream
// file have their bytes, run/ its records. Every case starts from what the target serves and puts back what it
// changed, also when it fails.
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildDemoJar } from '../test-target/demo-jar.js';
import { execOk } from '../test-target/exec.js';
import { processAlive, stopChild } from '../test-target/processes.js';
import {
  runAction,
  startAction,
  stopStartedActions,
  targetInputs,
  type ActionResult,
  type StartedAction,
} from '../test-target/run-action.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { deployAccount } from '../test-target/users.js';
import { waitUntil } from '../test-target/wait.js';
import { errors, expectLog, expectSuccess, jvmStarted, readable } from './support/action.js';
import { expectNoFailedRequests, whileLoaded } from './support/load.js';
import { ensureServing, otherPort, serving, settled, type Live } from './support/serving.js';

jest.setTimeout(180_000);

let target: Target;
let work: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'bgd-stays-up-faults-'));
  fs.chmodSync(work, 0o755);
  target = await startTarget();
});
afterEach(stopStartedActions);
afterAll(async () => {
  await target.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------
// helpers

/** Every file of a folder (not recursive) with its bytes; {} when there is no such folder. */
function filesOf(dir: string): Record<string, string> {
  const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  return Object.fromEntries(names.map((n) => [n, fs.readFileSync(path.join(dir, n), 'latin1')]));
}

/** What routes traffic and what records our apps: compared byte for byte before and after a failed deploy. */
function routingAndRecords(remoteDir: string) {
  const upstream = target.localPath(target.nginxUpstreamFile);
  return {
    include: fs.readFileSync(target.localPath(target.nginxInclude), 'latin1'),
    upstream: fs.existsSync(upstream) ? fs.readFileSync(upstream, 'latin1') : null,
    run: filesOf(path.join(remoteDir, 'run')),
  };
}

interface Attempt {
  /** remote-dir of the deploy, when not the target's. */
  remoteDir?: string;
  /** The idle port is held by a foreign process on purpose (stopped by the test afterwards). */
  idleHeld?: boolean;
  /** Runs while the deploy runs (under the same load). */
  during?: (d: StartedAction) => Promise<void>;
}

/**
 * A deploy under load that must fail at `step` and leave `live` serving alone, with nothing of the attempt
 * left: no extra process, no listener on the idle port, routing files and run/ records as they were.
 */
async function failsCleanly(live: Live, step: string, inputs: Record<string, string>, attempt: Attempt = {}) {
  const { remoteDir = target.remoteDir, idleHeld = false, during } = attempt;
  const before = routingAndRecords(remoteDir);
  let d: StartedAction | undefined;
  const { result: r, report } = await whileLoaded(target, async () => {
    d = startAction({ inputs: targetInputs(target, { ...inputs, 'remote-dir': remoteDir }) });
    await during?.(d);
    return d.done;
  });
  const deploy = d as StartedAction;
  if (r.code === 0) throw new Error(`the faulty deploy succeeded:\n${readable(r)}`);
  expectNoFailedRequests(report, [deploy]);
  expect(Object.keys(report.versions)).toEqual([live.version]);
  expect(errors(r)).toHaveLength(1);
  expectLog(r, new RegExp(`^::error::127\\.0\\.0\\.1:${target.sshPort}: ${step} failed: `, 'm'));
  expectLog(r, /^::group::Switch nginx/m, false);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=${live.version} port=${live.port}\n` });
  await settled(target);
  expect(target.appProcesses().map((p) => p.pid)).toEqual([live.pid]);
  if (!idleHeld) expect(target.listening(otherPort(target, live.port))).toBe(false);
  expect(routingAndRecords(remoteDir)).toEqual(before);
  expect(fs.existsSync(path.join(remoteDir, 'run', 'pending'))).toBe(false);
  return { r, d: deploy };
}

/** A deploy under load that must succeed, with not one failed request. */
async function succeedsUnderLoad(inputs: Record<string, string>): Promise<ActionResult> {
  let d: StartedAction | undefined;
  const { result: r, report } = await whileLoaded(target, () => {
    d = startAction({ inputs: targetInputs(target, inputs) });
    return d.done;
  });
  expectSuccess(r);
  expectNoFailedRequests(report, [d as StartedAction]);
  await settled(target);
  return r;
}

/**
 * A stranger on `port`, as the deploy user (so it sees the pid): `python3 -m http.server` serving a folder
 * whose actuator/health file holds {"status":"UP"}. Resolves once it listens.
 */
async function foreignHealthyServer(port: number): Promise<ChildProcess> {
  const root = fs.mkdtempSync(path.join(work, 'foreign-'));
  fs.mkdirSync(path.join(root, 'actuator'));
  fs.writeFileSync(path.join(root, 'actuator', 'health'), '{"status":"UP"}');
  for (const p of [root, path.join(root, 'actuator')]) fs.chmodSync(p, 0o755);
  const { uid, gid } = deployAccount();
  const args = ['-m', 'http.server', String(port), '--bind', '127.0.0.1'];
  const child = spawn('/usr/bin/python3', args, { cwd: root, stdio: 'ignore', uid, gid });
  try {
    await waitUntil(`python3 to listen on ${port}`, () => target.listening(port));
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return child;
}

// ---------------------------------------------------------------------------------------------------------

test('a stranger answers the health check on the idle port: refused naming its pid, left running; our JVM stopped', async () => {
  const live = await ensureServing(target, 'sf1-live');
  const idle = otherPort(target, live.port);
  // The new build ignores --server.port (it listens on some free port) and stays alive.
  const jar = await buildDemoJar({ version: 'sf1-elsewhere', listenPort: 0 });
  let foreign: ChildProcess | undefined;
  let launched = 0;
  try {
    const { r } = await failsCleanly(
      live,
      'Health check',
      { jar, 'health-timeout': '90' },
      {
        idleHeld: true,
        during: async (d) => {
          await d.waitForLine(/^::group::Health check/);
          launched = await jvmStarted(target, d.lines);
          foreign = await foreignHealthyServer(idle);
        },
      },
    );
    const stranger = (foreign as ChildProcess).pid as number;
    expect(errors(r)[0]).toContain(
      `Health check failed: port ${idle} answered healthy, but it is served by pid ${stranger}, not by the app this deploy launched (pid ${launched}); nothing was switched`,
    );
    expectLog(r, /undo: stop the new app/);
    expect(processAlive(launched)).toBe(false);
    expect(processAlive(stranger)).toBe(true);
    expect(target.listening(idle)).toBe(true);
  } finally {
    if (foreign) await stopChild(foreign);
  }
  expect(target.listening(idle)).toBe(false);
});

/** Fills the file system of `dir` (as root: a tmpfs keeps nothing back for root) with `dir/filler`. */
function fillDisk(dir: string): void {
  const fd = fs.openSync(path.join(dir, 'filler'), 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    fs.closeSync(fd);
  }
}

const isUnder = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);

/** Puts the app back in the target's remote-dir if it runs from `dir` (a deploy that moves it), then unmounts. */
async function leaveDisk(dir: string): Promise<void> {
  fs.rmSync(path.join(dir, 'filler'), { force: true });
  const now = await serving(target).catch(() => null);
  if (now && isUnder(fs.readlinkSync(`/proc/${now.pid}/cwd`), dir)) {
    const back = await runAction({
      inputs: targetInputs(target, { jar: await buildDemoJar({ version: 'sf2-back' }), 'bake-time': '1' }),
    });
    expectSuccess(back, 'the deploy back to the remote-dir of the target');
    await settled(target);
  }
  await waitUntil(
    `${dir} to unmount`,
    () =>
      execOk('umount', [dir]).then(
        () => true,
        () => false,
      ),
    {
      timeoutMs: 15_000,
    },
  ).catch(() => execOk('umount', ['-l', dir]));
}

test('a full disk on a redeploy of the same jar: refused before anything (the run cannot be recorded), nothing launched or left', async () => {
  await ensureServing(target, 'sf2-base');
  const small = fs.mkdtempSync(path.join(target.dir, 'full-disk-'));
  const { uid, gid } = deployAccount();
  await execOk('mount', [
    '-t',
    'tmpfs',
    '-o',
    `size=16m,mode=755,uid=${uid},gid=${gid}`,
    'bgd-sf-tmpfs',
    small,
  ]);
  try {
    // The jar is on the host: the app of this remote-dir serves it (the target's own app was moved over).
    const jar = await buildDemoJar({ version: 'sf2-same' });
    expectSuccess(
      await runAction({ inputs: targetInputs(target, { jar, 'remote-dir': small, 'bake-time': '1' }) }),
    );
    const live = await ensureServing(target);
    expect(live.version).toBe('sf2-same');
    const releases = fs.readdirSync(path.join(small, 'releases'));
    expect(releases).toHaveLength(1);
    fillDisk(small);
    expect(fs.statfsSync(small).bavail).toBe(0);

    // The run cannot even be recorded: it stops there, before anything is claimed or launched.
    const { r } = await failsCleanly(live, 'History', { jar }, { remoteDir: small });
    expect(errors(r)[0]).toContain(
      `History failed: cannot record the run in ${small}/history.jsonl; nothing was changed`,
    );
    expect(errors(r)[0]).toContain('No space left on device');
    expectLog(r, /^::group::Launch/m, false);
    // No half-made release: only the one that serves.
    expect(fs.readdirSync(path.join(small, 'releases'))).toEqual(releases);
  } finally {
    await leaveDisk(small);
  }
});

/** Files the deploy user reads later: its own and owner-readable; what nginx and Detect read: root's, 644. */
function expectReadable(remoteDir: string, releaseId: string): void {
  const { uid } = deployAccount();
  const mode = (p: string) => fs.statSync(p).mode & 0o777;
  for (const file of [target.nginxInclude, target.nginxUpstreamFile].map((p) => target.localPath(p))) {
    expect({ file, mode: mode(file), uid: fs.statSync(file).uid }).toEqual({ file, mode: 0o644, uid: 0 });
  }
  const release = path.join(remoteDir, 'releases', releaseId);
  // The umask was in force: the folder the deploy made is not world-readable.
  expect(mode(release)).toBe(0o750);
  const envFiles = [target.bluePort, target.greenPort].map((port) => `app-${port}.env`);
  const files = [...['app.jar', 'app.jar.sha256', 'app.log', ...envFiles].map((f) => path.join(release, f))];
  files.push(...fs.readdirSync(path.join(remoteDir, 'run')).map((f) => path.join(remoteDir, 'run', f)));
  for (const file of files.filter((f) => !f.endsWith('.lock'))) {
    const st = fs.statSync(file);
    expect({ file, uid: st.uid, ownerReads: (st.mode & 0o400) !== 0 }).toEqual({
      file,
      uid,
      ownerReads: true,
    });
  }
  for (const f of envFiles) expect(mode(path.join(release, f))).toBe(0o600);
}

test('a deploy user with umask 027 in its login shell: two deploys in a row, everything read later is readable', async () => {
  await ensureServing(target, 'sf3-base');
  const { home, uid, gid } = deployAccount();
  const rcFiles = ['.profile', '.bashrc'].map((f) => path.join(home, f));
  const saved = rcFiles.map((f) => (fs.existsSync(f) ? fs.readFileSync(f) : null));
  try {
    // First thing in the file: Debian's .bashrc returns early for a non-interactive shell (a command over SSH).
    rcFiles.forEach((f, i) => {
      fs.writeFileSync(f, Buffer.concat([Buffer.from('umask 027\n'), saved[i] ?? Buffer.alloc(0)]));
      fs.chownSync(f, uid, gid);
    });
    expect((await target.ssh('umask')).stdout.trim()).toBe('0027');
    for (const version of ['sf3-a', 'sf3-b']) {
      const jar = await buildDemoJar({ version });
      const r = await succeedsUnderLoad({ jar, 'bake-time': '2', env: 'SF3=1' });
      expect((await serving(target))?.version).toBe(version);
      expectReadable(target.remoteDir, r.outputs['release-id']);
    }
  } finally {
    rcFiles.forEach((f, i) => {
      const bytes = saved[i];
      if (bytes) fs.writeFileSync(f, bytes);
      else fs.rmSync(f, { force: true });
    });
  }
});
