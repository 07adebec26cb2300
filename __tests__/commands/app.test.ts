// launchApp, adoptApp, isAlive, portOwner, logTail, stopApp: whole scripts for each option, and their parsers; launch,
// isAlive, portOwner and logTail run in the sandbox (stopApp: stop.test.ts).
import {
  adoptApp,
  isAlive,
  javaArgv,
  LAUNCH_RECORD_EXIT,
  launchApp,
  LOG_TAIL_BYTES,
  logTail,
  parseStop,
  portOwner,
  stopApp,
  type StopSpec,
} from '../../src/commands/app.js';
import {
  killLaterSh,
  listeningSh,
  nowMsSh,
  oursSh,
  pathSetupSh,
  portOwnerSh,
  stopGroupSh,
} from '../../src/commands/functions.js';
import { OutputError } from '../../src/commands/types.js';
import { layout } from '../../src/layout.js';
import { stopUnit } from '../../src/commands/systemd.js';
import { SCENARIO, sandbox, type Sandbox, describeInSandbox } from '../support/sandbox.js';
import { body, paths, replaced } from './helpers.js';

const launch = {
  releaseId: '20261130T055400Z-abc1234',
  port: 8081,
  java: '/usr/lib/jvm/java 17/bin/java',
  javaOpts: ['-Xmx256m', '-Dgreeting=hello world'],
  portArg: ['--server.port=8081'],
  appArgs: ["--who=it's", '--spring.profiles.active=prod'],
};

describe('launchApp', () => {
  test('java argv, exactly', () => {
    expect(javaArgv(paths, launch)).toEqual([
      '/usr/lib/jvm/java 17/bin/java',
      '-Xmx256m',
      '-Dgreeting=hello world',
      '-jar',
      '/srv/app/releases/20261130T055400Z-abc1234/app.jar',
      '--server.port=8081',
      "--who=it's",
      '--spring.profiles.active=prod',
    ]);
    expect(javaArgv(paths, { ...launch, javaOpts: [], appArgs: [] })).toEqual([
      '/usr/lib/jvm/java 17/bin/java',
      '-jar',
      '/srv/app/releases/20261130T055400Z-abc1234/app.jar',
      '--server.port=8081',
    ]);
    // port-arg none: the app finds its port elsewhere (PORT, a -D option).
    expect(
      javaArgv(paths, { ...launch, javaOpts: ['-Dquarkus.http.port=8081'], portArg: [], appArgs: [] }),
    ).toEqual([
      '/usr/lib/jvm/java 17/bin/java',
      '-Dquarkus.http.port=8081',
      '-jar',
      '/srv/app/releases/20261130T055400Z-abc1234/app.jar',
    ]);
    expect(javaArgv(paths, { ...launch, portArg: ['-port=8081', 'x y'], appArgs: ['--a'] }).slice(3)).toEqual(
      ['-jar', '/srv/app/releases/20261130T055400Z-abc1234/app.jar', '-port=8081', 'x y', '--a'],
    );
  });

  test('whole script', () => {
    const cmd = launchApp(paths, launch);
    expect(cmd.kind).toBe('launch');
    expect(cmd.title).toBe('launch 20261130T055400Z-abc1234 on port 8081');
    expect(cmd.quiet).toBeUndefined();
    expect(body(cmd.script, [pathSetupSh(), oursSh(), listeningSh(), nowMsSh(), stopGroupSh()]))
      .toMatchInlineSnapshot(`
"cd -- /srv/app || exit 1
rm -f -- /srv/app/releases/20261130T055400Z-abc1234/.launch.pid
(
  export PORT=8081 SERVER_PORT=8081
  utf8=" $(locale -a 2>/dev/null | tr -d - | tr '[:upper:]' '[:lower:]' | tr '\\n' ' ')"
  case "$utf8" in *" c.utf8 "*) utf8=C.UTF-8 ;; *" en_us.utf8 "*) utf8=en_US.UTF-8 ;; *) utf8= ;; esac
  [ -z "$utf8" ] || unset LANG LC_ALL
  env_file=/srv/app/releases/20261130T055400Z-abc1234/app-8081.env
  [ -f "$env_file" ] || env_file=/srv/app/releases/20261130T055400Z-abc1234/app.env
  # shellcheck source=/dev/null
  if [ -f "$env_file" ]; then set -a; . "$env_file"; set +a; fi
  if [ -n "$utf8" ] && [ -z "\${LANG+x}\${LC_ALL+x}" ]; then export LANG="$utf8" LC_ALL="$utf8"; fi
  exec setsid sh -c 'echo "$$" > "$1" || exit 1; shift; exec "$@"' launcher /srv/app/releases/20261130T055400Z-abc1234/.launch.pid '/usr/lib/jvm/java 17/bin/java' -Xmx256m '-Dgreeting=hello world' -jar /srv/app/releases/20261130T055400Z-abc1234/app.jar --server.port=8081 '--who=it'\\''s' --spring.profiles.active=prod
) </dev/null >>/srv/app/releases/20261130T055400Z-abc1234/app.log 2>&1 &
i=0
while [ ! -s /srv/app/releases/20261130T055400Z-abc1234/.launch.pid ] && [ "$i" -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
pid=$(cat /srv/app/releases/20261130T055400Z-abc1234/.launch.pid 2>/dev/null); rm -f -- /srv/app/releases/20261130T055400Z-abc1234/.launch.pid
[ -n "$pid" ] || { echo "the launcher did not start within 5 s" >&2; exit 1; }
start=$(start_time "$pid")
if ! { printf '%s %s %s\\n' "$pid" "$start" 20261130T055400Z-abc1234 > /srv/app/run/8081.pid &&
  printf '%s %s %s\\n' "$pid" "$start" 8081 > /srv/app/run/pending; }; then
  stop_group "$pid" "$start" 5000 >/dev/null
  rm -f -- /srv/app/run/8081.pid /srv/app/run/pending
  echo "could not record the new app (disk full?): it was stopped" >&2
  exit 40
fi
echo "pid=$pid"
echo "start=$start"
"
`);
  });

  test('parses pid and start', () => {
    const parse = (stdout: string) => launchApp(paths, launch).parse(stdout);
    expect(parse('pid=4242\nstart=987654\n')).toEqual({ pid: 4242, start: '987654' });
    expect(parse('noise\npid= 7 \nstart=1\n')).toEqual({ pid: 7, start: '1' });
    expect(() => parse('start=1\n')).toThrow(OutputError);
    expect(() => parse('pid=abc\nstart=1\n')).toThrow(
      new OutputError('the remote script printed pid=abc, not a number'),
    );
    expect(() => parse('pid=-1\nstart=1\n')).toThrow(OutputError);
    expect(() => parse('pid=12\n')).toThrow(new OutputError('the remote script printed no start='));
    expect(() => parse('')).toThrow(new OutputError('the remote script printed no pid='));
  });
});

