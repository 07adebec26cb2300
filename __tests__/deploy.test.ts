// The step state machine of one host's deploy, against a fake host that answers with typed values: which
// remote steps run, in which order, what each step reports, and what is undone when a step fails.
import { switchHost } from '../src/deploy.js';
import type { Settings } from '../src/inputs.js';
import { hostContext } from '../src/steps/context.js';
import { StepError, StepRunner } from '../src/steps/runner.js';
import { describeStop } from '../src/steps/stop-old.js';
import type { PortOwner } from '../src/commands/app.js';
import { textSum } from '../src/commands/nginx.js';
import {
  INCLUDE_TEXT,
  blueLive,
  exitCode,
  FakeHost,
  fakeClock,
  recordingLog,
  settings,
  type Answers,
} from './support/fake-host.js';

function deploy(answers: Answers = {}, extra: Partial<Settings> = {}, signal?: AbortSignal) {
  const host = new FakeHost(answers);
  const log = recordingLog();
  const steps = new StepRunner('h', log, () => 0);
  const settings_ = { ...settings, ...extra };
  const ctx = hostContext({
    settings: settings_,
    host,
    steps,
    log,
    lockHolder: 't',
    signal,
    clock: fakeClock(),
  });
  const steps_ = () => steps.records.map((r) => [r.name, r.status, r.detail]);
  return { host, log, steps: steps_, state: ctx.state, run: () => switchHost(ctx, { kind: 'deploy' }) };
}

async function failure(run: () => Promise<unknown>): Promise<StepError> {
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StepError);
  return error as StepError;
}

const LOCK = 'lock /opt/app/.deploy.lock';
const DETECT = 'detect live port (/etc/nginx/conf.d/service-url.inc)';
/** The run's start (after the lock) and its end (before the prune, or after the undo of a failure). */
const RECORD = 'record the run in /opt/app/history.jsonl';
const READ_HISTORY = 'read /opt/app/history.jsonl';
const PRUNE = 'keep the newest 5 releases';

test('happy path: every step in order, old app retired, lock released', async () => {
  const d = deploy();
  await expect(d.run()).resolves.toEqual({
    activePort: 8081,
    previousPort: 8080,
    releaseId: 'r2',
    previousRelease: 'r1',
  });
  expect(d.host.commands()).toEqual([
    LOCK,
    RECORD,
    DETECT,
    'prepare release r2',
    'upload /opt/app/releases/r2/app.jar.part',
    'verify sha256 of /opt/app/releases/r2/app.jar',
    'launch r2 on port 8081',
    'who listens on port 8081',
    'switch nginx to port 8081',
    'wait for 2 old nginx workers',
    'stop pid 11 on port 8080',
    RECORD,
    READ_HISTORY,
    PRUNE,
  ]);
  expect(d.host.ran).toContain('GET http://127.0.0.1:8081/actuator/health');
  expect(d.steps()).toEqual([
    ['Lock', 'ok', 'holding /opt/app/.deploy.lock'],
    ['Detect ports', 'ok', 'live 8080, idle 8081'],
    ['Upload', 'ok', expect.stringMatching(/^\d+\.\d kB in \d+\.\d\d s \(\d+\.\d MB\/s\), sha256 verified$/)],
    ['Free port 8081', 'skipped', 'nothing of ours held it'],
    ['Launch on 8081', 'ok', 'pid 22, log /opt/app/releases/r2/app.log'],
    [
      'Health check',
      'ok',
      expect.stringMatching(/^http:\/\/127\.0\.0\.1:8081\/actuator\/health healthy after/),
    ],
    ['Switch nginx', 'ok', 'nginx routes to port 8081 (/etc/nginx/conf.d/service-url.inc), reloaded'],
    ['Drain nginx', 'ok', '2 old nginx workers finished their requests in 30 ms'],
    ['Bake', 'skipped', 'bake-time is 0'],
    ['Stop old app', 'ok', 'old pid 11 on port 8080: exited after SIGTERM in 0.04 s'],
  ]);
  expect(d.state).toEqual({ releaseId: 'r2', previousPort: 8080, previousRelease: 'r1', servingPort: 8081 });
  expect(d.host.lockReleased).toBe(true);
});

