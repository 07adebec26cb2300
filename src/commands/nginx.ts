// Step: point nginx at the new port. The include is written to a temp file and moved into place, validated
// with `nginx -t` and reloaded; on any failure the previous include is put back, so nginx keeps serving the
// old app. Afterwards the script waits for nginx's new workers, so old ones can be drained precisely.
import { createHash } from 'node:crypto';
import type { ReloadMode, SudoMode } from '../inputs.js';
import { quote, quoteAll } from '../shell.js';
import { asRoot, PATH_SETUP } from './functions.js';
import { keyValues, required, script, type RemoteCommand } from './types.js';

export const EXIT_NGINX_NOT_RUNNING = 30;
export const EXIT_WRITE_FAILED = 31;
export const EXIT_TEST_FAILED = 32;
export const EXIT_RELOAD_FAILED = 33;
export const EXIT_NO_NEW_WORKERS = 34;
export const EXIT_LAUNCH_GONE = 35;
export const EXIT_INCLUDE_CHANGED = 36;

/** After a reload: the old workers, which still finish requests routed by the previous include. */
export interface Switched {
  oldWorkers: number[];
}

export interface NginxSpec {
  include: string;
  config?: string;
  reload: ReloadMode;
  sudo: SudoMode;
}

/** What to write, and what the include must hold until then (undefined: it must not exist). */
export interface IncludeChange {
  content: string;
  expected: string | undefined;
}

/** sha256 of a text as the host's `sha256sum` prints it, or `absent`. */
export function textSum(text: string | undefined): string {
  return text === undefined ? 'absent' : createHash('sha256').update(text, 'utf8').digest('hex');
}

/** nginx with the main config when one is given: `nginx [-c CONFIG] ARGS...` */
export function nginxArgv(spec: NginxSpec, ...args: string[]): string[] {
  return ['nginx', ...(spec.config ? ['-c', spec.config] : []), ...args];
}

function reloadFunction(spec: NginxSpec): string {
  const signal = `as_root ${quoteAll(nginxArgv(spec, '-s', 'reload'))}`;
  const systemctl = 'as_root systemctl reload nginx';
  const service = 'as_root service nginx reload';
  if (spec.reload === 'signal' || (spec.reload === 'auto' && spec.config))
    return `reload_nginx() { ${signal}; }`;
  if (spec.reload === 'systemctl') return `reload_nginx() { ${systemctl}; }`;
  if (spec.reload === 'service') return `reload_nginx() { ${service}; }`;
  return [
    'reload_nginx() {',
    `  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && ${systemctl}; then return 0; fi`,
    `  if command -v service >/dev/null 2>&1 && [ -x /etc/init.d/nginx ] && ${service}; then return 0; fi`,
    `  ${signal}`,
    '}',
  ].join('\n');
}

/** "pid:ppid" of every nginx worker process, one per line. */
const WORKERS =
  'nginx_workers() { ps -e -o pid= -o ppid= -o args= 2>/dev/null | awk \'$3 == "nginx:" && $4 == "worker" { print $1 ":" $2 }\'; }';

