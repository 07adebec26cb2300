// Supervision by systemd (supervisor: systemd | systemd-user). One template unit per host, `NAME@.service`, the
// same for every deploy; an instance per port, `NAME@PORT.service`. What an instance runs is the launcher
// run/PORT.launch, which each launch writes: a POSIX sh script that records its pid, sets the app's environment
// (appEnvSh: PORT, the locale, the release's env file for the port) and execs the JVM (so the unit's MainPID
// is the JVM), its output going through a FIFO to a `tee` that appends it to the release's app.log and copies
// it to journald.
import type { SudoMode } from '../inputs.js';
import type { Layout } from '../layout.js';
import { quote, quoteAll } from '../shell.js';
import { appEnvSh } from './app-env.js';
import { asRoot, listeningSh, nowMsSh, oursSh, pathSetupSh, stopGroupSh } from './functions.js';
import { keyValues, OutputError, required, requiredNumber, script, type RemoteCommand } from './types.js';

/** One instance of the template unit: a system unit (root or sudo) or a user unit of the deploy user. */
export interface Unit {
  scope: 'system' | 'user';
  /** NAME@PORT.service */
  name: string;
  sudo: SudoMode;
}

/** What a supervised stop needs of an app (the same shape as AppProcess; kept here to avoid an import cycle). */
interface Supervised {
  pid: number;
  start: string;
  unit?: Unit;
}

export function unitName(serviceName: string, port: number): string {
  return `${serviceName}@${port}.service`;
}

/** The unit file's path; a user unit's is relative to the deploy user's home (`$HOME` in the scripts). */
export function unitFilePath(scope: Unit['scope'], serviceName: string): string {
  const dir = scope === 'system' ? '/etc/systemd/system' : '.config/systemd/user';
  return `${dir}/${serviceName}@.service`;
}

export interface UnitFileSpec {
  scope: Unit['scope'];
  serviceName: string;
  /** remote-dir: validated to need no quoting in a unit file. */
  root: string;
  /** The deploy user, whom a system unit runs the app as. */
  user: string;
  stopTimeoutMs: number;
}

/**
 * The template unit. Restart=on-failure: a crash (non-zero exit, a signal such as SIGKILL or an OOM kill)
 * restarts the app after 2 s, for ever (StartLimitIntervalSec=0); a stop by the action or by an admin never
 * does. 143 is how a JVM reports its exit after SIGTERM: a clean stop. The whole cgroup (children included) is
 * stopped: SIGTERM, then SIGKILL at stop-timeout.
 */
export function unitFile(spec: UnitFileSpec): string {
  const system = spec.scope === 'system';
  return [
    `# Written by the blue/green deploy action: ${spec.serviceName}@PORT.service runs what the last deploy to PORT`,
    `# wrote in ${spec.root}/run/PORT.launch. The live port's instance is enabled (started at boot).`,
    '[Unit]',
    `Description=${spec.serviceName} on port %i (blue/green deploy)`,
    'After=network.target',
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=exec',
    ...(system ? [`User=${spec.user}`] : []),
    `WorkingDirectory=${spec.root}`,
    `ExecStart=/bin/sh ${spec.root}/run/%i.launch`,
    'Restart=on-failure',
    'RestartSec=2',
    'SuccessExitStatus=143',
    'KillMode=control-group',
    `TimeoutStopSec=${Math.max(1, Math.ceil(spec.stopTimeoutMs / 1000))}`,
    'SyslogIdentifier=%p-%i',
    '',
    '[Install]',
    `WantedBy=${system ? 'multi-user.target' : 'default.target'}`,
    '',
  ].join('\n');
}

export interface LauncherSpec {
  releaseId: string;
  port: number;
  /** The JVM's argv after the java binary (the binary is resolved on the host at launch). */
  args: readonly string[];
}

/**
 * The launcher's body, after `#!/bin/sh` and the `java=` line the launch script adds. The tee ignores SIGTERM,
 * so a stop (SIGTERM to the whole cgroup) still gets the app's last words into app.log; it ends when the JVM
 * closes the FIFO.
 */
export function launcherBody(paths: Layout, spec: LauncherSpec): string {
  return script(
    `# release ${spec.releaseId} on port ${spec.port}; written by the deploy action at each launch`,
    `cd -- ${quote(paths.root)} || exit 1`,
    'start=$(sed "s/^.*) //" "/proc/$$/stat" | cut -d " " -f 20)',
    `printf '%s %s %s\\n' "$$" "$start" ${quote(spec.releaseId)} > ${quote(paths.pidFile(spec.port))} || exit 1`,
    ...appEnvSh(paths, spec.releaseId, spec.port),
    `fifo=${quote(`${paths.runDir}/${spec.port}.out`)}`,
    'rm -f -- "$fifo" && mkfifo -m 600 -- "$fifo" || exit 1',
    `(trap '' TERM INT HUP; exec tee -a -- ${quote(paths.log(spec.releaseId))} < "$fifo") &`,
    `exec "$java" ${quoteAll(spec.args)} < /dev/null > "$fifo" 2>&1`,
  );
}

/** sctl: systemctl that changes things (as root for a system unit); sshow: systemctl that only reads. */
export function systemctlFunctions(scope: Unit['scope'], sudo: SudoMode): string {
  if (scope === 'system') {
    return [asRoot(sudo), 'sctl() { as_root systemctl "$@"; }', 'sshow() { systemctl "$@"; }'].join('\n');
  }
  return [
    // Over SSH without a PAM session the user manager is found only through its runtime dir.
    'XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/run/user/$(id -u)}; export XDG_RUNTIME_DIR',
    'sctl() { systemctl --user "$@"; }',
    'sshow() { systemctl --user "$@"; }',
  ].join('\n');
}