test('the commands get the settings: stop-timeout, drain-timeout, await-stop, keep-releases', async () => {
  const seen: string[] = [];
  const d = deploy(
    {
      drain: (cmd) => (seen.push(cmd.script), { ms: 1, timedOut: false }),
      stop: (cmd) => (seen.push(cmd.script), { how: 'exited', ms: 1 }),
      prune: (cmd) => (seen.push(cmd.script), []),
    },
    { drainTimeoutMs: 4321, stopTimeoutMs: 8765, awaitStop: true, keepReleases: 3 },
  );
  await d.run();
  expect(seen[0]).toContain('deadline=$((t0 + 4321))');
  expect(seen[1]).toContain('stop_group 11 100 8765 || exit 1');
  expect(seen[2]).toContain('tail -n +4');
});

test('without await-stop the old app is stopped once its port is closed', async () => {
  const scripts: string[] = [];
  const d = deploy({ stop: (cmd) => (scripts.push(cmd.script), { how: 'closed', ms: 120 }) });
  await d.run();
  expect(scripts[0]).toContain('out=$(stop_group 11 100 1000 8080) || exit 1');
  expect(d.steps().at(-1)).toEqual([
    'Stop old app',
    'ok',
    'old pid 11 on port 8080: closed its port 0.12 s after SIGTERM; still finishing, SIGKILL at stop-timeout if needed',
  ]);
});

test('every way a stop ends is reported as it happened', () => {
  expect(describeStop({ how: 'killed', ms: 30000 }, 30000)).toBe(
    'SIGKILLed: still running stop-timeout (30 s) after SIGTERM',
  );
  expect(describeStop({ how: 'gone', ms: 0 }, 30000)).toBe('was already gone');
  expect(describeStop({ how: 'exited', ms: 1500 }, 30000)).toBe('exited after SIGTERM in 1.50 s');
});

test('a reused release skips the upload and says where the jar came from', async () => {
  const d = deploy({ prepare: () => ({ releaseId: 'r2', reusedFrom: '/opt/app/releases/r1' }) });
  await d.run();
  expect(d.host.ran.some((t) => t.startsWith('upload') || t.startsWith('verify'))).toBe(false);
  expect(d.steps()[2]).toEqual([
    'Upload',
    'ok',
    'same jar (sha256 aaaaaaaaaaaa) already on the host: linked from /opt/app/releases/r1, nothing uploaded',
  ]);
});

test('a taken release-id: the folder actually claimed is used everywhere and reported', async () => {
  const d = deploy({ prepare: () => ({ releaseId: 'r2-2' }) });
  await expect(d.run()).resolves.toEqual({
    activePort: 8081,
    previousPort: 8080,
    releaseId: 'r2-2',
    previousRelease: 'r1',
  });
  expect(d.host.commands()).toContain('launch r2-2 on port 8081');
  expect(d.log.lines).toContain('info: release r2 exists on the host: this one is r2-2');
});

test('env and secret-env go to a mode-600 env file per port beside the jar', async () => {
  const d = deploy({}, { env: [['A', 'b c']], secretEnv: [['TOKEN', 's3cret']] });
  await d.run();
  expect(d.host.ran).toContain(
    `write /opt/app/releases/r2/app-8080.env (600): export A='b c'\nexport TOKEN=s3cret`,
  );
  expect(d.host.ran).toContain(
    `write /opt/app/releases/r2/app-8081.env (600): export A='b c'\nexport TOKEN=s3cret`,
  );
});

test('a crash before healthy: log tail shown without secrets, new app stopped, nginx untouched', async () => {
  const d = deploy(
    { alive: () => false, logTail: () => 'Exception: boom token=s3cret\n' },
    { secretEnv: [['TOKEN', 's3cret']] },
  );
  d.host.health = () => new Error('connect ECONNREFUSED');
  const error = await failure(d.run);
  expect(error.step).toBe('Health check');
  expect(error.message).toBe(
    'Health check failed: the new app (pid 22) exited before it became healthy; last answer: no connection (connect ECONNREFUSED)',
  );
  expect(d.host.commands().slice(-3)).toEqual([
    'last 40 lines of /opt/app/releases/r2/app.log',
    'stop pid 22 on port 8081',
    RECORD,
  ]);
  expect(d.log.lines).toContain('info: Last 40 lines of /opt/app/releases/r2/app.log:');
  expect(d.log.lines).toContain('verbatim: Exception: boom token=***\n');
  expect(d.log.lines).toContain('info: undo: stop the new app (pid 22)');
  expect(d.host.ran.some((t) => t.startsWith('switch'))).toBe(false);
  expect(d.state).toEqual({ releaseId: 'r2', previousPort: 8080, previousRelease: 'r1', servingPort: 8080 });
  expect(d.host.lockReleased).toBe(true);
});

