// The app's process: launch it detached on a port, ask whether it still lives, show its log, stop it.
import type { Layout } from '../layout.js';
import { quote, quoteAll } from '../shell.js';
import { appEnvSh } from './app-env.js';
import {
  killLaterSh,
  listeningSh,
  nowMsSh,
  oursSh,
  pathSetupSh,
  portOwnerSh,
  stopGroupSh,
} from './functions.js';
import { stopUnit, unitRecord, type Unit } from './systemd.js';
import { keyValues, OutputError, required, requiredNumber, script, type RemoteCommand } from './types.js';

export interface LaunchSpec {
  releaseId: string;
  port: number;
  java: string;
  /** These three with their placeholders replaced for `port`. */
  javaOpts: readonly string[];
  portArg: readonly string[];
  appArgs: readonly string[];
}

/** The launched app could not be recorded (and was stopped). */
export const LAUNCH_RECORD_EXIT = 40;

/** A process we started: its pid and start time (together they name it even after the pid is reused). */
export interface AppProcess {
  pid: number;
  start: string;
  /** The systemd unit instance that runs it, when supervised: it is stopped through systemd. */
  unit?: Unit;
}

export type Launched = AppProcess;

/** How a stop ended: already gone, exited, closed its port (a detached killer waits for the exit), killed. */
export interface StopOutcome {
  how: 'gone' | 'exited' | 'closed' | 'killed';
  ms: number;
}

/**
 * A rollback reuses the release still running on the idle port: it is recorded as the pending launch, exactly
 * as a launch records it, so the lock's watchdog stops it if the session dies before the switch.
 */
export function adoptApp(paths: Layout, app: AppProcess, port: number): RemoteCommand<'adopt'> {
  const fields = [String(app.pid), app.start, String(port), ...(app.unit ? [unitRecord(app.unit)] : [])];
  return {
    kind: 'adopt',
    title: `reuse pid ${app.pid} on port ${port}`,
    script: script(
      oursSh(),
      `ours ${app.pid} ${quote(app.start)} || { echo "pid ${app.pid} on port ${port} has exited" >&2; exit 1; }`,
      `printf '%s\\n' ${quote(fields.join(' '))} > ${quote(paths.pending)}`,
    ),
    parse: () => undefined,
  };
}

/** The argv of the JVM, exactly as it will run. */
export function javaArgv(paths: Layout, spec: LaunchSpec): string[] {
  return [spec.java, ...spec.javaOpts, '-jar', paths.jar(spec.releaseId), ...spec.portArg, ...spec.appArgs];
}

/**
 * Starts the JVM in its own session (setsid: it leads its own process group), stdin from /dev/null and output
 * to the release's log, so the SSH exec returns at once and the app outlives the session; its environment is
 * appEnvSh's. The inner shell
 * writes its own pid before exec'ing java, so the pid is the JVM's. Records `pid start release` per port and
 * the pending launch (see holdLock and switchNginx).
 */
export function launchApp(paths: Layout, spec: LaunchSpec): RemoteCommand<'launch'> {
  const rel = paths.release(spec.releaseId);
  const pidTmp = quote(`${rel}/.launch.pid`);
  return {
    kind: 'launch',
    title: `launch ${spec.releaseId} on port ${spec.port}`,
    script: script(
      pathSetupSh(),
      oursSh(),
      listeningSh(),
      nowMsSh(),
      stopGroupSh(),
      `cd -- ${quote(paths.root)} || exit 1`,
      `rm -f -- ${pidTmp}`,
      '(',
      ...appEnvSh(paths, spec.releaseId, spec.port).map((line) => `  ${line}`),
      // No JVM unless its pid is on disk first (a full disk stops here, with nothing left running).
      `  exec setsid sh -c 'echo "$$" > "$1" || exit 1; shift; exec "$@"' launcher ${pidTmp} ${quoteAll(javaArgv(paths, spec))}`,
      `) </dev/null >>${quote(paths.log(spec.releaseId))} 2>&1 &`,
      'i=0',
      `while [ ! -s ${pidTmp} ] && [ "$i" -lt 500 ]; do sleep 0.01; i=$((i + 1)); done`,
      `pid=$(cat ${pidTmp} 2>/dev/null); rm -f -- ${pidTmp}`,
      '[ -n "$pid" ] || { echo "the launcher did not start within 5 s" >&2; exit 1; }',
      'start=$(start_time "$pid")',
      // A record that cannot be written (disk full) would leave a JVM nobody knows of: stop it instead.
      `if ! { printf '%s %s %s\\n' "$pid" "$start" ${quote(spec.releaseId)} > ${quote(paths.pidFile(spec.port))} &&`,
      `  printf '%s %s %s\\n' "$pid" "$start" ${spec.port} > ${quote(paths.pending)}; }; then`,
      `  stop_group "$pid" "$start" 5000 >/dev/null`,
      `  rm -f -- ${quote(paths.pidFile(spec.port))} ${quote(paths.pending)}`,
      '  echo "could not record the new app (disk full?): it was stopped" >&2',
      `  exit ${LAUNCH_RECORD_EXIT}`,
      'fi',
      'echo "pid=$pid"',
      'echo "start=$start"',
    ),
    parse: (stdout) => {
      const values = keyValues(stdout);
      return { pid: requiredNumber(values, 'pid'), start: required(values, 'start') };
    },
  };
}

