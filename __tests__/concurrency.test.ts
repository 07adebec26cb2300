// Two deploys to the same host never interleave: the second waits for the first's lock (and says whose it is),
// gives up at lock-timeout naming the holder, and a killed run never blocks the next one (the lock belongs to
// a shell of the killed run's SSH session, and the kernel drops it with that shell).
// Runs the bundled action (dist/index.js) against a real loopback target, under load through nginx.
import { jest } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildDemoJar } from '../test-target/demo-jar.js';
import { processAlive, startTarget, type Target } from '../test-target/harness.js';
import { type LoadReport, underLoad as loadWhile } from '../test-target/load.js';
import {
  startAction,
  targetInputs,
  type ActionResult,
  type StartedAction,
  type TimedLine,
} from '../test-target/run-action.js';

jest.setTimeout(60_000);

let target: Target;
/** The version that serves between the cases. */
const live = { version: '', port: 0 };

interface Deploy extends StartedAction {
  runId: string;
  version: string;
  /** Arrival time of the first stdout line matching re. */
  at(re: RegExp): number | undefined;
}

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
  return { ...action, runId, version, at: (re) => action.lines.find((l) => re.test(l.text))?.at };
}

function text(lines: TimedLine[]): string {
  return lines
    .map((l) => l.text)
    .filter((l) => !l.startsWith('::debug::') && !l.startsWith('::add-mask::'))
    .join('\n');
}

function expectSuccess(d: Deploy, r: ActionResult): void {
  if (r.code !== 0) throw new Error(`run ${d.runId} (${d.version}) failed (${r.code}):\n${text(d.lines)}`);
}

/** Runs fn while 20 clients load nginx (every second request /slow?ms=200); returns the load report too. */
function underLoad<T>(fn: () => Promise<T>): Promise<{ result: T; report: LoadReport }> {
  return loadWhile(target.nginxUrl, fn);
}

/** Fails with the load's failures placed on the deploys' timelines (ms since the load started). */
function expectNoFailedRequests(report: LoadReport, deploys: Deploy[]): void {
  expect(report.total).toBeGreaterThan(20);
  if (report.failed === 0) return;
  const t0 = report.startedAt;
  const failures = report.failures
    .map(
      (f) =>
        `  +${f.atMs} ms (sent +${f.sentMs}) ${f.path} ${f.status} ${f.error}${f.reused ? ' (reused)' : ''}`,
    )
    .join('\n');
  const steps = deploys
    .flatMap((d) =>
      d.lines
        .filter((l) => /^::group::|^::error::|: (ok|failed) in |another deploy|received SIG/.test(l.text))
        .map((l) => ({ at: l.at, line: `  +${l.at - t0} ms [run ${d.runId}] ${l.text}` })),
    )
    .sort((a, b) => a.at - b.at)
    .map((x) => x.line)
    .join('\n');
  throw new Error(
    `${report.failed} of ${report.total} requests failed (${JSON.stringify(report.byStatus)} ${JSON.stringify(report.errors)})\nfailures:\n${failures}\ntimeline:\n${steps}`,
  );
}