test('never healthy: times out, new app stopped', async () => {
  const d = deploy({}, { healthTimeoutMs: 300 });
  d.host.health = () => ({ status: 503, body: '{"status":"DOWN"}' });
  await expect(d.run()).rejects.toThrow(
    'Health check failed: http://127.0.0.1:8081/actuator/health was not healthy within 0.3 s; last answer: HTTP 503 {"status":"DOWN"}',
  );
  expect(d.host.commands().slice(-2)).toEqual(['stop pid 22 on port 8081', RECORD]);
});

test('an undo that fails is a warning; the original error stands', async () => {
  const d = deploy({ alive: () => false, stop: exitCode(255, 'connection lost') });
  d.host.health = () => new Error('connect ECONNREFUSED');
  await expect(d.run()).rejects.toThrow(/^Health check failed: the new app \(pid 22\) exited/);
  expect(d.log.lines).toContain(
    'warning: could not stop the new app (pid 22): stop pid 22 on port 8081 failed with exit code 255:\nconnection lost',
  );
});

test('nginx -t fails: the script restored the include, the new app is stopped', async () => {
  const d = deploy({ switch: exitCode(32, 'nginx: [emerg] bad') });
  await expect(d.run()).rejects.toThrow(
    'Switch nginx failed: switch nginx to port 8081 failed with exit code 32:\nnginx: [emerg] bad',
  );
  expect(d.host.commands().slice(-2)).toEqual(['stop pid 22 on port 8081', RECORD]);
  expect(d.host.ran.some((t) => t.startsWith('wait for'))).toBe(false);
  expect(d.state.servingPort).toBe(8080);
});

test('broken behind nginx: switched back, new app drained and stopped, old one untouched', async () => {
  const d = deploy(
    { switch: (cmd) => ({ oldWorkers: cmd.title.includes('back') ? [7] : [5, 6] }) },
    { verifyUrl: 'http://127.0.0.1:80/actuator/health' },
  );
  d.host.health = (url) =>
    url.includes(':80/') ? { status: 500, body: 'oops' } : { status: 200, body: 'UP' };
  const error = await failure(d.run);
  expect(error.step).toBe('Verify through nginx');
  expect(error.message).toBe(
    'Verify through nginx failed: http://127.0.0.1:80/actuator/health is not healthy through nginx (HTTP 500 oops); switched back',
  );
  expect(d.host.commands().slice(-5)).toEqual([
    'wait for 2 old nginx workers',
    'switch nginx back to port 8080',
    'wait for 1 old nginx workers',
    'stop pid 22 on port 8081',
    RECORD,
  ]);
  expect(d.host.ran).not.toContain('stop pid 11 on port 8080');
  expect(d.state.servingPort).toBe(8080);
});

test("the switch changes only the port of the user's line; the switch back puts the exact bytes back", async () => {
  const scripts: string[] = [];
  const d = deploy(
    { switch: (cmd) => (scripts.push(cmd.script), { oldWorkers: [] }) },
    { verifyUrl: 'http://127.0.0.1:80/' },
  );
  d.host.health = (url) => (url.includes(':80/') ? { status: 500, body: '' } : { status: 200, body: 'UP' });
  await expect(d.run()).rejects.toThrow(/switched back/);
  const switched = '# mine\nset $service_url "http://localhost:8081/";\n';
  expect(scripts[0]).toContain(`new0='${switched}'`);
  expect(scripts[0]).toContain(`[ "$now" = ${textSum(INCLUDE_TEXT)} ]`);
  expect(scripts[1]).toContain(`new0='${INCLUDE_TEXT}'`);
  expect(scripts[1]).toContain(`[ "$now" = ${textSum(switched)} ]`);
});

