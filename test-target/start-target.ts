// startTarget(): builds a Target (target.ts) step by step: dir, ports, namespace, keys, users, sudoers, sshd,
// nginx and, for netns targets, the bastion. Must run as root. A failed start stops what it had started.
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { startBastion } from './bastion.js';
import { which } from './exec.js';
import { DIR_PREFIX, TMP_ROOT } from './naming.js';
import { startNginx, type NginxLayout } from './nginx.js';
import { NetNamespace, removeStaleNetns } from './netns.js';
import { freePorts, releasePorts } from './ports.js';
import {
  authorize,
  copyClientKey,
  fingerprint,
  keygen,
  knownHostsLine,
  startSshd,
  type HostKeyType,
} from './sshd.js';
import { Target } from './target.js';
import { ensureUser, installSudoers, removeStaleSudoers, type Account } from './users.js';

/** Isolated targets: the common paths (remote dir = <root>/app, nginx files in <root>/nginx) ... */
export const SHARED_ROOT = '/srv/bgd-multi';
/** ... and the same ports on every isolated target (each in its own network namespace, so no clash). */
export const ISOLATED_PORTS = Object.freeze({ ssh: 2222, nginx: 8080, blue: 9001, green: 9002 });

export interface TargetOptions {
  /** Login user (default 'deploy'). */
  user?: 'deploy' | 'root';
  /** Install the narrow sudoers file for deploy (default true; ignored for root). */
  sudo?: boolean;
  /** sshd AllowTcpForwarding (default true). */
  tcpForwarding?: boolean;
  /** sshd's sftp subsystem (default internal-sftp); an external server runs through the login shell. */
  sftpSubsystem?: string;
  /** Port written into the initial include (default bluePort); null: an empty include file. */
  includePort?: number | null;
  /** How nginx routes to the app (test-target/nginx.ts; default 'set'). */
  nginxLayout?: NginxLayout;
  /**
   * Run sshd and nginx (and so every app they start) in a network namespace of their own, whose 127.0.0.1 is
   * not the test's. The way in is `bastion`, a second sshd in the namespace listening on a veth address the test
   * can reach. get/getDirect/listening/ssh go through `ip netns exec`. Default false.
   */
  netns?: boolean;
  /**
   * Implies netns, without a bastion. Every isolated target looks the same from the outside: its sshd listens on
   * its veth address (`host`) on ISOLATED_PORTS.ssh, nginx/blue/green use ISOLATED_PORTS inside the namespace,
   * and sshd and nginx run in private mount namespaces where `<sharedRoot>/app` and `<sharedRoot>/nginx` are
   * bind mounts of the target's own dir/app and dir/nginx. localPath() maps the common paths to where the test
   * sees them. Default false.
   */
  isolated?: boolean;
  /** Log in with this existing client key (copied; e.g. another target's privateKeyPath) instead of a new one. */
  privateKeyPath?: string;
  /** Isolated targets: the common root (default SHARED_ROOT); its parent must exist and not be `/`. */
  sharedRoot?: string;
}

const HOST_KEY_TYPES: HostKeyType[] = ['ed25519', 'ecdsa', 'rsa'];

