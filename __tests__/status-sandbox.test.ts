// readStatus run by a real sh in the sandbox: our app and a stranger on the two ports with their start times,
// the lock held by another process (found in /proc/locks, never taken), the units through a stand-in
// systemctl, the history; and all of it without changing a file or a process.
import { readStatus, type StatusSpec } from '../src/commands/status.js';
import { layout } from '../src/layout.js';
import { since } from '../src/status.js';
import { describeInSandbox, LISTENER_PY, SCENARIO, sandbox, type Sandbox } from './support/sandbox.js';

let box: Sandbox;
beforeEach(() => {
  box = sandbox();
});
afterEach(() => box.cleanup());

const spec = (over: Partial<StatusSpec> = {}): StatusSpec => ({
  files: {
    include: box.path('nginx/service-url.inc'),
    upstream: box.path('nginx/bluegreen-service-url.conf'),
  },
  ports: [8080, 8081],
  supervisor: 'none',
  serviceName: 'app',
  ...over,
});

/** Every file and folder under the box (not the scenario's own /tmp): path, mode, inode, size, mtime, ctime, sha256. */
const SNAPSHOT = [
  'snapshot() {',
  "  find . -path ./.given -prune -o -exec stat -c '%n %a %i %s %y %z' {} + | sort",
  '  find . -path ./.given -prune -o -type f -exec sha256sum {} + | sort',
  "  ps -e -o pid=,args= | grep -v -e ' ps -e' -e ' sort' -e ' find ' -e 'sha256sum'",
  '}',
].join('\n');

/** Runs the status script in a scenario: `setup` first, then the script between two snapshots. */
async function status(s: StatusSpec, setup: string[]) {
  const cmd = readStatus(layout(box.path('app')), s);
  box.file('status.sh', cmd.script);
  box.file('listener.py', LISTENER_PY);
  const r = await box.run(
    [
      SCENARIO,
      SNAPSHOT,
      ...setup,
      'snapshot > /tmp/before',
      'sh status.sh > /tmp/out',
      'snapshot > /tmp/after',
      'cat /tmp/out',
      'cmp -s /tmp/before /tmp/after && echo unchanged=yes || diff /tmp/before /tmp/after >&2',
    ].join('\n'),
    { timeoutMs: 10000 },
  );
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/\nunchanged=yes\n$/);
  return { read: cmd.parse(r.stdout), stdout: r.stdout };
}

