// What a login shell prints around a command (a banner from .bashrc, with or without a newline, on stdout or
// stderr) must never be read as the command's output. Every script runs inside a wrapper that prints a marker
// line before and after it, on both streams; only what lies between the markers is the script's output. The
// markers are assembled by printf at run time, so they never appear in the command text itself (a login
// shell with `set -v` echoes that).
import { randomBytes } from 'node:crypto';
import { quote } from '../shell.js';

const WRAPPER = [
  // The newline first: a banner printed without one must not run into the marker.
  'printf "\\n%s-%s\\n" bgd-begin "$1"',
  'printf "\\n%s-%s\\n" bgd-begin "$1" >&2',
  'sh -c "$2"',
  'rc=$?',
  'printf "\\n%s-%s\\n" bgd-end "$1"',
  'printf "\\n%s-%s\\n" bgd-end "$1" >&2',
  'exit "$rc"',
].join('\n');

export interface Framed {
  /** The command line to send to sshd; the user's login shell runs it. */
  command: string;
  /** Names this run of the wrapper on the host (its argument after `bgd`). */
  nonce: string;
  /** What the script itself printed on one stream; undefined when it never started. */
  unframe(stream: string): string | undefined;
  /** The script's lines so far on a stream still being written (the lock shell); [] before it started. */
  linesSoFar(stream: string): string[];
}

export function frame(script: string, nonce = randomBytes(8).toString('hex')): Framed {
  const begin = `\nbgd-begin-${nonce}\n`;
  const end = `\nbgd-end-${nonce}\n`;
  const afterBegin = (stream: string): string | undefined => {
    const at = stream.indexOf(begin);
    return at < 0 ? undefined : stream.slice(at + begin.length);
  };
  return {
    command: `sh -c ${quote(WRAPPER)} bgd ${nonce} ${quote(script)}`,
    nonce,
    unframe: (stream) => {
      const body = afterBegin(stream);
      if (body === undefined) return undefined;
      const cut = body.lastIndexOf(end);
      return cut < 0 ? body : body.slice(0, cut);
    },
    linesSoFar: (stream) => {
      const body = afterBegin(stream);
      if (body === undefined) return [];
      const complete = body.slice(0, body.lastIndexOf('\n') + 1);
      return complete === '' ? [] : complete.slice(0, -1).split('\n');
    },
  };
}

/**
 * A script that SIGKILLs the process group of the wrapper run `nonce` names: sshd starts each session's shell
 * as a session and group leader, so the group holds the script and every child it did not detach (an app
 * launched with setsid has its own). Closing the channel alone leaves them running.
 */
export function killFramed(nonce: string): string {
  return [
    'for d in /proc/[0-9]*; do',
    `  tr '\\0' '\\n' < "$d/cmdline" 2>/dev/null | awk -v n=${quote(nonce)} 'p == "bgd" && $0 == n { f = 1 } { p = $0 } END { exit !f }' || continue`,
    '  g=$(sed "s/^.*) //" "$d/stat" 2>/dev/null | cut -d " " -f 3)',
    '  [ -n "$g" ] && [ "$g" -gt 1 ] && kill -s KILL -- "-$g" 2>/dev/null',
    'done',
    'true',
  ].join('\n');
}
