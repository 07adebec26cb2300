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
import { existsSync } from 'node:fs';
import { LISTENER_PY, SCENARIO, sandbox, type Sandbox, describeInSandbox } from '../support/sandbox.js';

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

describeInSandbox('listening and listener_pid with each tool (sandbox)', () => {
  let box: Sandbox;
  beforeEach(() => {
    box = sandbox();
    box.file('listener.py', LISTENER_PY);
  });
  afterEach(() => box.cleanup());

  /** A PATH holding only the tools the functions may use, with or without ss and lsof. */
  function tools(dir: string, extra: string[]): string {
    const base = ['sh', 'cat', 'awk', 'sed', 'head', 'tail', 'tr', 'cut', 'sleep', 'rm', 'printf'];
    for (const tool of [...base, ...extra]) {
      const found = ['/usr/bin', '/bin'].map((d) => `${d}/${tool}`).find((f) => existsSync(f));
      if (!found) throw new Error(`no ${tool}`);
      box.file(`${dir}/${tool}`, `#!/bin/sh\nexec ${found} "$@"\n`, 0o755);
    }
    return box.path(dir);
  }

  test.each([
    ['ss', ['ss'], true],
    ['lsof', ['lsof'], true],
    ['/proc/net/tcp and tcp6', [], false],
  ])('with %s', async (_name, extra, seesPid) => {
    const path = tools('tools', extra);
    const r = await box.run(
      [
        SCENARIO,
        'spawn_app a.rec /usr/bin/python3 listener.py 8080 plain ready4',
        'a=$pid',
        'spawn_app b.rec /usr/bin/python3 listener.py 8082 v6 ready6',
        'while [ ! -e ready4 ] || [ ! -e ready6 ]; do sleep 0.01; done',
        `PATH=${path}`,
        LISTENING,
        'for p in 8080 8081 8082 80; do if listening "$p"; then echo "$p=1"; else echo "$p=0"; fi; done',
        'echo "pid=$(listener_pid 8080)"',
        'echo "none=$(listener_pid 8081)"',
        'echo "a=$a"',
      ].join('\n'),
    );
    expect(r.stderr).toBe('');
    const a = /^a=(\d+)$/m.exec(r.stdout)?.[1] ?? 'none';
    expect(r.stdout).toBe(`8080=1\n8081=0\n8082=1\n80=0\npid=${seesPid ? a : ''}\nnone=\na=${a}\n`);
  });
});

describeInSandbox('ours and start_time (sandbox)', () => {
  test('our process, another start time, a zombie, no pid, no process', async () => {
    const box = sandbox();
    try {
      const r = await box.run(
        [
          SCENARIO,
          OURS,
          'spawn_app a.rec sleep 30',
          `sh -c 'sleep 0 & echo $! > z.pid; exec sleep 30' &`,
          'while [ ! -s z.pid ]; do sleep 0.01; done; z=$(cat z.pid); wait_gone "$z" 1000',
          'check() { if ours "$1" "$2"; then echo "$3=1"; else echo "$3=0"; fi; }',
          'check "$pid" "$start" same',
          'check "$pid" "1$start" other',
          'check "$pid" "" empty',
          'check "$z" "$(start_of "$z")" zombie',
          'check "" "$start" nopid',
          'check 999999 1 noproc',
          '[ "$(start_time "$pid")" = "$start" ] && echo start_time=1',
          '[ -z "$(start_time 999999)" ] && echo start_time_none=1',
        ].join('\n'),
      );
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(
        'same=1\nother=0\nempty=0\nzombie=0\nnopid=0\nnoproc=0\nstart_time=1\nstart_time_none=1\n',
      );
    } finally {
      box.cleanup();
    }
  });

  test('a command name with ") " in it does not shift the fields', async () => {
    const box = sandbox();
    try {
      const r = await box.run(
        [
          SCENARIO,
          OURS,
          `cp /bin/sleep './x) 1 2 3'`,
          `spawn_app a.rec './x) 1 2 3' 30`,
          `[ "$(start_time "$pid")" = "$(awk '{ print $(NF - 30) }' "/proc/$pid/stat")" ] && echo same=1`,
          'ours "$pid" "$(start_time "$pid")" && echo ours=1',
        ].join('\n'),
      );
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('same=1\nours=1\n');
    } finally {
      box.cleanup();
    }
  });
});
