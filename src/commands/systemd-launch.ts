// Launching under systemd, and the checks that fail a deploy early when the host cannot supervise it: no
// systemd, a missing sudo right, no lingering, no reachable user manager. See systemd.ts for the unit design.
import type { Layout } from '../layout.js';
import { quote } from '../shell.js';
import { LAUNCH_RECORD_EXIT } from './app.js';
import { oursSh, pathSetupSh } from './functions.js';
import {
  launcherBody,
  systemctlFunctions,
  unitFile,
  unitFilePath,
  unitName,
  unitRecord,
  type LauncherSpec,
  type Unit,
  type UnitFileSpec,
} from './systemd.js';
import { keyValues, required, requiredNumber, script, type RemoteCommand } from './types.js';

export interface UnitLaunchSpec extends LauncherSpec {
  /** The java input: a command name (resolved on the host, as the deploy user's shell would) or a path. */
  java: string;
  unit: Unit;
  unitFile: UnitFileSpec;
}

/** Writes the unit file where it differs from the wanted one (then daemon-reload). */
function ensureUnitFile(spec: UnitFileSpec): string[] {
  const content = quote(unitFile(spec));
  const path = unitFilePath(spec.scope, spec.serviceName);
  const write =
    spec.scope === 'system'
      ? [
          `  printf '%s' ${content} | as_root tee ${quote(path)} >/dev/null || { echo ${quote(`cannot write ${path}`)} >&2; exit 1; }`,
        ]
      : [
          `  mkdir -p -- "$HOME"/${quote(path.slice(0, path.lastIndexOf('/')))} || exit 1`,
          `  printf '%s' ${content} > "$unit_file.tmp" && mv -f -- "$unit_file.tmp" "$unit_file" || { echo "cannot write $unit_file" >&2; exit 1; }`,
        ];
  return [
    spec.scope === 'system' ? `unit_file=${quote(path)}` : `unit_file="$HOME"/${quote(path)}`,
    `if ! printf '%s' ${content} | cmp -s - "$unit_file"; then`,
    ...write,
    '  sctl daemon-reload || exit 1',
    '  echo unit_file=written',
    'fi',
  ];
}

/**
 * Writes run/PORT.launch and (when it differs) the unit file, records the launch as pending before anything
 * starts (the lock's watchdog stops the unit if the session is lost), starts the instance and reads its MainPID:
 * the JVM. Prints `pid=` and `start=` like launchApp (pid 0 when the app already died: the health check says so).
 */
export function launchUnit(paths: Layout, spec: UnitLaunchSpec): RemoteCommand<'launch'> {
  const { port, unit } = spec;
  const launcher = `${paths.runDir}/${port}.launch`;
  const name = quote(unit.name);
  const record = quote(unitRecord(unit));
  const cannotRecord = `{ echo ${quote(`cannot write the launch records in ${paths.runDir} (disk full?)`)} >&2; exit ${LAUNCH_RECORD_EXIT}; }`;
  return {
    kind: 'launch',
    title: `launch ${spec.releaseId} as ${unit.name}`,
    script: script(
      pathSetupSh(),
      oursSh(),
      systemctlFunctions(unit.scope, unit.sudo),
      `cd -- ${quote(paths.root)} || exit 1`,
      `java=$(command -v -- ${quote(spec.java)}) || { echo ${quote(`java: "${spec.java}" is not a command the deploy user can run`)} >&2; exit 1; }`,
      'case "$java" in /*) ;; *) echo "java: $java is not a program file" >&2; exit 1 ;; esac',
      `case "$java" in *"'"*) echo "java: the path $java contains a quote" >&2; exit 1 ;; esac`,
      `{ printf '#!/bin/sh\\njava='"'%s'"'\\n' "$java" && printf '%s' ${quote(launcherBody(paths, spec))}; } > ${quote(`${launcher}.tmp`)} &&`,
      `  mv -f -- ${quote(`${launcher}.tmp`)} ${quote(launcher)} || ${cannotRecord}`,
      ...ensureUnitFile(spec.unitFile),
      `printf '0 0 %s %s\\n' ${port} ${record} > ${quote(paths.pending)} || ${cannotRecord}`,
      `if ! out=$(sctl start ${name} 2>&1); then`,
      '  printf \'%s\\n\' "$out" >&2',
      `  sshow status --no-pager -n 20 ${name} >&2`,
      `  sctl stop --no-block ${name}`,
      '  exit 1',
      'fi',
      `pid=$(sshow show -p MainPID --value ${name})`,
      'start=$(start_time "$pid"); [ -n "$start" ] || start=0',
      `if ! { printf '%s %s %s\\n' "$pid" "$start" ${quote(spec.releaseId)} > ${quote(paths.pidFile(port))} &&`,
      `  printf '%s %s %s %s\\n' "$pid" "$start" ${port} ${record} > ${quote(paths.pending)}; }; then`,
      `  sctl stop --no-block ${name}`,
      `  ${cannotRecord}`,
      'fi',
      'echo "pid=$pid"',
      'echo "start=$start"',
    ),
    parse: (stdout) => {
      const values = keyValues(stdout);
      return { pid: requiredNumber(values, 'pid'), start: required(values, 'start'), unit };
    },
  };
}