describe('adoptApp', () => {
  test('whole script: still ours, then recorded as the pending launch', () => {
    const cmd = adoptApp(paths, { pid: 4242, start: '987654' }, 8080);
    expect(cmd.kind).toBe('adopt');
    expect(cmd.title).toBe('reuse pid 4242 on port 8080');
    expect(body(cmd.script, [oursSh()])).toMatchInlineSnapshot(`
"ours 4242 987654 || { echo "pid 4242 on port 8080 has exited" >&2; exit 1; }
printf '%s\\n' '4242 987654 8080' > /srv/app/run/pending
"
`);
  });

  test('a supervised app: its unit is recorded too, as a launch records it', () => {
    const unit = { scope: 'user' as const, name: 'app@8080.service', sudo: 'auto' as const };
    const cmd = adoptApp(paths, { pid: 4242, start: "$(x) 'y'", unit }, 8080);
    expect(body(cmd.script, [oursSh()])).toMatchInlineSnapshot(`
"ours 4242 '$(x) '\\''y'\\''' || { echo "pid 4242 on port 8080 has exited" >&2; exit 1; }
printf '%s\\n' '4242 $(x) '\\''y'\\'' 8080 user:app@8080.service' > /srv/app/run/pending
"
`);
  });
});

describe('isAlive', () => {
  test('whole script', () => {
    const cmd = isAlive({ pid: 4242, start: '987654' });
    expect(cmd.kind).toBe('alive');
    expect(cmd.title).toBe('is pid 4242 alive');
    expect(cmd.quiet).toBe(true);
    expect(body(cmd.script, [oursSh()])).toMatchInlineSnapshot(`
"if ours 4242 987654; then echo alive=1; else echo alive=0; fi
"
`);
  });

  test('a start time that is not a plain word is quoted', () => {
    expect(body(isAlive({ pid: 1, start: "$(x) 'y'" }).script, [oursSh()])).toMatchInlineSnapshot(`
"if ours 1 '$(x) '\\''y'\\'''; then echo alive=1; else echo alive=0; fi
"
`);
  });

  test('parses alive=1 and alive=0; no answer is an error', () => {
    const parse = (stdout: string) => isAlive({ pid: 1, start: '2' }).parse(stdout);
    expect(parse('alive=1\n')).toBe(true);
    expect(parse('alive=0\n')).toBe(false);
    expect(parse('alive=yes\n')).toBe(false);
    expect(() => parse('alive\n')).toThrow(new OutputError('the remote script printed no alive='));
  });
});

