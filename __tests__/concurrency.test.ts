// Two deploys to the same host never interleave: the second waits for the first's lock (and says whose it is),
// gives up at lock-timeout naming the holder, and a killed run never blocks the next one (the lock belongs to
// a shell of the killed run's SSH session, and the kernel drops it with that shell).
// Runs the bundled action (dist/index.js) against a real loopback target, under load through nginx. Each test
// starts from what the target serves at that moment, so the tests pass alone and in any order.
import { jest } from '@jest/globals';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { buildDemoJar } from '../test-target/demo-jar.js';
import { exec } from '../test-target/exec.js';
import { processAlive, stopChild } from '../test-target/processes.js';
import {
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
import { jvmStarted, readableLines } from './support/action.js';
import { expectNoFailedRequests, whileLoaded } from './support/load.js';
import { ensureServing, otherPort, serving, settled, type Live } from './support/serving.js';

jest.setTimeout(60_000);

let target: Target;
/** What serves when a test starts. */
let live: Live;

interface Deploy extends StartedAction {
  label: string;
  runId: string;
  version: string;
  /** Arrival time of the first stdout line matching re. */
  at(re: RegExp): number | undefined;
}

beforeAll(async () => {
  target = await startTarget();
});

afterEach(stopStartedActions);
afterAll(async () => {
  await target.stop();
});

beforeEach(async () => {
  live = await ensureServing(target, 'c0');
});

/** Starts the action as run `runId`; every stdout line is kept with the time it arrived. */
function startDeploy(
  runId: string,
  version: string,
  jar: string,
  extra: Record<string, string> = {},
): Deploy {
  const action = startAction({
    inputs: targetInputs(target, { jar, ...extra }),
    env: { GITHUB_RUN_ID: runId },
  });
  const at = (re: RegExp) => action.lines.find((l) => re.test(l.text))?.at;
  return { ...action, label: `run ${runId}`, runId, version, at };
}

function expectSuccess(d: Deploy, r: ActionResult): void {
  if (r.code !== 0)
    throw new Error(`run ${d.runId} (${d.version}) failed (${r.code}):\n${readableLines(d.lines)}`);
}

/** After a deploy of `version` to `port`: it serves, alone. */
async function expectServing(version: string, port: number): Promise<void> {
  expect(await target.get('/')).toEqual({ status: 200, body: `version=${version} port=${port}\n` });
  await settled(target);
}

function lockSeconds(d: Deploy): number {
  const line = d.lines.find((l) => l.text.startsWith('Lock: ok in '));
  if (!line) throw new Error(`run ${d.runId}: no Lock step result:\n${readableLines(d.lines)}`);
  return Number(/in ([\d.]+) s/.exec(line.text)?.[1]);
}

test('(a) two deploys started at once run one after the other; the second names the first; no request fails', async () => {
  const [jar1, jar2] = await Promise.all([
    buildDemoJar({ version: 'c1', startDelayMs: 3000 }),
    buildDemoJar({ version: 'c2', startDelayMs: 3000 }),
  ]);
  const deploys = [startDeploy('111', 'c1', jar1), startDeploy('222', 'c2', jar2)];
  const { result: results, report } = await whileLoaded(target, () =>
    Promise.all(deploys.map((d) => d.done)),
  );
  deploys.forEach((d, i) => {
    expectSuccess(d, results[i]);
  });

  // Exactly one waited, and its log names the other's run.
  const waited = deploys.filter((d) => d.lines.some((l) => l.text.includes('another deploy holds the lock')));
  expect(waited.map((d) => d.runId)).toHaveLength(1);
  const second = waited[0];
  const first = deploys.find((d) => d !== second) as Deploy;
  const waitLine = second.lines.find((l) => l.text.includes('another deploy holds the lock'))?.text ?? '';
  expect(waitLine).toMatch(
    new RegExp(
      `^another deploy holds the lock \\(run ${first.runId} by test-runner of example/app since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\s*\\); waiting up to 300 s$`,
    ),
  );

  // No interleaving: the second got the lock only after the first's last step, and went on from there.
  const firstLastStep = Math.max(...first.lines.filter((l) => /: ok in \d/.test(l.text)).map((l) => l.at));
  const secondLocked = second.at(/^holding .*\.deploy\.lock$/) as number;
  expect(secondLocked).toBeGreaterThanOrEqual(firstLastStep);
  expect(second.at(/^::group::Detect ports/)).toBeGreaterThanOrEqual(firstLastStep);
  expect(first.at(/^::group::Switch nginx/)).toBeLessThan(second.at(/^::group::Launch on/) as number);

  // The second's version is the one left serving, on the port the first vacated.
  const firstPort = otherPort(target, live.port);
  const secondPort = live.port;
  expect(results[deploys.indexOf(first)].outputs['active-port']).toBe(String(firstPort));
  expect(results[deploys.indexOf(second)].outputs['active-port']).toBe(String(secondPort));
  expect(results[deploys.indexOf(second)].outputs['previous-port']).toBe(String(firstPort));
  await expectServing(second.version, secondPort);

  expectNoFailedRequests(report, deploys);
  expect(report.versions[first.version]).toBeGreaterThan(0);
  expect(report.lastVersion).toBe(second.version);
});

test('(b) lock-timeout: a second deploy gives up after 1 s and names who holds the lock', async () => {
  const [jar3, jar4] = await Promise.all([
    buildDemoJar({ version: 'c3', startDelayMs: 4000 }),
    buildDemoJar({ version: 'c4' }),
  ]);
  let l: Deploy | undefined;
  const h = startDeploy('333', 'c3', jar3);
  const {
    result: [rHolder, rLoser, holderStillRunning],
    report,
  } = await whileLoaded(target, async () => {
    await h.waitForLine(/^holding .*\.deploy\.lock$/);
    l = startDeploy('444', 'c4', jar4, { 'lock-timeout': '1' });
    const r = await l.done;
    const running = h.child.exitCode === null && h.child.signalCode === null;
    return [await h.done, r, running] as const;
  });
  const loser = l as Deploy;
  expectSuccess(h, rHolder);
  expect(holderStillRunning).toBe(true); // the holder was at work the whole time
  expect(rLoser.code).not.toBe(0);
  const lockFile = `${target.remoteDir}/.deploy.lock`;
  const lines = readableLines(loser.lines);
  expect(lines).toMatch(/^another deploy holds the lock \(run 333 by test-runner/m);
  expect(lines).toMatch(
    new RegExp(
      `^::error::.*Lock failed.*lock-timeout: another deploy still holds ${lockFile} after 1 s \\(run 333 by test-runner of example/app since [^)]+\\)`,
      'm',
    ),
  );
  expect(lines).not.toMatch(/::group::Detect ports/);
  expect(rLoser.durationMs).toBeLessThan(10_000);
  await expectServing('c3', otherPort(target, live.port));
  expectNoFailedRequests(report, [h, loser]);
});

test('(c) a run killed while it holds the lock never blocks: the next deploy gets the lock at once', async () => {
  const [jar5, jar6] = await Promise.all([
    buildDemoJar({ version: 'c5', startDelayMs: 5000 }),
    buildDemoJar({ version: 'c6' }),
  ]);
  let halfStarted = 0;
  let n: Deploy | undefined;
  const killed = startDeploy('555', 'c5', jar5);
  const { result, report } = await whileLoaded(target, async () => {
    await killed.waitForLine(/^::group::Health check/);
    halfStarted = await jvmStarted(target, killed.lines);
    killed.child.kill('SIGKILL');
    const rKilled = await killed.done;
    expect(rKilled.signal).toBe('SIGKILL');
    n = startDeploy('666', 'c6', jar6, { 'lock-timeout': '30' });
    return n.done;
  });
  const next = n as Deploy;
  expectSuccess(next, result);
  // The lock shell of the dead session stopped the half-started app before it let go of the lock.
  expect(processAlive(halfStarted)).toBe(false);
  expect(lockSeconds(next)).toBeLessThan(3);
  await expectServing('c6', otherPort(target, live.port));
  expectNoFailedRequests(report, [killed, next]);
});

/** The test itself holds the deploy lock (flock on the same file), with `holder` in the lock's info file. */
async function holdLock(holder: string): Promise<ChildProcessByStdio<Writable, null, null>> {
  const lockFile = path.join(target.remoteDir, '.deploy.lock');
  const info = `${lockFile}.info`;
  const deploy = deployAccount();
  for (const file of [lockFile, info]) {
    if (!fs.existsSync(file)) fs.writeFileSync(file, '');
    fs.chownSync(file, deploy.uid, deploy.gid);
  }
  fs.writeFileSync(info, `${holder}\n`);
  // Held until the test closes cat's stdin (or stops it).
  const child = spawn('flock', ['-x', lockFile, 'cat'], { stdio: ['pipe', 'ignore', 'ignore'] });
  try {
    const taken = async () => (await exec('flock', ['-n', lockFile, 'true'])).code !== 0;
    await waitUntil('the test to hold the lock', taken);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return child;
}

test('(d) lock wait: a deploy waits while the lock is held, names the holder, and goes on once it is released', async () => {
  const holder = await holdLock('run 999 by a test holding the lock');
  try {
    const d = startDeploy('777', 'c7', await buildDemoJar({ version: 'c7' }));
    await d.waitForLine(
      /^another deploy holds the lock \(run 999 by a test holding the lock\s*\); waiting up to 300 s$/,
    );
    // It really waits: no further step while the lock is held, however long that is.
    await expect(d.waitForLine(/^::group::Detect ports/, 2000)).rejects.toThrow(/timed out/);
    expect(d.child.exitCode).toBeNull();
    const released = Date.now();
    holder.stdin.end();
    const r = await d.done;
    expectSuccess(d, r);
    expect(d.at(/^holding .*\.deploy\.lock$/)).toBeGreaterThanOrEqual(released);
    expect(lockSeconds(d)).toBeGreaterThanOrEqual(2);
    expect(r.outputs['active-port']).toBe(String(otherPort(target, live.port)));
    await expectServing('c7', otherPort(target, live.port));
    expect((await serving(target))?.version).toBe('c7');
  } finally {
    await stopChild(holder);
  }
});

test('(e) lock-timeout while the lock stays held: the deploy fails after lock-timeout, naming the holder, touching nothing', async () => {
  const holder = await holdLock('run 888 by a test that never lets go');
  try {
    const include = target.readInclude();
    const d = startDeploy('889', 'c8', await buildDemoJar({ version: 'c8' }), { 'lock-timeout': '2' });
    const r = await d.done;
    expect(r.code).not.toBe(0);
    const lockFile = `${target.remoteDir}/.deploy.lock`;
    expect(readableLines(d.lines)).toMatch(
      new RegExp(
        `^::error::.*Lock failed.*lock-timeout: another deploy still holds ${lockFile} after 2 s \\(run 888 by a test that never lets go\\s*\\)`,
        'm',
      ),
    );
    expect(r.durationMs).toBeGreaterThanOrEqual(2000);
    expect(r.durationMs).toBeLessThan(10_000);
    expect(r.stdout).not.toMatch(/::group::Detect ports/);
    expect(r.summary).toMatch(/\| Lock \| ❌ failed \|/);
    expect(holder.exitCode).toBeNull(); // the holder kept the lock throughout
    expect(target.readInclude()).toBe(include);
    expect(await serving(target)).toEqual(live);
  } finally {
    await stopChild(holder);
  }
});
