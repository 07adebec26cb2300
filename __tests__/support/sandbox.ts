// Runs generated shell scripts with a real `sh`, confined by bubblewrap: the whole file system is read-only
// except one throwaway directory (bound at the same path inside and out, so tests read what scripts wrote), a
// private tmpfs /tmp and a private /dev. Each run has its own pid namespace (it sees and can signal only the
// processes it started; all of them die with it), its own network namespace (a private loopback: listeners
// never collide with the host's ports) and no capabilities, although tests and CI run as root: root without
// CAP_DAC_OVERRIDE cannot read a mode-000 file, and nothing can remount the root writable. A mutant or a bug
// that drops a `cd` or empties a path variable can delete or create files only in the throwaway directory.
//
// Everything a test needs to run together (an app, its child, the stop script) must run in ONE invocation:
// write the generated script into the box (`box.file`) and run a scenario script that starts processes with
// the SCENARIO helpers and then runs it. `box.start` keeps an invocation running (e.g. a lock holder) while
// another one runs; they share the directory (and flock locks on its files) but not their processes.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface RunOptions {
  /** Added to a minimal environment (PATH with the box's bin/ first, HOME, LC_ALL=C). */
  env?: Record<string, string>;
  /** Written to the script's stdin, which is then closed (default: closed at once). */
  stdin?: string;
  /** The invocation is killed (and with it every process it started) after this long; default 5 s. */
  timeoutMs?: number;
}

export interface RunResult {
  /** The script's exit code; null when it was killed (see `signal`). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time of the whole invocation. */
  ms: number;
}

/** A running invocation (`box.start`). */
export interface Started {
  /** Resolves with the first stdout line matching `pattern`; rejects if the script ends first. */
  waitFor(pattern: RegExp): Promise<string>;
  output(): { stdout: string; stderr: string };
  /** Closes the script's stdin. */
  closeStdin(): void;
  /** The end of the invocation. */
  done: Promise<RunResult>;
}

export interface Sandbox {
  /** The throwaway directory: the same absolute path inside the sandbox and outside. */
  readonly root: string;
  path(relative?: string): string;
  /** Writes a file under the root (parents created); returns its absolute path. */
  file(relative: string, content: string, mode?: number): string;
  /** An executable on the PATH of every run, ahead of the system's (fake nginx, sudo, ps, df...). */
  fake(name: string, body: string): string;
  /**
   * Hands a script to a running scenario: writes .given/NAME.sh, then marks it ready. The scenario's
   * `run_given NAME` waits for it and runs it with sh (stdin from /dev/null).
   */
  give(name: string, script: string): void;
  read(relative: string): string;
  exists(relative: string): boolean;
  run(script: string, options?: RunOptions): Promise<RunResult>;
  start(script: string, options?: RunOptions): Started;
  cleanup(): void;
}

const INSTALL_HINT =
  'bubblewrap (bwrap) is needed to run generated scripts confined: apt-get install bubblewrap (scripts/install-deps.sh installs it)';

let checked = false;

