// Step: point nginx at the new port. The include is written to a temp file and moved into place, validated
// with `nginx -t` and reloaded; on any failure the previous include is put back, so nginx keeps serving the
// old app. Afterwards the script waits for nginx's new workers, so old ones can be drained precisely.
import { createHash } from 'node:crypto';
import { quote, quoteAll } from '../shell.js';
import { asRoot, nowMsSh, pathSetupSh } from './functions.js';
import {
  fileCommands,
  loadedLine,
  nginxArgv,
  notLoadedMessage,
  reloadCommands,
  type NginxSpec,
  type ReloadCommand,
} from './nginx-root.js';
import { keyValues, required, script, type RemoteCommand } from './types.js';

export { nginxArgv, type NginxSpec } from './nginx-root.js';

export const EXIT_NGINX_NOT_RUNNING = 30;
export const EXIT_WRITE_FAILED = 31;
export const EXIT_TEST_FAILED = 32;
export const EXIT_RELOAD_FAILED = 33;
export const EXIT_NO_NEW_WORKERS = 34;
export const EXIT_LAUNCH_GONE = 35;
export const EXIT_INCLUDE_CHANGED = 36;
export const EXIT_NOT_LOADED = 37;

/** After a reload: the old workers, which still finish requests routed by the previous include. */
export interface Switched {
  oldWorkers: number[];
}

/** A file to write, and what it must hold until then (undefined: it must not exist). */
export interface FileChange {
  path: string;
  /** undefined: the file is removed. */
  content: string | undefined;
  expected: string | undefined;
  /** nginx must really load it (checked in nginx -T): a file in http { } that nothing includes does nothing. */
  mustLoad?: boolean;
  /** The symlink nginx includes, which points to `path`: it must still point there, and stays a link. */
  link?: string;
}

/** sha256 of a text as the host's `sha256sum` prints it, or `absent`. */
export function textSum(text: string | undefined): string {
  return text === undefined ? 'absent' : createHash('sha256').update(text, 'utf8').digest('hex');
}

function reloadFunction(spec: NginxSpec): string {
  const commands = reloadCommands(spec);
  const last = commands.pop() as ReloadCommand;
  return [
    ...(commands.length > 0 ? ['reload_nginx() {'] : []),
    ...commands.map((c) => `  if ${c.when ?? ':'} && as_root ${c.command}; then return 0; fi`),
    commands.length > 0 ? `  as_root ${last.command}` : `reload_nginx() { as_root ${last.command}; }`,
    ...(commands.length > 0 ? ['}'] : []),
  ].join('\n');
}

/** "pid:ppid" of every nginx worker process, one per line. */
export function workersSh(): string {
  return 'nginx_workers() { ps -e -o pid= -o ppid= -o args= 2>/dev/null | awk \'$3 == "nginx:" && $4 == "worker" { print $1 ":" $2 }\'; }';
}

/** Common part of every nginx change: check, write, test, reload, wait for the new workers. */
function rewriteFiles(spec: NginxSpec, changes: readonly FileChange[], pending?: string): string[] {
  return [
    pathSetupSh(),
    asRoot(spec.sudo),
    reloadFunction(spec),
    nowMsSh(),
    workersSh(),
    ...(pending ? claimLaunch(pending) : []),
    "before=$(nginx_workers | tr '\\n' ' ')",
    `[ -n "$before" ] || { echo "nginx is not running: no nginx worker process found" >&2; exit ${EXIT_NGINX_NOT_RUNNING}; }`,
    'masters=$(for w in $before; do printf \' %s \' "${w#*:}"; done)',
    // chmod: under a umask such as 027 a file would be unreadable for the deploy user and for nginx's workers.
    writeFunction(),
    ...changes.flatMap(readAndCheck),
    ...restoreFunction(changes),
    `if ! { ${writes(changes)}; }; then`,
    '  restore',
    // The paths by their variables: a path is user input and must never be spliced into a shell string.
    `  echo "could not write ${changes.map((_, i) => `$f${i}`).join(' and ')}" >&2`,
    `  exit ${EXIT_WRITE_FAILED}`,
    'fi',
    ...testAndReload(spec, changes),
    ...awaitNewWorkers(),
    // From here nginx routes to the new app: a lost session must no longer stop it as half-started.
    ...(pending ? ['rm -f -- "$claim"'] : []),
    'echo "workers_before=$before"',
    'echo "workers_new=$fresh"',
  ];
}

