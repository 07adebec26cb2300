// The deploy lock: a flock held by a long-lived shell of this deploy's own SSH session. The kernel drops the
// lock the moment that shell ends (runner killed, link lost), so no lock ever goes stale. When the session
// ends before the switch, the same shell stops the half-started app it finds recorded as pending.
import type { Layout } from '../layout.js';
import { quote } from '../shell.js';
import { OURS, STOP_PROCESS } from './functions.js';
import { script, type RemoteCommand } from './types.js';

/** Exit code of the lock shell when the lock was not acquired in time. */
export const LOCK_TIMEOUT_EXIT = 75;
export const LOCK_SETUP_EXIT = 70;

function setupError(root: string): string {
  return `cannot create ${root}: create it on the host and make the deploy user its owner`;
}

export function holdLock(paths: Layout, holder: string, timeoutSeconds: number): RemoteCommand {
  const { root, releases, runDir, lockFile, lockInfo, pending } = paths;
  return {
    title: `lock ${lockFile}`,
    script: script(
      OURS,
      STOP_PROCESS,
      `mkdir -p -- ${quote(releases)} ${quote(runDir)} || { echo ${quote(setupError(root))} >&2; exit ${LOCK_SETUP_EXIT}; }`,
      `exec 9>>${quote(lockFile)} || exit ${LOCK_SETUP_EXIT}`,
      'if ! flock -n 9; then',
      `  echo "waiting=$(tr '\\n' ' ' < ${quote(lockInfo)} 2>/dev/null)"`,
      `  flock -w ${timeoutSeconds} 9 || { echo "holder=$(tr '\\n' ' ' < ${quote(lockInfo)} 2>/dev/null)"; exit ${LOCK_TIMEOUT_EXIT}; }`,
      'fi',
      `printf '%s\\n' ${quote(holder)} > ${quote(lockInfo)}`,
      'echo locked',
      // Hold the lock until our side closes stdin or the session dies.
      'cat >/dev/null',
      // The session may be gone (runner killed, link lost): a write to its pipes must not kill this shell
      // (SIGPIPE) before it has stopped the half-started app.
      "trap '' PIPE",
      // Claimed by renaming it, so a switch still running cannot also use it (see switchNginx).
      `if mv -f -- ${quote(pending)} ${quote(pending + '.stop')} 2>/dev/null; then`,
      `  if read -r pid start port < ${quote(pending + '.stop')}; then`,
      '    echo "watchdog: stopping half-started app $pid on port $port" >&2',
      '    stop_process "$pid" "$start" 10000 >/dev/null',
      `    rm -f -- ${quote(runDir)}/"$port".pid`,
      '  fi',
      `  rm -f -- ${quote(pending + '.stop')}`,
      'fi',
      `: > ${quote(lockInfo)}`,
    ),
  };
}
