// mode: preflight, the one read-only script: what a deploy needs of the host, as facts for src/preflight-checks.ts
// to judge. It creates, writes, starts and stops nothing: no mkdir, no lock file, no temp file; sudo rights are
// asked with `sudo -n -l COMMAND`, never used, and nginx only runs -t and -T.
import type { SudoMode } from '../inputs.js';
import type { Layout } from '../layout.js';
import { quote, quoteAll } from '../shell.js';
import { asRoot, pathSetupSh } from './functions.js';
import { workersSh } from './nginx.js';
import { loadedLine, nginxArgv, type NginxSpec, type RootCommands } from './nginx-root.js';
import { freeKiBSh, sameJarSh } from './release.js';
import { keyValues, OutputError, required, requiredNumber, script, type RemoteCommand } from './types.js';

export interface ProbeSpec {
  java: string;
  /** The jar's sha256, when the jar input is given: the free space and a re-use are checked for it. */
  jarSha256?: string;
  sudo: SudoMode;
  nginx: NginxSpec;
  /** What a deploy runs as root (switchRootCommands): each asked of sudo. */
  root: RootCommands;
  /** Files nginx must load: the include, and the upstream file when a deploy writes it. */
  mustLoad: readonly string[];
}

export type DirState = 'writable' | 'notWritable' | 'notDir' | 'creatable' | 'notCreatable';
/** yes: nginx -T shows it; pattern: absent, and an include pattern of nginx's matches it; no. */
export type Loaded = 'yes' | 'pattern' | 'no';

export interface Probe {
  user: string;
  uid: number;
  remoteDir: DirState;
  /** remote-dir, or its nearest existing parent when it does not exist. */
  base: string;
  /** The folders and files under remote-dir a deploy writes that exist but the deploy user cannot write. */
  blocked: string[];
  /** KiB free in `base` (jar given; undefined when df said nothing). */
  freeKiB?: number;
  /** A release folder that has the same jar (jar given). */
  reusable?: string;
  /** undefined: not a command the deploy user can run. */
  java?: { path: string; ok: boolean; version: string };
  missingTools: string[];
  /** unused: root, or sudo: never. */
  sudo: 'unused' | 'absent' | 'checked';
  /** Per command of root.all: sudo allows it (checked only). */
  allowed: boolean[];
  /** Per command of root.reload: it applies on this host, and sudo allows it (checked only). */
  reload: { applies: boolean; allowed: boolean }[];
  /** Each program's path on the host, for the sudoers line. */
  bins: Record<string, string>;
  nginxTest: { ok: boolean; output: string };
  /** nginx -T ran: what it shows is known. */
  nginxDump: boolean;
  loaded: Loaded[];
  nginxWorkers: number;
  /** absent (no getenforce), or what getenforce says. */
  selinux: string;
  /** httpd_can_network_connect: on, off, or '' when unknown. */
  networkConnect: string;
  lock: { held: boolean; info: string };
}

function dirLines(paths: Layout): string[] {
  return [
    `dir=${quote(paths.root)}`,
    'if [ -e "$dir" ]; then',
    '  base=$dir',
    '  if [ ! -d "$dir" ]; then echo dir=notDir',
    '  elif [ -w "$dir" ] && [ -x "$dir" ]; then echo dir=writable',
    '  else echo dir=notWritable; fi',
    'else',
    // mkdir -p (the lock step) creates it in its nearest existing parent: never here.
    '  base=$(dirname -- "$dir")',
    '  while [ ! -e "$base" ]; do base=$(dirname -- "$base"); done',
    '  if [ -d "$base" ] && [ -w "$base" ] && [ -x "$base" ]; then echo dir=creatable; else echo dir=notCreatable; fi',
    'fi',
    'echo "dir_base=$base"',
    `for p in ${[paths.releases, paths.runDir, paths.lockFile, paths.lockInfo].map(quote).join(' ')}; do`,
    '  if [ -e "$p" ] && [ ! -w "$p" ]; then echo "blocked=$p"; fi',
    'done',
  ];
}

function jarLines(paths: Layout, sha256: string): string[] {
  return [
    `echo "free_kib=$(${freeKiBSh('"$base"')})"`,
    `for f in ${quote(paths.releases)}/*/app.jar.sha256; do`,
    '  [ -f "$f" ] || continue',
    `  if { ${sameJarSh(sha256)}; } 2>/dev/null; then echo "reuse=\${f%/app.jar.sha256}"; break; fi`,
    'done',
  ];
}

