// Hosts that boot: each in its own network, pid, mount, uts, ipc and cgroup namespaces, its root file system a
// copy-on-write overlay of the machine's own / (upper layer in its state dir; its own tmpfs on /tmp and /run), and
// systemd as PID 1 with sshd (ssh.service) and nginx as enabled services, the deploy user inside (created in the
// overlay only) with a narrow sudoers file, and ssh host keys of its own. For testing supervision by systemd
// (crash restart, reboot survival) and fleets. Must run as root; needs the systemd package (install-deps.sh).
//
//   const host = await bootHost({ user: 'deploy', linger: true });
//   await host.ssh('systemctl --user is-system-running'); await host.reboot(); await host.stop();
import fs from 'node:fs';
import path from 'node:path';
import { processStamp } from '../processes.js';
import { copyClientKey, fingerprint, keygen } from '../sshd.js';
import { BootedHost } from './host.js';
import { createLayout, layoutOf, newId, type Layout } from './layout.js';
import { createNetwork } from './network.js';
import { HOST_KEY_TYPES, prepareUpper, provision } from './rootfs.js';
import { destroySync, removeStaleBootedHosts } from './teardown.js';

export { BootedHost } from './host.js';
export { APP_DIR, NGINX_INCLUDE, NGINX_SITE, SUDOERS_FILE } from './provision.js';
export { removeStaleBootedHosts } from './teardown.js';

export interface BootOptions {
  /** Hostname (default host<N>). */
  name?: string;
  /** The login user the key is authorized for (default deploy). */
  user?: 'deploy' | 'root';
  /** Install /etc/sudoers.d/deploy with the README's line (default true; deploy only). */
  sudo?: boolean;
  /** Further sudoers lines for deploy (with sudo), e.g. systemctl rights. */
  sudoers?: string[];
  /** /var/lib/systemd/linger/deploy: deploy's user manager runs from boot on (default false). */
  linger?: boolean;
  /** Use this client key (e.g. one key for a whole fleet) instead of a new one. */
  privateKeyPath?: string;
  /** The port the nginx include names at first (default 8080). */
  includePort?: number;
}

const SYSTEMD = '/lib/systemd/systemd';
let hostCount = 0;

/** Boots a new host; resolves once systemd has started up and sshd (22) and nginx (80) answer. */
export async function bootHost(opts: BootOptions = {}): Promise<BootedHost> {
  if (process.getuid?.() !== 0) throw new Error('bootHost must run as root');
  if (!fs.existsSync(SYSTEMD))
    throw new Error(`no ${SYSTEMD}: run scripts/install-deps.sh (package systemd)`);
  removeStaleBootedHosts();
  hostCount += 1;
  const hostname = (opts.name ?? `host${hostCount}`)
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 63);
  const layout = layoutOf(newId());
  let host: BootedHost | null = null;
  try {
    createLayout(layout, processStamp());
    host = await buildHost(layout, hostname, opts);
    await host.boot();
    return host;
  } catch (error) {
    if (host) await host.stop();
    else destroySync(layout);
    throw error;
  }
}

async function buildHost(layout: Layout, hostname: string, opts: BootOptions): Promise<BootedHost> {
  const username = opts.user ?? 'deploy';
  const privateKeyPath = path.join(layout.state, 'client_key');
  const [net] = await Promise.all([
    createNetwork(layout.id),
    opts.privateKeyPath
      ? copyClientKey(opts.privateKeyPath, privateKeyPath)
      : keygen(privateKeyPath, 'ed25519'),
    prepareUpper(layout, hostname),
  ]);
  await provision(layout, {
    user: username,
    publicKey: fs.readFileSync(`${privateKeyPath}.pub`, 'utf8'),
    sudo: opts.sudo ?? true,
    sudoers: opts.sudoers ?? [],
    linger: opts.linger ?? false,
    includePort: opts.includePort ?? 8080,
  });
  const pub = (type: string) => path.join(layout.upper, `etc/ssh/ssh_host_${type}_key.pub`);
  const knownHosts = HOST_KEY_TYPES.map((t) => {
    const [type, b64] = fs.readFileSync(pub(t), 'utf8').trim().split(/\s+/);
    return `${net.address} ${type} ${b64}`;
  }).join('\n');
  const knownHostsPath = path.join(layout.state, 'known_hosts');
  fs.writeFileSync(knownHostsPath, `${knownHosts}\n`, { mode: 0o644 });
  return new BootedHost({
    layout,
    hostname,
    address: net.address,
    username,
    privateKey: fs.readFileSync(privateKeyPath, 'utf8'),
    privateKeyPath,
    knownHosts,
    knownHostsPath,
    hostKeyFingerprint: await fingerprint(pub('ed25519')),
  });
}
