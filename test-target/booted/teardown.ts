// Removing a booted host, synchronously (it also runs on process exit): everything in its cgroup killed, the
// cgroup tree, the network namespace and veth pair, the state dir. Also the sweep that removes hosts left by
// earlier runs that were killed before they could stop them.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readQuiet } from '../exec.js';
import { processAlive, processStamp } from '../processes.js';
import { cgroupParent, ID_PREFIX, layoutOf, ownerPidOf, STATE_ROOT, type Layout } from './layout.js';
import { cgroupPopulated } from './launch.js';
import { deleteNetwork } from './network.js';

/** Removes a cgroup and its descendants (deepest first); they must be empty. */
function removeCgroupTree(dir: string): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
  try {
    fs.rmdirSync(dir);
  } catch {
    // still populated, or gone
  }
}

/** Mount points at or below dir in this process's mount namespace. */
export function mountsUnder(dir: string): string[] {
  return readQuiet('/proc/self/mountinfo')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/** Kills what runs in the host's cgroup, removes cgroup, network and state dir. Best effort, idempotent. */
export function destroySync(layout: Layout): void {
  try {
    fs.writeFileSync(path.join(layout.cgroup, 'cgroup.kill'), '1');
  } catch {
    // no cgroup
  }
  const deadline = Date.now() + 10_000;
  while (cgroupPopulated(layout.cgroup) && Date.now() < deadline) spawnSync('sleep', ['0.02']);
  removeCgroupTree(layout.cgroup);
  deleteNetwork(layout.id);
  // The overlay is only ever mounted in the host's own mount namespace; never recurse into a mount here.
  if (mountsUnder(layout.state).length === 0) fs.rmSync(layout.state, { recursive: true, force: true });
}

function listPrefixed(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((n) => n.startsWith(ID_PREFIX));
  } catch {
    return [];
  }
}

/** True when the process that booted host `id` still runs. */
function ownerAlive(id: string): boolean {
  const stamp = readQuiet(path.join(layoutOf(id).state, 'owner')).trim();
  if (stamp) return stamp === processStamp(Number(stamp.split(' ')[0]));
  return processAlive(ownerPidOf(id)); // being created right now, or the dir is gone
}

/** Removes the hosts (processes, cgroup, network, state dir) of earlier runs whose owner process is gone. */
export function removeStaleBootedHosts(): void {
  let parent = '';
  try {
    parent = cgroupParent();
  } catch {
    // no cgroup2: there cannot be any host's cgroup
  }
  const ids = new Set([
    ...listPrefixed('/run/netns'),
    ...listPrefixed(STATE_ROOT),
    ...(parent ? listPrefixed(parent) : []),
  ]);
  for (const id of ids) if (!ownerAlive(id)) destroySync(layoutOf(id));
}
