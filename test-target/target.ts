// A real, isolated deploy target: its own sshd (port, host keys, authorized keys), its own nginx (proxying
// through an include file that names the live port), a narrow sudoers entry for the `deploy` user and an app
// directory, all under a fresh /tmp/bgd-target-XXXXXX torn down by stop(). startTarget() (start-target.ts)
// builds one; this is what the tests hold. With a network namespace (netns, isolated) sshd and nginx, and so
// every app they start, run in it; see netns.ts.
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Bastion } from './bastion.js';
import { exec, runTracked, type Daemon, type ExecResult } from './exec.js';
import { forget, killOnExit } from './exit-cleanup.js';
import { httpGet, httpGetVia, type GetOptions, type HttpResult } from './http.js';
import { includeText, NGINX, nginxFiles, reloadNginx, routedPort, type NginxLayout } from './nginx.js';
import { isolatedCommand, type Argv, type NetNamespace } from './netns.js';
import { isListening, readConnections, releasePorts, ssArgs } from './ports.js';
import { cwdOf, descendants, listProcesses, netnsOf, signal, terminate, type ProcInfo } from './processes.js';
import { sshClientOptions, type HostKeyType } from './sshd.js';
import { waitUntil } from './wait.js';

/** The host keys' fingerprints as `ssh-keygen -lf` prints them: `SHA256:...` */
export type HostKeyFingerprints = Record<HostKeyType, string>;

export interface TargetPlace {
  dir: string;
  username: 'deploy' | 'root';
  ports: { ssh: number; nginx: number; blue: number; green: number };
  netns: NetNamespace | null;
  /** Isolated targets: the common root every isolated target sees (its own dir bind-mounted there). */
  sharedRoot: string | null;
  reserved: number[]; // ports reserved for this target (freePorts), given back by stop()
  nginxLayout?: NginxLayout; // how nginx routes to the app (default 'set')
}

const isUnder = (p: string, dir: string) => p === dir || p.startsWith(dir + '/');

export class Target {
  /** The target's own /tmp/bgd-target-XXXXXX directory (mode 755). */
  readonly dir: string;
  /** '127.0.0.1'; for isolated targets the namespace side of its veth pair (10.213.x.y). */
  readonly host: string;
  readonly username: 'deploy' | 'root';
  readonly sshPort: number;
  readonly nginxPort: number;
  readonly bluePort: number;
  readonly greenPort: number;
  /** 'http://127.0.0.1:' + nginxPort */
  readonly nginxUrl: string;
  /** dir/app (isolated: <sharedRoot>/app), owned by the login user. */
  readonly remoteDir: string;
  readonly nginxDir: string; // dir/nginx as the test sees it
  /** <nginx dir>/nginx.conf (root-owned), as the target's processes see it. */
  readonly nginxConfig: string;
  /** <nginx dir>/service-url.inc (root's, 644): `set $service_url http://127.0.0.1:<port>;` (see nginxLayout) */
  readonly nginxInclude: string;
  readonly nginxIncludeFile: string; // the file nginxInclude is or links to: the one a deploy writes
  readonly nginxLayout: NginxLayout;
  readonly nginxUpstreamFile: string; // the action's upstream group (bake window), loaded in http { }
  readonly privateKeyPath: string;
  readonly knownHostsPath: string; // the file holding knownHosts (used by ssh())
  /** The network namespace, for netns and isolated targets. */
  readonly namespace: NetNamespace | null;
  readonly sharedRoot: string | null;

  // Filled in while the target starts (start-target.ts).
  /** OpenSSH private key text (ed25519, no passphrase). */
  privateKey = '';
  /** known_hosts lines `[host]:<sshPort> <type> <base64>` for ed25519, ecdsa and rsa, newline-joined. */
  knownHosts = '';
  hostKeyFingerprints: HostKeyFingerprints = { ed25519: '', ecdsa: '', rsa: '' };
  /** Absolute nginx path as `command -v nginx` gives it (the one in the sudoers line). */
  nginxBin = NGINX;
  /** The sudoers line for deploy (computed even when it was not installed). */
  sudoersLine = '';
  /** /etc/sudoers.d/bgd-<basename of dir> when installed, else null. */
  sudoersFile: string | null = null;
  sshd: Daemon | null = null;
  nginx: Daemon | null = null;
  /** The only way in to a netns target (not isolated ones), else null. */
  bastion: Bastion | null = null;

  /** PIDs of the harness's own ssh clients (not app processes). */
  private readonly clientPids = new Set<number>();
  private readonly reserved: number[];
  private stopping: Promise<void> | null = null;

