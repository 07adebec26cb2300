// Booting and killing a host's systemd. The launcher (`script`, for a pty as the console) runs in the host's
// cgroup; `ip netns exec` puts it in the host's network namespace, `unshare` makes the new pid, mount, uts, ipc and
// cgroup namespaces and forks the boot script (boot-script.ts), which becomes systemd as PID 1.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readQuiet, SYS_PATH } from '../exec.js';
import { descendants, processAlive, signal } from '../processes.js';
import { waitUntil } from '../wait.js';
import { BOOT_SCRIPT } from './boot-script.js';
import type { Layout } from './layout.js';

export interface Launched {
  launcher: ChildProcess;
  /** Resolves once the launcher has exited (and been reaped). */
  closed: Promise<void>;
  /** The host's PID 1 (systemd), as the machine numbers it. */
  pid1: number;
}

/** The last lines of what the host's systemd wrote on its console. */
export function consoleTail(layout: Layout, lines = 40): string {
  const text = readQuiet(layout.console).replace(/\r/g, '');
  return text.split('\n').slice(-lines).join('\n');
}

/** The descendant of pid that is PID 1 of a pid namespace below ours, or 0. */
function nsInitBelow(pid: number): number {
  return descendants(pid).find((p) => /^NSpid:\s+\d+\s+1$/m.test(readQuiet(`/proc/${p}/status`))) ?? 0;
}

/** Starts the host's systemd; resolves with its PID once it runs as PID 1 (not yet booted). */
export async function launch(layout: Layout): Promise<Launched> {
  const bootScript = path.join(layout.state, 'boot.sh');
  fs.writeFileSync(bootScript, BOOT_SCRIPT, { mode: 0o700 });
  const ns = ['--pid', '--fork', '--mount', '--uts', '--ipc', '--cgroup', '--propagation', 'private'];
  const inner = ['exec', 'ip', 'netns', 'exec', layout.id, 'unshare', ...ns, '/bin/sh', bootScript];
  const args = [layout.upper, layout.work, layout.root, path.join(layout.state, 'boot_id')];
  const outer = 'echo $$ > "$1/cgroup.procs" && exec script -qfae -c "$2" "$3"';
  const log = fs.openSync(path.join(layout.state, 'launcher.log'), 'a');
  let launcher: ChildProcess;
  try {
    launcher = spawn(
      '/bin/sh',
      ['-c', outer, 'sh', layout.cgroup, [...inner, ...args].join(' '), layout.console],
      {
        stdio: ['ignore', 'ignore', log],
        env: { PATH: SYS_PATH, SHELL: '/bin/sh', LANG: 'C' },
      },
    );
  } finally {
    fs.closeSync(log);
  }
  const closed = new Promise<void>((resolve) => launcher.once('close', () => resolve()));
  launcher.on('error', () => undefined); // seen as an early exit below
  let pid1 = 0;
  const exited = () => launcher.exitCode !== null || launcher.signalCode !== null;
  await waitUntil(
    () =>
      `the host's systemd to start\n${consoleTail(layout)}\n${readQuiet(path.join(layout.state, 'launcher.log'))}`,
    () => {
      pid1 = launcher.pid ? nsInitBelow(launcher.pid) : 0;
      return (pid1 > 0 && readQuiet(`/proc/${pid1}/cmdline`).includes('systemd')) || exited();
    },
    { timeoutMs: 15_000 },
  );
  if (exited() || !pid1) {
    throw new Error(`the host's systemd did not start (launcher exited):\n${consoleTail(layout)}`);
  }
  return { launcher, closed, pid1 };
}

/** True while a process runs in the cgroup or below it. */
export function cgroupPopulated(cgroup: string): boolean {
  return /^populated 1$/m.test(readQuiet(path.join(cgroup, 'cgroup.events')));
}

/** SIGKILLs PID 1 (and so the whole pid namespace) and waits until nothing runs in the host's cgroup. */
export async function killHost(cgroup: string, pid1: number, timeoutMs = 15_000): Promise<void> {
  signal(pid1, 'SIGKILL');
  await waitUntil(`the host's PID 1 (${pid1}) to exit`, () => !processAlive(pid1), { timeoutMs });
  try {
    fs.writeFileSync(path.join(cgroup, 'cgroup.kill'), '1'); // the launcher, and anything that escaped
  } catch {
    // no cgroup (any more)
  }
  await waitUntil(`every process of the host's cgroup ${cgroup} to exit`, () => !cgroupPopulated(cgroup), {
    timeoutMs,
  });
}