function writeFunction(): string {
  const c = fileCommands('"$1"', '"$1.tmp"');
  return `write_file() { printf '%s' "$2" | as_root ${c.tee} >/dev/null && as_root ${c.chmod} && as_root ${c.mv}; }`;
}

/** Write (or remove) every file; `:` when nothing changes (the reload still happens). */
function writes(changes: readonly FileChange[]): string {
  if (changes.length === 0) return ':';
  return changes
    .map((c, i) =>
      c.content === undefined
        ? `as_root ${fileCommands(`"$f${i}"`, '').rm}`
        : `write_file "$f${i}" "$new${i}"`,
    )
    .join(' && ');
}

/**
 * File i: its new text, and its old bytes for a restore (the x keeps trailing newlines through $( )). A file
 * that changed since detection (someone edited it, another tool) stops everything before any write.
 */
function readAndCheck(change: FileChange, i: number): string[] {
  return [
    `f${i}=${quote(change.path)}`,
    ...(change.link === undefined ? [] : linkCheck(change.link, i)),
    ...(change.content === undefined ? [] : [`new${i}=${quote(change.content)}`]),
    `if [ -f "$f${i}" ]; then`,
    `  had${i}=1`,
    `  old${i}=$(cat -- "$f${i}" && echo x) || { echo "cannot read $f${i}" >&2; exit ${EXIT_INCLUDE_CHANGED}; }`,
    `  old${i}=\${old${i}%x}`,
    `  now=$(printf '%s' "$old${i}" | sha256sum | cut -c 1-64)`,
    `else had${i}=0; old${i}=; now=absent; fi`,
    `[ "$now" = ${textSum(change.expected)} ] || { echo "$f${i} changed since this deploy read it; nothing was changed" >&2; exit ${EXIT_INCLUDE_CHANGED}; }`,
  ];
}

/** A link re-pointed since detection: writing the file it pointed to would change what nginx no longer reads. */
function linkCheck(link: string, i: number): string[] {
  return [
    `l${i}=${quote(link)}`,
    `if [ ! -L "$l${i}" ] || [ "$(readlink -f -- "$l${i}")" != "$f${i}" ]; then echo "$l${i} no longer links to $f${i}; nothing was changed" >&2; exit ${EXIT_INCLUDE_CHANGED}; fi`,
  ];
}

/** restore: every file back to its exact previous bytes (or gone, if it did not exist). */
function restoreFunction(changes: readonly FileChange[]): string[] {
  return [
    'restore() {',
    ...changes.flatMap((_, i) => [
      `  if [ "$had${i}" = 1 ]; then write_file "$f${i}" "$old${i}"; else as_root ${fileCommands(`"$f${i}"`, '').rm}; fi`,
      `  [ -e "$f${i}.tmp" ] && as_root ${fileCommands(`"$f${i}"`, `"$f${i}.tmp"`).rmTmp}`,
    ]),
    '  echo "the previous configuration was restored; nginx still serves it" >&2',
    '}',
  ];
}