export interface SupervisorCheckSpec {
  unitFile: UnitFileSpec;
  ports: readonly number[];
  sudo: Unit['sudo'];
}

/** The sudo commands a system unit needs, `$sc` and `$tee` standing for the host's systemctl and tee. */
export function sudoCommands(serviceName: string, ports: readonly number[]): string[] {
  const perPort = ports.flatMap((p) =>
    ['start', 'stop --no-block', 'enable', 'disable'].map(
      (verb) => `$sc ${verb} ${unitName(serviceName, p)}`,
    ),
  );
  return ['$sc daemon-reload', ...perPort, `$tee ${unitFilePath('system', serviceName)}`];
}

function systemChecks(spec: SupervisorCheckSpec): string[] {
  const commands = sudoCommands(spec.unitFile.serviceName, spec.ports);
  const unitPath = unitFilePath('system', spec.unitFile.serviceName);
  return [
    'if [ "$(id -u)" -ne 0 ]; then',
    spec.sudo === 'never'
      ? '  echo "problem=supervisor: systemd needs root or sudo, but sudo is never: log in as root, or use supervisor: systemd-user"'
      : [
          '  sc=$(command -v systemctl) tee=$(command -v tee) missing=',
          // The unit file needs no tee right when an admin installed exactly this file.
          `  if printf '%s' ${quote(unitFile(spec.unitFile))} | cmp -s - ${quote(unitPath)}; then same=1; else same=0; fi`,
          ...commands.map(
            (c) =>
              `  ${c.startsWith('$tee') ? '[ "$same" = 1 ] || ' : ''}sudo -n -l ${c} >/dev/null 2>&1 || missing="$missing, ${c}"`,
          ),
          '  if [ -n "$missing" ]; then',
          `    echo "problem=supervisor: systemd: the deploy user $(id -un) may not run with sudo: \${missing#, }. Add to its sudoers file (visudo -f /etc/sudoers.d/deploy): $(id -un) ALL=(root) NOPASSWD: ${commands.join(', ')}"`,
          '  fi',
        ].join('\n'),
    'fi',
  ];
}

function userChecks(): string[] {
  return [
    'user=$(id -un)',
    'linger=$(loginctl show-user "$user" -p Linger --value 2>/dev/null)',
    'if [ "$linger" != yes ] && [ ! -e "/var/lib/systemd/linger/$user" ]; then',
    '  echo "problem=supervisor: systemd-user needs lingering for $user (else the app stops with the last session and does not start at boot): run once as root: loginctl enable-linger $user"',
    'else',
    '  XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/run/user/$(id -u)}; export XDG_RUNTIME_DIR',
    '  systemctl --user show-environment >/dev/null 2>&1 ||',
    '    echo "problem=supervisor: systemd-user: the user manager of $user is not reachable (XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR): check that user@$(id -u).service runs (loginctl enable-linger $user, or reboot)"',
    'fi',
  ];
}

/** Prints one `problem=` line per thing that would stop supervision from working; none when all is well. */
export function supervisorCheck(spec: SupervisorCheckSpec): RemoteCommand<'supervisorCheck'> {
  const system = spec.unitFile.scope === 'system';
  return {
    kind: 'supervisorCheck',
    title: `check supervisor ${system ? 'systemd' : 'systemd-user'}`,
    script: script(
      pathSetupSh(),
      'if [ ! -d /run/systemd/system ]; then',
      `  echo "problem=supervisor: ${system ? 'systemd' : 'systemd-user'} needs systemd as the host's init system (/run/systemd/system is missing): use supervisor: none"`,
      '  exit 0',
      'fi',
      'command -v mkfifo >/dev/null 2>&1 && command -v tee >/dev/null 2>&1 || echo "problem=supervisor: the launcher needs mkfifo and tee (coreutils) on the host"',
      ...(system ? systemChecks(spec) : userChecks()),
    ),
    parse: (stdout) =>
      stdout
        .split('\n')
        .filter((l) => l.startsWith('problem='))
        .map((l) => l.slice('problem='.length)),
  };
}

/** The sudoers line for supervisor: systemd (README), with the host's systemctl and tee. */
export function sudoersLine(
  user: string,
  serviceName: string,
  ports: readonly number[],
  bin = { systemctl: '/usr/bin/systemctl', tee: '/usr/bin/tee' },
): string {
  const commands = sudoCommands(serviceName, ports).map((c) =>
    c.replace('$sc', bin.systemctl).replace('$tee', bin.tee),
  );
  return `${user} ALL=(root) NOPASSWD: ${commands.join(', ')}`;
}