test('broken behind nginx on a first deploy: nothing to switch back to, and the step says so', async () => {
  const d = deploy(
    {
      detect: () => ({
        include: { state: 'missing' },
        upstream: { state: 'missing' },
        releases: 0,
        ports: new Map(),
      }),
    },
    { verifyUrl: 'http://127.0.0.1:80/' },
  );
  d.host.health = (url) => (url.includes(':80/') ? { status: 502, body: '' } : { status: 200, body: 'UP' });
  await expect(d.run()).rejects.toThrow(
    'Verify through nginx failed: http://127.0.0.1:80/ is not healthy through nginx (HTTP 502); first deploy: nothing to switch back to, the new version stays',
  );
  expect(d.host.ran.some((t) => t.startsWith('stop pid'))).toBe(false);
  expect(d.log.lines).toContain('warning: first deploy: there is no previous version to switch back to');
  expect(d.state).toEqual({ releaseId: 'r2', previousPort: undefined, servingPort: 8080 });
});

test('a healthy check through nginx lets the deploy go on', async () => {
  const d = deploy({}, { verifyUrl: 'http://127.0.0.1:80/' });
  await d.run();
  expect(d.steps().find((s) => s[0] === 'Verify through nginx')).toEqual([
    'Verify through nginx',
    'ok',
    'http://127.0.0.1:80/: HTTP 200 {"status":"UP"}',
  ]);
});

test('a stale app of ours on the idle port is stopped just before the launch', async () => {
  const detect = blueLive();
  detect.ports.set(8081, { port: 8081, listening: true, ours: { pid: 9, start: '50', release: 'r0' } });
  const d = deploy({ detect: () => detect });
  await d.run();
  const cmds = d.host.commands();
  expect(cmds.slice(cmds.indexOf('launch r2 on port 8081') - 1)[0]).toBe('stop pid 9 on port 8081');
  expect(d.steps()[3]).toEqual(['Free port 8081', 'ok', 'stale pid 9: exited after 40 ms']);
});

test('a stranger on the idle port: refused before anything is uploaded', async () => {
  const detect = blueLive();
  detect.ports.set(8081, {
    port: 8081,
    listening: true,
    listener: { pid: 4242, start: '7', command: 'nc -l 8081' },
  });
  const d = deploy({ detect: () => detect });
  await expect(d.run()).rejects.toThrow(
    /^Detect ports failed: idle port 8081 is held by pid 4242 \(nc -l 8081\)/,
  );
  expect(d.host.commands()).toEqual([LOCK, RECORD, DETECT, RECORD]);
  expect(d.host.lockReleased).toBe(true);
});

test('cancelled during the health check: new app stopped, lock released', async () => {
  const abort = new AbortController();
  const d = deploy({}, {}, abort.signal);
  d.host.health = () => {
    abort.abort();
    return { status: 503, body: 'DOWN' };
  };
  await expect(d.run()).rejects.toThrow('Health check failed: the deploy was cancelled');
  expect(d.host.commands().slice(-2)).toEqual(['stop pid 22 on port 8081', RECORD]);
  expect(d.host.lockReleased).toBe(true);
});

test.each([
  ['after detect', 1, 'prepare release r2'],
  ['after the upload', 2, 'launch r2 on port 8081'],
])('cancelled %s: no further step runs', async (_what, after, notRun) => {
  const abort = new AbortController();
  const d = deploy(
    {
      detect: () => {
        if (after === 1) abort.abort();
        return blueLive();
      },
      verifyUpload: () => {
        if (after === 2) abort.abort();
        return undefined;
      },
    },
    {},
    abort.signal,
  );
  await expect(d.run()).rejects.toThrow('the deploy was cancelled');
  expect(d.host.ran).not.toContain(notRun);
});

test('first deploy: nothing to stop afterwards, and the skip is logged', async () => {
  const d = deploy({
    detect: () => ({
      include: { state: 'missing' },
      upstream: { state: 'missing' },
      releases: 0,
      ports: new Map(),
    }),
  });
  await expect(d.run()).resolves.toEqual({ activePort: 8080, previousPort: undefined, releaseId: 'r2' });
  expect(d.host.ran).toContain('wait for 2 old nginx workers');
  expect(d.host.ran.some((t) => t.startsWith('stop pid'))).toBe(false);
  expect(d.log.lines).toContain('info: Stop old app: skipped (no previous app of ours)');
  expect(d.log.lines).toContain(
    'info: the nginx include is missing: this is a first deploy, it will be written',
  );
});