async function waitUntil(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

function idlePort(): number {
  return live.port === target.bluePort ? target.greenPort : target.bluePort;
}

/** After a deploy of `version` to `port`: it serves, alone. */
async function expectServing(version: string, port: number): Promise<void> {
  expect(await target.get('/')).toEqual({ status: 200, body: `version=${version} port=${port}\n` });
  await waitUntil(
    `a single app (have ${JSON.stringify(target.appProcesses())})`,
    () => target.appProcesses().length === 1,
    15_000,
  );
  Object.assign(live, { version, port });
}

function lockSeconds(d: Deploy): number {
  const line = d.lines.find((l) => /^Lock: ok in /.test(l.text));
  if (!line) throw new Error(`run ${d.runId}: no Lock step result:\n${text(d.lines)}`);
  return Number(/in ([\d.]+) s/.exec(line.text)?.[1]);
}

beforeAll(async () => {
  target = await startTarget();
  const d = startDeploy('100', 'c0', await buildDemoJar({ version: 'c0' }));
  expectSuccess(d, await d.done);
  await expectServing('c0', target.bluePort);
});

afterAll(async () => {
  await target?.stop();
});

test('(a) two deploys started at once run one after the other; the second names the first; no request fails', async () => {
  const [jar1, jar2] = await Promise.all([
    buildDemoJar({ version: 'c1', startDelayMs: 3000 }),
    buildDemoJar({ version: 'c2', startDelayMs: 3000 }),
  ]);
  const deploys = [startDeploy('111', 'c1', jar1), startDeploy('222', 'c2', jar2)];
  const { result: results, report } = await underLoad(() => Promise.all(deploys.map((d) => d.done)));
  deploys.forEach((d, i) => expectSuccess(d, results[i]));

  // Exactly one waited, and its log names the other's run.
  const waited = deploys.filter((d) => d.lines.some((l) => /another deploy holds the lock/.test(l.text)));
  expect(waited.map((d) => d.runId)).toHaveLength(1);
  const second = waited[0];
  const first = deploys.find((d) => d !== second) as Deploy;
  const waitLine = second.lines.find((l) => /another deploy holds the lock/.test(l.text))?.text ?? '';
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
  const firstPort = idlePort();
  const secondPort = firstPort === target.bluePort ? target.greenPort : target.bluePort;
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
  } = await underLoad(async () => {
    await h.waitForLine(/^holding .*\.deploy\.lock$/);
    l = startDeploy('444', 'c4', jar4, { 'lock-timeout': '1' });
    const r = await l.done;
    const running = h.child.exitCode === null && h.child.signalCode === null;
    return [await h.done, r, running] as const;
  });
  expectSuccess(h, rHolder);
  expect(holderStillRunning).toBe(true); // the holder was at work the whole time
  expect(rLoser.code).not.toBe(0);
  const lockFile = `${target.remoteDir}/.deploy.lock`;
  const lines = text((l as Deploy).lines);
  expect(lines).toMatch(/^another deploy holds the lock \(run 333 by test-runner/m);
  expect(lines).toMatch(
    new RegExp(
      `^::error::Lock failed: lock-timeout: another deploy still holds ${lockFile} after 1 s \\(run 333 by test-runner of example/app since [^)]+\\)`,
      'm',
    ),
  );
  expect(lines).not.toMatch(/::group::Detect ports/);
  expect(rLoser.durationMs).toBeLessThan(10_000);
  await expectServing('c3', idlePort());
  expectNoFailedRequests(report, [h, l as Deploy]);
});

test('(c) a run killed while it holds the lock never blocks: the next deploy gets the lock at once', async () => {
  const [jar5, jar6] = await Promise.all([
    buildDemoJar({ version: 'c5', startDelayMs: 5000 }),
    buildDemoJar({ version: 'c6' }),
  ]);
  let halfStarted = 0;
  let n: Deploy | undefined;
  const killed = startDeploy('555', 'c5', jar5);
  const { result, report } = await underLoad(async () => {
    await killed.waitForLine(/^::group::Health check/);
    halfStarted = Number(/^pid (\d+), log /.exec((await killed.waitForLine(/^pid \d+, log /)).text)?.[1]);
    await sleep(500);
    expect(processAlive(halfStarted)).toBe(true);
    killed.child.kill('SIGKILL');
    const rKilled = await killed.done;
    expect(rKilled.signal).toBe('SIGKILL');
    n = startDeploy('666', 'c6', jar6, { 'lock-timeout': '30' });
    return n.done;
  });
  expectSuccess(n as Deploy, result);
  // The lock shell of the dead session stopped the half-started app before it let go of the lock.
  expect(processAlive(halfStarted)).toBe(false);
  expect(lockSeconds(n as Deploy)).toBeLessThan(3);
  await expectServing('c6', idlePort());
  expectNoFailedRequests(report, [killed, n as Deploy]);
});
