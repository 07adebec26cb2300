// The shell functions the scripts share, pinned whole; their behaviour runs in a sandbox in stop.test.ts.
import {
  asRoot,
  KILL_LATER,
  LISTENING,
  NOW_MS,
  OURS,
  PATH_SETUP,
  STOP_GROUP,
} from '../../src/commands/functions.js';

describe('shared shell functions, exactly', () => {
  test('PATH gets the sbin directories', () => {
    expect(PATH_SETUP).toBe('PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"; export PATH');
  });

  test('as_root for each sudo mode', () => {
    expect(asRoot('never')).toBe('as_root() { "$@"; }');
    expect(asRoot('always')).toBe('as_root() { sudo -n -- "$@"; }');
    expect(asRoot('auto')).toBe(
      'as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n -- "$@"; fi; }',
    );
  });

  test('ours and start_time', () => {
    expect(OURS).toMatchInlineSnapshot(`
"ours() {
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
  _stat=$(sed "s/^.*) //" "/proc/$1/stat" 2>/dev/null) || return 1
  case "$_stat" in Z*|X*|"") return 1 ;; esac
  [ "$(printf "%s\\n" "$_stat" | cut -d " " -f 20)" = "$2" ]
}
start_time() { sed "s/^.*) //" "/proc/$1/stat" 2>/dev/null | cut -d " " -f 20; }"
`);
  });

  test('listening and listener_pid', () => {
    expect(LISTENING).toMatchInlineSnapshot(`
"listening() {
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -ltn "sport = :$1" 2>/dev/null | tail -n +2)" ]
  elif command -v lsof >/dev/null 2>&1; then
    lsof -nP -iTCP:"$1" -sTCP:LISTEN -t >/dev/null 2>&1
  else
    _hex=$(printf ":%04X " "$1")
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p="$_hex" 'index($2 " ", p) && $4 == "0A" { f = 1 } END { exit !f }'
  fi
}
listener_pid() {
  if command -v ss >/dev/null 2>&1; then
    ss -ltnp "sport = :$1" 2>/dev/null | sed -n "s/.*pid=\\([0-9][0-9]*\\).*/\\1/p" | head -n 1
  elif command -v lsof >/dev/null 2>&1; then
    lsof -nP -iTCP:"$1" -sTCP:LISTEN -t 2>/dev/null | head -n 1
  fi
}"
`);
  });

  test('now_ms', () => {
    expect(NOW_MS).toBe('now_ms() { date +%s%3N; }');
  });

  test('signal_group and stop_group', () => {
    expect(STOP_GROUP).toMatchInlineSnapshot(`
"signal_group() { kill -s "$1" -- "-$2" 2>/dev/null || kill -s "$1" "$2" 2>/dev/null; }
stop_group() {
  ours "$1" "$2" || { echo stop=gone; echo stop_ms=0; return 0; }
  signal_group TERM "$1" || { echo "cannot signal pid $1 (another user's process?)" >&2; return 1; }
  _t0=$(now_ms)
  _how=exited
  while ours "$1" "$2"; do
    if [ -n "\${4-}" ] && ! listening "$4"; then _how=closed; break; fi
    if [ "$(($(now_ms) - _t0))" -ge "$3" ]; then signal_group KILL "$1"; _how=killed; break; fi
    sleep 0.02
  done
  echo "stop=$_how"
  echo "stop_ms=$(($(now_ms) - _t0))"
}"
`);
  });

  test('kill_later carries ours and signal_group into its detached shell', () => {
    expect(KILL_LATER).toMatchInlineSnapshot(`
"kill_later() {
  setsid sh -c 'ours() {
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
  _stat=$(sed "s/^.*) //" "/proc/$1/stat" 2>/dev/null) || return 1
  case "$_stat" in Z*|X*|"") return 1 ;; esac
  [ "$(printf "%s\\n" "$_stat" | cut -d " " -f 20)" = "$2" ]
}
start_time() { sed "s/^.*) //" "/proc/$1/stat" 2>/dev/null | cut -d " " -f 20; }
signal_group() { kill -s "$1" -- "-$2" 2>/dev/null || kill -s "$1" "$2" 2>/dev/null; }
sleep "$3"; if ours "$1" "$2"; then signal_group KILL "$1"; fi' kill_later "$1" "$2" "$3" </dev/null >/dev/null 2>&1 &
}"
`);
  });
});
