// Shell functions shared by several remote scripts. Static text: no user value is ever interpolated here.
import type { SudoMode } from '../inputs.js';

/** Non-root users often lack the sbin directories (nginx, ss) in PATH. */
export const PATH_SETUP = 'PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"; export PATH';

/** as_root CMD...: runs CMD as root (directly when already root, else with non-interactive sudo). */
export function asRoot(mode: SudoMode): string {
  switch (mode) {
    case 'never':
      return 'as_root() { "$@"; }';
    case 'always':
      return 'as_root() { sudo -n -- "$@"; }';
    case 'auto':
      return 'as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n -- "$@"; fi; }';
  }
}

/**
 * ours PID START: true while PID is still the very process we recorded (same start time, not a zombie),
 * so a recycled pid is never signalled.
 */
export const OURS = [
  'ours() {',
  '  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1',
  '  _stat=$(sed "s/^.*) //" "/proc/$1/stat" 2>/dev/null) || return 1',
  '  case "$_stat" in Z*|X*|"") return 1 ;; esac',
  '  [ "$(printf "%s\\n" "$_stat" | cut -d " " -f 20)" = "$2" ]',
  '}',
  'start_time() { sed "s/^.*) //" "/proc/$1/stat" 2>/dev/null | cut -d " " -f 20; }',
].join('\n');

/** listening PORT: is a TCP listener bound to PORT? ss, else lsof, else /proc/net/tcp. */
export const LISTENING = [
  'listening() {',
  '  if command -v ss >/dev/null 2>&1; then',
  '    [ -n "$(ss -ltn "sport = :$1" 2>/dev/null | tail -n +2)" ]',
  '  elif command -v lsof >/dev/null 2>&1; then',
  '    lsof -nP -iTCP:"$1" -sTCP:LISTEN -t >/dev/null 2>&1',
  '  else',
  '    _hex=$(printf ":%04X " "$1")',
  '    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p="$_hex" \'index($2 " ", p) && $4 == "0A" { f = 1 } END { exit !f }\'',
  '  fi',
  '}',
  // Pid of the listener, when this user may see it (root sees all).
  'listener_pid() {',
  '  if command -v ss >/dev/null 2>&1; then',
  '    ss -ltnp "sport = :$1" 2>/dev/null | sed -n "s/.*pid=\\([0-9][0-9]*\\).*/\\1/p" | head -n 1',
  '  elif command -v lsof >/dev/null 2>&1; then',
  '    lsof -nP -iTCP:"$1" -sTCP:LISTEN -t 2>/dev/null | head -n 1',
  '  fi',
  '}',
].join('\n');

/** stop_process PID START TIMEOUT_MS: SIGTERM, wait for the exit, SIGKILL at the deadline. */
export const STOP_PROCESS = [
  'stop_process() {',
  '  ours "$1" "$2" || { echo "stop=gone"; return 0; }',
  '  kill -TERM "$1" 2>/dev/null',
  '  _waited=0',
  '  while ours "$1" "$2"; do',
  '    if [ "$_waited" -ge "$3" ]; then kill -KILL "$1" 2>/dev/null; echo "stop=killed"; return 0; fi',
  '    sleep 0.05; _waited=$((_waited + 50))',
  '  done',
  '  echo "stop=exited"',
  '}',
].join('\n');
