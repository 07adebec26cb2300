// The app's process: launch it detached on a port, ask whether it still lives, show its log, stop it.
import type { Layout } from '../layout.js';
import { quote, quoteAll } from '../shell.js';
import { OURS, PATH_SETUP, STOP_PROCESS } from './functions.js';
import { script, type RemoteCommand } from './types.js';

export interface LaunchSpec {
  releaseId: string;
  port: number;
  java: string;
  javaOpts: readonly string[];
  appArgs: readonly string[];
}

/** The argv of the JVM, exactly as it will run. */
export function javaArgv(paths: Layout, spec: LaunchSpec): string[] {
  return [
    spec.java,
    ...spec.javaOpts,
    '-jar',
    paths.jar(spec.releaseId),
    `--server.port=${spec.port}`,
    ...spec.appArgs,
  ];
}

/**
 * Starts the JVM in its own session (setsid), stdin from /dev/null and output to the release's log, so the SSH
 * exec returns at once and the app outlives the session. The inner shell writes its own pid before exec'ing
 * java, so the pid is the JVM's. Records `pid start release` per port and the pending launch.
 */
export function launchApp(paths: Layout, spec: LaunchSpec): RemoteCommand {
  const rel = paths.release(spec.releaseId);
  const pidTmp = quote(`${rel}/.launch.pid`);
  return {
    title: `launch ${spec.releaseId} on port ${spec.port}`,
    script: script(
      PATH_SETUP,
      OURS,
      `cd -- ${quote(paths.root)} || exit 1`,
      `rm -f -- ${pidTmp}`,
      '(',
      `  if [ -f ${quote(paths.envFile(spec.releaseId))} ]; then set -a; . ${quote(paths.envFile(spec.releaseId))}; set +a; fi`,
      `  exec setsid sh -c 'echo "$$" > "$1"; shift; exec "$@"' launcher ${pidTmp} ${quoteAll(javaArgv(paths, spec))}`,
      `) </dev/null >>${quote(paths.log(spec.releaseId))} 2>&1 &`,
      'i=0',
      `while [ ! -s ${pidTmp} ] && [ "$i" -lt 500 ]; do sleep 0.01; i=$((i + 1)); done`,
      `pid=$(cat ${pidTmp} 2>/dev/null); rm -f -- ${pidTmp}`,
      '[ -n "$pid" ] || { echo "the launcher did not start" >&2; exit 1; }',
      'start=$(start_time "$pid")',
      `printf '%s %s %s\\n' "$pid" "$start" ${quote(spec.releaseId)} > ${quote(paths.pidFile(spec.port))}`,
      `printf '%s %s %s\\n' "$pid" "$start" ${spec.port} > ${quote(paths.pending)}`,
      'echo "pid=$pid"',
      'echo "start=$start"',
    ),
  };
}

export function isAlive(pid: number, start: string): RemoteCommand {
  return {
    title: `is pid ${pid} alive`,
    quiet: true,
    script: script(OURS, `if ours ${pid} ${quote(start)}; then echo alive=1; else echo alive=0; fi`),
  };
}

export function logTail(paths: Layout, releaseId: string, lines: number): RemoteCommand {
  return {
    title: `last ${lines} lines of ${paths.log(releaseId)}`,
    script: script(`tail -n ${lines} -- ${quote(paths.log(releaseId))} 2>&1`),
  };
}

/**
 * Stops a launched app that will not be switched to (failed health check, rollback, cancel) and forgets it:
 * its pid file and the pending record go.
 */
export function stopApp(
  paths: Layout,
  port: number,
  pid: number,
  start: string,
  timeoutMs: number,
): RemoteCommand {
  return {
    title: `stop pid ${pid} on port ${port}`,
    script: script(
      OURS,
      STOP_PROCESS,
      `stop_process ${pid} ${quote(start)} ${timeoutMs}`,
      `if [ -r ${quote(paths.pidFile(port))} ] && read -r p _ < ${quote(paths.pidFile(port))} && [ "$p" = ${pid} ]; then rm -f -- ${quote(paths.pidFile(port))}; fi`,
      `if [ -r ${quote(paths.pending)} ] && read -r p _ < ${quote(paths.pending)} && [ "$p" = ${pid} ]; then rm -f -- ${quote(paths.pending)}; fi`,
    ),
  };
}
