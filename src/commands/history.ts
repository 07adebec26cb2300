// The host's deploy history (src/history.ts reads it): appended atomically, read back with the list of release
// folders, and the check that a release chosen for a rollback still has its jar as it was uploaded.
import type { Layout } from '../layout.js';
import type { ReleaseOnHost } from '../history.js';
import { quote } from '../shell.js';
import { keyValues, OutputError, required, script, type RemoteCommand } from './types.js';

/** The newest lines kept when the file is rewritten: the history stays small, the recent past complete. */
export const HISTORY_LINES = 2000;

/**
 * history_append LINE...: the history with LINEs appended, written to a temp file and renamed over it, so a
 * reader (or a cancelled run) sees the old file or the new one, never half a line. Mode 644 whatever the umask.
 */
export function historyAppendSh(paths: Layout): string {
  return [
    'history_append() {',
    `  _h=${quote(paths.history)}`,
    '  _t="$_h.tmp.$$"',
    `  { if [ -f "$_h" ]; then tail -n ${HISTORY_LINES - 1} -- "$_h"; fi; printf '%s\\n' "$@"; } > "$_t" &&`,
    '    chmod 644 -- "$_t" && mv -f -- "$_t" "$_h" && return 0',
    '  rm -f -- "$_t"',
    '  return 1',
    '}',
  ].join('\n');
}

/**
 * Appends `line` (one JSON record). `open`: the run's id, recorded in run/history.open so that the lock's
 * watchdog can end the run's record if its session dies; `close`: the run ended, the marker goes.
 */
export function appendHistory(
  paths: Layout,
  line: string,
  marker: { open: string } | { close: true },
): RemoteCommand<'appendHistory'> {
  const open = quote(paths.historyOpen);
  return {
    kind: 'appendHistory',
    title: `record the run in ${paths.history}`,
    script: script(
      historyAppendSh(paths),
      `mkdir -p -- ${quote(paths.runDir)} || exit 1`,
      `history_append ${quote(line)} || { echo ${quote(`cannot write ${paths.history} (disk full? not writable?)`)} >&2; exit 1; }`,
      'open' in marker ? `printf '%s\\n' ${quote(marker.open)} > ${open}` : `rm -f -- ${open}`,
    ),
    parse: () => undefined,
  };
}

/** Lines the lock's watchdog runs once the session is gone: the open run ends as `interrupted`. */
export function watchdogHistorySh(paths: Layout, error: string): string[] {
  const open = quote(paths.historyOpen);
  // The record is printf's format (the id and the time fill its %s): a % or \ of the error is escaped.
  const message = JSON.stringify(error).replace(/\\/g, '\\\\').replace(/%/g, '%%');
  const format = `{"v":1,"event":"end","id":"%s","ended":"%s","result":"interrupted","error":${message}}`;
  return [
    `if [ -f ${open} ] && read -r _id < ${open}; then`,
    `  history_append "$(printf ${quote(format)} "$_id" "$(date -u +%Y-%m-%dT%H:%M:%SZ)")" && rm -f -- ${open}`,
    'fi',
  ];
}

export interface HistoryRead {
  /** The history file's text ('' when there is none yet). */
  text: string;
  releases: ReleaseOnHost[];
}

/** The history's text and the release folders, oldest first; prints `history=` missing or present (+ base64). */
export function readHistory(paths: Layout): RemoteCommand<'history'> {
  return {
    kind: 'history',
    title: `read ${paths.history}`,
    script: script(
      `h=${quote(paths.history)}`,
      'if [ -r "$h" ]; then echo history=present; echo "history_b64=$(base64 -w0 < "$h")"',
      'elif [ -e "$h" ]; then echo "$h exists but the deploy user cannot read it" >&2; exit 1',
      'else echo history=missing; fi',
      `cd -- ${quote(paths.releases)} 2>/dev/null || exit 0`,
      // Oldest first; the names are [A-Za-z0-9._-]: one a line.
      'ls -1tr | while IFS= read -r r; do',
      '  [ -d "$r" ] || continue',
      '  if [ -f "$r/app.jar" ] && [ -s "$r/app.jar.sha256" ]; then echo "release=$r complete"; else echo "release=$r partial"; fi',
      'done',
    ),
    parse: parseHistoryRead,
  };
}

function parseHistoryRead(stdout: string): HistoryRead {
  const state = required(keyValues(stdout), 'history');
  if (state !== 'present' && state !== 'missing')
    throw new OutputError(`the history script printed history=${state}`);
  const text =
    state === 'present'
      ? Buffer.from(required(keyValues(stdout), 'history_b64'), 'base64').toString('utf8')
      : '';
  const releases = stdout
    .split('\n')
    .filter((line) => line.startsWith('release='))
    .map((line) => {
      const [id, how] = line.slice('release='.length).split(' ');
      return { id, complete: how === 'complete' };
    });
  return { text, releases };
}

export const JAR_CHANGED_EXIT = 41;

/** Before a rollback launches a release: its app.jar still has the sha256 recorded at its upload. */
export function verifyRelease(paths: Layout, id: string): RemoteCommand<'verifyRelease'> {
  const jar = quote(paths.jar(id));
  return {
    kind: 'verifyRelease',
    title: `verify ${paths.jar(id)}`,
    script: script(
      `want=$(cat -- ${jar}.sha256 2>/dev/null)`,
      `got=$(sha256sum -- ${jar} 2>/dev/null | cut -d ' ' -f 1)`,
      'if [ -z "$want" ] || [ "$got" != "$want" ]; then',
      // The path is an argument, never part of the format or of a double-quoted string: remote-dir may hold $( ).
      `  printf '%s is not the jar that was uploaded (sha256 %s, recorded %s): it is not launched; deploy the release again\\n' ${jar} "\${got:-missing}" "\${want:-none}" >&2`,
      `  exit ${JAR_CHANGED_EXIT}`,
      'fi',
      'echo "sha256=$got"',
    ),
    parse: (stdout) => required(keyValues(stdout), 'sha256'),
  };
}