function hostLines(java: string): string[] {
  return [
    'echo "user=$(id -un)"',
    'echo "uid=$(id -u)"',
    `if java=$(command -v -- ${quote(java)}); then`,
    '  if v=$("$java" -version 2>&1); then ok=1; else ok=0; fi',
    '  echo "java=$java"; echo "java_ok=$ok"',
    '  echo "java_version=$(printf \'%s\\n\' "$v" | head -n 1)"',
    'fi',
    'missing=',
    'for t in flock setsid sha256sum ps base64; do command -v "$t" >/dev/null 2>&1 || missing="$missing $t"; done',
    'command -v ss >/dev/null 2>&1 || command -v lsof >/dev/null 2>&1 || missing="$missing ss-or-lsof"',
    'echo "tools_missing=${missing# }"',
    'if command -v getenforce >/dev/null 2>&1; then',
    '  echo "selinux=$(getenforce 2>/dev/null)"',
    '  echo "selinux_network=$(getsebool httpd_can_network_connect 2>/dev/null | sed -n \'s/.*--> *//p\')"',
    'else echo selinux=absent; fi',
  ];
}

/** A glob that matches exactly `text` (find -lname): its glob characters escaped. */
function literalGlob(text: string): string {
  return text.replace(/[\\*?[\]]/g, '\\$&');
}

/**
 * Is a deploy holding the lock now? Never taken here. /proc/locks names the file by MAJOR:MINOR:INODE (device
 * numbers in hex; waiters' lines have a ->), but hides a lock whose taker (the flock process, long gone) is
 * not in this pid namespace; so also: a process of ours with the file open and a lock on it in its fdinfo.
 */
function lockLines(paths: Layout): string[] {
  return [
    `lock=${quote(paths.lockFile)}`,
    'held=0',
    'if [ -f "$lock" ] && ident=$(stat -c \'%d %i\' -- "$lock" 2>/dev/null); then',
    '  key=$(echo "$ident" | awk \'{ d = $1; printf "%02x:%02x:%s", int(d / 256) % 4096, d % 256 + int(d / 1048576) * 256, $2 }\')',
    '  if awk -v k="$key" \'$2 != "->" && $6 == k { f = 1 } END { exit !f }\' /proc/locks 2>/dev/null; then held=1; fi',
    `  if [ "$held" = 0 ] && find /proc/[0-9]*/fd -maxdepth 1 -lname ${quote(literalGlob(paths.lockFile))} 2>/dev/null |`,
    '    while IFS= read -r fd; do grep -q "^lock:" "${fd%/fd/*}/fdinfo/${fd##*/}" 2>/dev/null && echo held; done | grep -q held; then',
    '    held=1',
    '  fi',
    'fi',
    'echo "lock_held=$held"',
    `echo "lock_info=$(cat -- ${quote(paths.lockInfo)} 2>/dev/null | tr '\\n' ' ')"`,
  ];
}

function nginxLines(spec: ProbeSpec): string[] {
  return [
    `if out=$(as_root ${quoteAll(nginxArgv(spec.nginx, '-t'))} 2>&1); then echo nginx_test=ok; else echo nginx_test=failed; fi`,
    'echo "nginx_test_b64=$(printf \'%s\' "$out" | base64 -w0)"',
    `if conf=$(as_root ${quoteAll(nginxArgv(spec.nginx, '-T'))} 2>/dev/null); then echo nginx_dump=ok; else echo nginx_dump=failed; fi`,
    // A file not written yet is loaded once written when an include pattern of nginx's matches its path.
    'patterns=$(printf \'%s\\n\' "$conf" | sed -n \'s/^[[:space:]]*include[[:space:]][[:space:]]*\\([^;]*\\);.*$/\\1/p\' | tr -d "\\"\'")',
    '# shellcheck disable=SC2254 # patterns: globs on purpose',
    'matched() { printf \'%s\\n\' "$patterns" | { while IFS= read -r pat; do case "$1" in $pat) exit 0 ;; esac; done; exit 1; }; }',
    ...spec.mustLoad.flatMap((file, i) => [
      `f=${quote(file)}`,
      `if printf '%s\\n' "$conf" | grep -qxF "${loadedLine('$f')}"; then echo loaded_${i}=yes`,
      `elif [ ! -e "$f" ] && matched "$f"; then echo loaded_${i}=pattern`,
      `else echo loaded_${i}=no; fi`,
    ]),
    'echo "nginx_workers=$(nginx_workers | awk \'END { print NR }\')"',
  ];
}

