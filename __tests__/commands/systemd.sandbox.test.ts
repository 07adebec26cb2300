// The launcher of a supervised app, run by a real sh in the sandbox as systemd would run it: its pid (the one
// systemd sees as MainPID) is the JVM's, recorded with its start time; the env file is sourced; the output
// reaches app.log and the unit's stdout (journald); a stop (SIGTERM to every process of the cgroup) still gets
// the app's last words into app.log.
import { asRoot } from '../../src/commands/functions.js';
import { launcherBody, stopUnitSh } from '../../src/commands/systemd.js';
import { layout } from '../../src/layout.js';
import { quote } from '../../src/shell.js';
import { sandbox, SCENARIO, type Sandbox } from '../support/sandbox.js';

let box: Sandbox;
beforeEach(() => {
  box = sandbox();
});
afterEach(() => box.cleanup());

/** A JVM stand-in without child processes of its own (a shell's `sleep` would report its own SIGTERM). */
const FAKE_JAVA = [
  '#!/usr/bin/env python3',
  'import os, signal, sys, time',
  "print('hello %s: %s' % (os.environ['GREETING'], ' '.join(sys.argv[1:])), flush=True)",
  'def on_term(*_):',
  "    print('bye after TERM', flush=True)",
  '    sys.exit(143)',
  'signal.signal(signal.SIGTERM, on_term)',
  'while True:',
  '    time.sleep(0.05)',
].join('\n');

test('records its own pid (the exec-ed JVM), logs to app.log and stdout, keeps the last words on a stop', async () => {
  const paths = layout(box.path('app'));
  box.file('app/run/.keep', '');
  box.file('app/releases/r1/app.env', "export GREETING='big world'\n", 0o600);
  const java = box.file('fake java', FAKE_JAVA, 0o755);
  const launcher = box.file(
    'app/run/8081.launch',
    `#!/bin/sh\njava=${quote(java)}\n${launcherBody(paths, { releaseId: 'r1', port: 8081, args: ['-jar', "it's.jar"] })}`,
  );
  const r = await box.run(
    [
      SCENARIO,
      `cd / && sh ${quote(launcher)} > ${quote(box.path('journal.txt'))} 2>&1 &`,
      'lp=$!',
      `while ! grep -q hello ${quote(paths.log('r1'))} 2>/dev/null; do sleep 0.01; done`,
      `read -r pid start rel < ${quote(paths.pidFile(8081))}`,
      'echo "same_pid=$([ "$pid" = "$lp" ] && echo 1) same_start=$([ "$start" = "$(start_of "$lp")" ] && echo 1) rel=$rel"',
      'echo "cmd=$(tr "\\0" " " < /proc/$lp/cmdline)"',
      // systemd's stop with KillMode=control-group: SIGTERM to every process of the unit.
      'kids=$(cat /proc/$lp/task/*/children)',
      'kill -TERM $lp $kids',
      'wait_gone "$lp" 3000 && for k in $kids; do wait_gone "$k" 3000; done && echo all_gone=1',
    ].join('\n'),
    { timeoutMs: 8000 },
  );
  expect(r.stderr).toBe('');
  expect(r.stdout).toContain('same_pid=1 same_start=1 rel=r1');
  expect(r.stdout).toMatch(new RegExp(`cmd=\\S*python3 ${java} -jar it's\\.jar`));
  expect(r.stdout).toContain('all_gone=1');
  const expected = "hello big world: -jar it's.jar\nbye after TERM\n";
  expect(box.read('app/releases/r1/app.log')).toBe(expected);
  expect(box.read('journal.txt')).toBe(expected);
});

test("the watchdog's stop_unit: stop, wait for inactive, disable when enabled; system as root, user with --user", async () => {
  box.fake(
    'systemctl',
    [
      '#!/bin/sh',
      'echo "$*${XDG_RUNTIME_DIR:+ [xdg]}" >> "$HOME/calls"',
      'case "$*" in *"show -p ActiveState"*) echo inactive ;; *is-enabled*) echo enabled ;; esac',
    ].join('\n'),
  );
  const r = await box.run(
    [
      asRoot('never'),
      stopUnitSh(),
      'stop_unit system:app@8081.service 1000',
      'stop_unit user:shop@8080.service 1000',
      'stop_unit bogus 1000 || echo bogus=1',
    ].join('\n'),
  );
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe('bogus=1\n');
  expect(box.read('calls')).toBe(
    [
      'stop --no-block app@8081.service',
      'show -p ActiveState --value app@8081.service',
      'is-enabled app@8081.service',
      'disable app@8081.service',
      '--user stop --no-block shop@8080.service [xdg]',
      '--user show -p ActiveState --value shop@8080.service [xdg]',
      '--user is-enabled shop@8080.service [xdg]',
      '--user disable shop@8080.service [xdg]',
      '',
    ].join('\n'),
  );
});