  constructor(place: TargetPlace) {
    const { dir, ports, sharedRoot } = place;
    this.dir = dir;
    this.username = place.username;
    this.namespace = place.netns;
    this.sharedRoot = sharedRoot;
    this.reserved = place.reserved;
    [this.sshPort, this.nginxPort, this.bluePort, this.greenPort] = [
      ports.ssh,
      ports.nginx,
      ports.blue,
      ports.green,
    ];
    // Isolated targets are reached directly on their veth address, and see their own dir at the common paths.
    this.host = sharedRoot && place.netns ? place.netns.net.nsAddr : '127.0.0.1';
    const root = sharedRoot ?? dir;
    this.remoteDir = path.join(root, 'app');
    this.nginxDir = path.join(dir, 'nginx');
    this.nginxConfig = path.join(root, 'nginx', 'nginx.conf');
    this.nginxLayout = place.nginxLayout ?? 'set';
    [this.nginxInclude, this.nginxIncludeFile, this.nginxUpstreamFile] = nginxFiles(root, this.nginxLayout);
    this.nginxUrl = `http://127.0.0.1:${this.nginxPort}`;
    this.privateKeyPath = path.join(dir, 'client_key');
    this.knownHostsPath = path.join(dir, 'known_hosts');
    killOnExit(this);
  }

  /** The network namespace's name (netns targets), else null. */
  get netns(): string | null {
    return this.namespace?.name ?? null;
  }

  get sshdPid(): number {
    return this.sshd?.pid ?? 0;
  }

  get nginxPid(): number {
    return this.nginx?.pid ?? 0;
  }

  /** Where a path the target's processes see lives for the test (isolated: <sharedRoot>/x is <dir>/x). */
  localPath(p: string): string {
    if (this.sharedRoot && isUnder(p, this.sharedRoot)) return this.dir + p.slice(this.sharedRoot.length);
    return p;
  }

  /** argv that runs file where the target's servers run (its namespaces), or as is. */
  nsCommand(file: string, args: string[]): Argv {
    if (this.namespace && this.sharedRoot)
      return isolatedCommand(this.namespace, this.sharedRoot, this.dir, file, args);
    return this.namespace ? this.namespace.command(file, args) : [file, args];
  }

  /** GET through nginx on a new connection; never throws. */
  get(urlPath: string, opts?: GetOptions): Promise<HttpResult> {
    return this.getDirect(this.nginxPort, urlPath, opts);
  }

  /** GET straight to 127.0.0.1:port (the namespace's, for netns targets) on a new connection; never throws. */
  getDirect(port: number, urlPath: string, opts: GetOptions = {}): Promise<HttpResult> {
    const ns = this.namespace;
    return ns ? httpGetVia((f, a) => ns.command(f, a), port, urlPath, opts) : httpGet(port, urlPath, opts);
  }

  /** Text of the include file (through its link). */
  readInclude(): string {
    return fs.readFileSync(this.localPath(this.nginxInclude), 'utf8');
  }

  /** The port the include names (directly, its upstream block's, or our group's first server), or null. */
  includePort(): number | null {
    const group = this.localPath(this.nginxUpstreamFile);
    return routedPort(this.readInclude(), () => fs.readFileSync(group, 'utf8'));
  }

  /** Test helper (as root): rewrites the include for port (null: empty) and reloads nginx. */
  async setIncludePort(port: number | null): Promise<void> {
    const include = this.localPath(this.nginxInclude);
    fs.writeFileSync(include, includeText(port, this.nginxLayout, this.nginxPort));
    fs.chmodSync(include, 0o644);
    await this.reloadNginx();
  }

  /** Test helper (as root): validate, `nginx -s reload`, then wait until the old workers have exited. */
  reloadNginx(): Promise<void> {
    return reloadNginx(this.nginxPid, this.nginxConfig, (f, a) => this.nsCommand(f, a));
  }

  /** Live processes naming this target's dir (or working in it), but sshd, nginx and the harness's ssh clients;
   * isolated targets: only those in this target's network namespace (they all name the common paths). */
  appProcesses(): ProcInfo[] {
    const own = new Set([
      this.sshdPid,
      this.nginxPid,
      this.bastion?.sshdPid ?? 0,
      process.pid,
      ...this.clientPids,
    ]);
    const nsLink = this.sharedRoot && this.namespace ? this.namespace.link() : '';
    if (this.sharedRoot && !nsLink) return []; // namespace gone: nothing of ours can run
    const roots = [this.dir, ...(nsLink && this.sharedRoot ? [this.sharedRoot] : [])];
    return listProcesses()
      .filter((p) => !own.has(p.pid))
      .filter((p) => !nsLink || netnsOf(p.pid) === nsLink)
      .filter((p) => roots.some((r) => p.cmdline.includes(r) || isUnder(cwdOf(p.pid), r)))
      .filter((p) => {
        const argv0 = p.argv[0] ?? '';
        return path.basename(argv0) !== 'sshd' && !argv0.startsWith('sshd:') && !argv0.startsWith('nginx:');
      })
      .map((p) => ({ pid: p.pid, cmdline: p.cmdline }));
  }