/** nginx -t; files nginx must load are looked for in nginx -T; reload. Any failure restores. */
function testAndReload(spec: NginxSpec, changes: readonly FileChange[]): string[] {
  const loaded = changes.flatMap((c, i) =>
    c.mustLoad
      ? [
          `if ! as_root ${quoteAll(nginxArgv(spec, '-T'))} 2>/dev/null | grep -qxF "${loadedLine(`$f${i}`)}"; then`,
          '  restore',
          `  echo "${notLoadedMessage(`$f${i}`).replace(/"/g, '\\"')}" >&2`,
          `  exit ${EXIT_NOT_LOADED}`,
          'fi',
        ]
      : [],
  );
  return [
    `if ! out=$(as_root ${quoteAll(nginxArgv(spec, '-t'))} 2>&1); then`,
    '  printf \'%s\\n\' "$out" >&2',
    '  echo "nginx -t rejected the new configuration" >&2',
    '  restore',
    `  exit ${EXIT_TEST_FAILED}`,
    'fi',
    ...loaded,
    'if ! out=$(reload_nginx 2>&1); then',
    '  printf \'%s\\n\' "$out" >&2',
    '  echo "nginx reload failed" >&2',
    '  restore',
    `  exit ${EXIT_RELOAD_FAILED}`,
    'fi',
  ];
}

/**
 * Claim the launch record, so that the lock's watchdog (if the session dies now) and this switch can never
 * both act: one of them renames it first. Given back on any failure.
 */
function claimLaunch(pending: string): string[] {
  return [
    `pending=${quote(pending)}`,
    'claim="$pending.switch"',
    `mv -f -- "$pending" "$claim" 2>/dev/null || { echo "the new app is being stopped by the lock's watchdog (was the session lost?)" >&2; exit ${EXIT_LAUNCH_GONE}; }`,
    'give_back() { if [ -e "$claim" ]; then mv -f -- "$claim" "$pending"; fi; }',
    'trap give_back EXIT',
  ];
}

/**
 * A reload returns before the master has started new workers: wait for one, so that from here on every new
 * request goes to the new port and the old workers only finish what they have.
 */
function awaitNewWorkers(): string[] {
  return [
    't0=$(now_ms)',
    'while :; do',
    '  fresh=$(nginx_workers | while IFS=: read -r pid ppid; do',
    '    case " $before " in *" $pid:"*) ;; *) case "$masters" in *" $ppid "*) printf \'%s:%s \' "$pid" "$ppid" ;; esac ;; esac',
    '  done)',
    '  [ -n "$fresh" ] && break',
    '  if [ "$(($(now_ms) - t0))" -ge 15000 ]; then',
    '    echo "nginx started no new worker within 15 s of the reload" >&2',
    // The signalled master may still load the new files: put them back and reload once more.
    '    restore',
    '    reload_nginx >/dev/null 2>&1 || echo "nginx reload of the restored configuration failed too" >&2',
    `    exit ${EXIT_NO_NEW_WORKERS}`,
    '  fi',
    '  sleep 0.01',
    'done',
  ];
}

/**
 * One change of what nginx routes to: the files to write (each checked against what detection read), then
 * nginx -t, reload, and the new workers awaited. `pending` is the launch record to clear once nginx routes to
 * the new app (the switch to a new release only).
 */
export function switchNginx(
  spec: NginxSpec,
  title: string,
  changes: readonly FileChange[],
  pending?: string,
): RemoteCommand<'switch'> {
  return {
    kind: 'switch',
    title,
    // nginx -t and the reload, then up to 15 s for the new workers.
    waitMs: 15000,
    script: script(...rewriteFiles(spec, changes, pending)),
    parse: parseSwitched,
  };
}

/** `pid:ppid` pairs, space separated. */
function workerPairs(text: string): [number, number][] {
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => w.split(':').map(Number) as [number, number]);
}

/** Old workers to drain: those of the masters that started new workers. */
function parseSwitched(stdout: string): Switched {
  const values = keyValues(stdout);
  const reloadedMasters = new Set(workerPairs(required(values, 'workers_new')).map(([, ppid]) => ppid));
  const oldWorkers = workerPairs(required(values, 'workers_before'))
    .filter(([, ppid]) => reloadedMasters.has(ppid))
    .map(([pid]) => pid);
  return { oldWorkers };
}
