// The shell functions the scripts share, pinned whole; listening, ours and port_pids/descends (with portOwner)
// run in a sandbox here, stop_group and kill_later in stop.test.ts.
import {
  asRoot,
  killLaterSh,
  listeningSh,
  nowMsSh,
  oursSh,
  pathSetupSh,
  portOwnerSh,
  stopGroupSh,
} from '../../src/commands/functions.js';
import { portOwner, type AppProcess } from '../../src/commands/app.js';
import { quote } from '../../src/shell.js';
import { existsSync } from 'node:fs';
import { LISTENER_PY, SCENARIO, sandbox, type Sandbox, describeInSandbox } from '../support/sandbox.js';

describe('shared shell functions, exactly', () => {
  test('PATH gets the sbin directories', () => {
    expect(pathSetupSh()).toBe('PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"; export PATH');
  });

  test('as_root for each sudo mode', () => {
    expect(asRoot('never')).toBe('as_root() { "$@"; }');
    expect(asRoot('always')).toBe('as_root() { sudo -n -- "$@"; }');
    expect(asRoot('auto')).toBe(
      'as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n -- "$@"; fi; }',
    );
  });

  test('ours and start_time', () => {
    expect(oursSh()).toMatchInlineSnapshot(`
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
    expect(listeningSh()).toMatchInlineSnapshot(`
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
    expect(nowMsSh()).toBe('now_ms() { date +%s%3N; }');
  });

  test('signal_group, group_alive, running and stop_group', () => {
    expect(stopGroupSh()).toMatchInlineSnapshot(`
"signal_group() { kill -s "$1" -- "-$2" 2>/dev/null || kill -s "$1" "$2" 2>/dev/null; }
group_alive() {
  sed -n "s/^[0-9]* (.*) \\([A-Z]\\) [0-9]* \\([0-9]*\\) \\([0-9]*\\) .*/\\1 \\2 \\3/p" /proc/[0-9]*/stat 2>/dev/null |
    awk -v g="$1" "\\$2 == g && \\$3 == g && \\$1 !~ /^[ZX]/ { f = 1 } END { exit !f }"
}
running() { ours "$1" "$2" || { _s=$(start_time "$1"); { [ -z "$_s" ] || [ "$_s" = "$2" ]; } && group_alive "$1"; }; }
stop_group() {
  running "$1" "$2" || { echo stop=gone; echo stop_ms=0; return 0; }
  signal_group TERM "$1" || { echo "cannot signal pid $1 (another user's process?)" >&2; return 1; }
  _t0=$(now_ms)
  _how=exited
  while running "$1" "$2"; do
    if [ -n "\${4-}" ] && ! listening "$4"; then _how=closed; break; fi
    if [ "$(($(now_ms) - _t0))" -ge "$3" ]; then
      signal_group KILL "$1"
      _how=killed
      _k=0
      while running "$1" "$2" && [ "$_k" -lt 250 ]; do sleep 0.02; _k=$((_k + 1)); done
      break
    fi
    sleep 0.02
  done
  echo "stop=$_how"
  echo "stop_ms=$(($(now_ms) - _t0))"
}"
`);
  });

  test('kill_later carries ours, signal_group, group_alive and running into its detached shell', () => {
    expect(killLaterSh()).toMatchInlineSnapshot(`
"kill_later() {
  setsid sh -c 'ours() {
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
  _stat=$(sed "s/^.*) //" "/proc/$1/stat" 2>/dev/null) || return 1
  case "$_stat" in Z*|X*|"") return 1 ;; esac
  [ "$(printf "%s\\n" "$_stat" | cut -d " " -f 20)" = "$2" ]
}
start_time() { sed "s/^.*) //" "/proc/$1/stat" 2>/dev/null | cut -d " " -f 20; }
signal_group() { kill -s "$1" -- "-$2" 2>/dev/null || kill -s "$1" "$2" 2>/dev/null; }
group_alive() {
  sed -n "s/^[0-9]* (.*) \\([A-Z]\\) [0-9]* \\([0-9]*\\) \\([0-9]*\\) .*/\\1 \\2 \\3/p" /proc/[0-9]*/stat 2>/dev/null |
    awk -v g="$1" "\\$2 == g && \\$3 == g && \\$1 !~ /^[ZX]/ { f = 1 } END { exit !f }"
}
running() { ours "$1" "$2" || { _s=$(start_time "$1"); { [ -z "$_s" ] || [ "$_s" = "$2" ]; } && group_alive "$1"; }; }
sleep "$3"; if running "$1" "$2"; then signal_group KILL "$1"; fi' kill_later "$1" "$2" "$3" </dev/null >/dev/null 2>&1 &
}"
`);
  });

  test('port_pids and descends', () => {
    expect(portOwnerSh()).toMatchInlineSnapshot(`
"port_pids() {
  if command -v ss >/dev/null 2>&1; then
    ss -ltnp "sport = :$1" 2>/dev/null | grep -o "pid=[0-9]*" | cut -d = -f 2 | sort -u
  elif command -v lsof >/dev/null 2>&1; then
    lsof -nP -iTCP:"$1" -sTCP:LISTEN -t 2>/dev/null | sort -u
  else
    _hex=$(printf ":%04X " "$1")
    for _ino in $(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p="$_hex" 'index($2 " ", p) && $4 == "0A" { print $10 }'); do
      for _fd in /proc/[0-9]*/fd/*; do
        [ "$(readlink "$_fd" 2>/dev/null)" = "socket:[$_ino]" ] && echo "$_fd" | cut -d / -f 3
      done
    done | sort -u
  fi
}
descends() {
  _p=$1
  while [ -n "$_p" ] && [ "$_p" -gt 1 ]; do
    [ "$_p" = "$2" ] && return 0
    _f=$(sed "s/^.*) //" "/proc/$_p/stat" 2>/dev/null) || return 1
    [ "$(printf "%s\\n" "$_f" | cut -d " " -f 4)" = "$2" ] && return 0
    _p=$(printf "%s\\n" "$_f" | cut -d " " -f 2)
  done
  return 1
}"
`);
  });
});

describeInSandbox('listening, listener_pid and port_pids with each tool (sandbox)', () => {
  let box: Sandbox;
  beforeEach(() => {
    box = sandbox();
    box.file('listener.py', LISTENER_PY);
  });
  afterEach(() => box.cleanup());

  /** A PATH holding only the tools the functions may use, with or without ss and lsof. */
  function tools(dir: string, extra: string[]): string {
    const base = [
      'sh',
      'cat',
      'awk',
      'sed',
      'head',
      'tail',
      'tr',
      'cut',
      'sleep',
      'rm',
      'printf',
      'sort',
      'grep',
      'readlink',
    ];
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
        listeningSh(),
        'for p in 8080 8081 8082 80; do if listening "$p"; then echo "$p=1"; else echo "$p=0"; fi; done',
        'echo "pid=$(listener_pid 8080)"',
        'echo "none=$(listener_pid 8081)"',
        'echo "a=$a"',
        portOwnerSh(),
        `echo "port_pids=$(port_pids 8080 | tr '\\n' ' ')"`,
        `echo "port_pids_none=$(port_pids 8081 | tr '\\n' ' ')"`,
      ].join('\n'),
    );
    expect(r.stderr).toBe('');
    const a = /^a=(\d+)$/m.exec(r.stdout)?.[1] ?? 'none';
    expect(r.stdout).toBe(
      `8080=1\n8081=0\n8082=1\n80=0\npid=${seesPid ? a : ''}\nnone=\na=${a}\nport_pids=${a} \nport_pids_none=\n`,
    );
  });
});

