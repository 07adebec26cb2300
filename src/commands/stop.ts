// Step: retire the old app once nginx no longer routes to it. Waits for the old nginx workers to exit (they
// finish their in-flight requests first), bounded by drain-timeout; then SIGTERM. By default the deploy ends
// as soon as the old app has closed its listener: its graceful shutdown may take its whole grace period, and
// a detached watchdog SIGKILLs it at stop-timeout. With await-stop the deploy waits for the exit instead.
import type { Layout } from '../layout.js';
import { quote } from '../shell.js';
import { LISTENING, OURS, PATH_SETUP } from './functions.js';
import { script, type RemoteCommand } from './types.js';

export interface RetireSpec {
  oldWorkers: readonly number[];
  drainTimeoutMs: number;
  /** The old app; absent when nothing of ours served the old port. */
  old?: { pid: number; start: string; port: number };
  stopTimeoutMs: number;
  awaitStop: boolean;
}

/** A detached killer: `watchdog PID START SECONDS`. Static text, only positional arguments. */
const WATCHDOG = [
  "watchdog() { setsid sh -c '",
  '  sleep "$3"',
  '  s=$(sed "s/^.*) //" "/proc/$1/stat" 2>/dev/null) || exit 0',
  '  case "$s" in Z*|X*|"") exit 0 ;; esac',
  '  [ "$(printf "%s\\n" "$s" | cut -d " " -f 20)" = "$2" ] && kill -KILL "$1"',
  '\' watchdog "$1" "$2" "$3" </dev/null >/dev/null 2>&1 & }',
].join('\n');

export function retireOld(paths: Layout, spec: RetireSpec): RemoteCommand {
  const lines: string[] = [PATH_SETUP, OURS, LISTENING, WATCHDOG];
  lines.push(
    'now_ms() { date +%s%3N; }',
    't0=$(now_ms)',
    `deadline=$((t0 + ${spec.drainTimeoutMs}))`,
    `for w in ${spec.oldWorkers.join(' ')}; do`,
    '  while [ -d "/proc/$w" ] && ! grep -q "^State:[[:space:]]*Z" "/proc/$w/status" 2>/dev/null; do',
    '    [ "$(now_ms)" -ge "$deadline" ] && { echo drained=timeout; break 2; }',
    '    sleep 0.02',
    '  done',
    'done',
    'echo "drain_ms=$(($(now_ms) - t0))"',
  );
  const old = spec.old;
  if (old) {
    const { pid, port } = old;
    const start = quote(old.start);
    lines.push(
      `if ours ${pid} ${start}; then`,
      `  kill -TERM ${pid} 2>/dev/null || { echo "cannot signal pid ${pid} (another user's process?)" >&2; exit 1; }`,
      '  t1=$(now_ms)',
      `  end=$((t1 + ${spec.stopTimeoutMs}))`,
      // Wait for the listener to close (or the exit, with await-stop); kill at the deadline.
      `  while ours ${pid} ${start}${spec.awaitStop ? '' : ` && listening ${port}`}; do`,
      `    if [ "$(now_ms)" -ge "$end" ]; then kill -KILL ${pid} 2>/dev/null; echo stop=killed; break; fi`,
      '    sleep 0.02',
      '  done',
      `  if ours ${pid} ${start}; then`,
      `    left=$(( (end - $(now_ms)) / 1000 + 1 ))`,
      `    watchdog ${pid} ${start} "$left"`,
      '    echo stop=listener-closed',
      '  else',
      '    echo stop=exited',
      '  fi',
      '  echo "stop_ms=$(($(now_ms) - t1))"',
      'else',
      '  echo stop=gone',
      'fi',
      `if [ -r ${quote(paths.pidFile(port))} ] && read -r p _ < ${quote(paths.pidFile(port))} && [ "$p" = ${pid} ]; then rm -f -- ${quote(paths.pidFile(port))}; fi`,
    );
  }
  const stop = old ? `stop pid ${old.pid} on port ${old.port}` : '';
  const drain = `wait for ${spec.oldWorkers.length} old nginx workers`;
  const title = !old ? drain : spec.oldWorkers.length === 0 ? stop : `${drain}, then ${stop}`;
  return { title, script: script(...lines) };
}

/** Keeps the `keep` newest releases (by folder time: ids may be any name), and always the ones a recorded process runs. */
export function pruneReleases(paths: Layout, keep: number, current: string): RemoteCommand {
  return {
    title: `keep the newest ${keep} releases`,
    script: script(
      `cd -- ${quote(paths.releases)} || exit 0`,
      `inuse=" ${current.replace(/[^A-Za-z0-9._-]/g, '')} $(cat ${quote(paths.runDir)}/*.pid 2>/dev/null | awk '{ printf "%s ", $3 }')"`,
      `ls -1t | tail -n +${keep + 1} | while IFS= read -r r; do`,
      '  case "$inuse" in *" $r "*) continue ;; esac',
      '  rm -rf -- "$r" && echo "removed=$r"',
      'done',
    ),
  };
}
