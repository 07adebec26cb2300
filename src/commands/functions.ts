// Shell functions shared by several remote scripts. Static text: no user value is ever interpolated here.
// Each is a function that builds its text when a script is built, not a module constant built once at import:
// so a mutant of that text is active in the test that builds the script, and the test can kill it.
import type { SudoMode } from '../inputs.js';

/** Non-root users often lack the sbin directories (nginx, ss) in PATH. */
export function pathSetupSh(): string {
  return 'PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"; export PATH';
}

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
 * ours PID START: true while PID is still the very process we recorded (same start time, not a zombie), so a
 * recycled pid is never signalled. start_time PID: field 22 of /proc/PID/stat (20 after the command's `) `).
 */
export function oursSh(): string {
  return [
    'ours() {',
    '  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1',
    '  _stat=$(sed "s/^.*) //" "/proc/$1/stat" 2>/dev/null) || return 1',
    '  case "$_stat" in Z*|X*|"") return 1 ;; esac',
    '  [ "$(printf "%s\\n" "$_stat" | cut -d " " -f 20)" = "$2" ]',
    '}',
    'start_time() { sed "s/^.*) //" "/proc/$1/stat" 2>/dev/null | cut -d " " -f 20; }',
  ].join('\n');
}

/** listening PORT: is a TCP listener bound to PORT? ss, else lsof, else /proc/net/tcp. */
export function listeningSh(): string {
  return [
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
}

/** Milliseconds since the epoch (GNU date, as on every supported distribution). */
export function nowMsSh(): string {
  return 'now_ms() { date +%s%3N; }';
}

/**
 * signal_group SIG PID: the app runs in its own session (setsid), so PID leads a process group and the signal
 * reaches its children too; a process that leads no group (not started by us) gets it alone. `kill -s SIG --
 * -PGID` is the POSIX form: dash (sh on Debian and Ubuntu) rejects `kill -SIG -- -PGID`.
 */
function signalGroupSh(): string {
  return 'signal_group() { kill -s "$1" -- "-$2" 2>/dev/null || kill -s "$1" "$2" 2>/dev/null; }';
}

/**
 * group_alive PGID: a live (not zombie) process is in process group PGID and in session PGID: what our
 * launcher started, children included, even after the leader itself has exited. A recycled PGID that leads
 * no session of that id is not ours.
 */
function groupAliveSh(): string {
  return [
    'group_alive() {',
    '  sed -n "s/^[0-9]* (.*) \\([A-Z]\\) [0-9]* \\([0-9]*\\) \\([0-9]*\\) .*/\\1 \\2 \\3/p" /proc/[0-9]*/stat 2>/dev/null |',
    // Double quotes only: killLaterSh() carries this function inside a single-quoted sh -c.
    '    awk -v g="$1" "\\$2 == g && \\$3 == g && \\$1 !~ /^[ZX]/ { f = 1 } END { exit !f }"',
    '}',
  ].join('\n');
}

/**
 * running PID START: the app, or what is left of its group when the app itself has died (a child holding the
 * port). A live process with that pid and another start time is a recycled pid: the kernel reuses no pid while
 * a group of that id exists, so ours is gone, and the group of that id (a service's session, say) is not ours.
 */
function runningSh(): string {
  return 'running() { ours "$1" "$2" || { _s=$(start_time "$1"); { [ -z "$_s" ] || [ "$_s" = "$2" ]; } && group_alive "$1"; }; }';
}

/**
 * stop_group PID START TIMEOUT_MS [PORT]: SIGTERM to the group, then wait until the group is gone, or, given
 * PORT, until nothing listens there any more; SIGKILL to the group at the deadline. Prints `stop=` gone,
 * exited, closed (port closed, still shutting down) or killed, and `stop_ms=`. Needs oursSh(), listeningSh(), nowMsSh().
 */
export function stopGroupSh(): string {
  return [
    signalGroupSh(),
    groupAliveSh(),
    runningSh(),
    'stop_group() {',
    '  running "$1" "$2" || { echo stop=gone; echo stop_ms=0; return 0; }',
    '  signal_group TERM "$1" || { echo "cannot signal pid $1 (another user\'s process?)" >&2; return 1; }',
    '  _t0=$(now_ms)',
    '  _how=exited',
    '  while running "$1" "$2"; do',
    '    if [ -n "${4-}" ] && ! listening "$4"; then _how=closed; break; fi',
    '    if [ "$(($(now_ms) - _t0))" -ge "$3" ]; then',
    '      signal_group KILL "$1"',
    '      _how=killed',
    // SIGKILL is not instant: wait (at most 5 s) until the group is gone, so the port is free when we report.
    '      _k=0',
    '      while running "$1" "$2" && [ "$_k" -lt 250 ]; do sleep 0.02; _k=$((_k + 1)); done',
    '      break',
    '    fi',
    '    sleep 0.02',
    '  done',
    '  echo "stop=$_how"',
    '  echo "stop_ms=$(($(now_ms) - _t0))"',
    '}',
  ].join('\n');
}

/**
 * kill_later PID START SECONDS: a detached killer for an app that closed its port but still shuts down: it
 * SIGKILLs the group at the deadline unless PID has exited (or was replaced) by then. Needs oursSh(). oursSh() and
 * signalGroupSh() hold no single quote, so the detached `sh -c '...'` can carry them.
 */
export function killLaterSh(): string {
  return [
    'kill_later() {',
    `  setsid sh -c '${oursSh()}\n${signalGroupSh()}\n${groupAliveSh()}\n${runningSh()}\nsleep "$3"; if running "$1" "$2"; then signal_group KILL "$1"; fi' kill_later "$1" "$2" "$3" </dev/null >/dev/null 2>&1 &`,
    '}',
  ].join('\n');
}

/**
 * port_pids PORT: the pids of the processes listening on PORT that this user may see: ss (no -H: older iproute2,
 * e.g. CentOS 7's, lacks it; the header has no pid=), else lsof, else the
 * socket inodes of /proc/net/tcp* matched against /proc/PID/fd. descends PID ROOT: PID is ROOT, one of its
 * descendants, or in ROOT's session (a child re-parented after its parent's exit stays in the session).
 */
export function portOwnerSh(): string {
  return [
    'port_pids() {',
    '  if command -v ss >/dev/null 2>&1; then',
    '    ss -ltnp "sport = :$1" 2>/dev/null | grep -o "pid=[0-9]*" | cut -d = -f 2 | sort -u',
    '  elif command -v lsof >/dev/null 2>&1; then',
    '    lsof -nP -iTCP:"$1" -sTCP:LISTEN -t 2>/dev/null | sort -u',
    '  else',
    '    _hex=$(printf ":%04X " "$1")',
    '    for _ino in $(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p="$_hex" \'index($2 " ", p) && $4 == "0A" { print $10 }\'); do',
    '      for _fd in /proc/[0-9]*/fd/*; do',
    '        [ "$(readlink "$_fd" 2>/dev/null)" = "socket:[$_ino]" ] && echo "$_fd" | cut -d / -f 3',
    '      done',
    '    done | sort -u',
    '  fi',
    '}',
    'descends() {',
    '  _p=$1',
    '  while [ -n "$_p" ] && [ "$_p" -gt 1 ]; do',
    '    [ "$_p" = "$2" ] && return 0',
    '    _f=$(sed "s/^.*) //" "/proc/$_p/stat" 2>/dev/null) || return 1',
    '    [ "$(printf "%s\\n" "$_f" | cut -d " " -f 4)" = "$2" ] && return 0',
    '    _p=$(printf "%s\\n" "$_f" | cut -d " " -f 2)',
    '  done',
    '  return 1',
    '}',
  ].join('\n');
}
