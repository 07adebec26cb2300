// Running programs from the harness: never-throwing exec, a checked variant, and command lookup.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

/** The system PATH, appended to ours so that sbin tools (sshd, nginx, ip, useradd) are found. */
export const SYS_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ExecResult {
  /** Exit code; -1 when killed (timeout) or not started. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  input?: string;
  /** Killed (SIGKILL) after this long (default 60 000 ms). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Runs a program; never throws: code is -1 when it could not start or was killed. */
export function exec(file: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      {
        maxBuffer: 32 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 60_000,
        killSignal: 'SIGKILL',
        env: opts.env ?? { ...process.env, PATH: `${process.env.PATH ?? ''}:${SYS_PATH}` },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({
          code,
          stdout,
          stderr: stderr + (err && code === -1 ? err.message : ''),
        });
      },
    );
    child.stdin?.end(opts.input);
  });
}

/** Like exec, but throws (with the output) unless the exit code is 0. */
export async function execOk(file: string, args: string[], opts?: ExecOptions): Promise<ExecResult> {
  const r = await exec(file, args, opts);
  if (r.code !== 0) {
    throw new Error(`${file} ${args.join(' ')} exited with ${r.code}\n${r.stdout}${r.stderr}`.trimEnd());
  }
  return r;
}

/** Absolute path of a command, as `command -v` finds it with the system PATH. */
export async function which(cmd: string): Promise<string> {
  const r = await exec('sh', ['-c', 'command -v "$1"', 'sh', cmd], {
    env: { ...process.env, PATH: SYS_PATH },
  });
  const p = r.stdout.trim();
  if (r.code !== 0 || !p.startsWith('/')) {
    throw new Error(`command not found: ${cmd} (run scripts/install-deps.sh)`);
  }
  return p;
}

/** The file's text, or '' when it cannot be read. */
export function readQuiet(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export interface Daemon {
  child: ChildProcess;
  pid: number;
  /** Its stdout and stderr. */
  logFile: string;
}

/** Starts a long-running program with stdout and stderr appended to logFile. */
export function spawnDaemon([file, args]: [string, string[]], logFile: string): Daemon {
  const fd = fs.openSync(logFile, 'a');
  try {
    const child = spawn(file, args, { stdio: ['ignore', fd, fd] });
    child.on('error', () => undefined); // reported by waitForPort as an early exit
    return { child, pid: child.pid ?? 0, logFile };
  } finally {
    fs.closeSync(fd);
  }
}

/** Runs a program to completion, its PID recorded in `pids` while it runs; never throws (like exec). */
export function runTracked(
  file: string,
  argv: string[],
  opts: { timeoutMs?: number; input?: string },
  pids: Set<number>,
): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve) => {
    const child = spawn(file, argv, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (child.pid) pids.add(child.pid);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    let spawnError = '';
    child.on('error', (e) => (spawnError = e.message));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (child.pid) pids.delete(child.pid);
      const stderr = Buffer.concat(err).toString('utf8') + spawnError;
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: timedOut ? `${stderr}\nssh: timed out after ${timeoutMs} ms` : stderr,
      });
    });
  });
}