/** Fails unless bwrap exists and confines: generated scripts are never run unconfined. */
function requireBwrap(root: string): void {
  if (checked) return;
  const probe = spawnSync('bwrap', bwrapArgs(root, 'touch /probe-outside 2>/dev/null && exit 3; exit 0'), {
    encoding: 'utf8',
  });
  if (probe.error && (probe.error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(INSTALL_HINT);
  if (probe.status !== 0) {
    throw new Error(
      `bwrap cannot confine scripts here (exit ${probe.status}): ${probe.stderr || probe.error?.message}\n` +
        'It needs unprivileged user namespaces or root. ' +
        INSTALL_HINT,
    );
  }
  checked = true;
}

function bwrapArgs(root: string, script: string): string[] {
  return [
    '--ro-bind',
    '/',
    '/',
    '--tmpfs',
    '/tmp',
    '--bind',
    root,
    root,
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--unshare-pid',
    '--unshare-net',
    '--unshare-ipc',
    '--unshare-uts',
    '--die-with-parent',
    '--cap-drop',
    'ALL',
    '--chdir',
    root,
    '--',
    '/bin/sh',
    '-c',
    script,
    'sh',
  ];
}

/**
 * describe() for tests that run scripts in the sandbox, skipped in StrykerJS's mutation runs only
 * (STRYKER_MUTATOR_WORKER is set in its workers): there every script's whole text is pinned by the builders'
 * inline snapshots, which kill a mutant in milliseconds, where a sandbox run costs seconds per mutant.
 */
export const describeInSandbox: typeof describe = process.env.STRYKER_MUTATOR_WORKER
  ? describe.skip
  : describe;

export function sandbox(): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'bgd-box-'));
  try {
    requireBwrap(root);
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  const bin = join(root, '.bin');
  mkdirSync(bin);

  const environment = (extra?: Record<string, string>): NodeJS.ProcessEnv => ({
    PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
    HOME: root,
    LC_ALL: 'C',
    ...extra,
  });

  const start = (script: string, options: RunOptions = {}): Started => {
    const t0 = Date.now();
    const child = spawn('bwrap', bwrapArgs(root, script), {
      env: environment(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const waiters: { pattern: RegExp; resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
    let ended = false;
    const check = () => {
      for (const w of [...waiters]) {
        const line = stdout.split('\n').find((l, i, all) => i < all.length - 1 && w.pattern.test(l));
        if (line !== undefined) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        } else if (ended) {
          waiters.splice(waiters.indexOf(w), 1);
          w.reject(new Error(`the script ended without printing ${w.pattern}:\n${stdout}\n${stderr}`));
        }
      }
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      check();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => undefined);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 5000);
    const done = new Promise<RunResult>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        ended = true;
        check();
        resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
      });
    });
    if (options.stdin !== undefined) child.stdin.end(options.stdin);
    return {
      waitFor: (pattern) =>
        new Promise((resolve, reject) => {
          waiters.push({ pattern, resolve, reject });
          check();
        }),
      output: () => ({ stdout, stderr }),
      closeStdin: () => child.stdin.end(),
      done,
    };
  };

  const box: Sandbox = {
    root,
    path: (relative = '') => (relative ? join(root, relative) : root),
    file: (relative, content, mode = 0o644) => {
      const target = join(root, relative);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content);
      chmodSync(target, mode);
      return target;
    },
    fake: (name, body) => box.file(join('.bin', name), `#!/bin/sh\n${body}\n`, 0o755),
    give: (name, script) => {
      box.file(`.given/${name}.sh`, script);
      box.file(`.given/${name}.ready`, '');
    },
    read: (relative) => readFileSync(join(root, relative), 'utf8'),
    exists: (relative) => existsSync(join(root, relative)),
    run: (script, options = {}) => {
      const started = start(script, { ...options, stdin: options.stdin ?? '' });
      return started.done;
    },
    start,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
  return box;
}

/**
 * Shell helpers for scenario scripts, independent of the code under test (so a mutant cannot change them):
 * - `spawn_app FILE CMD...`: starts CMD in its own session (like launchApp), waits for it, sets $pid and
 *   $start (its /proc start time) and writes "pid start" to FILE;
 * - `start_of PID`, `gone PID` (exited or a zombie), `now_ms`;
 * - `wait_gone PID MS`: polls until PID is gone, at most MS; returns 1 if it is still there;
 * - `run_given NAME`: waits for the script the test hands over with `box.give(NAME, script)` and runs it
 *   (a test learns a pid from the scenario's output, then builds the command that names it).
 */
export const SCENARIO = [
  'now_ms() { date +%s%3N; }',
  `start_of() { sed 's/^.*) //' "/proc/$1/stat" | cut -d ' ' -f 20; }`,
  'gone() { [ ! -d "/proc/$1" ] || grep -q "^State:[[:space:]]*[ZX]" "/proc/$1/status" 2>/dev/null; }',
  'wait_gone() { _d=$(($(now_ms) + $2)); while ! gone "$1"; do [ "$(now_ms)" -ge "$_d" ] && return 1; sleep 0.01; done; }',
  'run_given() { while [ ! -e "$HOME/.given/$1.ready" ]; do sleep 0.01; done; sh "$HOME/.given/$1.sh" </dev/null; }',
  'spawn_app() {',
  '  _f=$1; shift; rm -f "$_f.tmp"',
  `  setsid sh -c 'echo "$$" > "$0"; exec "$@"' "$_f.tmp" "$@" </dev/null >/dev/null 2>&1 &`,
  '  while [ ! -s "$_f.tmp" ]; do sleep 0.01; done',
  '  pid=$(cat "$_f.tmp"); rm -f "$_f.tmp"',
  '  start=$(start_of "$pid")',
  '  echo "$pid $start" > "$_f"',
  '}',
].join('\n');

/**
 * A python TCP listener: `listener PORT MODE READYFILE` on 127.0.0.1; MODE close-on-term closes the port on
 * SIGTERM and keeps running, v6 listens on ::1 instead, plain does neither.
 */
export const LISTENER_PY = [
  'import signal, socket, sys, time',
  'port, mode, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]',
  "s = socket.socket(socket.AF_INET6 if mode == 'v6' else socket.AF_INET)",
  's.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
  "s.bind(('::1' if mode == 'v6' else '127.0.0.1', port))",
  's.listen()',
  'def on_term(*_):',
  '    s.close()',
  '    signal.signal(signal.SIGTERM, signal.SIG_IGN)',
  "if mode == 'close-on-term':",
  '    signal.signal(signal.SIGTERM, on_term)',
  "open(ready, 'w').write('ready')",
  'while True:',
  '    time.sleep(0.05)',
].join('\n');
