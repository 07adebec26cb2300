// The systemd builders (supervisor: systemd | systemd-user): the unit file, the launcher, launch, stop, enable,
// the check and the watchdog's stop, as whole scripts; their parsers; the README's sudoers line.
import { readFileSync } from 'node:fs';
import { quote } from '../../src/shell.js';
import { listeningSh, nowMsSh, oursSh, pathSetupSh, stopGroupSh } from '../../src/commands/functions.js';
import { holdLock } from '../../src/commands/lock.js';
import {
  launchUnit,
  sudoersLine,
  supervisorCheck,
  type UnitLaunchSpec,
} from '../../src/commands/systemd-launch.js';
import {
  enableUnit,
  launcherBody,
  stopUnitSh,
  stopUnit,
  systemctlFunctions,
  unitFile,
  type Unit,
} from '../../src/commands/systemd.js';
import { OutputError } from '../../src/commands/types.js';
import { body, HOSTILE, hostilePaths, paths, replaced, shellcheck } from './helpers.js';

const system: Unit = { scope: 'system', name: 'app@8081.service', sudo: 'auto' };
const user: Unit = { scope: 'user', name: 'app@8081.service', sudo: 'auto' };
const unitSpec = (scope: Unit['scope']) => ({
  scope,
  serviceName: 'app',
  root: '/srv/app',
  user: 'deploy',
  stopTimeoutMs: 30000,
});
const launch = (unit: Unit): UnitLaunchSpec => ({
  releaseId: 'r1',
  port: 8081,
  java: 'java',
  args: ['-Xmx256m', '-jar', '/srv/app/releases/r1/app.jar', '--server.port=8081'],
  unit,
  unitFile: unitSpec(unit.scope),
});
const app = (unit: Unit) => ({ pid: 42, start: '4242', unit });

describe('unit file and launcher', () => {
  test('the system unit, whole', () => {
    expect(unitFile(unitSpec('system'))).toMatchInlineSnapshot(`
"# Written by the blue/green deploy action: app@PORT.service runs what the last deploy to PORT
# wrote in /srv/app/run/PORT.launch. The live port's instance is enabled (started at boot).
[Unit]
Description=app on port %i (blue/green deploy)
After=network.target
StartLimitIntervalSec=0

[Service]
Type=exec
User=deploy
WorkingDirectory=/srv/app
ExecStart=/bin/sh /srv/app/run/%i.launch
Restart=on-failure
RestartSec=2
SuccessExitStatus=143
KillMode=control-group
TimeoutStopSec=30
SyslogIdentifier=%p-%i

[Install]
WantedBy=multi-user.target
"
`);
  });

  test('the user unit: no User=, wanted by default.target; stop-timeout rounds up to whole seconds', () => {
    const text = unitFile({ ...unitSpec('user'), stopTimeoutMs: 2500 });
    expect(text).toBe(
      replaced(unitFile(unitSpec('system')), {
        'User=deploy': '',
        'TimeoutStopSec=30': 'TimeoutStopSec=3',
        'WantedBy=multi-user.target': 'WantedBy=default.target',
      }),
    );
  });

  test('the launcher body, whole', () => {
    expect(launcherBody(paths, launch(system))).toMatchInlineSnapshot(`
"# release r1 on port 8081; written by the deploy action at each launch
cd -- /srv/app || exit 1
start=$(sed "s/^.*) //" "/proc/$$/stat" | cut -d " " -f 20)
printf '%s %s %s\\n' "$$" "$start" r1 > /srv/app/run/8081.pid || exit 1
export PORT=8081 SERVER_PORT=8081
utf8=" $(locale -a 2>/dev/null | tr -d - | tr '[:upper:]' '[:lower:]' | tr '\\n' ' ')"
case "$utf8" in *" c.utf8 "*) utf8=C.UTF-8 ;; *" en_us.utf8 "*) utf8=en_US.UTF-8 ;; *) utf8= ;; esac
[ -z "$utf8" ] || unset LANG LC_ALL
env_file=/srv/app/releases/r1/app-8081.env
[ -f "$env_file" ] || env_file=/srv/app/releases/r1/app.env
# shellcheck source=/dev/null
if [ -f "$env_file" ]; then set -a; . "$env_file"; set +a; fi
if [ -n "$utf8" ] && [ -z "\${LANG+x}\${LC_ALL+x}" ]; then export LANG="$utf8" LC_ALL="$utf8"; fi
fifo=/srv/app/run/8081.out
rm -f -- "$fifo" && mkfifo -m 600 -- "$fifo" || exit 1
(trap '' TERM INT HUP; exec tee -a -- /srv/app/releases/r1/app.log < "$fifo") &
exec "$java" -Xmx256m -jar /srv/app/releases/r1/app.jar --server.port=8081 < /dev/null > "$fifo" 2>&1
"
`);
  });
});