/** `sudo -n -l COMMAND` for each root command (the programs resolved as the deploy's sudo resolves them). */
function sudoLines(spec: ProbeSpec): string[] {
  const { all, reload } = spec.root;
  const programs = [...new Set([...all, ...reload.map((r) => r.command)].map((c) => c.split(' ')[0]))];
  const when = spec.sudo === 'always' ? ':' : '[ "$(id -u)" -ne 0 ]';
  const checks = [
    'may() { if sudo -n -l "$@" >/dev/null 2>&1; then echo 1; else echo 0; fi; }',
    ...all.map((c, i) => `echo "sudo_${i}=$(may ${c})"`),
    ...reload.map(
      (r, i) =>
        `${r.when ? `if ${r.when}; then echo reload_applies_${i}=1; else echo reload_applies_${i}=0; fi` : `echo reload_applies_${i}=1`}; echo "reload_sudo_${i}=$(may ${r.command})"`,
    ),
  ];
  return [
    ...(spec.sudo === 'never'
      ? ['echo sudo=unused']
      : [
          `if ${when}; then`,
          '  if command -v sudo >/dev/null 2>&1; then',
          '    echo sudo=checked',
          ...checks.map((l) => `    ${l}`),
          '  else echo sudo=absent; fi',
          'else echo sudo=unused; fi',
        ]),
    ...programs.map((p) => `echo "bin_${p}=$(command -v ${quote(p)})"`),
  ];
}

export function preflightProbe(paths: Layout, spec: ProbeSpec): RemoteCommand<'preflight'> {
  return {
    kind: 'preflight',
    title: 'preflight checks',
    script: script(
      pathSetupSh(),
      asRoot(spec.sudo),
      workersSh(),
      ...hostLines(spec.java),
      ...dirLines(paths),
      ...(spec.jarSha256 === undefined ? [] : jarLines(paths, spec.jarSha256)),
      ...lockLines(paths),
      ...sudoLines(spec),
      ...nginxLines(spec),
    ),
    parse: (stdout) => parseProbe(stdout, spec),
  };
}

function oneOf<T extends string>(values: Map<string, string>, key: string, allowed: readonly T[]): T {
  const value = required(values, key);
  if (!(allowed as readonly string[]).includes(value)) {
    throw new OutputError(`the preflight script printed ${key}=${value}`);
  }
  return value as T;
}

function flag(values: Map<string, string>, key: string): boolean {
  return oneOf(values, key, ['0', '1']) === '1';
}

function sudoFacts(kv: Map<string, string>, spec: ProbeSpec): Pick<Probe, 'sudo' | 'allowed' | 'reload'> {
  const sudo = oneOf(kv, 'sudo', ['unused', 'absent', 'checked'] as const);
  if (sudo !== 'checked') return { sudo, allowed: [], reload: [] };
  return {
    sudo,
    allowed: spec.root.all.map((_, i) => flag(kv, `sudo_${i}`)),
    reload: spec.root.reload.map((_, i) => ({
      applies: flag(kv, `reload_applies_${i}`),
      allowed: flag(kv, `reload_sudo_${i}`),
    })),
  };
}

function javaFacts(kv: Map<string, string>): Probe['java'] {
  const path = kv.get('java');
  if (!path) return undefined;
  return { path, ok: flag(kv, 'java_ok'), version: kv.get('java_version') ?? '' };
}

function parseProbe(stdout: string, spec: ProbeSpec): Probe {
  const kv = keyValues(stdout);
  const free = kv.get('free_kib');
  const reusable = kv.get('reuse');
  const bins = [...kv.keys()].filter((k) => k.startsWith('bin_'));
  return {
    user: required(kv, 'user'),
    uid: requiredNumber(kv, 'uid'),
    remoteDir: oneOf(kv, 'dir', ['writable', 'notWritable', 'notDir', 'creatable', 'notCreatable'] as const),
    base: required(kv, 'dir_base'),
    blocked: stdout
      .split('\n')
      .filter((l) => l.startsWith('blocked='))
      .map((l) => l.slice('blocked='.length)),
    ...(free !== undefined && /^\d+$/.test(free) ? { freeKiB: Number(free) } : {}),
    ...(reusable ? { reusable } : {}),
    java: javaFacts(kv),
    missingTools: required(kv, 'tools_missing').split(' ').filter(Boolean),
    ...sudoFacts(kv, spec),
    bins: Object.fromEntries(bins.map((k) => [k.slice('bin_'.length), kv.get(k) ?? ''])),
    nginxTest: {
      ok: oneOf(kv, 'nginx_test', ['ok', 'failed'] as const) === 'ok',
      output: Buffer.from(required(kv, 'nginx_test_b64'), 'base64').toString('utf8').trim(),
    },
    nginxDump: oneOf(kv, 'nginx_dump', ['ok', 'failed'] as const) === 'ok',
    loaded: spec.mustLoad.map((_, i) => oneOf(kv, `loaded_${i}`, ['yes', 'pattern', 'no'] as const)),
    nginxWorkers: requiredNumber(kv, 'nginx_workers'),
    selinux: required(kv, 'selinux'),
    networkConnect: kv.get('selinux_network') ?? '',
    lock: { held: flag(kv, 'lock_held'), info: kv.get('lock_info') ?? '' },
  };
}
