// Where a booted host keeps its things on the machine, and how they are named: the id bgd-booted-<pid>-<n> (unique
// across parallel test processes) names its network namespace, its state dir /tmp/bgd-booted-<pid>-<n> and its
// cgroup <cgroup2 mount>/bgd-booted/<id>. The state dir records its owner process, so that a later run can remove
// what a killed run left (sweep.ts).
import fs from 'node:fs';
import path from 'node:path';
import { readQuiet } from '../exec.js';

export const ID_PREFIX = 'bgd-booted-';
/**
 * The state dirs' parent. The host never sees the machine's /tmp (it has a tmpfs of its own there), so its
 * systemd-tmpfiles cannot touch them; and nothing of the machine is bind-mounted into a host.
 */
export const STATE_ROOT = '/tmp';

let counter = 0;

/**
 * A new id: bgd-booted-<pid>-<n>, with n such that no state dir, network namespace or cgroup has it yet (jest may
 * load this module afresh for each suite in the same process).
 */
export function newId(): string {
  for (;;) {
    counter += 1;
    const id = `${ID_PREFIX}${process.pid}-${counter}`;
    const inUse = [path.join(STATE_ROOT, id), path.join('/run/netns', id), path.join(cgroupParent(), id)];
    if (!inUse.some((p) => fs.existsSync(p))) return id;
  }
}

/** The pid in an id, or 0. */
export function ownerPidOf(id: string): number {
  const m = /^bgd-booted-(\d+)-\d+$/.exec(id);
  return m ? Number(m[1]) : 0;
}

/** The veth pair of a host (interface names: 15 characters at most). */
export function vethOf(id: string): { outside: string; inside: string } {
  const short = id.slice(ID_PREFIX.length).replace('-', 'x');
  return { outside: `bb${short}h`, inside: `bb${short}n` };
}

export interface Layout {
  id: string;
  /** /tmp/bgd-booted-<pid>-<n>: owner, keys, console.log, the overlay's upper and work dirs, the mount point. */
  state: string;
  upper: string;
  work: string;
  /** Where the overlay is mounted (only ever inside the host's own mount namespace). */
  root: string;
  console: string;
  /** The host's cgroup on the machine (cgroup2); its cgroup namespace's root. */
  cgroup: string;
}

/** Mount point of the machine's cgroup2 hierarchy (/sys/fs/cgroup or /sys/fs/cgroup/unified). */
export function cgroup2Root(): string {
  for (const line of readQuiet('/proc/self/mountinfo').split('\n')) {
    const [mine, rest = ''] = line.split(' - ');
    if (rest.startsWith('cgroup2 ')) return mine.split(' ')[4];
  }
  throw new Error('no cgroup2 mount on this machine: booted hosts need one');
}

/** The parent of all hosts' cgroups. */
export function cgroupParent(): string {
  return path.join(cgroup2Root(), 'bgd-booted');
}

export function layoutOf(id: string): Layout {
  const state = path.join(STATE_ROOT, id);
  return {
    id,
    state,
    upper: path.join(state, 'upper'),
    work: path.join(state, 'work'),
    root: path.join(state, 'root'),
    console: path.join(state, 'console.log'),
    cgroup: path.join(cgroupParent(), id),
  };
}

/** Creates the state dir (mode 700: keys live there) and the cgroup. */
export function createLayout(layout: Layout, ownerStamp: string): void {
  fs.mkdirSync(layout.state, { mode: 0o700 });
  fs.writeFileSync(path.join(layout.state, 'owner'), `${ownerStamp}\n`);
  for (const d of [layout.upper, layout.work, layout.root]) fs.mkdirSync(d, { mode: 0o755 });
  fs.mkdirSync(layout.cgroup, { recursive: true });
}
