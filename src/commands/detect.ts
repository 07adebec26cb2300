// Step 3: what is true on the host? The exact bytes of the nginx include and of our upstream file (parsed in
// src/nginx-include.ts and src/nginx-upstream.ts, restored byte for byte), how many releases exist, and for
// each port involved whether something listens and whether it is a process we started (our pid file, same
// start time). Prints key=value lines.
import type { Layout } from '../layout.js';
import { quote } from '../shell.js';
import { listeningSh, oursSh, pathSetupSh } from './functions.js';
import { keyValues, OutputError, required, requiredNumber, script, type RemoteCommand } from './types.js';

/** What a file on the host held: its exact text, or why there is none. */
/** `notText`: bytes that are not UTF-8, which the action could not rewrite without changing the others. */
export type FileRead = { state: 'present'; text: string } | { state: 'missing' | 'unreadable' | 'notText' };

/** One port as the host reported it. */
export interface PortState {
  port: number;
  listening: boolean;
  /** The process we started on this port (from our pid file), when still alive. */
  ours?: { pid: number; start: string; release: string };
  /** The listener's pid, start time and command line, when the deploy user may see it. */
  listener?: { pid: number; start: string; command: string };
}

export interface Detection {
  include: FileRead;
  /** The include path is a symlink: the file it resolves to (readlink -f; '' when it cannot be resolved). */
  includeLink?: string;
  upstream: FileRead;
  /** How many release folders the host has: any means the action deployed here before. */
  releases: number;
  ports: Map<number, PortState>;
}

/** read_file KEY PATH: KEY=present and KEY_b64=<bytes>, or KEY=unreadable, or KEY=missing. */
const READ_FILE = [
  'read_file() {',
  '  if [ -r "$2" ] && _b=$(base64 -w0 < "$2" 2>/dev/null); then echo "$1=present"; echo "$1_b64=$_b"',
  '  elif [ -e "$2" ]; then echo "$1=unreadable"',
  '  else echo "$1=missing"; fi',
  '}',
].join('\n');

/** Every port either file names, to look at as well; the parsers decide what the files say. */
const NAMED_PORTS = [
  'named_ports() {',
  '  sed -n \'s/^[[:space:]]*set[[:space:]][[:space:]]*\\$service_url[[:space:]][[:space:]]*[^;]*:\\([0-9][0-9]*\\)[^0-9;]*;.*$/\\1/p\' "$1" 2>/dev/null',
  '  sed -n \'s/^[[:space:]]*server[[:space:]][[:space:]]*127\\.0\\.0\\.1:\\([0-9][0-9]*\\).*$/\\1/p\' "$2" 2>/dev/null',
  '}',
].join('\n');

/** For each port: listening_P, and pid_P (ours) and listener_P (who listens) when known. */
const PORT_REPORT = [
  'for p in $(printf \'%s\\n\' "$@" | sort -un); do',
  '  if listening "$p"; then echo "listening_$p=1"; else echo "listening_$p=0"; fi',
  '  f="$run/$p.pid"',
  '  if [ -r "$f" ] && read -r pid start rel < "$f" && ours "$pid" "$start"; then',
  '    echo "pid_$p=$pid $start $rel"',
  '  fi',
  '  lp=$(listener_pid "$p")',
  '  if [ -n "$lp" ]; then',
  '    echo "listener_$p=$lp $(start_time "$lp") $(tr \'\\0\' \' \' < "/proc/$lp/cmdline" 2>/dev/null | cut -c 1-200)"',
  '  fi',
  'done',
];

export interface DetectFiles {
  include: string;
  upstream: string;
}

export function detectPorts(
  paths: Layout,
  files: DetectFiles,
  ports: readonly [number, number],
): RemoteCommand<'detect'> {
  return {
    kind: 'detect',
    title: `detect live port (${files.include})`,
    script: script(
      pathSetupSh(),
      oursSh(),
      listeningSh(),
      READ_FILE,
      NAMED_PORTS,
      `inc=${quote(files.include)}`,
      `up=${quote(files.upstream)}`,
      `run=${quote(paths.runDir)}`,
      'read_file include "$inc"',
      // A symlink (sites-enabled): the switch writes the file it points to, and keeps the link.
      'if [ -L "$inc" ]; then _l=$(readlink -f -- "$inc") || _l=; echo "include_link_b64=$(printf \'%s\' "$_l" | base64 -w0)"; fi',
      'read_file upstream "$up"',
      `n=0; for d in ${quote(paths.releases)}/*/; do [ -d "$d" ] && n=$((n + 1)); done; echo "releases=$n"`,
      // Split on purpose: named_ports prints digits only, one port a line.
      '# shellcheck disable=SC2046',
      `set -- ${ports.join(' ')} $(named_ports "$inc" "$up")`,
      ...PORT_REPORT,
    ),
    parse: parseDetection,
  };
}

function fileRead(kv: Map<string, string>, key: string): FileRead {
  const state = required(kv, key);
  if (state === 'present') {
    const bytes = Buffer.from(required(kv, `${key}_b64`), 'base64');
    try {
      return { state, text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes) };
    } catch {
      return { state: 'notText' };
    }
  }
  if (state === 'missing' || state === 'unreadable') return { state };
  throw new OutputError(`the detect script printed ${key}=${state}`);
}

function portState(kv: Map<string, string>, port: number): PortState {
  const state: PortState = { port, listening: kv.get(`listening_${port}`) === '1' };
  const ours = kv.get(`pid_${port}`)?.split(' ');
  if (ours && ours.length >= 2) state.ours = { pid: Number(ours[0]), start: ours[1], release: ours[2] ?? '' };
  const listener = kv.get(`listener_${port}`);
  if (listener) {
    const [pid, start, ...command] = listener.split(' ');
    state.listener = { pid: Number(pid), start, command: command.join(' ').trim() };
  }
  return state;
}

function parseDetection(output: string): Detection {
  const kv = keyValues(output);
  const ports = new Map<number, PortState>();
  for (const key of kv.keys()) {
    const m = /^listening_(\d+)$/.exec(key);
    if (m) ports.set(Number(m[1]), portState(kv, Number(m[1])));
  }
  const link = kv.get('include_link_b64');
  return {
    include: fileRead(kv, 'include'),
    ...(link === undefined ? {} : { includeLink: Buffer.from(link, 'base64').toString('utf8') }),
    upstream: fileRead(kv, 'upstream'),
    releases: requiredNumber(kv, 'releases'),
    ports,
  };
}
