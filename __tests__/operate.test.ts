// Operate from a workflow (issue 9) on the loopback target, with the bundled action: mode rollback goes back to
// the previous good release already on the host under load through nginx (0 failed requests, nothing
// uploaded), never to a release whose deploy failed; the host's history records every run, and survives a
// cancelled run (SIGINT: `cancelled`) and a runner that dies (SIGKILL: the lock's watchdog writes
// `interrupted`), every line still valid JSON.
import { jest } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { parseHistory, type Deployment } from '../src/history.js';
import { buildDemoJar } from '../test-target/demo-jar.js';
import {
  runAction,
  startAction,
  stopStartedActions,
  targetInputs,
  type StartedAction,
} from '../test-target/run-action.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { waitUntil } from '../test-target/wait.js';
import { errors, expectFailure, expectSuccess, readable } from './support/action.js';
import { expectNoFailedRequests, whileLoaded } from './support/load.js';
import { quiet, serving } from './support/serving.js';

jest.setTimeout(180_000);

let target: Target;
beforeAll(async () => {
  target = await startTarget();
});
afterEach(stopStartedActions);
afterAll(async () => {
  await target.stop();
});

const RUNNER_ENV = {
  GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
  GITHUB_REF: 'refs/heads/main',
  GITHUB_RUN_ID: '4242',
  GITHUB_RUN_ATTEMPT: '1',
  GITHUB_REPOSITORY: 'acme/shop',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_ACTOR: 'alice',
  GITHUB_WORKFLOW: 'deploy',
};

function run(inputs: Record<string, string>) {
  return runAction({ inputs: targetInputs(target, inputs), env: RUNNER_ENV });
}

async function deploy(
  version: string,
  extra: Record<string, string> = {},
  jar: Parameters<typeof buildDemoJar>[0] = { version },
) {
  return run({ jar: await buildDemoJar(jar), 'release-id': version, ...extra });
}

const historyPath = () => target.localPath(`${target.remoteDir}/history.jsonl`);
const historyLines = () =>
  fs
    .readFileSync(historyPath(), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
const history = (): Deployment[] => parseHistory(fs.readFileSync(historyPath(), 'utf8'));
const releases = () => fs.readdirSync(target.localPath(`${target.remoteDir}/releases`)).sort();
const lastRun = () => history().at(-1);

/** Every line of the history is one JSON object (nothing half-written, nothing interleaved). */
function expectWholeLines(): void {
  for (const line of historyLines()) expect(() => JSON.parse(line) as unknown).not.toThrow();
}

test('v1, v2, a failed v3, then rollback: v1 serves again under load with 0 failed requests, nothing uploaded; v3 is never chosen', async () => {
  expectSuccess(await deploy('v1'), 'v1');
  expectSuccess(await deploy('v2'), 'v2');
  const v3 = await deploy('v3', { 'health-timeout': '3' }, { version: 'v3', health: 'DOWN' });
  expectFailure(v3, 'v3');
  await quiet(target);
  expect((await serving(target))?.version).toBe('v2');
  expect(releases()).toEqual(['v1', 'v2', 'v3']);
  const jarBefore = fs.statSync(target.localPath(`${target.remoteDir}/releases/v1/app.jar`));

  let started: StartedAction | undefined;
  const { result, report } = await whileLoaded(
    target,
    () => {
      started = startAction({ inputs: targetInputs(target, { mode: 'rollback' }), env: RUNNER_ENV });
      return started.done;
    },
    { slowMs: 250, warmup: 100 },
  );
  expectNoFailedRequests(report, [{ lines: started?.lines ?? [] }]);
  expectSuccess(result, 'the rollback');
  expect((await serving(target))?.version).toBe('v1');
  expect(result.outputs['release-id']).toBe('v1');
  // Nothing uploaded: no Upload step, no new folder, no part file, v1's jar untouched.
  expect(readable(result)).not.toMatch(/::group::Upload/);
  expect(readable(result)).toMatch(/Choose release: ok in /);
  expect(readable(result)).toMatch(
    /v1 \(deployed [^)]*\); jar sha256 [0-9a-f]{12} verified on the host, nothing uploaded/,
  );
  expect(releases()).toEqual(['v1', 'v2', 'v3']);
  expect(fs.existsSync(target.localPath(`${target.remoteDir}/releases/v1/app.jar.part`))).toBe(false);
  expect(fs.statSync(target.localPath(`${target.remoteDir}/releases/v1/app.jar`)).mtimeMs).toBe(
    jarBefore.mtimeMs,
  );
  expect(result.summary).toContain('## Blue/green rollback succeeded');

  // The history: who, what, how each run ended.
  expectWholeLines();
  const runs = history();
  expect(runs.map((r) => [r.mode, r.release, r.result, r.step])).toEqual([
    ['deploy', 'v1', 'deployed', undefined],
    ['deploy', 'v2', 'deployed', undefined],
    ['deploy', 'v3', 'failed', 'Health check'],
    ['rollback', 'v1', 'rolled-back-to', undefined],
  ]);
  const back = runs[3];
  expect(back).toMatchObject({
    previous: { release: 'v2' },
    commit: RUNNER_ENV.GITHUB_SHA,
    ref: 'refs/heads/main',
    run: '4242',
    url: 'https://github.com/acme/shop/actions/runs/4242',
    actor: 'alice',
    workflow: 'deploy',
  });
  expect(Date.parse(back.ended ?? '')).toBeGreaterThanOrEqual(Date.parse(back.started));

  // The failed v3 is refused by name too, and a second rollback has no earlier good release (v2 was left).
  const named = await run({ mode: 'rollback', 'release-id': 'v3' });
  expectFailure(named);
  expect(errors(named).join('\n')).toContain(
    'Choose release failed: release v3 failed when it was deployed (failed at Health check',
  );
  const again = await run({ mode: 'rollback' });
  expectFailure(again);
  expect(errors(again).join('\n')).toContain(
    'Choose release failed: no earlier good release to roll back to (live: v1)',
  );
  expect((await serving(target))?.version).toBe('v1');
});