  /** The app processes whose command line ends in `--server.port=<port>` (or has it followed by more args). */
  appsOn(port: number): ProcInfo[] {
    const arg = `--server.port=${port}`;
    return this.appProcesses().filter((p) => p.cmdline.includes(`${arg} `) || p.cmdline.endsWith(arg));
  }

  /** True when some socket is in LISTEN state on that TCP port (in the target's namespace). */
  listening(port: number): boolean {
    return this.namespace ? this.namespace.listening(port) : isListening(port);
  }

  /**
   * How many connections to 127.0.0.1:port (in the target's namespace) carry a request the server has read and not
   * yet answered in full: resolves once that is at least n. For "a request is in flight at the app".
   */
  async requestsInFlight(port: number, n = 1, timeoutMs = 10_000): Promise<void> {
    const [file, args] = this.namespace ? this.namespace.command('ss', ssArgs(port)) : ['ss', ssArgs(port)];
    await waitUntil(
      `${n} request(s) read by the server on port ${port}`,
      async () => readConnections((await exec(file, args)).stdout) >= n,
      { timeoutMs },
    );
  }

  /** Options for the system ssh/scp clients: this target's key and known_hosts only, strict, non-interactive. */
  sshClientOptions(): string[] {
    return sshClientOptions(this.privateKeyPath, this.knownHostsPath);
  }

  /** Runs a command as the login user with the system ssh client (strict host key checking). */
  ssh(command: string, opts: { timeoutMs?: number; input?: string } = {}): Promise<ExecResult> {
    const login = `${this.username}@${this.host}`;
    const args = [
      ...this.sshClientOptions(),
      '-p',
      String(this.sshPort),
      '-o',
      'ConnectTimeout=10',
      login,
      command,
    ];
    // An isolated target's sshd listens on its veth address, reachable from here.
    const [file, argv] = this.sharedRoot ? ['ssh', args] : this.nsCommand('ssh', args);
    return runTracked(file, argv, opts, this.clientPids);
  }

  /** Stops everything the target started and removes its files. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    try {
      // the deployed apps (and anything else started under dir), nginx (graceful quit), the sshds and sessions
      await terminate(this.appPids(), 'SIGTERM', 3000);
      if (this.nginxPid) {
        const workers = descendants(this.nginxPid);
        await terminate([this.nginxPid], 'SIGQUIT', 5000);
        await terminate(workers, 'SIGKILL', 0);
      }
      for (const pid of [this.sshdPid, this.bastion?.sshdPid ?? 0].filter((p) => p > 0)) {
        const sessions = descendants(pid);
        await terminate([pid], 'SIGTERM', 3000);
        await terminate(sessions, 'SIGTERM', 2000);
      }
      await terminate(this.appPids(), 'SIGKILL', 0); // anything that appeared meanwhile
    } finally {
      this.removeFiles();
      await fsp.rm(this.dir, { recursive: true, force: true });
      forget(this);
      releasePorts(this.reserved);
    }
  }

  private appPids(): number[] {
    return this.appProcesses().map((p) => p.pid);
  }

  /** The namespace and the sudoers file (synchronous, so that it also works on process exit). */
  private removeFiles(): void {
    this.namespace?.delete();
    if (this.sudoersFile) fs.rmSync(this.sudoersFile, { force: true });
  }

  /** Leaves the target running when this process exits (`npm run demo -- --keep`); stop() still stops it. */
  keepAfterExit(): void {
    forget(this);
  }

  /** Synchronous best-effort teardown when the process exits with the target still running. */
  killOnExit(): void {
    try {
      const procs = listProcesses();
      const daemons = [this.nginxPid, this.sshdPid, this.bastion?.sshdPid ?? 0].filter((p) => p > 0);
      const pids = [...this.appPids(), ...daemons.flatMap((pid) => [pid, ...descendants(pid, procs)])];
      for (const pid of pids) signal(pid, 'SIGKILL');
      this.removeFiles();
      fs.rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
}
