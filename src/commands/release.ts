// Step: put the jar on the host in a new release folder. A release with the same sha256 is reused by a hard
// link (no transfer); an upload lands as app.jar.part and becomes app.jar only once its sha256 matches.
import type { Layout } from '../layout.js';
import { quote } from '../shell.js';
import { keyValues, required, script, type RemoteCommand } from './types.js';

export const NO_SPACE_EXIT = 28;
export const CHECKSUM_EXIT = 29;

export interface PreparedRelease {
  /** The folder actually claimed: the release-id, or release-id-N when that name was taken. */
  releaseId: string;
  /** A release folder that already had the same jar (hard-linked: nothing to upload). */
  reusedFrom?: string;
}

/** KiB a new release needs free: the jar, 5 % for the file system's own blocks, and 1 MiB for the log to start. */
export function neededKiB(jarBytes: number): number {
  return Math.ceil((jarBytes * 1.05) / 1024) + 1024;
}

/** Prints the KiB free for the deploy user in the file system of `dir` (a sh word). */
export function freeKiBSh(dir: string): string {
  return `df -Pk -- ${dir} | awk 'NR == 2 { print $4 }'`;
}

/** True when `$f`, a release's app.jar.sha256, records `sha256` and its jar is there: the same jar. */
export function sameJarSh(sha256: string): string {
  return `[ "$(cat "$f")" = ${quote(sha256)} ] && [ -f "\${f%.sha256}" ]`;
}

/**
 * Claims a new release folder: `id`, or `id-2`, `id-3`... when that name is taken (a redeploy of the same
 * release-id), so a running release is never written to. Prints `release=<name>` and `reused=<folder>` when the
 * host already has the same jar (hard-linked, nothing to upload).
 */
export function prepareRelease(
  paths: Layout,
  id: string,
  sha256: string,
  jarBytes: number,
): RemoteCommand<'prepare'> {
  const neededKb = neededKiB(jarBytes);
  return {
    kind: 'prepare',
    title: `prepare release ${id}`,
    script: script(
      `releases=${quote(paths.releases)}`,
      `id=${quote(id)}`,
      'n=1',
      'until mkdir -- "$releases/$id" 2>/dev/null; do',
      '  [ -d "$releases/$id" ] || { echo "cannot create a release folder in $releases" >&2; exit 1; }',
      '  n=$((n + 1))',
      `  id=${quote(id)}-$n`,
      'done',
      'dir="$releases/$id"',
      'echo "release=$id"',
      'for f in "$releases"/*/app.jar.sha256; do',
      '  [ -f "$f" ] || continue',
      `  if ${sameJarSh(sha256)}; then`,
      '    if ln -f -- "${f%.sha256}" "$dir/app.jar" 2>/dev/null || cp -- "${f%.sha256}" "$dir/app.jar"; then',
      `      if { printf '%s\\n' ${quote(sha256)} > "$dir/app.jar.sha256"; } 2>/dev/null; then`,
      '        echo "reused=${f%/app.jar.sha256}"',
      '        exit 0',
      '      fi',
      // The link takes no space, its checksum does: a full disk stops here, before anything is launched.
      '      echo "not enough disk space (disk full?): cannot write $dir/app.jar.sha256" >&2',
      '      rm -rf -- "$dir"',
      `      exit ${NO_SPACE_EXIT}`,
      '    fi',
      '  fi',
      'done',
      `avail=$(${freeKiBSh('"$dir"')})`,
      `if [ -n "$avail" ] && [ "$avail" -lt ${neededKb} ]; then`,
      `  echo "not enough disk space (disk full?): \${avail} KiB free, ${neededKb} KiB needed in" ${quote(paths.root)} >&2`,
      '  rm -rf -- "$dir"',
      `  exit ${NO_SPACE_EXIT}`,
      'fi',
      'echo reused=',
    ),
    parse: (stdout) => {
      const values = keyValues(stdout);
      const reused = required(values, 'reused');
      return { releaseId: required(values, 'release'), ...(reused ? { reusedFrom: reused } : {}) };
    },
  };
}

/** Checks the uploaded .part against the local sha256, then moves it into place; removes it on a mismatch. */
export function verifyUpload(paths: Layout, id: string, sha256: string): RemoteCommand<'verifyUpload'> {
  const jar = quote(paths.jar(id));
  const part = quote(`${paths.jar(id)}.part`);
  return {
    kind: 'verifyUpload',
    title: `verify sha256 of ${paths.jar(id)}`,
    script: script(
      `got=$(sha256sum -- ${part} 2>/dev/null | cut -d ' ' -f 1)`,
      `if [ "$got" != ${quote(sha256)} ]; then`,
      `  rm -f -- ${part}`,
      `  echo "checksum mismatch: expected ${sha256}, host has \${got:-no file}" >&2`,
      `  exit ${CHECKSUM_EXIT}`,
      'fi',
      `mv -f -- ${part} ${jar} || exit 1`,
      `printf '%s\\n' ${quote(sha256)} > ${jar}.sha256`,
    ),
    parse: () => undefined,
  };
}

/** The app's environment file (mode 600, sourced by the launcher): one quoted export per variable. */
export function envFileContent(pairs: readonly (readonly [string, string])[]): string {
  return pairs.map(([key, value]) => `export ${key}=${quote(value)}\n`).join('');
}

/**
 * Keeps the `keep` newest releases (by folder time: ids may be any name), and always the `protect`ed ones (the
 * live release, the one a rollback would choose) and the ones a recorded process runs.
 */
export function pruneReleases(
  paths: Layout,
  keep: number,
  protect: readonly string[],
): RemoteCommand<'prune'> {
  const kept = protect.map((id) => id.replace(/[^A-Za-z0-9._-]/g, '')).join(' ');
  return {
    kind: 'prune',
    title: `keep the newest ${keep} releases`,
    script: script(
      `cd -- ${quote(paths.releases)} || exit 0`,
      `inuse=" ${kept} $(cat ${quote(paths.runDir)}/*.pid 2>/dev/null | awk '{ printf "%s ", $3 }')"`,
      `ls -1t | tail -n +${keep + 1} | while IFS= read -r r; do`,
      '  case "$inuse" in *" $r "*) continue ;; esac',
      '  rm -rf -- "$r" && echo "removed=$r"',
      'done',
    ),
    parse: (stdout) =>
      stdout
        .split('\n')
        .filter((line) => line.startsWith('removed='))
        .map((line) => line.slice('removed='.length)),
  };
}