test('keep-releases never prunes the live release nor the one a rollback would choose', async () => {
  // From v1 live: four more deploys with keep-releases 1 keep the live one and its predecessor only.
  for (const v of ['k1', 'k2', 'k3']) expectSuccess(await deploy(v, { 'keep-releases': '1' }), v);
  await quiet(target);
  expect(releases()).toEqual(['k2', 'k3']);
  const r = await run({ mode: 'rollback', 'keep-releases': '1' });
  expectSuccess(r);
  expect((await serving(target))?.version).toBe('k2');
});

describe('the history survives a cancelled deploy', () => {
  async function slowDeploy(version: string): Promise<StartedAction> {
    const jar = await buildDemoJar({ version, startDelayMs: 20_000 });
    const a = startAction({ inputs: targetInputs(target, { jar, 'release-id': version }), env: RUNNER_ENV });
    await a.waitForLine(/^::group::Health check/);
    return a;
  }

  test('SIGINT (a cancelled run): the run ends as cancelled at its step; the old version serves', async () => {
    const before = historyLines();
    const live = await serving(target);
    const a = await slowDeploy('c1');
    a.child.kill('SIGINT');
    expectFailure(await a.done);
    expectWholeLines();
    expect(historyLines().slice(0, before.length)).toEqual(before);
    expect(lastRun()).toMatchObject({
      mode: 'deploy',
      release: 'c1',
      result: 'cancelled',
      step: 'Health check',
    });
    expect(fs.existsSync(target.localPath(`${target.remoteDir}/run/history.open`))).toBe(false);
    await quiet(target);
    expect(await serving(target)).toEqual(live);
  });

  test('SIGKILL (the runner is gone): the lock watchdog ends the run as interrupted; the next rollback works', async () => {
    const before = historyLines();
    const live = await serving(target);
    const a = await slowDeploy('c2');
    a.child.kill('SIGKILL');
    await a.done;
    await waitUntil('the watchdog to end the run', () => lastRun()?.result === 'interrupted', {
      timeoutMs: 30_000,
    });
    expectWholeLines();
    expect(historyLines().slice(0, before.length)).toEqual(before);
    expect(lastRun()).toMatchObject({ mode: 'deploy', release: 'c2', result: 'interrupted' });
    await quiet(target);
    expect(await serving(target)).toEqual(live);
    // The lock is free again; interrupted and cancelled runs are never rollback targets: after a good c3, the
    // rollback goes back to what served before the cancelled runs.
    expectSuccess(await deploy('c3'), 'c3');
    const r = await run({ mode: 'rollback' });
    expectSuccess(r);
    expect((await serving(target))?.version).toBe(live?.version);
  });
});

test('a runner lost during the bake window: the rollback reuses the old release still running as the backup, 0 failed', async () => {
  expectSuccess(await deploy('w1'), 'w1');
  await quiet(target);
  const old = await serving(target);
  const a = startAction({
    inputs: targetInputs(target, {
      jar: await buildDemoJar({ version: 'w2' }),
      'release-id': 'w2',
      'bake-time': '60',
    }),
    env: RUNNER_ENV,
  });
  await a.waitForLine(/^::group::Bake/);
  a.child.kill('SIGKILL');
  await a.done;
  await waitUntil('the watchdog to end the run', () => lastRun()?.result === 'interrupted', {
    timeoutMs: 30_000,
  });
  expect((await serving(target))?.version).toBe('w2');
  expect(target.appsOn(old?.port ?? 0).map((p) => p.pid)).toEqual([old?.pid]);

  let started: StartedAction | undefined;
  const { result, report } = await whileLoaded(
    target,
    () => {
      started = startAction({ inputs: targetInputs(target, { mode: 'rollback' }), env: RUNNER_ENV });
      return started.done;
    },
    { slowMs: 250, warmup: 100 },
  );
  expectNoFailedRequests(report, [{ lines: started?.lines ?? [] }]);
  expectSuccess(result, 'the rollback');
  expect(readable(result)).toContain(
    `w1 still runs there (pid ${old?.pid}): used as it is, nothing launched`,
  );
  await quiet(target);
  expect(await serving(target)).toEqual(old);
});

test('the history file is written whole: mode 644 under the umask, no temp file left', () => {
  expect(fs.statSync(historyPath()).mode & 0o777).toBe(0o644);
  expect(fs.readdirSync(target.localPath(target.remoteDir)).filter((f) => f.includes('.tmp'))).toEqual([]);
  expect(path.basename(historyPath())).toBe('history.jsonl');
});