export function isAlive(app: AppProcess): RemoteCommand<'alive'> {
  return {
    kind: 'alive',
    title: `is pid ${app.pid} alive`,
    quiet: true,
    script: script(
      oursSh(),
      `if ours ${app.pid} ${quote(app.start)}; then echo alive=1; else echo alive=0; fi`,
    ),
    parse: (stdout) => required(keyValues(stdout), 'alive') === '1',
  };
}

/** At most this much of the log's end crosses the wire: one 20 MB line must not flood the Actions log. */
export const LOG_TAIL_BYTES = 16384;

/** Who answers on a port: the app we launched (or a process of its own), something else, or nothing we see. */
export type PortOwner =
  { owner: 'ours'; pids: number[] } | { owner: 'foreign'; pids: number[] } | { owner: 'unseen' };

/**
 * Which process listens on `port`, and whether it is `app` or one of its own processes. Run after the health
 * check: an answer from a listener this deploy did not launch must never be switched to.
 */
export function portOwner(app: AppProcess, port: number): RemoteCommand<'portOwner'> {
  return {
    kind: 'portOwner',
    title: `who listens on port ${port}`,
    script: script(
      pathSetupSh(),
      portOwnerSh(),
      `pids=$(port_pids ${port} | tr '\\n' ' ')`,
      'echo "pids=$pids"',
      '[ -n "$pids" ] || { echo owner=unseen; exit 0; }',
      `for p in $pids; do descends "$p" ${app.pid} || { echo owner=foreign; exit 0; }; done`,
      'echo owner=ours',
    ),
    parse: (stdout) => {
      const values = keyValues(stdout);
      const owner = required(values, 'owner');
      const pids = required(values, 'pids').split(' ').filter(Boolean).map(Number);
      if (owner === 'ours' || owner === 'foreign') return { owner, pids };
      if (owner === 'unseen') return { owner };
      throw new OutputError(`the port script printed owner=${owner}`);
    },
  };
}

export function logTail(paths: Layout, releaseId: string, lines: number): RemoteCommand<'logTail'> {
  return {
    kind: 'logTail',
    title: `last ${lines} lines of ${paths.log(releaseId)}`,
    script: script(`tail -c ${LOG_TAIL_BYTES} -- ${quote(paths.log(releaseId))} 2>&1 | tail -n ${lines}`),
    parse: (stdout) => stdout,
  };
}

export interface StopSpec {
  app: AppProcess;
  port: number;
  timeoutMs: number;
  /**
   * Return once the app has closed its port (it may take its whole grace period to finish): a detached killer
   * SIGKILLs it at timeoutMs. Otherwise wait for the exit.
   */
  untilClosed: boolean;
}

/**
 * Stops an app's process group: SIGTERM, SIGKILL at the timeout. Then forgets it: its pid file and the pending
 * launch record go when they name this pid.
 */
export function stopApp(paths: Layout, spec: StopSpec): RemoteCommand<'stop'> {
  const { app, port } = spec;
  const unit = app.unit;
  if (unit) return stopUnit(paths, { ...spec, app: { ...app, unit } });
  const pid = app.pid;
  const forget = (file: string) =>
    `if [ -r ${quote(file)} ] && read -r p _ < ${quote(file)} && [ "$p" = ${pid} ]; then rm -f -- ${quote(file)}; fi`;
  return {
    kind: 'stop',
    title: `stop pid ${pid} on port ${port}`,
    // The grace period, then at most 5 s for the SIGKILLed group to go.
    waitMs: spec.timeoutMs + 5000,
    script: script(
      pathSetupSh(),
      oursSh(),
      listeningSh(),
      nowMsSh(),
      stopGroupSh(),
      ...(spec.untilClosed ? untilClosed(app, port, spec.timeoutMs) : untilExited(app, spec.timeoutMs)),
      forget(paths.pidFile(port)),
      forget(paths.pending),
    ),
    parse: parseStop,
  };
}

function untilExited(app: AppProcess, timeoutMs: number): string[] {
  return [`stop_group ${app.pid} ${quote(app.start)} ${timeoutMs} || exit 1`];
}

/** The killer's deadline is stop_group's own: timeout after the SIGTERM, not after the close. */
function untilClosed(app: AppProcess, port: number, timeoutMs: number): string[] {
  const { pid } = app;
  const start = quote(app.start);
  return [
    killLaterSh(),
    `out=$(stop_group ${pid} ${start} ${timeoutMs} ${port}) || exit 1`,
    'printf \'%s\\n\' "$out"',
    'case "$out" in *stop=closed*)',
    `  ms=$(printf '%s\\n' "$out" | sed -n 's/^stop_ms=//p')`,
    `  kill_later ${pid} ${start} $(( (${timeoutMs} - ms + 999) / 1000 )) ;;`,
    'esac',
  ];
}

export function parseStop(stdout: string): StopOutcome {
  const values = keyValues(stdout);
  const how = required(values, 'stop');
  if (how !== 'gone' && how !== 'exited' && how !== 'closed' && how !== 'killed') {
    throw new OutputError(`the stop script printed stop=${how}`);
  }
  return { how, ms: requiredNumber(values, 'stop_ms') };
}
