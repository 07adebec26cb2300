// stop_group and stopApp against real processes in a sandbox: each scenario starts its processes, prints their
// pid and start time, and runs the stop script the test builds for exactly that process (box.give).
import { isAlive, parseStop, stopApp, type AppProcess, type StopSpec } from '../../src/commands/app.js';
import { killLaterSh } from '../../src/commands/functions.js';
import { layout } from '../../src/layout.js';
import { quote } from '../../src/shell.js';
import { LISTENER_PY, SCENARIO, sandbox, type RunResult, type Sandbox } from '../support/sandbox.js';

let box: Sandbox;
beforeEach(() => {
  box = sandbox();
});
afterEach(() => box.cleanup());

/** Runs `setup` (which must print `app=PID START`), then the command built for that app, then `after`. */
async function withApp(
  setup: string,
  build: (app: AppProcess) => string,
  after = '',
): Promise<{ app: AppProcess; result: RunResult; given: string }> {
  const started = box.start(
    [SCENARIO, setup, 'run_given cmd > cmd.out 2> cmd.err; echo "code=$?"', after].join('\n'),
  );
  const line = await started.waitFor(/^app=/);
  const [pid, start] = line.slice('app='.length).split(' ');
  const app = { pid: Number(pid), start };
  box.give('cmd', build(app));
  const result = await started.done;
  expect(result.stderr).toBe('');
  return { app, result, given: box.read('cmd.out') };
}

