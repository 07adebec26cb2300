// holdLock run by a real sh in the sandbox: the lock, a second deploy waiting and timing out, the setup
// failure, and the watchdog that stops the recorded half-started app when the session ends; with the switch,
// the two sides of the launch record race.
import { holdLock, LOCK_SETUP_EXIT, LOCK_TIMEOUT_EXIT } from '../../src/commands/lock.js';
import { EXIT_LAUNCH_GONE, switchNginx } from '../../src/commands/nginx.js';
import { layout } from '../../src/layout.js';
import { quote } from '../../src/shell.js';
import { SCENARIO, sandbox, type Sandbox } from '../support/sandbox.js';

let box: Sandbox;
beforeEach(() => {
  box = sandbox();
});
afterEach(() => box.cleanup());

const paths = () => layout(box.path('app'));
const lock = (holder: string, timeoutSeconds = 5, stopTimeoutMs = 2000) =>
  holdLock(paths(), { holder, timeoutSeconds, stopTimeoutMs });

describe('the lock', () => {
  test('creates the layout, records the holder, holds until stdin closes, then clears the record', async () => {
    const cmd = lock('run 1 by alice');
    const a = box.start(cmd.script);
    expect(cmd.event(await a.waitFor(cmd.heldLine))).toEqual({ held: true });
    expect(box.read('app/.deploy.lock.info')).toBe('run 1 by alice\n');
    expect(box.exists('app/releases')).toBe(true);
    expect(box.exists('app/run')).toBe(true);
    a.closeStdin();
    const r = await a.done;
    expect(r).toMatchObject({ code: 0, stdout: 'locked\n', stderr: '' });
    expect(box.read('app/.deploy.lock.info')).toBe('');
  });

  test('a second deploy waits, names the holder, and takes the lock when it is released', async () => {
    const first = lock('run 1 by alice');
    const a = box.start(first.script);
    await a.waitFor(first.heldLine);
    const second = lock('run 2 by bob');
    const b = box.start(second.script);
    const waiting = await b.waitFor(second.waitingLine);
    expect(second.event(waiting)).toEqual({ held: false, holder: 'run 1 by alice' });
    expect(b.output().stdout).toBe('waiting=run 1 by alice \n');
    a.closeStdin();
    expect(second.event(await b.waitFor(second.heldLine))).toEqual({ held: true });
    expect(box.read('app/.deploy.lock.info')).toBe('run 2 by bob\n');
    b.closeStdin();
    expect((await a.done).code).toBe(0);
    expect((await b.done).code).toBe(0);
  });

  test('a second deploy gives up after its lock-timeout with LOCK_TIMEOUT_EXIT and the holder', async () => {
    const first = lock("run 1 by 'alice'");
    const a = box.start(first.script);
    await a.waitFor(first.heldLine);
    const second = lock('run 2 by bob', 1);
    const r = await box.run(second.script, { stdin: '' });
    expect(r.code).toBe(LOCK_TIMEOUT_EXIT);
    expect(r.stdout).toBe("waiting=run 1 by 'alice' \nholder=run 1 by 'alice' \n");
    expect(second.holder(r.stdout)).toBe("run 1 by 'alice'");
    expect(r.ms).toBeGreaterThanOrEqual(1000);
    expect(r.ms).toBeLessThan(3000);
    expect(box.read('app/.deploy.lock.info')).toBe("run 1 by 'alice'\n");
    a.closeStdin();
    expect((await a.done).code).toBe(0);
  });

  test('a remote-dir that cannot be created: LOCK_SETUP_EXIT with what to do', async () => {
    const cmd = holdLock(layout('/usr/bgd-no-such-dir'), {
      holder: 'x',
      timeoutSeconds: 1,
      stopTimeoutMs: 1,
    });
    const r = await box.run(cmd.script);
    expect(r.code).toBe(LOCK_SETUP_EXIT);
    expect(r.stderr).toContain(
      'cannot create /usr/bgd-no-such-dir: create it on the host and make the deploy user its owner\n',
    );
    expect(r.stdout).toBe('');
  });

  test('a lock file that cannot be opened: LOCK_SETUP_EXIT', async () => {
    box.file('app/.deploy.lock', '');
    const { chmodSync } = await import('node:fs');
    chmodSync(box.path('app/.deploy.lock'), 0o444);
    const r = await box.run(lock('x').script);
    expect(r.code).toBe(LOCK_SETUP_EXIT);
    expect(r.stdout).toBe('');
  });
});