test('once nginx routes to the new app, a later failure never stops it', async () => {
  const d = deploy({ drain: exitCode(255, 'connection lost') });
  await expect(d.run()).rejects.toThrow(/^Drain nginx failed/);
  expect(d.host.ran.some((t) => t.startsWith('stop pid 22'))).toBe(false);
  expect(d.state.servingPort).toBe(8081);
  expect(d.host.lockReleased).toBe(true);
});

test('a drain past drain-timeout is a warning, and the deploy completes', async () => {
  const d = deploy({ drain: () => ({ ms: 1000, timedOut: true }) });
  await expect(d.run()).resolves.toMatchObject({ activePort: 8081 });
  expect(d.log.lines).toContain('warning: old nginx workers were still busy after drain-timeout (1 s)');
});

test('a failed prune is a warning only; removed releases are listed', async () => {
  const failed = deploy({ prune: exitCode(1, 'Permission denied') });
  await expect(failed.run()).resolves.toMatchObject({ activePort: 8081 });
  expect(failed.log.lines).toContain(
    'warning: could not prune old releases: keep the newest 5 releases failed with exit code 1:\nPermission denied',
  );
  const pruned = deploy({ prune: () => ['r0', 'r-1'] });
  await pruned.run();
  expect(pruned.log.lines).toContain('info: removed old releases: r0, r-1');
});

describe('the lock', () => {
  test('held by another deploy: waits, says for whom, then goes on', async () => {
    const d = deploy();
    d.host.lock = { lines: ['waiting=run 7 by alice', 'locked'], exit: 0 };
    await d.run();
    expect(d.log.lines).toContain('info: another deploy holds the lock (run 7 by alice); waiting up to 1 s');
    expect(d.host.commands().slice(0, 3)).toEqual([LOCK, RECORD, DETECT]);
  });

  test('not released within lock-timeout: fails naming the holder, nothing else runs', async () => {
    const d = deploy({}, { lockTimeoutMs: 2500 });
    d.host.lock = {
      lines: ['waiting=run 7 by alice'],
      exit: 75,
      stdout: 'waiting=run 7 by alice\nholder=run 7 by alice',
    };
    await expect(d.run()).rejects.toThrow(
      'Lock failed: lock-timeout: another deploy still holds /opt/app/.deploy.lock after 3 s (run 7 by alice)',
    );
    expect(d.host.commands()).toEqual([LOCK]);
  });

  test('a lock shell that ends for another reason: its own error', async () => {
    const d = deploy();
    d.host.lock = { lines: [], exit: 70 };
    await expect(d.run()).rejects.toThrow('Lock failed: the lock shell ended');
  });
});

test('the log tail is shown verbatim (never run as workflow commands) with long lines cut', async () => {
  const long = 'x'.repeat(2500);
  const d = deploy({ alive: () => false, logTail: () => `::error::not ours\n${long}\n` });
  d.host.health = () => new Error('connect ECONNREFUSED');
  await expect(d.run()).rejects.toThrow(/exited before it became healthy/);
  expect(d.log.lines).toContain(`verbatim: ::error::not ours\n${'x'.repeat(2000)}… (500 more characters)\n`);
});

test('an include that cannot be read on a host deployed to: Detect fails, nothing is launched or stopped', async () => {
  const d = deploy({
    detect: () => ({
      ...blueLive(),
      include: { state: 'unreadable' },
    }),
  });
  await expect(d.run()).rejects.toThrow(
    'Detect ports failed: /etc/nginx/conf.d/service-url.inc exists but the deploy user cannot read it: make it readable (e.g. sudo chmod 644 /etc/nginx/conf.d/service-url.inc); nothing was changed',
  );
  expect(d.host.commands()).toEqual([LOCK, RECORD, DETECT, RECORD]);
});

test.each<[PortOwner, string]>([
  [{ owner: 'foreign', pids: [4242] }, 'pid 4242'],
  [{ owner: 'unseen' }, 'a process the deploy user cannot see'],
])(
  'a healthy answer from a listener this deploy did not launch: no switch, new app stopped',
  async (owner, who) => {
    const d = deploy({ portOwner: () => owner });
    await expect(d.run()).rejects.toThrow(
      `Health check failed: port 8081 answered healthy, but it is served by ${who}, not by the app this deploy launched (pid 22); nothing was switched`,
    );
    expect(d.host.ran.some((t) => t.startsWith('switch'))).toBe(false);
    expect(d.host.commands().slice(-3)).toEqual([
      'who listens on port 8081',
      'stop pid 22 on port 8081',
      RECORD,
    ]);
  },
);