/** Common part of switch and restore: write, test, reload, wait for the new workers. */
function rewriteInclude(spec: NginxSpec, change: IncludeChange, pending?: string): string[] {
  return [
    PATH_SETUP,
    asRoot(spec.sudo),
    reloadFunction(spec),
    WORKERS,
    ...(pending ? claimLaunch(pending) : []),
    `inc=${quote(spec.include)}`,
    'tmp="$inc.tmp"',
    `new=${quote(change.content)}`,
    `expected=${textSum(change.expected)}`,
    "before=$(nginx_workers | tr '\\n' ' ')",
    `[ -n "$before" ] || { echo "nginx is not running: no nginx worker process found" >&2; exit ${EXIT_NGINX_NOT_RUNNING}; }`,
    'masters=$(for w in $before; do printf \' %s \' "${w#*:}"; done)',
    ...writeTestReload(spec),
    ...awaitNewWorkers(),
    // From here nginx routes to the new app: a lost session must no longer stop it as half-started.
    ...(pending ? ['rm -f -- "$claim"'] : []),
    'echo "workers_before=$before"',
    'echo "workers_new=$fresh"',
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

/** Write the include (temp file, then mv), nginx -t, reload; on any failure the previous bytes go back. */
function writeTestReload(spec: NginxSpec): string[] {
  return [
    // The x keeps trailing newlines through $( ), so a restore is byte for byte; a failed read stops here.
    'if [ -f "$inc" ]; then',
    '  had=1',
    `  old=$(cat -- "$inc" && echo x) || { echo "cannot read $inc" >&2; exit ${EXIT_INCLUDE_CHANGED}; }`,
    '  old=${old%x}',
    '  now=$(printf \'%s\' "$old" | sha256sum | cut -c 1-64)',
    'else had=0; old=; now=absent; fi',
    `[ "$now" = "$expected" ] || { echo "$inc changed since this deploy read it; nothing was changed" >&2; exit ${EXIT_INCLUDE_CHANGED}; }`,
    // chmod: under a umask such as 027 the file would be unreadable for the deploy user and for nginx's workers.
    'write_include() { printf \'%s\' "$1" | as_root tee "$tmp" >/dev/null && as_root chmod 644 "$tmp" && as_root mv -f "$tmp" "$inc"; }',
    'restore() {',
    '  if [ "$had" = 1 ]; then write_include "$old"; else as_root rm -f "$inc"; fi',
    '  [ -e "$tmp" ] && as_root rm -f "$tmp"',
    '  echo "the previous include was restored; nginx still serves the old configuration" >&2',
    '}',
    `write_include "$new" || { [ -e "$tmp" ] && as_root rm -f "$tmp"; echo "could not write $inc" >&2; exit ${EXIT_WRITE_FAILED}; }`,
    `if ! out=$(as_root ${quoteAll(nginxArgv(spec, '-t'))} 2>&1); then`,
    '  printf \'%s\\n\' "$out" >&2',
    '  echo "nginx -t rejected the configuration with the new include" >&2',
    '  restore',
    `  exit ${EXIT_TEST_FAILED}`,
    'fi',
    `if ! out=$(reload_nginx 2>&1); then`,
    '  printf \'%s\\n\' "$out" >&2',
    '  echo "nginx reload failed" >&2',
    '  restore',
    `  exit ${EXIT_RELOAD_FAILED}`,
    'fi',
  ];
}

/**
 * A reload returns before the master has started new workers: wait for one, so that from here on every new
 * request goes to the new port and the old workers only finish what they have.
 */
function awaitNewWorkers(): string[] {
  return [
    'i=0',
    'while :; do',
    '  fresh=$(nginx_workers | while IFS=: read -r pid ppid; do',
    '    case " $before " in *" $pid:"*) ;; *) case "$masters" in *" $ppid "*) printf \'%s:%s \' "$pid" "$ppid" ;; esac ;; esac',
    '  done)',
    '  [ -n "$fresh" ] && break',
    '  i=$((i + 1))',
    '  if [ "$i" -gt 1500 ]; then',
    '    echo "nginx started no new worker within 15 s of the reload" >&2',
    '    restore',
    `    exit ${EXIT_NO_NEW_WORKERS}`,
    '  fi',
    '  sleep 0.01',
    'done',
  ];
}

/** `pending` is the launch record to clear once nginx routes to the new app. */
export function switchNginx(
  spec: NginxSpec,
  port: number,
  change: IncludeChange,
  pending: string,
): RemoteCommand<'switch'> {
  return {
    kind: 'switch',
    title: `switch nginx to port ${port}`,
    script: script(...rewriteInclude(spec, change, pending)),
    parse: parseSwitched,
  };
}

/** Rollback: put the previous include's exact bytes back (same write/test/reload path). */
export function restoreNginx(spec: NginxSpec, port: number, change: IncludeChange): RemoteCommand<'switch'> {
  return {
    kind: 'switch',
    title: `switch nginx back to port ${port}`,
    script: script(...rewriteInclude(spec, change)),
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
