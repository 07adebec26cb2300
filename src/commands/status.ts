// mode: status, the one remote script: what detection sees (the same script as the deploy's Detect step), the
// clock to turn process start ticks into times, the lock as the kernel holds it, the unit instances, and the
// history. Read-only: it creates, changes, starts and stops nothing. The lock is judged from /proc/locks
// (taking it, even for an instant, would make a deploy starting at that moment wait).
import type { Supervisor } from '../inputs.js';
import type { Layout } from '../layout.js';
import { quote } from '../shell.js';
import { detectPorts, type Detection, type DetectFiles } from './detect.js';
import { readHistory, type HistoryRead } from './history.js';
import { unitName } from './systemd.js';
import { keyValues, OutputError, required, requiredNumber, script, type RemoteCommand } from './types.js';

/** The lock as the kernel holds it: `none` when there is no lock file yet (never deployed to). */
export type LockRead =
  { state: 'held'; holder: string } | { state: 'free' | 'none' } | { state: 'unknown'; why: string };

/** A unit instance's state as `systemctl show` reports it, or why it could not be asked. */
export type UnitRead =
  | { unit: string; loadState: string; activeState: string; unitFileState: string; mainPid: number }
  | { unit: string; error: string };

export interface StatusRead {
  detection: Detection;
  /** The boot time (seconds since the epoch) and clock ticks per second: a start tick's wall time. */
  bootTime: number;
  ticksPerSecond: number;
  lock: LockRead;
  /** One per port, with a supervisor only. */
  units: Map<number, UnitRead>;
  history: HistoryRead | { error: string };
}

export interface StatusSpec {
  files: DetectFiles;
  ports: readonly [number, number];
  supervisor: Supervisor;
  serviceName: string;
}

/**
 * lock_state FILE INFO: is there a FLOCK on FILE's device and inode (major:minor in hex, then the inode, as the
 * kernel prints them)? /proc/locks first (`->` lines are waiters, not holders). In a container's pid namespace it
 * hides a lock whose taker has exited, and the deploy's taker is flock(1), gone at once (the lock shell keeps the
 * file open): the open file's fdinfo still shows it, in the processes this user may see. No pid is reported: it
 * is that flock(1)'s.
 */
function lockStateSh(): string {
  return [
    'lock_state() {',
    '  [ -e "$1" ] || { echo lock=none; return 0; }',
    '  _di=$(stat -c "%d %i" -- "$1" 2>/dev/null) && [ -r /proc/locks ] || { echo lock=unknown; return 0; }',
    '  _d=${_di% *}',
    '  _k=$(printf "%02x:%02x:%s" $(((_d >> 8) & 0xfff)) $(((_d & 0xff) | ((_d >> 12) & 0xfff00))) "${_di#* }")',
    '  if ! flock_on "$_k"; then echo lock=free; return 0; fi',
    '  echo lock=held',
    '  echo "lock_info_b64=$(head -c 1000 -- "$2" 2>/dev/null | base64 -w0)"',
    '}',
    'flock_on() {',
    '  awk -v k="$1" \'$2 == "FLOCK" && $6 == k { f = 1 } END { exit !f }\' /proc/locks && return 0',
    '  for _f in /proc/[0-9]*/fdinfo; do',
    '    [ -r "$_f" ] && grep -qs "^lock:.* FLOCK .* $1 " "$_f"/* && return 0',
    '  done',
    '  return 1',
    '}',
  ].join('\n');
}

/** unit_state PORT UNIT: unit_PORT_<Property>= lines, or unit_PORT_error= with what systemctl said. */
function unitStateSh(supervisor: Exclude<Supervisor, 'none'>): string {
  return [
    supervisor === 'systemd'
      ? 'sshow() { systemctl "$@"; }'
      : // Over SSH without a PAM session the user manager is found only through its runtime dir.
        'XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/run/user/$(id -u)}; export XDG_RUNTIME_DIR\nsshow() { systemctl --user "$@"; }',
    'unit_state() {',
    '  if _o=$(sshow show -p LoadState -p ActiveState -p UnitFileState -p MainPID -- "$2" 2>&1); then',
    '    printf "%s\\n" "$_o" | sed "s/^/unit_$1_/"',
    '  else',
    '    echo "unit_$1_error=$(printf "%s" "$_o" | tr "\\n" " " | cut -c 1-200)"',
    '  fi',
    '}',
  ].join('\n');
}

export function readStatus(paths: Layout, spec: StatusSpec): RemoteCommand<'status'> {
  const detect = detectPorts(paths, spec.files, spec.ports);
  const history = readHistory(paths);
  const supervisor = spec.supervisor === 'none' ? undefined : spec.supervisor;
  return {
    kind: 'status',
    title: `read the status of ${paths.root}`,
    script: script(
      detect.script.trimEnd(),
      'echo "btime=$(awk \'$1 == "btime" { print $2 }\' /proc/stat)"',
      'echo "clk_tck=$(getconf CLK_TCK)"',
      lockStateSh(),
      `lock_state ${quote(paths.lockFile)} ${quote(paths.lockInfo)}`,
      supervisor && unitStateSh(supervisor),
      ...(supervisor ? spec.ports.map((p) => `unit_state ${p} ${quote(unitName(spec.serviceName, p))}`) : []),
      // A subshell: the history script ends with exit (no releases folder yet, or an unreadable history).
      `( ${history.script.trimEnd()}\n) || echo history_error=1`,
    ),
    parse: (stdout) => parseStatus(stdout, { detect, history, spec, paths }),
  };
}

interface Parsers {
  detect: RemoteCommand<'detect'>;
  history: RemoteCommand<'history'>;
  spec: StatusSpec;
  paths: Layout;
}

function parseStatus(stdout: string, p: Parsers): StatusRead {
  const kv = keyValues(stdout);
  const units = new Map<number, UnitRead>();
  if (p.spec.supervisor !== 'none') {
    for (const port of p.spec.ports) units.set(port, unitRead(kv, port, unitName(p.spec.serviceName, port)));
  }
  return {
    detection: p.detect.parse(stdout),
    bootTime: requiredNumber(kv, 'btime'),
    ticksPerSecond: requiredNumber(kv, 'clk_tck'),
    lock: lockRead(kv, p.paths),
    units,
    history: kv.has('history_error')
      ? { error: `${p.paths.history} exists but the deploy user cannot read it` }
      : p.history.parse(stdout),
  };
}

function lockRead(kv: Map<string, string>, paths: Layout): LockRead {
  const state = required(kv, 'lock');
  if (state === 'none' || state === 'free') return { state };
  if (state === 'unknown') {
    return {
      state,
      why: `cannot compare ${paths.lockFile} with /proc/locks (stat or /proc/locks unreadable)`,
    };
  }
  if (state !== 'held') throw new OutputError(`the status script printed lock=${state}`);
  const holder = Buffer.from(kv.get('lock_info_b64') ?? '', 'base64')
    .toString('utf8')
    .replace(/\s+/g, ' ')
    .trim();
  return { state, holder };
}

function unitRead(kv: Map<string, string>, port: number, unit: string): UnitRead {
  const error = kv.get(`unit_${port}_error`);
  if (error !== undefined) return { unit, error: error || 'systemctl show failed' };
  const mainPid = kv.get(`unit_${port}_MainPID`) ?? '0';
  return {
    unit,
    loadState: required(kv, `unit_${port}_LoadState`),
    activeState: required(kv, `unit_${port}_ActiveState`),
    unitFileState: kv.get(`unit_${port}_UnitFileState`) ?? '',
    mainPid: /^\d+$/.test(mainPid) ? Number(mainPid) : 0,
  };
}
