// The deploy lock: a flock held by a long-lived shell of this deploy's own SSH session. The kernel drops the
// lock the moment that shell ends (runner killed, link lost), so no lock ever goes stale. When the session
// ends before the switch, the same shell stops the half-started app it finds recorded as pending.
import type { Layout } from '../layout.js';
import { quote } from '../shell.js';
import type { SudoMode } from '../inputs.js';
import { asRoot, listeningSh, nowMsSh, oursSh, pathSetupSh, stopGroupSh } from './functions.js';
import { historyAppendSh, watchdogHistorySh } from './history.js';
import { INTERRUPTED_ERROR } from '../history.js';
import { stopUnitSh } from './systemd.js';
import { script } from './types.js';

/** Exit code of the lock shell when the lock was not acquired in time. */
export const LOCK_TIMEOUT_EXIT = 75;
export const LOCK_SETUP_EXIT = 70;

/** What the lock shell says while it starts: it holds the lock, or waits for the named holder. */
export type LockEvent = { held: true } | { held: false; holder: string };

/** A long-lived command: its script, and the parsers of the lines it prints. */
export interface LockCommand {
  title: string;
  script: string;
  /** The line that says the lock is held, and the one that says another deploy holds it. */
  heldLine: RegExp;
  waitingLine: RegExp;
  event(line: string): LockEvent;
  /** After a lock-timeout exit: who held the lock, as that deploy recorded it. */
  holder(stdout: string): string | undefined;
}

export interface LockSpec {
  /** Who this deploy is, shown to a deploy that has to wait. */
  holder: string;
  timeoutSeconds: number;
  /** How long the watchdog gives a half-started app to stop before SIGKILL. */
  stopTimeoutMs: number;
  /**
   * With a supervisor: the pending record may name a unit instance (`system:NAME` or `user:NAME`), which the
   * watchdog stops through systemd (as root by this sudo mode), since killing the JVM would only restart it.
   */
  supervised?: { sudo: SudoMode };
}

export function holdLock(paths: Layout, spec: LockSpec): LockCommand {
  const { root, releases, runDir, lockFile, lockInfo, pending } = paths;
  const setupError = `cannot create ${root}: create it on the host and make the deploy user its owner`;
  return {
    title: `lock ${lockFile}`,
    script: script(
      pathSetupSh(),
      oursSh(),
      listeningSh(),
      nowMsSh(),
      stopGroupSh(),
      spec.supervised && asRoot(spec.supervised.sudo),
      spec.supervised && stopUnitSh(),
      historyAppendSh(paths),
      `mkdir -p -- ${quote(releases)} ${quote(runDir)} || { echo ${quote(setupError)} >&2; exit ${LOCK_SETUP_EXIT}; }`,
      // `command`: a failed redirection of the special built-in exec would end sh at once with status 2.
      `command exec 9>>${quote(lockFile)} || exit ${LOCK_SETUP_EXIT}`,
      'if ! flock -n 9; then',
      `  echo "waiting=$(tr '\\n' ' ' < ${quote(lockInfo)} 2>/dev/null)"`,
      `  flock -w ${spec.timeoutSeconds} 9 || { echo "holder=$(tr '\\n' ' ' < ${quote(lockInfo)} 2>/dev/null)"; exit ${LOCK_TIMEOUT_EXIT}; }`,
      'fi',
      `printf '%s\\n' ${quote(spec.holder)} > ${quote(lockInfo)}`,
      'echo locked',
      // Hold the lock until our side closes stdin or the session dies.
      'cat >/dev/null',
      // The session may be gone (runner killed, link lost): a write to its pipes must not kill this shell
      // (SIGPIPE) before it has stopped the half-started app.
      "trap '' PIPE",
      // Claimed by renaming it, so a switch still running cannot also use it (see switchNginx).
      `if mv -f -- ${quote(pending)} ${quote(`${pending}.stop`)} 2>/dev/null; then`,
      ...watchdogStop(`${pending}.stop`, spec),
      `    rm -f -- ${quote(runDir)}/"$port".pid`,
      '  fi',
      `  rm -f -- ${quote(`${pending}.stop`)}`,
      'fi',
      // A run whose session died before it wrote its end: its history record ends as interrupted.
      ...watchdogHistorySh(paths, INTERRUPTED_ERROR),
      `: > ${quote(lockInfo)}`,
    ),
    heldLine: /^locked$/,
    waitingLine: /^waiting=/,
    event: (line) => (line === 'locked' ? { held: true } : { held: false, holder: afterEquals(line) }),
    holder: (stdout) => {
      const line = stdout.split('\n').find((l) => l.startsWith('holder='));
      return line === undefined ? undefined : afterEquals(line);
    },
  };
}

function watchdogStop(record: string, spec: LockSpec): string[] {
  if (!spec.supervised) {
    return [
      `  if read -r pid start port < ${quote(record)}; then`,
      '    echo "watchdog: stopping half-started app $pid on port $port" >&2',
      `    stop_group "$pid" "$start" ${spec.stopTimeoutMs} >/dev/null`,
    ];
  }
  return [
    `  if read -r pid start port unit < ${quote(record)}; then`,
    '    echo "watchdog: stopping half-started app $pid on port $port${unit:+ ($unit)}" >&2',
    `    if [ -n "$unit" ]; then stop_unit "$unit" ${spec.stopTimeoutMs}; else stop_group "$pid" "$start" ${spec.stopTimeoutMs} >/dev/null; fi`,
  ];
}

function afterEquals(line: string): string {
  return line.slice(line.indexOf('=') + 1).trim();
}