describeInSandbox('ours and start_time (sandbox)', () => {
  test('our process, another start time, a zombie, no pid, no process', async () => {
    const box = sandbox();
    try {
      const r = await box.run(
        [
          SCENARIO,
          oursSh(),
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
          oursSh(),
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

describeInSandbox('portOwner: who listens, and is it the app or one of its own processes (sandbox)', () => {
  let box: Sandbox;
  beforeEach(() => {
    box = sandbox();
    box.file('listener.py', LISTENER_PY);
  });
  afterEach(() => box.cleanup());

  test('the app itself, its child, a re-parented grandchild, a stranger, nothing', async () => {
    const started = box.start(
      [
        SCENARIO,
        'ready() { while [ ! -e "$1" ]; do sleep 0.01; done; }',
        'spawn_app a.rec /usr/bin/python3 listener.py 8080 plain ready.a; ready ready.a; echo "a=$pid $start"',
        `spawn_app b.rec sh -c '/usr/bin/python3 listener.py 8081 plain ready.b & wait'; ready ready.b; echo "b=$pid $start"`,
        // the listener's parent exits at once: it is re-parented, and stays in the app's session
        `spawn_app c.rec sh -c '(/usr/bin/python3 listener.py 8082 plain ready.c &); exec sleep 30'; ready ready.c; echo "c=$pid $start"`,
        'spawn_app d.rec /usr/bin/python3 listener.py 8083 plain ready.d; ready ready.d; echo "d=$pid $start"',
        'echo ready',
        'run_given owner',
      ].join('\n'),
      { timeoutMs: 10000 },
    );
    const app = async (name: string): Promise<AppProcess> => {
      const [pid, start] = (await started.waitFor(new RegExp(`^${name}=`))).slice(2).split(' ');
      return { pid: Number(pid), start };
    };
    const [a, b, c, d] = [await app('a'), await app('b'), await app('c'), await app('d')];
    await started.waitFor(/^ready$/);
    const cases: [string, AppProcess, number][] = [
      ['self', a, 8080],
      ['child', b, 8081],
      ['reparented', c, 8082],
      ['stranger', a, 8083],
      ['another_app', b, 8080],
      ['nothing', a, 8084],
    ];
    box.give(
      'owner',
      cases
        .map(
          ([name, of, port]) => `echo "${name}=$(sh -c ${quote(portOwner(of, port).script)} | tr '\\n' ' ')"`,
        )
        .join('\n'),
    );
    const r = await started.done;
    expect(r.stderr).toBe('');
    const line = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(r.stdout)?.[1] ?? '';
    const parse = (name: string) => portOwner(a, 1).parse(line(name).replace(/ owner=/, '\nowner='));
    expect(parse('self')).toEqual({ owner: 'ours', pids: [a.pid] });
    const child = parse('child');
    expect(child.owner).toBe('ours');
    expect(child.owner !== 'unseen' && child.pids[0]).not.toBe(b.pid);
    expect(parse('reparented').owner).toBe('ours');
    expect(parse('stranger')).toEqual({ owner: 'foreign', pids: [d.pid] });
    expect(parse('another_app')).toEqual({ owner: 'foreign', pids: [a.pid] });
    expect(parse('nothing')).toEqual({ owner: 'unseen' });
    expect(line('nothing')).toBe('pids= owner=unseen ');
    expect(c.pid).toBeGreaterThan(1);
  });
});