describeInSandbox('readStatus run by a real sh (sandbox)', () => {
  test('a host never deployed to: nothing there, nothing created', async () => {
    const { read, stdout } = await status(spec(), []);
    expect(read.lock).toEqual({ state: 'none' });
    expect(read.history).toEqual({ text: '', releases: [] });
    expect(read.detection.include).toEqual({ state: 'missing' });
    expect(read.ticksPerSecond).toBeGreaterThan(0);
    expect(Math.abs(read.bootTime * 1000 - Date.now())).toBeLessThan(10 * 365 * 86400 * 1000);
    expect(box.exists('app')).toBe(false);
    expect(stdout).not.toContain('unit_');
  });

  test('our app, a stranger, the lock held by another process, units, history: read, never touched', async () => {
    const history = '{"v":1,"event":"start","id":"r-1","mode":"deploy","started":"2024-01-01T00:00:00Z"}\n';
    box.file('nginx/service-url.inc', 'set $service_url http://127.0.0.1:8080;\n');
    box.file('app/history.jsonl', history);
    box.file('app/releases/r1/app.jar', 'jar');
    box.file('app/releases/r1/app.jar.sha256', 'x');
    box.file('app/.deploy.lock.info', 'run 7 by alice since 2024\n');
    box.file('app/.deploy.lock', '');
    // A stand-in systemctl: one instance answers, the other's manager cannot be reached.
    box.fake(
      'systemctl',
      [
        'case "$*" in',
        '  *app@8080.service) printf "LoadState=loaded\\nActiveState=active\\nUnitFileState=enabled\\nMainPID=%s\\n" "$(cat "$HOME/app.pid")" ;;',
        '  *) echo "Failed to connect to bus: No such file or directory" >&2; exit 1 ;;',
        'esac',
      ].join('\n'),
    );
    const { read, stdout } = await status(spec({ supervisor: 'systemd' }), [
      'spawn_app app.rec /usr/bin/python3 listener.py 8080 plain ready1',
      'echo "$pid" > app.pid',
      'mkdir -p app/run && echo "$pid $start r1" > app/run/8080.pid',
      'echo "app=$pid $start"',
      'spawn_app other.rec /usr/bin/python3 listener.py 8081 plain ready2',
      'echo "other=$pid $start"',
      'while [ ! -e ready1 ] || [ ! -e ready2 ]; do sleep 0.01; done',
      // Another process holds the lock as a deploy's lock shell does: flock(1) on an fd the shell keeps open.
      "sh -c 'exec 9>>app/.deploy.lock && flock 9 && echo x > locked && exec sleep 30' &",
      'while [ ! -s locked ]; do sleep 0.01; done',
    ]);
    const [appPid, appStart] = /^app=(\d+) (\d+)$/m.exec(stdout)?.slice(1) ?? [];
    const [otherPid, otherStart] = /^other=(\d+) (\d+)$/m.exec(stdout)?.slice(1) ?? [];
    expect(read.detection.ports.get(8080)?.ours).toEqual({
      pid: Number(appPid),
      start: appStart,
      release: 'r1',
    });
    expect(read.detection.ports.get(8081)).toEqual({
      port: 8081,
      listening: true,
      listener: {
        pid: Number(otherPid),
        start: otherStart,
        command: '/usr/bin/python3 listener.py 8081 plain ready2',
      },
    });
    // The app started moments ago, by the host's own clock.
    expect(Math.abs(Date.parse(since(read, appStart)) - Date.now())).toBeLessThan(60_000);
    expect(read.lock).toEqual({ state: 'held', holder: 'run 7 by alice since 2024' });
    expect(read.units).toEqual(
      new Map([
        [
          8080,
          {
            unit: 'app@8080.service',
            loadState: 'loaded',
            activeState: 'active',
            unitFileState: 'enabled',
            mainPid: Number(appPid),
          },
        ],
        [8081, { unit: 'app@8081.service', error: 'Failed to connect to bus: No such file or directory' }],
      ]),
    );
    expect(read.history).toEqual({ text: history, releases: [{ id: 'r1', complete: true }] });
  });

  test('a lock file nobody holds is free, whatever its info file says; a lock on another file is not ours', async () => {
    box.file('app/.deploy.lock', '');
    box.file('app/.deploy.lock.info', 'stale text of a killed run\n');
    const free = await status(spec(), []);
    expect(free.read.lock).toEqual({ state: 'free' });
    // Another file's lock on the same file system is not ours.
    box.file('other.lock', '');
    const other = await status(spec(), [
      'flock other.lock sh -c "echo x > locked; exec sleep 30" &',
      'while [ ! -s locked ]; do sleep 0.01; done',
    ]);
    expect(other.read.lock).toEqual({ state: 'free' });
  });

  test('/proc/locks finds a lock whose taker lives; only fdinfo finds one whose taker (flock(1)) has exited', async () => {
    box.file('app/.deploy.lock', '');
    const cmd = readStatus(layout(box.path('app')), spec());
    box.file('status.sh', cmd.script);
    // Without grep, the fdinfo scan finds nothing: what remains is /proc/locks alone.
    box.fake('grep', 'exit 1');
    const lock = async (holder: string) => {
      const r = await box.run(
        ['rm -f locked', `${holder} &`, 'while [ ! -e locked ]; do sleep 0.01; done', 'sh status.sh'].join(
          '\n',
        ),
      );
      expect(r.stderr).toBe('');
      return cmd.parse(r.stdout).lock;
    };
    expect(await lock('flock app/.deploy.lock sh -c "touch locked; exec sleep 30"')).toEqual({
      state: 'held',
      holder: '',
    });
    // In this pid namespace, as in a container's, /proc/locks hides the lock the deploy's lock shell holds.
    expect(
      await lock("sh -c 'exec 9>>app/.deploy.lock && flock 9 && touch locked && exec sleep 30'"),
    ).toEqual({
      state: 'free',
    });
  });

  test('an unreadable history (mode 000) is reported, and the rest still read', async () => {
    box.file('app/history.jsonl', 'x\n', 0o000);
    const cmd = readStatus(layout(box.path('app')), spec());
    box.file('status.sh', cmd.script);
    const r = await box.run('sh status.sh');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`${box.path('app/history.jsonl')} exists but the deploy user cannot read it\n`);
    const read = cmd.parse(r.stdout);
    expect(read.history).toEqual({
      error: `${box.path('app/history.jsonl')} exists but the deploy user cannot read it`,
    });
    expect(read.lock).toEqual({ state: 'none' });
  });
});