describe('the watchdog', () => {
  const victim = (cmd: string) =>
    [
      SCENARIO,
      `spawn_app app.rec ${cmd}`,
      'mkdir -p app/run',
      'echo "$pid $start 8081" > app/run/pending',
      'echo "$pid $start r2" > app/run/8081.pid',
      'echo "$pid $start r1" > app/run/8080.pid',
    ].join('\n');

  test('stops the recorded app when the session ends, and forgets it', async () => {
    box.file('lock.sh', lock('run 1').script);
    const r = await box.run(
      [
        victim('sleep 30'),
        'sh lock.sh </dev/null',
        'echo "lock=$?"',
        'wait_gone "$pid" 1000 && echo gone=1',
      ].join('\n'),
    );
    expect(r.stdout).toBe('locked\nlock=0\ngone=1\n');
    expect(r.stderr).toMatch(/^watchdog: stopping half-started app \d+ on port 8081\n$/);
    expect(box.exists('app/run/pending')).toBe(false);
    expect(box.exists('app/run/pending.stop')).toBe(false);
    expect(box.exists('app/run/8081.pid')).toBe(false);
    expect(box.exists('app/run/8080.pid')).toBe(true);
    expect(box.read('app/.deploy.lock.info')).toBe('');
  });

  test('does nothing while the session lives', async () => {
    box.file('lock.sh', lock('run 1').script);
    const s = box.start([victim('sleep 30'), 'sh lock.sh', 'gone "$pid" && echo gone=1'].join('\n'));
    await s.waitFor(/^locked$/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(box.exists('app/run/pending')).toBe(true);
    s.closeStdin();
    const r = await s.done;
    expect(r.stdout).toBe('locked\ngone=1\n');
  });

  test('uses the stop timeout it is given: an app ignoring SIGTERM is killed after it', async () => {
    box.file('lock.sh', lock('run 1', 5, 400).script);
    const r = await box.run(
      [
        victim(`sh -c 'trap "" TERM; while :; do sleep 0.05; done'`),
        't0=$(now_ms)',
        'sh lock.sh </dev/null >/dev/null',
        'echo "took=$(($(now_ms) - t0))"',
        'wait_gone "$pid" 1000 && echo gone=1',
      ].join('\n'),
    );
    const took = Number(/took=(\d+)/.exec(r.stdout)?.[1]);
    expect(took).toBeGreaterThanOrEqual(400);
    expect(took).toBeLessThan(1500);
    expect(r.stdout).toContain('gone=1\n');
  });

  test('without a launch record, stops nothing', async () => {
    box.file('lock.sh', lock('run 1').script);
    const r = await box.run(
      [SCENARIO, 'spawn_app app.rec sleep 30', 'sh lock.sh </dev/null', 'gone "$pid" || echo alive=1'].join(
        '\n',
      ),
    );
    expect(r).toMatchObject({ stdout: 'locked\nalive=1\n', stderr: '' });
  });
});

describe('the launch record: the switch and the watchdog never both act', () => {
  function fakeNginx(): void {
    box.fake('ps', `cat ${quote(box.path('ps.out'))}`);
    box.fake(
      'nginx',
      `case "$*" in *reload*) echo '  200 1 nginx: worker process' >> ${quote(box.path('ps.out'))} ;; esac`,
    );
    box.file('ps.out', '  100 1 nginx: worker process\n');
    box.file('nginx.inc', 'set $service_url http://127.0.0.1:8080;\n');
  }
  const nginxSpec = { reload: 'signal' as const, sudo: 'never' as const };
  const toNewApp = () => [
    {
      path: box.path('nginx.inc'),
      content: 'set $service_url http://127.0.0.1:8081;\n',
      expected: 'set $service_url http://127.0.0.1:8080;\n',
    },
  ];

  test('after a switch, a session that ends stops nothing: nginx routes to the new app', async () => {
    fakeNginx();
    box.file('lock.sh', lock('run 1').script);
    box.file('switch.sh', switchNginx(nginxSpec, 'switch', toNewApp(), paths().pending).script);
    const r = await box.run(
      [
        SCENARIO,
        'spawn_app app.rec sleep 30',
        'mkdir -p app/run; echo "$pid $start 8081" > app/run/pending',
        'sh switch.sh >/dev/null; echo "switch=$?"',
        'sh lock.sh </dev/null >/dev/null; echo "lock=$?"',
        'gone "$pid" || echo alive=1',
      ].join('\n'),
    );
    expect(r).toMatchObject({ stdout: 'switch=0\nlock=0\nalive=1\n', stderr: '' });
  });

  test('after the watchdog, a late switch changes nothing and exits EXIT_LAUNCH_GONE', async () => {
    fakeNginx();
    box.file('lock.sh', lock('run 1').script);
    box.file('switch.sh', switchNginx(nginxSpec, 'switch', toNewApp(), paths().pending).script);
    const r = await box.run(
      [
        SCENARIO,
        'spawn_app app.rec sleep 30',
        'mkdir -p app/run; echo "$pid $start 8081" > app/run/pending',
        'sh lock.sh </dev/null >/dev/null 2>&1; echo "lock=$?"',
        'gone "$pid" && echo gone=1',
        'sh switch.sh 2>/dev/null; echo "switch=$?"',
      ].join('\n'),
    );
    expect(r.stdout).toBe(`lock=0\ngone=1\nswitch=${EXIT_LAUNCH_GONE}\n`);
    expect(box.read('nginx.inc')).toBe('set $service_url http://127.0.0.1:8080;\n');
  });

  test('a switch that holds the claim keeps the watchdog off the app', async () => {
    fakeNginx();
    box.file('lock.sh', lock('run 1').script);
    const r = await box.run(
      [
        SCENARIO,
        'spawn_app app.rec sleep 30',
        'mkdir -p app/run; echo "$pid $start 8081" > app/run/pending.switch',
        'sh lock.sh </dev/null 2>&1; echo "lock=$?"',
        'gone "$pid" || echo alive=1',
      ].join('\n'),
    );
    expect(r.stdout).toBe('locked\nlock=0\nalive=1\n');
    expect(box.exists('app/run/pending.switch')).toBe(true);
  });
});