describe('portOwner', () => {
  test('whole script', () => {
    const cmd = portOwner({ pid: 4242, start: '987654' }, 8081);
    expect(cmd.kind).toBe('portOwner');
    expect(cmd.title).toBe('who listens on port 8081');
    expect(cmd.quiet).toBeUndefined();
    expect(body(cmd.script, [pathSetupSh(), portOwnerSh()])).toMatchInlineSnapshot(`
"pids=$(port_pids 8081 | tr '\\n' ' ')
echo "pids=$pids"
[ -n "$pids" ] || { echo owner=unseen; exit 0; }
for p in $pids; do descends "$p" 4242 || { echo owner=foreign; exit 0; }; done
echo owner=ours
"
`);
  });

  test('another app and port', () => {
    expect(portOwner({ pid: 7, start: 'x' }, 9090).script).toBe(
      replaced(portOwner({ pid: 4242, start: '987654' }, 8081).script, {
        "pids=$(port_pids 8081 | tr '\\n' ' ')": "pids=$(port_pids 9090 | tr '\\n' ' ')",
        'for p in $pids; do descends "$p" 4242 || { echo owner=foreign; exit 0; }; done':
          'for p in $pids; do descends "$p" 7 || { echo owner=foreign; exit 0; }; done',
      }),
    );
  });

  test('parses ours, foreign and unseen; anything else is an OutputError', () => {
    const parse = (stdout: string) => portOwner({ pid: 1, start: '2' }, 8081).parse(stdout);
    expect(parse('pids=10 11 \nowner=ours\n')).toEqual({ owner: 'ours', pids: [10, 11] });
    expect(parse('pids=12 \nowner=foreign\n')).toEqual({ owner: 'foreign', pids: [12] });
    expect(parse('pids=12  13\nowner=foreign\n')).toEqual({ owner: 'foreign', pids: [12, 13] });
    expect(parse('pids=\nowner=unseen\n')).toEqual({ owner: 'unseen' });
    expect(() => parse('pids=1\nowner=maybe\n')).toThrow(
      new OutputError('the port script printed owner=maybe'),
    );
    expect(() => parse('pids=1\n')).toThrow(new OutputError('the remote script printed no owner='));
    expect(() => parse('owner=ours\n')).toThrow(new OutputError('the remote script printed no pids='));
  });
});

describe('logTail', () => {
  test('whole script, and the output as it is', () => {
    const cmd = logTail(paths, 'r 1', 40);
    expect(cmd.kind).toBe('logTail');
    expect(cmd.title).toBe('last 40 lines of /srv/app/releases/r 1/app.log');
    expect(cmd.quiet).toBeUndefined();
    expect(LOG_TAIL_BYTES).toBe(16384);
    expect(cmd.script).toMatchInlineSnapshot(`
"tail -c 16384 -- '/srv/app/releases/r 1/app.log' 2>&1 | tail -n 40
"
`);
    expect(cmd.parse('a=1\n  b\n')).toBe('a=1\n  b\n');
  });
});