function values(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

const paths = () => layout(box.path('app'));
const stop = (app: AppProcess, over: Partial<StopSpec> = {}) =>
  stopApp(paths(), { app, port: 8080, timeoutMs: 3000, untilClosed: false, ...over }).script;

describe('stopApp until exited', () => {
  test('a process that exits on SIGTERM: exited, quickly', async () => {
    const { given, result } = await withApp(
      'spawn_app app.rec sleep 30; echo "app=$pid $start"; t0=$(now_ms)',
      (app) => stop(app),
      'echo "gone=$(gone "$pid" && echo 1)"; echo "took=$(($(now_ms) - t0))"',
    );
    const outcome = parseStop(given);
    expect(outcome.how).toBe('exited');
    expect(outcome.ms).toBeLessThan(2000);
    expect(values(result.stdout)).toMatchObject({ code: '0', gone: '1' });
  });

  test('a process that ignores SIGTERM: SIGKILLed at the timeout, not before', async () => {
    const { given, result } = await withApp(
      `spawn_app app.rec sh -c 'trap "" TERM; while :; do sleep 0.05; done'; echo "app=$pid $start"; t0=$(now_ms)`,
      (app) => stop(app, { timeoutMs: 400 }),
      'wait_gone "$pid" 2000 && echo gone=1; echo "took=$(($(now_ms) - t0))"',
    );
    const outcome = parseStop(given);
    expect(outcome.how).toBe('killed');
    expect(outcome.ms).toBeGreaterThanOrEqual(400);
    expect(outcome.ms).toBeLessThan(2000);
    const v = values(result.stdout);
    expect(v.gone).toBe('1');
    expect(Number(v.took)).toBeGreaterThanOrEqual(400);
  });

  test('a group leader and its child: the whole group goes', async () => {
    const { given, result } = await withApp(
      [
        `spawn_app app.rec sh -c 'sleep 30 & echo $! > child.pid; wait'`,
        'while [ ! -s child.pid ]; do sleep 0.01; done; child=$(cat child.pid)',
        'echo "app=$pid $start"',
      ].join('\n'),
      (app) => stop(app),
      'wait_gone "$child" 2000 && echo child_gone=1; gone "$pid" && echo leader_gone=1',
    );
    expect(parseStop(given).how).toBe('exited');
    expect(values(result.stdout)).toMatchObject({ child_gone: '1', leader_gone: '1' });
  });

  test('a group with a child that ignores SIGTERM: SIGKILL reaches the child at the timeout', async () => {
    const { given, result } = await withApp(
      [
        `spawn_app app.rec sh -c 'trap "" TERM; sleep 30 & echo $! > child.pid; while :; do sleep 0.05; done'`,
        'while [ ! -s child.pid ]; do sleep 0.01; done; child=$(cat child.pid)',
        'echo "app=$pid $start"',
      ].join('\n'),
      (app) => stop(app, { timeoutMs: 300 }),
      'wait_gone "$child" 2000 && echo child_gone=1',
    );
    expect(parseStop(given).how).toBe('killed');
    expect(values(result.stdout)).toMatchObject({ child_gone: '1' });
  });

  test('a process that leads no group (not started by us) gets the signal alone', async () => {
    const { given, result } = await withApp(
      'sleep 30 & pid=$!; start=$(start_of "$pid"); echo "app=$pid $start"',
      (app) => stop(app),
      'wait_gone "$pid" 1000 && echo gone=1',
    );
    expect(parseStop(given).how).toBe('exited');
    expect(values(result.stdout)).toMatchObject({ gone: '1', code: '0' });
  });

  test('a recycled pid (another start time): gone, and the process is not signalled', async () => {
    const { given, result } = await withApp(
      'spawn_app app.rec sleep 30; echo "app=$pid $start"',
      (app) => stop({ pid: app.pid, start: `${app.start}1` }),
      'sleep 0.1; gone "$pid" || echo alive=1',
    );
    expect(parseStop(given)).toEqual({ how: 'gone', ms: 0 });
    expect(values(result.stdout)).toMatchObject({ alive: '1', code: '0' });
  });

  test('a zombie is gone', async () => {
    const { given } = await withApp(
      `sh -c 'sleep 0 & echo $! > z.pid; exec sleep 30' & while [ ! -s z.pid ]; do sleep 0.01; done; pid=$(cat z.pid); wait_gone "$pid" 1000; echo "app=$pid 0"`,
      (app) => stop(app),
    );
    expect(parseStop(given)).toEqual({ how: 'gone', ms: 0 });
  });

  test('the pid file and the launch record go only when they name that pid', async () => {
    const p = paths();
    box.file('app/run/8080.pid', '');
    box.file('app/run/8081.pid', '');
    const { app } = await withApp(
      [
        'spawn_app app.rec sleep 30',
        `echo "$pid $start r1" > app/run/8080.pid`,
        `echo "$pid $start 8080" > app/run/pending`,
        `echo "$pid $start r0" > app/run/8081.pid`,
        'echo "app=$pid $start"',
      ].join('\n'),
      (app) => stop(app),
    );
    expect(box.exists('app/run/8080.pid')).toBe(false);
    expect(box.exists('app/run/pending')).toBe(false);
    // another port's file is not this stop's business, even when it names the same pid
    expect(box.read('app/run/8081.pid')).toBe(`${app.pid} ${app.start} r0\n`);
    expect(p.pidFile(8080)).toBe(box.path('app/run/8080.pid'));
  });

  test('records of another pid stay', async () => {
    const { app } = await withApp(
      [
        'mkdir -p app/run; spawn_app app.rec sleep 30',
        'echo "1$pid $start r1" > app/run/8080.pid',
        'echo "1$pid $start 8080" > app/run/pending',
        'echo "app=$pid $start"',
      ].join('\n'),
      (app) => stop(app),
    );
    expect(box.read('app/run/8080.pid')).toBe(`1${app.pid} ${app.start} r1\n`);
    expect(box.read('app/run/pending')).toBe(`1${app.pid} ${app.start} 8080\n`);
  });

  test('an unreadable pid file is left alone, a missing launch record is no error', async () => {
    const { app } = await withApp(
      [
        'mkdir -p app/run; spawn_app app.rec sleep 30',
        'echo "$pid $start r1" > app/run/8080.pid; chmod 000 app/run/8080.pid',
        'echo "app=$pid $start"',
      ].join('\n'),
      (app) => stop(app),
    );
    expect(box.exists('app/run/8080.pid')).toBe(true);
    expect(box.read('cmd.err')).toBe('');
    expect(app.pid).toBeGreaterThan(1);
  });
});

describe('stopApp until closed', () => {
  const listener = (mode: string) =>
    [
      `spawn_app app.rec /usr/bin/python3 listener.py 8080 ${mode} ready`,
      'while [ ! -e ready ]; do sleep 0.01; done',
      'echo "app=$pid $start"',
      't0=$(now_ms)',
    ].join('\n');

  test('a listener that closes its port on SIGTERM but keeps running: closed, then killed by the deadline', async () => {
    box.file('listener.py', LISTENER_PY);
    const { given, result } = await withApp(
      listener('close-on-term'),
      (app) => stop(app, { timeoutMs: 1000, untilClosed: true }),
      [
        'gone "$pid" || echo alive_after_stop=1',
        'wait_gone "$pid" 4000 && echo gone=1',
        'echo "gone_after=$(($(now_ms) - t0))"',
      ].join('\n'),
    );
    const outcome = parseStop(given);
    expect(outcome.how).toBe('closed');
    expect(outcome.ms).toBeLessThan(1000);
    const v = values(result.stdout);
    expect(v).toMatchObject({ code: '0', alive_after_stop: '1', gone: '1' });
    // the detached killer's deadline is the timeout after the SIGTERM, rounded up to a whole second
    expect(Number(v.gone_after)).toBeGreaterThanOrEqual(1000);
    expect(Number(v.gone_after)).toBeLessThan(2500);
  });

  test('a listener that exits on SIGTERM: exited or closed, and gone', async () => {
    box.file('listener.py', LISTENER_PY);
    const { given, result } = await withApp(
      listener('plain'),
      (app) => stop(app, { untilClosed: true }),
      ['wait_gone "$pid" 2000 && echo gone=1'].join('\n'),
    );
    expect(['exited', 'closed']).toContain(parseStop(given).how);
    expect(values(result.stdout)).toMatchObject({ gone: '1', code: '0' });
  });

  test('a listener that ignores SIGTERM and keeps its port: killed at the timeout', async () => {
    box.file('listener.py', LISTENER_PY);
    const { given, result } = await withApp(
      `spawn_app app.rec sh -c 'trap "" TERM; exec /usr/bin/python3 listener.py 8080 plain ready'; while [ ! -e ready ]; do sleep 0.01; done; echo "app=$pid $start"`,
      (app) => stop(app, { timeoutMs: 500, untilClosed: true }),
      'wait_gone "$pid" 2000 && echo gone=1',
    );
    const outcome = parseStop(given);
    expect(outcome.how).toBe('killed');
    expect(outcome.ms).toBeGreaterThanOrEqual(500);
    expect(values(result.stdout)).toMatchObject({ gone: '1' });
  });

  test('until closed with an app already gone: gone, no killer', async () => {
    const { given, result } = await withApp(
      'spawn_app app.rec sleep 30; kill -9 "$pid"; wait_gone "$pid" 1000; echo "app=$pid $start"',
      (app) => stop(app, { untilClosed: true }),
    );
    expect(parseStop(given)).toEqual({ how: 'gone', ms: 0 });
    expect(values(result.stdout)).toMatchObject({ code: '0' });
  });
});

describe('stop_group stops the whole process group, not just its leader', () => {
  beforeEach(() => box.file('listener.py', LISTENER_PY));

  /** The app: a shell that exits on SIGTERM, its child a listener on 8080 that ignores SIGTERM. */
  const LEADER_AND_STUBBORN_CHILD = [
    `spawn_app app.rec sh -c '(trap "" TERM; exec /usr/bin/python3 listener.py 8080 plain ready) & echo $! > child.pid; wait'`,
    'while [ ! -e ready ] || [ ! -s child.pid ]; do sleep 0.01; done; child=$(cat child.pid)',
    'echo "app=$pid $start"',
  ].join('\n');
  const AFTER = [
    'wait_gone "$child" 2000 && echo child_gone=1',
    'gone "$pid" && echo leader_gone=1',
    `ss -Hltn 'sport = :8080' | grep -q . || echo port_free=1`,
  ].join('\n');

  test('a leader that exits on SIGTERM, a child that ignores it and holds the port: killed at the timeout', async () => {
    const { given, result } = await withApp(
      LEADER_AND_STUBBORN_CHILD,
      (app) => stop(app, { timeoutMs: 400 }),
      AFTER,
    );
    const outcome = parseStop(given);
    expect(outcome.how).toBe('killed');
    expect(outcome.ms).toBeGreaterThanOrEqual(400);
    expect(outcome.ms).toBeLessThan(3000);
    expect(values(result.stdout)).toMatchObject({
      code: '0',
      child_gone: '1',
      leader_gone: '1',
      port_free: '1',
    });
  });

  test('the same until the port closes: the child keeps it open, so it is killed, and the port is free', async () => {
    const { given, result } = await withApp(
      LEADER_AND_STUBBORN_CHILD,
      (app) => stop(app, { timeoutMs: 400, untilClosed: true }),
      AFTER,
    );
    expect(parseStop(given).how).toBe('killed');
    expect(values(result.stdout)).toMatchObject({ code: '0', child_gone: '1', port_free: '1' });
  });

  test('a group whose leader already died is still stopped (its child held the port)', async () => {
    const { given, result } = await withApp(
      [
        `spawn_app app.rec sh -c '/usr/bin/python3 listener.py 8080 plain ready & echo $! > child.pid; wait'`,
        'while [ ! -e ready ] || [ ! -s child.pid ]; do sleep 0.01; done; child=$(cat child.pid)',
        'kill -9 "$pid"; wait_gone "$pid" 1000 && echo leader_dead=1',
        'echo "app=$pid $start"',
      ].join('\n'),
      (app) => stop(app),
      AFTER,
    );
    expect(parseStop(given).how).toBe('exited');
    expect(values(result.stdout)).toMatchObject({ leader_dead: '1', child_gone: '1', port_free: '1' });
  });

  test('a dead leader whose child ignores SIGTERM: killed at the timeout', async () => {
    const { given, result } = await withApp(
      [
        LEADER_AND_STUBBORN_CHILD.replace(/\necho "app=.*$/, ''),
        'kill -9 "$pid"; wait_gone "$pid" 1000',
        'echo "app=$pid $start"',
      ].join('\n'),
      (app) => stop(app, { timeoutMs: 300 }),
      AFTER,
    );
    const outcome = parseStop(given);
    expect(outcome.how).toBe('killed');
    expect(outcome.ms).toBeGreaterThanOrEqual(300);
    expect(values(result.stdout)).toMatchObject({ child_gone: '1', port_free: '1' });
  });

  test('a recycled pid that leads its own group is never signalled, even with a live group of that id', async () => {
    // a process started in its own session (as a service is) took the pid: its group is not ours
    const { given, result } = await withApp(
      [
        `spawn_app app.rec sh -c 'sleep 30 & echo $! > child.pid; wait'`,
        'while [ ! -s child.pid ]; do sleep 0.01; done; child=$(cat child.pid)',
        'echo "app=$pid $start"',
      ].join('\n'),
      (app) => stop({ pid: app.pid, start: `1${app.start}` }),
      'sleep 0.1; gone "$pid" || echo alive=1; gone "$child" || echo child_alive=1',
    );
    expect(parseStop(given)).toEqual({ how: 'gone', ms: 0 });
    expect(values(result.stdout)).toMatchObject({ alive: '1', child_alive: '1', code: '0' });
  });

  test('kill_later: a group whose leader is gone but whose child still runs is killed at the deadline', async () => {
    const { result } = await withApp(
      [
        `spawn_app app.rec sh -c '(trap "" TERM; exec sleep 30) & echo $! > child.pid; wait'`,
        'while [ ! -s child.pid ]; do sleep 0.01; done; child=$(cat child.pid)',
        'kill -9 "$pid"; wait_gone "$pid" 1000',
        'echo "app=$pid $start"',
      ].join('\n'),
      (app) => [killLaterSh(), `kill_later ${app.pid} ${app.start} 1`].join('\n'),
      'gone "$child" || echo alive_at_once=1; wait_gone "$child" 3000 && echo child_gone=1',
    );
    expect(values(result.stdout)).toMatchObject({ alive_at_once: '1', child_gone: '1' });
  });
});

describe('isAlive', () => {
  test('our process, a replaced one, an exited one', async () => {
    const { result } = await withApp(
      'spawn_app app.rec sleep 30; echo "app=$pid $start"',
      (app) =>
        [
          `echo "same=$(sh -c ${quote(isAlive(app).script)})"`,
          `echo "other=$(sh -c ${quote(isAlive({ ...app, start: `${app.start}9` }).script)})"`,
        ].join('\n'),
      'kill -9 "$pid"; wait_gone "$pid" 1000; echo "after=$(sh .given/cmd.sh)"',
    );
    const out = box.read('cmd.out');
    expect(out).toContain('same=alive=1\n');
    expect(out).toContain('other=alive=0\n');
    expect(result.stdout).toContain('after=same=alive=0\nother=alive=0\n');
  });
});
