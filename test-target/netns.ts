// Network namespaces: a target whose 127.0.0.1 is not the test's. Each namespace has its loopback up and a veth
// pair to the root namespace (10.213.X.Y+1/30 on the host side, .Y+2 inside), the only way in. Namespaces are
// named after their target dir (bgd-target-XXXXXX) and record their owner process there, so that a later run
// removes what a killed run left (removeStaleNetns).
// Hosts "booted" in namespaces of their own (systemd as PID 1) live in test-target/booted/ (10.214/16); the sweep
// below removes their leftovers too.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { removeStaleBootedHosts } from './booted/teardown.js';
import { execOk, readQuiet } from './exec.js';
import { DIR_PREFIX, sudoersFileFor, targetDirOf, vethNames } from './naming.js';
import { listensIn } from './ports.js';
import { processAlive, processStamp, signal } from './processes.js';

export const IP =
  ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((f) => fs.existsSync(f)) ?? 'ip';
const NETNS_RUN_DIR = '/run/netns';

export type Argv = [string, string[]];

export interface VethNet {
  key: string;
  /** Root-namespace side, 10.213.X.Y+1. */
  hostAddr: string;
  /** Namespace side, 10.213.X.Y+2: reachable from the test. */
  nsAddr: string;
}

/** /30 nets (third octet.base) handed to live namespaces of this process. */
const reservedNets = new Set<string>();