describe('stopApp', () => {
  const spec: StopSpec = {
    app: { pid: 4242, start: '987654' },
    port: 8080,
    timeoutMs: 5000,
    untilClosed: false,
  };

  test('until exited: whole script', () => {
    const cmd = stopApp(paths, spec);
    expect(cmd.kind).toBe('stop');
    expect(cmd.title).toBe('stop pid 4242 on port 8080');
    expect(cmd.quiet).toBeUndefined();
    expect(cmd.waitMs).toBe(10000); // stop-timeout, then up to 5 s for the SIGKILLed group
    expect(body(cmd.script, [pathSetupSh(), oursSh(), listeningSh(), nowMsSh(), stopGroupSh()]))
      .toMatchInlineSnapshot(`
"stop_group 4242 987654 5000 || exit 1
if [ -r /srv/app/run/8080.pid ] && read -r p _ < /srv/app/run/8080.pid && [ "$p" = 4242 ]; then rm -f -- /srv/app/run/8080.pid; fi
if [ -r /srv/app/run/pending ] && read -r p _ < /srv/app/run/pending && [ "$p" = 4242 ]; then rm -f -- /srv/app/run/pending; fi
"
`);
  });

  test('until closed: the stop waits for the port, then a detached killer keeps the deadline', () => {
    const exited = stopApp(paths, spec).script;
    const closed = stopApp(paths, { ...spec, untilClosed: true }).script;
    expect(closed).toBe(
      replaced(exited, {
        'stop_group 4242 987654 5000 || exit 1': [
          killLaterSh(),
          'out=$(stop_group 4242 987654 5000 8080) || exit 1',
          'printf \'%s\\n\' "$out"',
          'case "$out" in *stop=closed*)',
          "  ms=$(printf '%s\\n' \"$out\" | sed -n 's/^stop_ms=//p')",
          '  kill_later 4242 987654 $(( (5000 - ms + 999) / 1000 )) ;;',
          'esac',
        ].join('\n'),
      }),
    );
  });

  test('another timeout, port and app', () => {
    const cmd = stopApp(paths, {
      app: { pid: 7, start: 's t' },
      port: 9090,
      timeoutMs: 250,
      untilClosed: true,
    });
    expect(
      body(cmd.script, [pathSetupSh(), oursSh(), listeningSh(), nowMsSh(), stopGroupSh(), killLaterSh()]),
    ).toMatchInlineSnapshot(`
"out=$(stop_group 7 's t' 250 9090) || exit 1
printf '%s\\n' "$out"
case "$out" in *stop=closed*)
  ms=$(printf '%s\\n' "$out" | sed -n 's/^stop_ms=//p')
  kill_later 7 's t' $(( (250 - ms + 999) / 1000 )) ;;
esac
if [ -r /srv/app/run/9090.pid ] && read -r p _ < /srv/app/run/9090.pid && [ "$p" = 7 ]; then rm -f -- /srv/app/run/9090.pid; fi
if [ -r /srv/app/run/pending ] && read -r p _ < /srv/app/run/pending && [ "$p" = 7 ]; then rm -f -- /srv/app/run/pending; fi
"
`);
  });

  test('parses each outcome', () => {
    expect(stopApp(paths, spec).parse).toBe(parseStop);
    for (const how of ['gone', 'exited', 'closed', 'killed'] as const) {
      expect(parseStop(`stop=${how}\nstop_ms=120\n`)).toEqual({ how, ms: 120 });
    }
    expect(parseStop('stop=exited\nstop_ms=0\n')).toEqual({ how: 'exited', ms: 0 });
  });

  test('a supervised app is stopped through systemd, never by its pid alone', () => {
    const unit = { scope: 'system' as const, name: 'app@9090.service', sudo: 'auto' as const };
    const supervised = { ...spec, app: { ...spec.app, unit } };
    expect(stopApp(paths, supervised)).toEqual(stopUnit(paths, supervised));
    expect(stopApp(paths, supervised).script).toContain('sctl stop --no-block app@9090.service');
  });

  test('malformed stop output is an OutputError', () => {
    expect(() => parseStop('stop=stopped\nstop_ms=1\n')).toThrow(
      new OutputError('the stop script printed stop=stopped'),
    );
    expect(() => parseStop('stop_ms=1\n')).toThrow(new OutputError('the remote script printed no stop='));
    expect(() => parseStop('stop=killed\n')).toThrow(
      new OutputError('the remote script printed no stop_ms='),
    );
    expect(() => parseStop('stop=killed\nstop_ms=1.5\n')).toThrow(OutputError);
    expect(() => parseStop('stop=killed\nstop_ms=\n')).toThrow(OutputError);
  });
});