describe('systemctl functions', () => {
  test('system: changes as root, reads as the user; user: --user with its runtime dir', () => {
    expect(systemctlFunctions('system', 'auto')).toMatchInlineSnapshot(`
"as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n -- "$@"; fi; }
sctl() { as_root systemctl "$@"; }
sshow() { systemctl "$@"; }"
`);
    expect(systemctlFunctions('user', 'auto')).toMatchInlineSnapshot(`
"XDG_RUNTIME_DIR=\${XDG_RUNTIME_DIR:-/run/user/$(id -u)}; export XDG_RUNTIME_DIR
sctl() { systemctl --user "$@"; }
sshow() { systemctl --user "$@"; }"
`);
  });
});

describe('launchUnit', () => {
  test('whole script (system unit), and its parser', () => {
    const cmd = launchUnit(paths, launch(system));
    expect(cmd.kind).toBe('launch');
    expect(cmd.title).toBe('launch r1 as app@8081.service');
    const unitText = unitFile(unitSpec('system')).replace(/'/g, `'\\''`);
    const rest = body(cmd.script, [pathSetupSh(), oursSh(), systemctlFunctions('system', 'auto')])
      .split(`'${unitText}'`)
      .join('UNIT');
    expect(rest).toMatchInlineSnapshot(`
"cd -- /srv/app || exit 1
java=$(command -v -- java) || { echo 'java: "java" is not a command the deploy user can run' >&2; exit 1; }
case "$java" in /*) ;; *) echo "java: $java is not a program file" >&2; exit 1 ;; esac
case "$java" in *"'"*) echo "java: the path $java contains a quote" >&2; exit 1 ;; esac
{ printf '#!/bin/sh\\njava='"'%s'"'\\n' "$java" && printf '%s' '# release r1 on port 8081; written by the deploy action at each launch
cd -- /srv/app || exit 1
start=$(sed "s/^.*) //" "/proc/$$/stat" | cut -d " " -f 20)
printf '\\''%s %s %s\\n'\\'' "$$" "$start" r1 > /srv/app/run/8081.pid || exit 1
export PORT=8081 SERVER_PORT=8081
utf8=" $(locale -a 2>/dev/null | tr -d - | tr '\\''[:upper:]'\\'' '\\''[:lower:]'\\'' | tr '\\''\\n'\\'' '\\'' '\\'')"
case "$utf8" in *" c.utf8 "*) utf8=C.UTF-8 ;; *" en_us.utf8 "*) utf8=en_US.UTF-8 ;; *) utf8= ;; esac
[ -z "$utf8" ] || unset LANG LC_ALL
env_file=/srv/app/releases/r1/app-8081.env
[ -f "$env_file" ] || env_file=/srv/app/releases/r1/app.env
# shellcheck source=/dev/null
if [ -f "$env_file" ]; then set -a; . "$env_file"; set +a; fi
if [ -n "$utf8" ] && [ -z "\${LANG+x}\${LC_ALL+x}" ]; then export LANG="$utf8" LC_ALL="$utf8"; fi
fifo=/srv/app/run/8081.out
rm -f -- "$fifo" && mkfifo -m 600 -- "$fifo" || exit 1
(trap '\\'''\\'' TERM INT HUP; exec tee -a -- /srv/app/releases/r1/app.log < "$fifo") &
exec "$java" -Xmx256m -jar /srv/app/releases/r1/app.jar --server.port=8081 < /dev/null > "$fifo" 2>&1
'; } > /srv/app/run/8081.launch.tmp &&
  mv -f -- /srv/app/run/8081.launch.tmp /srv/app/run/8081.launch || { echo 'cannot write the launch records in /srv/app/run (disk full?)' >&2; exit 40; }
unit_file=/etc/systemd/system/app@.service
if ! printf '%s' UNIT | cmp -s - "$unit_file"; then
  printf '%s' UNIT | as_root tee /etc/systemd/system/app@.service >/dev/null || { echo 'cannot write /etc/systemd/system/app@.service' >&2; exit 1; }
  sctl daemon-reload || exit 1
  echo unit_file=written
fi
printf '0 0 %s %s\\n' 8081 system:app@8081.service > /srv/app/run/pending || { echo 'cannot write the launch records in /srv/app/run (disk full?)' >&2; exit 40; }
if ! out=$(sctl start app@8081.service 2>&1); then
  printf '%s\\n' "$out" >&2
  sshow status --no-pager -n 20 app@8081.service >&2
  sctl stop --no-block app@8081.service
  exit 1
fi
pid=$(sshow show -p MainPID --value app@8081.service)
start=$(start_time "$pid"); [ -n "$start" ] || start=0
if ! { printf '%s %s %s\\n' "$pid" "$start" r1 > /srv/app/run/8081.pid &&
  printf '%s %s %s %s\\n' "$pid" "$start" 8081 system:app@8081.service > /srv/app/run/pending; }; then
  sctl stop --no-block app@8081.service
  { echo 'cannot write the launch records in /srv/app/run (disk full?)' >&2; exit 40; }
fi
echo "pid=$pid"
echo "start=$start"
"
`);
    expect(cmd.parse('pid=7\nstart=99\n')).toEqual({ pid: 7, start: '99', unit: system });
    expect(() => cmd.parse('start=99\n')).toThrow(OutputError);
  });

  test('a user unit: written in ~/.config/systemd/user without sudo, recorded as user:', () => {
    const script = launchUnit(paths, launch(user)).script;
    const unitText = unitFile(unitSpec('user')).replace(/'/g, `'\\''`);
    const lines = script.split(`'${unitText}'`).join('UNIT').split('\n');
    expect(lines.filter((l) => /unit_file|UNIT|user:/.test(l))).toMatchInlineSnapshot(`
[
  "unit_file="$HOME"/.config/systemd/user/app@.service",
  "if ! printf '%s' UNIT | cmp -s - "$unit_file"; then",
  "  printf '%s' UNIT > "$unit_file.tmp" && mv -f -- "$unit_file.tmp" "$unit_file" || { echo "cannot write $unit_file" >&2; exit 1; }",
  "  echo unit_file=written",
  "printf '0 0 %s %s\\n' 8081 user:app@8081.service > /srv/app/run/pending || { echo 'cannot write the launch records in /srv/app/run (disk full?)' >&2; exit 40; }",
  "  printf '%s %s %s %s\\n' "$pid" "$start" 8081 user:app@8081.service > /srv/app/run/pending; }; then",
]
`);
    expect(script).not.toContain('as_root');
    expect(script).toContain('mkdir -p -- "$HOME"/.config/systemd/user || exit 1');
  });
});

describe('stopUnit', () => {
  test('whole script: systemctl stop, wait for inactive, killed from Result; else the process group', () => {
    const cmd = stopUnit(paths, { app: app(system), port: 8081, timeoutMs: 30000, untilClosed: false });
    expect(cmd.kind).toBe('stop');
    expect(cmd.title).toBe('stop app@8081.service (pid 42)');
    expect(cmd.waitMs).toBe(40000); // the script's own limit: stop-timeout + 10 s
    const blocks = [
      pathSetupSh(),
      oursSh(),
      listeningSh(),
      nowMsSh(),
      stopGroupSh(),
      systemctlFunctions('system', 'auto'),
    ];
    expect(body(cmd.script, blocks)).toMatchInlineSnapshot(`
"case "$(sshow show -p ActiveState --value app@8081.service)" in
  active|activating|deactivating|reloading)
    t0=$(now_ms); how=
    sctl stop --no-block app@8081.service || exit 1
    while :; do
      case "$(sshow show -p ActiveState --value app@8081.service)" in inactive|failed) break ;; esac
      if [ "$(($(now_ms) - t0))" -ge 40000 ]; then echo 'app@8081.service did not stop within stop-timeout + 10 s' >&2; exit 1; fi
      sleep 0.05
    done
    [ -n "$how" ] || case "$(sshow show -p Result --value app@8081.service)" in timeout) how=killed ;; *) how=exited ;; esac
    echo "stop=$how"; echo "stop_ms=$(($(now_ms) - t0))" ;;
  *) stop_group 42 4242 30000 || exit 1 ;;
esac
[ "$(sshow is-enabled app@8081.service 2>/dev/null)" != enabled ] || sctl disable app@8081.service 2>/dev/null || echo 'could not disable app@8081.service' >&2
if [ -r /srv/app/run/8081.pid ] && read -r p _ < /srv/app/run/8081.pid && [ "$p" = 42 ]; then rm -f -- /srv/app/run/8081.pid; fi
if [ -r /srv/app/run/pending ] && read -r p _ < /srv/app/run/pending && [ "$p" = 42 ]; then rm -f -- /srv/app/run/pending; fi
"
`);
    for (const how of ['gone', 'exited', 'closed', 'killed']) {
      expect(cmd.parse(`stop=${how}\nstop_ms=30010\n`)).toEqual({ how, ms: 30010 });
    }
    expect(() => cmd.parse('stop=maybe\nstop_ms=1\n')).toThrow(
      new OutputError('the stop script printed stop=maybe'),
    );
  });

  test('until closed: also done once the port is closed (systemd SIGKILLs at TimeoutStopSec)', () => {
    const spec = { app: app(system), port: 8081, timeoutMs: 30000 };
    const closed = stopUnit(paths, { ...spec, untilClosed: true }).script;
    expect(closed).toBe(
      replaced(stopUnit(paths, { ...spec, untilClosed: false }).script, {
        '      case "$(sshow show -p ActiveState --value app@8081.service)" in inactive|failed) break ;; esac':
          [
            '      case "$(sshow show -p ActiveState --value app@8081.service)" in inactive|failed) break ;; esac',
            '      if ! listening 8081; then how=closed; break; fi',
          ].join('\n'),
      }),
    );
  });
});

describe('enableUnit', () => {
  test('whole script and parser', () => {
    const cmd = enableUnit(system);
    expect(cmd.kind).toBe('enableUnit');
    expect(cmd.title).toBe('enable app@8081.service');
    expect(body(cmd.script, [pathSetupSh(), systemctlFunctions('system', 'auto')])).toMatchInlineSnapshot(`
"[ "$(sshow is-enabled app@8081.service 2>/dev/null)" = enabled ] || sctl enable app@8081.service 2>&1 || exit 1
echo "enabled=$(sshow is-enabled app@8081.service 2>/dev/null)"
"
`);
    expect(() => {
      cmd.parse('enabled=enabled\n');
    }).not.toThrow();
    expect(() => cmd.parse('enabled=disabled\n')).toThrow(
      new OutputError('app@8081.service is disabled after enable'),
    );
    expect(() => cmd.parse('enabled=\n')).toThrow(
      new OutputError('app@8081.service is unknown after enable'),
    );
  });
});

describe('supervisorCheck', () => {
  const spec = (scope: Unit['scope'], sudo: Unit['sudo'] = 'auto') => ({
    unitFile: unitSpec(scope),
    ports: [8080, 8081],
    sudo,
  });

  test('system: every sudo right, the tee only when the unit file differs', () => {
    const lines = supervisorCheck(spec('system')).script.split('\n');
    expect(lines.filter((l) => l.includes('sudo -n -l'))).toMatchInlineSnapshot(`
[
  "  sudo -n -l $sc daemon-reload >/dev/null 2>&1 || missing="$missing, $sc daemon-reload"",
  "  sudo -n -l $sc start app@8080.service >/dev/null 2>&1 || missing="$missing, $sc start app@8080.service"",
  "  sudo -n -l $sc stop --no-block app@8080.service >/dev/null 2>&1 || missing="$missing, $sc stop --no-block app@8080.service"",
  "  sudo -n -l $sc enable app@8080.service >/dev/null 2>&1 || missing="$missing, $sc enable app@8080.service"",
  "  sudo -n -l $sc disable app@8080.service >/dev/null 2>&1 || missing="$missing, $sc disable app@8080.service"",
  "  sudo -n -l $sc start app@8081.service >/dev/null 2>&1 || missing="$missing, $sc start app@8081.service"",
  "  sudo -n -l $sc stop --no-block app@8081.service >/dev/null 2>&1 || missing="$missing, $sc stop --no-block app@8081.service"",
  "  sudo -n -l $sc enable app@8081.service >/dev/null 2>&1 || missing="$missing, $sc enable app@8081.service"",
  "  sudo -n -l $sc disable app@8081.service >/dev/null 2>&1 || missing="$missing, $sc disable app@8081.service"",
  "  [ "$same" = 1 ] || sudo -n -l $tee /etc/systemd/system/app@.service >/dev/null 2>&1 || missing="$missing, $tee /etc/systemd/system/app@.service"",
]
`);
    expect(supervisorCheck(spec('system', 'never')).script).toContain(
      'problem=supervisor: systemd needs root or sudo, but sudo is never',
    );
  });

  test('system: whole script, kind and title', () => {
    const cmd = supervisorCheck(spec('system'));
    expect([cmd.kind, cmd.title]).toEqual(['supervisorCheck', 'check supervisor systemd']);
    expect(supervisorCheck(spec('user')).title).toBe('check supervisor systemd-user');
    const unitText = quote(unitFile(unitSpec('system')));
    expect(body(cmd.script, [pathSetupSh()]).split(unitText).join('UNIT')).toMatchInlineSnapshot(`
"if [ ! -d /run/systemd/system ]; then
  echo "problem=supervisor: systemd needs systemd as the host's init system (/run/systemd/system is missing): use supervisor: none"
  exit 0
fi
command -v mkfifo >/dev/null 2>&1 && command -v tee >/dev/null 2>&1 || echo "problem=supervisor: the launcher needs mkfifo and tee (coreutils) on the host"
if [ "$(id -u)" -ne 0 ]; then
  sc=$(command -v systemctl) tee=$(command -v tee) missing=
  if printf '%s' UNIT | cmp -s - /etc/systemd/system/app@.service; then same=1; else same=0; fi
  sudo -n -l $sc daemon-reload >/dev/null 2>&1 || missing="$missing, $sc daemon-reload"
  sudo -n -l $sc start app@8080.service >/dev/null 2>&1 || missing="$missing, $sc start app@8080.service"
  sudo -n -l $sc stop --no-block app@8080.service >/dev/null 2>&1 || missing="$missing, $sc stop --no-block app@8080.service"
  sudo -n -l $sc enable app@8080.service >/dev/null 2>&1 || missing="$missing, $sc enable app@8080.service"
  sudo -n -l $sc disable app@8080.service >/dev/null 2>&1 || missing="$missing, $sc disable app@8080.service"
  sudo -n -l $sc start app@8081.service >/dev/null 2>&1 || missing="$missing, $sc start app@8081.service"
  sudo -n -l $sc stop --no-block app@8081.service >/dev/null 2>&1 || missing="$missing, $sc stop --no-block app@8081.service"
  sudo -n -l $sc enable app@8081.service >/dev/null 2>&1 || missing="$missing, $sc enable app@8081.service"
  sudo -n -l $sc disable app@8081.service >/dev/null 2>&1 || missing="$missing, $sc disable app@8081.service"
  [ "$same" = 1 ] || sudo -n -l $tee /etc/systemd/system/app@.service >/dev/null 2>&1 || missing="$missing, $tee /etc/systemd/system/app@.service"
  if [ -n "$missing" ]; then
    echo "problem=supervisor: systemd: the deploy user $(id -un) may not run with sudo: \${missing#, }. Add to its sudoers file (visudo -f /etc/sudoers.d/deploy): $(id -un) ALL=(root) NOPASSWD: $sc daemon-reload, $sc start app@8080.service, $sc stop --no-block app@8080.service, $sc enable app@8080.service, $sc disable app@8080.service, $sc start app@8081.service, $sc stop --no-block app@8081.service, $sc enable app@8081.service, $sc disable app@8081.service, $tee /etc/systemd/system/app@.service"
  fi
fi
"
`);
  });

  test('the sudoers line names every right with the host paths', () => {
    expect(sudoersLine('deploy', 'app', [8080], { systemctl: '/bin/systemctl', tee: '/bin/tee' })).toBe(
      'deploy ALL=(root) NOPASSWD: /bin/systemctl daemon-reload, /bin/systemctl start app@8080.service, ' +
        '/bin/systemctl stop --no-block app@8080.service, /bin/systemctl enable app@8080.service, ' +
        '/bin/systemctl disable app@8080.service, /bin/tee /etc/systemd/system/app@.service',
    );
  });

  test('user: lingering, then the user manager', () => {
    expect(body(supervisorCheck(spec('user')).script, [pathSetupSh()])).toMatchInlineSnapshot(`
"if [ ! -d /run/systemd/system ]; then
  echo "problem=supervisor: systemd-user needs systemd as the host's init system (/run/systemd/system is missing): use supervisor: none"
  exit 0
fi
command -v mkfifo >/dev/null 2>&1 && command -v tee >/dev/null 2>&1 || echo "problem=supervisor: the launcher needs mkfifo and tee (coreutils) on the host"
user=$(id -un)
linger=$(loginctl show-user "$user" -p Linger --value 2>/dev/null)
if [ "$linger" != yes ] && [ ! -e "/var/lib/systemd/linger/$user" ]; then
  echo "problem=supervisor: systemd-user needs lingering for $user (else the app stops with the last session and does not start at boot): run once as root: loginctl enable-linger $user"
else
  XDG_RUNTIME_DIR=\${XDG_RUNTIME_DIR:-/run/user/$(id -u)}; export XDG_RUNTIME_DIR
  systemctl --user show-environment >/dev/null 2>&1 ||
    echo "problem=supervisor: systemd-user: the user manager of $user is not reachable (XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR): check that user@$(id -u).service runs (loginctl enable-linger $user, or reboot)"
fi
"
`);
  });

  test('parser: one problem per line, none when all is well', () => {
    const cmd = supervisorCheck(spec('user'));
    expect(cmd.parse('')).toEqual([]);
    expect(cmd.parse('noise\nproblem=a=b\nproblem=c\n')).toEqual(['a=b', 'c']);
  });

  test("the README's sudoers line is the one the check asks for", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`\n${sudoersLine('deploy', 'app', [8080, 8081])}\n`);
  });
});

describe("the lock's watchdog with a supervisor", () => {
  test('stop_unit, whole: stop without blocking, wait up to stop-timeout / 100 + 50 rounds, then disable', () => {
    expect(stopUnitSh()).toMatchInlineSnapshot(`
"stop_unit() {
  case "$1" in
    system:*) _u=\${1#system:}; _c="as_root systemctl" ;;
    user:*) _u=\${1#user:}; _c="systemctl --user"
      XDG_RUNTIME_DIR=\${XDG_RUNTIME_DIR:-/run/user/$(id -u)}; export XDG_RUNTIME_DIR ;;
    *) return 1 ;;
  esac
  $_c stop --no-block "$_u"
  _k=0
  while [ "$_k" -lt "$(($2 / 100 + 50))" ]; do
    case "$(\${_c#as_root } show -p ActiveState --value "$_u" 2>/dev/null)" in inactive|failed|"") break ;; esac
    sleep 0.1; _k=$((_k + 1))
  done
  [ "$(\${_c#as_root } is-enabled "$_u" 2>/dev/null)" != enabled ] || $_c disable "$_u"
}"
`);
  });

  test('stops a recorded unit through systemd, else the process group', () => {
    const spec = { holder: 'run 1', timeoutSeconds: 300, stopTimeoutMs: 30000 };
    const plain = holdLock(paths, spec).script;
    const supervised = holdLock(paths, { ...spec, supervised: { sudo: 'auto' } }).script;
    expect(supervised).toBe(
      replaced(plain, {
        [stopGroupSh()]: `${stopGroupSh()}\n${systemctlFunctions('system', 'auto').split('\n')[0]}\n${stopUnitSh()}`,
        '  if read -r pid start port < /srv/app/run/pending.stop; then':
          '  if read -r pid start port unit < /srv/app/run/pending.stop; then',
        '    echo "watchdog: stopping half-started app $pid on port $port" >&2':
          '    echo "watchdog: stopping half-started app $pid on port $port${unit:+ ($unit)}" >&2',
        '    stop_group "$pid" "$start" 30000 >/dev/null':
          '    if [ -n "$unit" ]; then stop_unit "$unit" 30000; else stop_group "$pid" "$start" 30000 >/dev/null; fi',
      }),
    );
  });
});

test('every script passes shellcheck as POSIX sh, hostile paths included', () => {
  for (const unit of [system, user]) {
    const scripts = [
      launchUnit(hostilePaths, { ...launch(unit), releaseId: HOSTILE, java: HOSTILE, args: [HOSTILE] })
        .script,
      stopUnit(hostilePaths, { app: app(unit), port: 8081, timeoutMs: 1000, untilClosed: true }).script,
      enableUnit(unit).script,
      supervisorCheck({ unitFile: unitSpec(unit.scope), ports: [8080, 8081], sudo: 'auto' }).script,
      holdLock(hostilePaths, {
        holder: HOSTILE,
        timeoutSeconds: 1,
        stopTimeoutMs: 1,
        supervised: { sudo: 'always' },
      }).script,
      `java=/usr/bin/java\n${launcherBody(hostilePaths, { releaseId: HOSTILE, port: 8081, args: [HOSTILE] })}`,
    ];
    for (const s of scripts) expect(shellcheck(s)).toBe('');
  }
});