describe('the bake window', () => {
  const BAKE = { bakeTimeMs: 2000 };

  test('a clean window: the old app stays the backup until it ends, then is dropped, drained and stopped', async () => {
    const d = deploy({}, BAKE);
    await expect(d.run()).resolves.toEqual({
      activePort: 8081,
      previousPort: 8080,
      releaseId: 'r2',
      previousRelease: 'r1',
    });
    expect(d.host.commands().slice(-8)).toEqual([
      'switch nginx to port 8081',
      'wait for 2 old nginx workers',
      'nginx: drop the backup on port 8080',
      'wait for 2 old nginx workers',
      'stop pid 11 on port 8080',
      RECORD,
      READ_HISTORY,
      PRUNE,
    ]);
    expect(d.steps().find((s) => s[0] === 'Bake')).toEqual([
      'Bake',
      'ok',
      'the new app stayed healthy for 2 s; port 8080 is no longer a backup',
    ]);
    expect(d.steps().find((s) => s[0] === 'Switch nginx')?.[2]).toBe(
      'nginx routes to port 8081, port 8080 kept as backup (/etc/nginx/conf.d/bluegreen-service-url.conf, /etc/nginx/conf.d/service-url.inc), reloaded',
    );
  });

  test('the new app dies in the window: switched back, new app stopped, old one untouched', async () => {
    let checks = 0;
    const d = deploy({ alive: () => ++checks < 5 }, BAKE);
    const error = await failure(d.run);
    expect(error.step).toBe('Bake');
    expect(error.message).toMatch(
      /^Bake failed: the new app \(pid 22\) exited \d\.\d s into the bake window; switched back: port 8080 serves again$/,
    );
    expect(d.host.commands().slice(-4)).toEqual([
      'switch nginx back to port 8080',
      'wait for 2 old nginx workers',
      'stop pid 22 on port 8081',
      RECORD,
    ]);
    expect(d.host.ran).not.toContain('stop pid 11 on port 8080');
    expect(d.state.servingPort).toBe(8080);
  });

  test('the new app turns unhealthy: two failed answers in a row switch back; one is a blip', async () => {
    let polls = 0;
    const blip = deploy({}, BAKE);
    blip.host.health = () => (++polls === 8 ? { status: 503, body: 'DOWN' } : { status: 200, body: 'UP' });
    await expect(blip.run()).resolves.toMatchObject({ activePort: 8081 });

    polls = 0;
    const bad = deploy({}, BAKE);
    bad.host.health = () =>
      ++polls >= 8 ? { status: 503, body: '{"status":"DOWN"}' } : { status: 200, body: 'UP' };
    await expect(bad.run()).rejects.toThrow(
      /^Bake failed: http:\/\/127\.0\.0\.1:8081\/actuator\/health turned unhealthy \d\.\d s into the bake window \(HTTP 503 \{"status":"DOWN"\}\); switched back: port 8080 serves again$/,
    );
  });

  test('verify-url is watched too', async () => {
    let polls = 0;
    const d = deploy({}, { ...BAKE, verifyUrl: 'http://127.0.0.1:80/' });
    d.host.health = (url) =>
      url.includes(':80/') && ++polls > 3 ? new Error('socket hang up') : { status: 200, body: 'UP' };
    await expect(d.run()).rejects.toThrow(
      /^Bake failed: http:\/\/127\.0\.0\.1:80\/ turned unhealthy .* \(no answer: socket hang up\)/,
    );
  });

  test('a first deploy bakes too, with nothing to switch back to', async () => {
    let checks = 0;
    const d = deploy(
      {
        detect: () => ({
          include: { state: 'missing' },
          upstream: { state: 'missing' },
          releases: 0,
          ports: new Map(),
        }),
        alive: () => ++checks < 3,
      },
      BAKE,
    );
    await expect(d.run()).rejects.toThrow(
      /exited .* into the bake window; first deploy: nothing to switch back to$/,
    );
    expect(d.host.ran.some((t) => t.startsWith('stop pid'))).toBe(false);
  });
});
