// Step 1: what is live? Reads the nginx include and, for each candidate port, whether something listens and
// whether it is a process we started (our pid file, same start time). Prints key=value lines.
import type { Layout } from '../layout.js';
import { quote } from '../shell.js';
import { LISTENING, OURS, PATH_SETUP } from './functions.js';
import { parseInclude, type IncludeTarget } from '../nginx-include.js';
import { keyValues, OutputError, required, requiredNumber, script, type RemoteCommand } from './types.js';

export function detectPorts(
  paths: Layout,
  include: string,
  ports: readonly [number, number],
): RemoteCommand<'detect'> {
  return {
    kind: 'detect',
    title: `detect live port (${include})`,
    script: script(
      PATH_SETUP,
      OURS,
      LISTENING,
      `inc=${quote(include)}`,
      'ip=',
      // The exact bytes, for the parser (src/nginx-include.ts) and for a byte-for-byte restore.
      'if [ -r "$inc" ] && b=$(base64 -w0 < "$inc" 2>/dev/null); then',
      '  echo include=present',
      '  echo "include_b64=$b"',
      // Only to know which port to look at as well; the parser decides what the include says.
      '  ip=$(sed -n \'s/^[[:space:]]*set[[:space:]][[:space:]]*\\$service_url[[:space:]][[:space:]]*[^;]*:\\([0-9][0-9]*\\)[^0-9;]*;.*$/\\1/p\' "$inc" | head -n 1)',
      'elif [ -e "$inc" ]; then echo include=unreadable',
      'else echo include=missing',
      'fi',
      `n=0; for d in ${quote(paths.releases)}/*/; do [ -d "$d" ] && n=$((n + 1)); done; echo "releases=$n"`,
      `set -- ${ports.join(' ')}`,
      'case " $* " in *" $ip "*) ;; *) [ -n "$ip" ] && set -- "$@" "$ip" ;; esac',
      'for p in "$@"; do',
      '  if listening "$p"; then echo "listening_$p=1"; else echo "listening_$p=0"; fi',
      `  f=${quote(paths.runDir)}/"$p".pid`,
      '  if [ -r "$f" ] && read -r pid start rel < "$f" && ours "$pid" "$start"; then',
      '    echo "pid_$p=$pid $start $rel"',
      '  fi',
      '  lp=$(listener_pid "$p")',
      '  if [ -n "$lp" ]; then',
      '    echo "listener_$p=$lp $(start_time "$lp") $(tr \'\\0\' \' \' < "/proc/$lp/cmdline" 2>/dev/null | cut -c 1-200)"',
      '  fi',
      'done',
    ),
    parse: (stdout) => parseDetection(stdout, ports),
  };
}

/** One candidate port as the host reported it. */
export interface PortState {
  port: number;
  listening: boolean;
  /** The process we started on this port (from our pid file), when still alive. */
  ours?: { pid: number; start: string; release: string };
  /** The listener's pid, start time and command line, when the deploy user may see it. */
  listener?: { pid: number; start: string; command: string };
}

export interface Detection {
  include: 'present' | 'missing' | 'unreadable';
  /** The include's exact text, when present. */
  includeText?: string;
  /** Where the include routes to; undefined when it names no port in a form we understand. */
  includeTarget?: IncludeTarget;
  /** How many release folders the host has: any means the action deployed here before. */
  releases: number;
  ports: Map<number, PortState>;
}

function parseDetection(output: string, candidates: readonly number[]): Detection {
  const kv = keyValues(output);
  const include = required(kv, 'include');
  if (include !== 'present' && include !== 'missing' && include !== 'unreadable')
    throw new OutputError(`the detect script printed include=${include}`);
  const b64 = kv.get('include_b64');
  const includeText = include === 'present' ? Buffer.from(b64 ?? '', 'base64').toString('utf8') : undefined;
  const includeTarget = includeText === undefined ? undefined : parseInclude(includeText);
  const ports = [...new Set([...candidates, ...(includeTarget ? [includeTarget.port] : [])])];
  const releases = requiredNumber(kv, 'releases');
  const detection: Detection = { include, includeText, includeTarget, releases, ports: new Map() };
  for (const port of ports) {
    const state: PortState = { port, listening: kv.get(`listening_${port}`) === '1' };
    const ours = kv.get(`pid_${port}`)?.split(' ');
    if (ours && ours.length >= 2)
      state.ours = { pid: Number(ours[0]), start: ours[1], release: ours[2] ?? '' };
    const listener = kv.get(`listener_${port}`);
    if (listener) {
      const [pid, start, ...command] = listener.split(' ');
      state.listener = { pid: Number(pid), start, command: command.join(' ').trim() };
    }
    detection.ports.set(port, state);
  }
  return detection;
}