/** A free 10.213.X.Y/30 for a veth pair. Only ever configured on interfaces this harness creates. */
function freeVethNet(): VethNet {
  const inUse = spawnSync(IP, ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' }).stdout;
  const routes = spawnSync(IP, ['-o', '-4', 'route', 'show'], { encoding: 'utf8' }).stdout;
  for (let tries = 0; tries < 1000; tries++) {
    const net3 = Math.floor(Math.random() * 256);
    const base = Math.floor(Math.random() * 64) * 4;
    const prefix = `10.213.${net3}.`;
    const key = `${net3}.${base}`;
    if (reservedNets.has(key)) continue;
    if ([1, 2].some((i) => inUse.includes(` ${prefix}${base + i}/`))) continue;
    if (routes.includes(`${prefix}${base}/`)) continue;
    reservedNets.add(key);
    return { key, hostAddr: `${prefix}${base + 1}`, nsAddr: `${prefix}${base + 2}` };
  }
  throw new Error('no free 10.213.x.y/30 for the veth pair');
}

export class NetNamespace {
  private deleted = false;

  private constructor(
    /** bgd-target-XXXXXX, as `ip netns` lists it. */
    readonly name: string,
    readonly net: VethNet,
  ) {}

  /** Creates the namespace of the target dir (loopback up) and its veth pair. */
  static async create(dir: string): Promise<NetNamespace> {
    const name = path.basename(dir);
    // Lets a later run clean up after this one if it is killed before delete() (see removeStaleNetns).
    fs.writeFileSync(path.join(dir, 'owner'), `${processStamp()}\n`);
    const ns = new NetNamespace(name, freeVethNet());
    const veth = vethNames(name);
    try {
      await execOk(IP, ['netns', 'add', name]);
      await execOk(IP, ['-n', name, 'link', 'set', 'lo', 'up']);
      await execOk(IP, ['link', 'add', veth.host, 'type', 'veth', 'peer', 'name', veth.ns, 'netns', name]);
      await execOk(IP, ['addr', 'add', `${ns.net.hostAddr}/30`, 'dev', veth.host]);
      await execOk(IP, ['link', 'set', veth.host, 'up']);
      await execOk(IP, ['-n', name, 'addr', 'add', `${ns.net.nsAddr}/30`, 'dev', veth.ns]);
      await execOk(IP, ['-n', name, 'link', 'set', veth.ns, 'up']);
    } catch (error) {
      ns.delete();
      throw error;
    }
    return ns;
  }

  /** argv that runs file in the namespace. */
  command(file: string, args: string[]): Argv {
    return [IP, ['netns', 'exec', this.name, file, ...args]];
  }

  /** `net:[inode]`, as /proc/PID/ns/net links to it; '' once deleted. */
  link(): string {
    try {
      return `net:[${fs.statSync(path.join(NETNS_RUN_DIR, this.name)).ino}]`;
    } catch {
      return '';
    }
  }

  /** True when some socket in the namespace is in LISTEN state on that TCP port. */
  listening(port: number): boolean {
    let text: string;
    try {
      text = execFileSync(...this.command('cat', ['/proc/net/tcp', '/proc/net/tcp6']), {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 10_000,
      });
    } catch (e) {
      text = (e as { stdout?: string }).stdout ?? ''; // no tcp6: cat exits 1
    }
    return listensIn(text, port);
  }

  /** SIGKILLs whatever still runs in the namespace, deletes it and the veth pair. Best effort, idempotent. */
  delete(): void {
    if (this.deleted) return;
    this.deleted = true;
    deleteNetnsSync(this.name);
    reservedNets.delete(this.net.key);
  }
}

/**
 * argv that runs file in the namespace, in a private mount namespace of its own where `sharedRoot/app` and
 * `sharedRoot/nginx` are bind mounts of dir/app and dir/nginx: a small tmpfs over the parent of sharedRoot
 * (nothing is created on the real file system) holds the mount points. Dies with the process and its children.
 */
export function isolatedCommand(
  ns: NetNamespace,
  sharedRoot: string,
  dir: string,
  file: string,
  args: string[],
): Argv {
  const script =
    'set -e; mount -t tmpfs -o mode=755,size=1m bgd-shared "$1"; ' +
    'mkdir -p "$2/app" "$2/nginx"; mount --bind "$3/app" "$2/app"; mount --bind "$3/nginx" "$2/nginx"; ' +
    'shift 3; exec "$@"';
  const unshare = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh'];
  return ns.command(unshare[0], [
    ...unshare.slice(1),
    path.dirname(sharedRoot),
    sharedRoot,
    dir,
    file,
    ...args,
  ]);
}

/** PIDs of the processes in a network namespace (`ip netns pids`). */
function netnsPidsSync(name: string): number[] {
  const r = spawnSync(IP, ['netns', 'pids', name], { encoding: 'utf8', timeout: 10_000 });
  return r.stdout
    .split(/\s+/)
    .filter((x) => /^\d+$/.test(x))
    .map(Number);
}

/** Synchronous (it also runs on process exit): SIGKILL to everything inside, then delete namespace and veth. */
function deleteNetnsSync(name: string): void {
  for (let round = 0; round < 20; round++) {
    const pids = netnsPidsSync(name).filter((pid) => pid !== process.pid);
    if (!pids.length) break;
    for (const pid of pids) signal(pid, 'SIGKILL');
    const deadline = Date.now() + 500;
    while (Date.now() < deadline && pids.some(processAlive)) spawnSync('sleep', ['0.02']);
  }
  spawnSync(IP, ['netns', 'del', name], { timeout: 10_000 });
  // Gone with the namespace; only there if the namespace was never fully set up.
  spawnSync(IP, ['link', 'del', vethNames(name).host], { timeout: 10_000, stdio: 'ignore' });
}

/**
 * Deletes network namespaces (with their processes, target dir and sudoers file) left by earlier runs that were
 * killed before they could clean up: the dir is gone, or its owner process is.
 */
export function removeStaleNetns(): void {
  removeStaleBootedHosts();
  let names: string[];
  try {
    names = fs.readdirSync(NETNS_RUN_DIR);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = targetDirOf(name);
    const owner = readQuiet(path.join(dir, 'owner')).trim();
    const ownerAlive = owner === '' || owner === processStamp(Number(owner.split(' ')[0]));
    if (fs.existsSync(dir) && ownerAlive) continue;
    deleteNetnsSync(name);
    fs.rmSync(sudoersFileFor(dir), { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