/** Starts a fresh target (sshd + nginx + sudoers + app dir) on 127.0.0.1 or in namespaces of its own. */
export async function startTarget(opts: TargetOptions = {}): Promise<Target> {
  if (process.getuid?.() !== 0) throw new Error('startTarget must run as root');
  const username = opts.user ?? 'deploy';
  const isolated = opts.isolated ?? false;
  const netns = (opts.netns ?? false) || isolated;
  const sharedRoot = isolated ? checkedSharedRoot(opts.sharedRoot ?? SHARED_ROOT) : null;

  removeStaleSudoers();
  if (netns) removeStaleNetns();
  const dir = await fsp.mkdtemp(path.join(TMP_ROOT, DIR_PREFIX));
  fs.chmodSync(dir, 0o755);
  let target: Target | null = null;
  let ns: NetNamespace | null = null;
  const ports = isolated ? [] : await freePorts(netns ? 5 : 4);
  try {
    const [ssh, nginx, blue, green, bastionPort] = isolated
      ? [ISOLATED_PORTS.ssh, ISOLATED_PORTS.nginx, ISOLATED_PORTS.blue, ISOLATED_PORTS.green]
      : ports;
    ns = netns ? await NetNamespace.create(dir) : null;
    target = new Target({
      dir,
      username,
      ports: { ssh, nginx, blue, green },
      netns: ns,
      sharedRoot,
      reserved: ports,
      nginxLayout: opts.nginxLayout,
    });
    await setUp(target, opts, netns && !isolated ? bastionPort : null);
    return target;
  } catch (err) {
    if (target) await target.stop().catch(() => undefined);
    else {
      ns?.delete();
      releasePorts(ports);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    throw err;
  }
}

function checkedSharedRoot(root: string): string {
  const resolved = path.resolve(root);
  if (path.dirname(resolved) === '/' || !fs.existsSync(path.dirname(resolved))) {
    throw new Error(`sharedRoot ${resolved}: its parent must be an existing directory other than /`);
  }
  return resolved;
}

async function setUp(t: Target, opts: TargetOptions, bastionPort: number | null): Promise<void> {
  const [account, tools] = await Promise.all([
    ensureUser('deploy').then((deploy) => (t.username === 'root' ? ensureUser('root') : deploy)),
    Promise.all(['nginx', 'tee', 'mv', 'rm', 'chmod'].map(which)),
    opts.privateKeyPath
      ? copyClientKey(opts.privateKeyPath, t.privateKeyPath)
      : keygen(t.privateKeyPath, 'ed25519'),
    ...HOST_KEY_TYPES.map((type) => keygen(path.join(t.dir, `ssh_host_${type}_key`), type)),
  ]);
  const [nginxPath, tee, mv, rm, chmod] = tools;
  t.nginxBin = nginxPath;
  // A symlinked include: the rights name the file it points to, which is what a deploy writes.
  const [I, C, U] = [t.nginxIncludeFile, t.nginxConfig, t.nginxUpstreamFile];
  const write = (f: string) =>
    `${tee} ${f}.tmp, ${chmod} 644 ${f}.tmp, ${mv} -f ${f}.tmp ${f}, ${rm} -f ${f}.tmp, ${rm} -f ${f}`;
  t.sudoersLine =
    `deploy ALL=(root) NOPASSWD: ${nginxPath} -c ${C} -t, ${nginxPath} -c ${C} -T, ${nginxPath} -c ${C} -s reload, ` +
    `${write(I)}, ${write(U)}`;
  t.privateKey = fs.readFileSync(t.privateKeyPath, 'utf8');
  authorize(t.dir, t.username, t.privateKeyPath, account);
  await writeHostKeys(t);
  createAppDir(t, account);

  const wantSudo = t.username === 'deploy' && (opts.sudo ?? true);
  const wrap = (file: string, args: string[]) => t.nsCommand(file, args);
  const up = t.namespace ? (port: number) => Promise.resolve(t.listening(port)) : undefined;
  await Promise.all([
    startSshd({
      dir: t.dir,
      listen: t.host,
      port: t.sshPort,
      hostKeyTypes: HOST_KEY_TYPES,
      options: targetSshdOptions(t.username, opts.tcpForwarding ?? true, opts.sftpSubsystem),
      wrap,
      up,
    }).then((d) => (t.sshd = d)),
    startNginx({
      dir: path.dirname(t.nginxConfig),
      localDir: t.nginxDir,
      port: t.nginxPort,
      include: t.nginxInclude,
      includePort: opts.includePort === undefined ? t.bluePort : opts.includePort,
      layout: t.nginxLayout,
      wrap,
      up,
    }).then((d) => (t.nginx = d)),
    wantSudo ? installSudoers(t.dir, t.sudoersLine, t.nginxConfig).then((f) => (t.sudoersFile = f)) : null,
    t.namespace && bastionPort !== null
      ? startBastion(t, t.namespace, bastionPort).then((b) => (t.bastion = b.bastion))
      : null,
  ]);
}

function targetSshdOptions(user: string, tcpForwarding: boolean, sftp = 'internal-sftp'): string[] {
  return [
    'PermitRootLogin prohibit-password',
    `AllowUsers ${user}`,
    `AllowTcpForwarding ${tcpForwarding ? 'yes' : 'no'}`,
    `Subsystem sftp ${sftp}`,
    'MaxSessions 50',
    'LogLevel VERBOSE',
  ];
}

/** known_hosts lines and fingerprints of the target's three host keys. */
async function writeHostKeys(t: Target): Promise<void> {
  const pub = (type: HostKeyType) => path.join(t.dir, `ssh_host_${type}_key.pub`);
  t.knownHosts = HOST_KEY_TYPES.map((type) => knownHostsLine(pub(type), t.host, t.sshPort)).join('\n') + '\n';
  fs.writeFileSync(t.knownHostsPath, t.knownHosts, { mode: 0o644 });
  const [ed25519, ecdsa, rsa] = await Promise.all(HOST_KEY_TYPES.map((type) => fingerprint(pub(type))));
  t.hostKeyFingerprints = { ed25519, ecdsa, rsa };
}

function createAppDir(t: Target, owner: Account): void {
  const local = t.localPath(t.remoteDir);
  fs.mkdirSync(local, { mode: 0o755 });
  fs.chmodSync(local, 0o755);
  fs.chownSync(local, owner.uid, owner.gid);
}