/** How the pending launch record names a unit for the lock's watchdog: `system:NAME` or `user:NAME`. */
export function unitRecord(unit: Unit): string {
  return `${unit.scope}:${unit.name}`;
}

/**
 * stop_unit SCOPE:NAME TIMEOUT_MS: the lock's watchdog stops a half-started supervised app (a SIGKILL of the
 * JVM alone would only make systemd restart it). Static text; needs as_root.
 */
export function stopUnitSh(): string {
  return [
    'stop_unit() {',
    '  case "$1" in',
    '    system:*) _u=${1#system:}; _c="as_root systemctl" ;;',
    '    user:*) _u=${1#user:}; _c="systemctl --user"',
    '      XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/run/user/$(id -u)}; export XDG_RUNTIME_DIR ;;',
    '    *) return 1 ;;',
    '  esac',
    '  $_c stop --no-block "$_u"',
    '  _k=0',
    '  while [ "$_k" -lt "$(($2 / 100 + 50))" ]; do',
    '    case "$(${_c#as_root } show -p ActiveState --value "$_u" 2>/dev/null)" in inactive|failed|"") break ;; esac',
    '    sleep 0.1; _k=$((_k + 1))',
    '  done',
    '  [ "$(${_c#as_root } is-enabled "$_u" 2>/dev/null)" != enabled ] || $_c disable "$_u"',
    '}',
  ].join('\n');
}

/**
 * Stops a supervised app: `systemctl stop` of its instance (systemd SIGTERMs the cgroup and SIGKILLs it at
 * TimeoutStopSec), then waits until the instance is inactive, or, with untilClosed, until its port is closed.
 * Killed or exited comes from the unit's Result. An app the unit does not run (started before supervision was
 * turned on) is stopped as a process group. The instance is disabled either way; the records are forgotten.
 */
export function stopUnit(
  paths: Layout,
  spec: { app: Supervised & { unit: Unit }; port: number; timeoutMs: number; untilClosed: boolean },
): RemoteCommand<'stop'> {
  const { app, port, timeoutMs } = spec;
  const unit = quote(app.unit.name);
  const forget = (file: string) =>
    `if [ -r ${quote(file)} ] && read -r p _ < ${quote(file)} && [ "$p" = ${app.pid} ]; then rm -f -- ${quote(file)}; fi`;
  return {
    kind: 'stop',
    title: `stop ${app.unit.name} (pid ${app.pid})`,
    // systemd's own TimeoutStopSec, then its SIGKILL: the script gives up after stop-timeout + 10 s.
    waitMs: timeoutMs + 10000,
    script: script(
      pathSetupSh(),
      oursSh(),
      listeningSh(),
      nowMsSh(),
      stopGroupSh(),
      systemctlFunctions(app.unit.scope, app.unit.sudo),
      `case "$(sshow show -p ActiveState --value ${unit})" in`,
      '  active|activating|deactivating|reloading)',
      '    t0=$(now_ms); how=',
      `    sctl stop --no-block ${unit} || exit 1`,
      '    while :; do',
      `      case "$(sshow show -p ActiveState --value ${unit})" in inactive|failed) break ;; esac`,
      spec.untilClosed && `      if ! listening ${port}; then how=closed; break; fi`,
      `      if [ "$(($(now_ms) - t0))" -ge ${timeoutMs + 10000} ]; then echo ${quote(`${app.unit.name} did not stop within stop-timeout + 10 s`)} >&2; exit 1; fi`,
      '      sleep 0.05',
      '    done',
      `    [ -n "$how" ] || case "$(sshow show -p Result --value ${unit})" in timeout) how=killed ;; *) how=exited ;; esac`,
      '    echo "stop=$how"; echo "stop_ms=$(($(now_ms) - t0))" ;;',
      `  *) stop_group ${app.pid} ${quote(app.start)} ${timeoutMs} || exit 1 ;;`,
      'esac',
      `[ "$(sshow is-enabled ${unit} 2>/dev/null)" != enabled ] || sctl disable ${unit} 2>/dev/null || echo ${quote(`could not disable ${app.unit.name}`)} >&2`,
      forget(paths.pidFile(port)),
      forget(paths.pending),
    ),
    parse: parseUnitStop,
  };
}

function parseUnitStop(stdout: string): { how: 'gone' | 'exited' | 'closed' | 'killed'; ms: number } {
  const values = keyValues(stdout);
  const how = required(values, 'stop');
  if (how !== 'gone' && how !== 'exited' && how !== 'closed' && how !== 'killed') {
    throw new OutputError(`the stop script printed stop=${how}`);
  }
  return { how, ms: requiredNumber(values, 'stop_ms') };
}

/** The live port's instance starts at boot. */
export function enableUnit(unit: Unit): RemoteCommand<'enableUnit'> {
  const name = quote(unit.name);
  return {
    kind: 'enableUnit',
    title: `enable ${unit.name}`,
    script: script(
      pathSetupSh(),
      systemctlFunctions(unit.scope, unit.sudo),
      `[ "$(sshow is-enabled ${name} 2>/dev/null)" = enabled ] || sctl enable ${name} 2>&1 || exit 1`,
      `echo "enabled=$(sshow is-enabled ${name} 2>/dev/null)"`,
    ),
    parse: (stdout) => {
      const state = required(keyValues(stdout), 'enabled');
      if (state !== 'enabled') throw new OutputError(`${unit.name} is ${state || 'unknown'} after enable`);
      return undefined;
    },
  };
}
