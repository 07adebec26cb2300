// The network of a booted host: a network namespace (named after the host's id) with loopback up and a veth pair
// to the machine, 10.214.X.Y+1/30 outside and .Y+2 inside (the host's address). 10.214/16 is this module's alone:
// the other targets use 10.213/16 (netns.ts). Only these namespaces and loopback are traffic targets.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { execOk } from '../exec.js';
import { signal } from '../processes.js';
import { vethOf } from './layout.js';

export interface HostNet {
  /** Machine side of the veth pair. */
  outside: string;
  /** The host's side: its address. */
  address: string;
}

// Not netns.ts's IP: netns.ts calls this module's sweep, and the import would be circular.
const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((f) => fs.existsSync(f)) ?? 'ip';

const taken = new Set<string>();

/** A free 10.214.X.Y/30: not configured on any interface nor routed here, and not handed out by this process. */
function freeNet(): HostNet & { key: string } {
  const addrs = spawnSync(IP, ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' }).stdout;
  const routes = spawnSync(IP, ['-o', '-4', 'route', 'show'], { encoding: 'utf8' }).stdout;
  for (let tries = 0; tries < 1000; tries++) {
    const [c, base] = [Math.floor(Math.random() * 256), Math.floor(Math.random() * 64) * 4];
    const key = `${c}.${base}`;
    const prefix = `10.214.${c}.`;
    if (taken.has(key) || routes.includes(`${prefix}${base}/`)) continue;
    if ([1, 2].some((i) => addrs.includes(` ${prefix}${base + i}/`))) continue;
    taken.add(key);
    return { key, outside: `${prefix}${base + 1}`, address: `${prefix}${base + 2}` };
  }
  throw new Error('no free 10.214.x.y/30 for a booted host');
}

/** Creates the namespace `id` and its veth pair; on failure removes what it made. */
export async function createNetwork(id: string): Promise<HostNet> {
  const net = freeNet();
  const veth = vethOf(id);
  try {
    await execOk(IP, ['netns', 'add', id]);
    await execOk(IP, ['-n', id, 'link', 'set', 'lo', 'up']);
    await execOk(IP, ['link', 'add', veth.outside, 'type', 'veth', 'peer', 'name', veth.inside, 'netns', id]);
    await execOk(IP, ['addr', 'add', `${net.outside}/30`, 'dev', veth.outside]);
    await execOk(IP, ['link', 'set', veth.outside, 'up']);
    await execOk(IP, ['-n', id, 'addr', 'add', `${net.address}/30`, 'dev', veth.inside]);
    await execOk(IP, ['-n', id, 'link', 'set', veth.inside, 'up']);
  } catch (error) {
    deleteNetwork(id);
    throw error;
  } finally {
    taken.delete(net.key); // from now on the interface itself marks the net as taken
  }
  return { outside: net.outside, address: net.address };
}

/** Synchronous, idempotent: SIGKILLs whatever still runs in the namespace, deletes it and the veth pair. */
export function deleteNetwork(id: string): void {
  const pids = spawnSync(IP, ['netns', 'pids', id], { encoding: 'utf8', timeout: 10_000 })
    .stdout.split(/\s+/)
    .filter((x) => /^\d+$/.test(x))
    .map(Number)
    .filter((pid) => pid !== process.pid);
  for (const pid of pids) signal(pid, 'SIGKILL');
  spawnSync(IP, ['netns', 'del', id], { timeout: 10_000, stdio: 'ignore' });
  spawnSync(IP, ['link', 'del', vethOf(id).outside], { timeout: 10_000, stdio: 'ignore' });
}

/** True while the namespace exists. */
export function networkExists(id: string): boolean {
  return spawnSync(IP, ['netns', 'list'], { encoding: 'utf8' }).stdout.split(/\s+/).includes(id);
}