describeInSandbox('launchApp, isAlive and logTail run by a real sh (sandbox)', () => {
  let box: Sandbox;
  beforeEach(() => {
    box = sandbox();
    box.file('app/releases/r1/app.jar', 'jar');
    box.file('app/run/.keep', '');
    // A fake JVM: prints its argv and one variable of the env file, then stays up as the same process.
    box.fake(
      'fakejava',
      'printf "arg=%s\\n" "$@"; echo "GREETING=$GREETING"; echo "cwd=$(pwd)"; exec sleep 30',
    );
  });
  afterEach(() => box.cleanup());

  const spec = {
    releaseId: 'r1',
    port: 8081,
    java: 'fakejava',
    javaOpts: ['-Dgreeting=hello world'],
    portArg: ['--server.port=8081'],
    appArgs: ["--who=it's $(id)"],
  };

  test('starts the JVM detached in its own session and records it', async () => {
    box.file('app/releases/r1/app.env', "export GREETING='hi there'\n", 0o600);
    const paths = layout(box.path('app'));
    const cmd = launchApp(paths, spec);
    box.file('launch.sh', cmd.script);
    const r = await box.run(
      [
        SCENARIO,
        'sh launch.sh > launch.out; echo "code=$?"',
        'pid=$(sed -n "s/^pid=//p" launch.out)',
        'while ! grep -q "^cwd=" app/releases/r1/app.log 2>/dev/null; do sleep 0.01; done',
        'echo "comm=$(cat "/proc/$pid/comm")"',
        'echo "session=$(cut -d " " -f 6 "/proc/$pid/stat")"',
        'echo "stdin=$(readlink "/proc/$pid/fd/0")"',
        'echo "start=$(start_of "$pid")"',
      ].join('\n'),
    );
    expect(r.stderr).toBe('');
    const out = box.read('launch.out');
    const launched = cmd.parse(out);
    expect(out).toBe(`pid=${launched.pid}\nstart=${launched.start}\n`);
    expect(r.stdout).toBe(
      `code=0\ncomm=sleep\nsession=${launched.pid}\nstdin=/dev/null\nstart=${launched.start}\n`,
    );
    expect(box.read('app/run/8081.pid')).toBe(`${launched.pid} ${launched.start} r1\n`);
    expect(box.read('app/run/pending')).toBe(`${launched.pid} ${launched.start} 8081\n`);
    expect(box.read('app/releases/r1/app.log')).toBe(
      [
        'arg=-Dgreeting=hello world',
        'arg=-jar',
        `arg=${box.path('app/releases/r1/app.jar')}`,
        'arg=--server.port=8081',
        "arg=--who=it's $(id)",
        'GREETING=hi there',
        `cwd=${box.path('app')}`,
        '',
      ].join('\n'),
    );
    expect(box.exists('app/releases/r1/.launch.pid')).toBe(false);
  });

  test('without an env file; the log is appended to', async () => {
    box.file('app/releases/r1/app.log', 'earlier run\n');
    box.file('launch.sh', launchApp(layout(box.path('app')), spec).script);
    const r = await box.run(
      'sh launch.sh >/dev/null && while ! grep -q "^cwd=" app/releases/r1/app.log; do sleep 0.01; done',
    );
    expect(r.code).toBe(0);
    expect(box.read('app/releases/r1/app.log')).toMatch(
      /^earlier run\narg=-Dgreeting=hello world\n[^]*GREETING=\n/,
    );
  });

  test('no remote-dir: exit 1 before anything starts', async () => {
    const r = await box.run(launchApp(layout(box.path('nowhere')), spec).script);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
  });

  /** Prints left=PID for each live process of the launch: the launcher, the fake JVM or its sleep. */
  const LEFTOVERS = [
    'for d in /proc/[0-9]*; do',
    // not the sandbox's init nor this scenario, whose command lines hold these words
    '  case "${d#/proc/}" in 1|"$$") continue ;; esac',
    `  c=$(tr '\\0' ' ' < "$d/cmdline" 2>/dev/null)`,
    '  case "$c" in *fakejava*|*launcher*|"sleep 30 ") gone "${d#/proc/}" || echo "left=${d#/proc/}" ;; esac',
    'done',
  ].join('\n');

  async function launchFails(setup: string, timeoutMs = 5000) {
    box.file('launch.sh', launchApp(layout(box.path('app')), spec).script);
    return box.run([SCENARIO, setup, 'sh launch.sh; echo "code=$?"', LEFTOVERS].join('\n'), { timeoutMs });
  }

  test('records that cannot be written (run/ read-only): the app is stopped, LAUNCH_RECORD_EXIT', async () => {
    const r = await launchFails('chmod 555 app/run');
    expect(r.stdout).toBe(`code=${LAUNCH_RECORD_EXIT}\n`);
    expect(r.stderr).toMatch(/could not record the new app \(disk full\?\): it was stopped\n$/);
    expect(box.exists('app/run/8081.pid')).toBe(false);
    expect(box.exists('app/run/pending')).toBe(false);
    // it did start (and was stopped): the fake JVM printed its arguments
    expect(box.read('app/releases/r1/app.log')).toMatch(/^arg=-Dgreeting=hello world\n/);
  });

  test('run/ is a file: LAUNCH_RECORD_EXIT, nothing left running', async () => {
    const r = await launchFails('rm -rf app/run; echo x > app/run');
    expect(r.stdout).toBe(`code=${LAUNCH_RECORD_EXIT}\n`);
    expect(box.read('app/run')).toBe('x\n');
  });

  test('a full disk (/dev/full) for the pid file or the launch record: stopped, both records gone', async () => {
    let r = await launchFails('ln -s /dev/full app/run/8081.pid');
    expect(r.stdout).toBe(`code=${LAUNCH_RECORD_EXIT}\n`);
    expect(box.exists('app/run/8081.pid')).toBe(false);
    expect(box.exists('app/run/pending')).toBe(false);
    r = await launchFails('ln -s /dev/full app/run/pending');
    expect(r.stdout).toBe(`code=${LAUNCH_RECORD_EXIT}\n`);
    expect(box.exists('app/run/8081.pid')).toBe(false);
    expect(box.exists('app/run/pending')).toBe(false);
  });

  test('a launcher that cannot write its pid starts no JVM: exit 1 after 5 s, nothing left running', async () => {
    box.file('app/releases/r1/app.log', '', 0o666);
    const r = await launchFails('chmod 555 app/releases/r1', 30000);
    expect(r.stdout).toBe('code=1\n');
    expect(r.stderr).toMatch(/the launcher did not start within 5 s\n$/);
    expect(box.read('app/releases/r1/app.log')).not.toContain('arg=');
    expect(box.exists('app/run/8081.pid')).toBe(false);
  }, 15000);

  test('isAlive answers for the launched process', async () => {
    const paths = layout(box.path('app'));
    box.file('launch.sh', launchApp(paths, spec).script);
    const s = box.start(
      [
        SCENARIO,
        'sh launch.sh',
        'run_given alive',
        'p=$(cut -d " " -f 1 app/run/8081.pid); kill -9 "$p"; wait_gone "$p" 2000',
        'sh .given/alive.sh',
      ].join('\n'),
    );
    const pid = Number((await s.waitFor(/^pid=/)).slice(4));
    const start = (await s.waitFor(/^start=/)).slice(6);
    box.give('alive', isAlive({ pid, start }).script);
    const r = await s.done;
    expect(r.stdout).toBe(`pid=${pid}\nstart=${start}\nalive=1\nalive=0\n`);
  });

  test('logTail prints the last lines, or why it cannot', async () => {
    box.file('app/releases/r1/app.log', 'one\ntwo\nthree\n');
    const tail = logTail(layout(box.path('app')), 'r1', 2);
    expect(await box.run(tail.script)).toMatchObject({ code: 0, stdout: 'two\nthree\n', stderr: '' });
    // what tail says goes to the output (the pipe's last tail exits 0): the reason is shown, not a failure
    const missing = await box.run(logTail(layout(box.path('app')), 'r9', 2).script);
    expect(missing.code).toBe(0);
    expect(missing.stdout).toMatch(
      /^tail: cannot open '.*\/app\/releases\/r9\/app\.log' for reading: No such file or directory\n$/,
    );
    expect(missing.stderr).toBe('');
  });

  test('logTail reads at most LOG_TAIL_BYTES of the end: one huge line does not cross whole', async () => {
    box.file('app/releases/r1/app.log', `start\n${'x'.repeat(1_000_000)}\nlast\n`);
    const r = await box.run(logTail(layout(box.path('app')), 'r1', 40).script);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${'x'.repeat(LOG_TAIL_BYTES - 'last\n'.length - 1)}\nlast\n`);
  });
});
