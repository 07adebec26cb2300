// A booted host (see index.ts): what the tests hold. Programs run inside it through nsenter into its namespaces
// (its root is the pivoted overlay), the test reaches sshd and nginx over its veth address, reboot() kills its
// PID 1 from outside and boots again on the same overlay, stop() removes everything.
import { exec, runTracked, SYS_PATH, type ExecResult } from '../exec.js';
import { forget, killOnExit } from '../exit-cleanup.js';
import type { GetOptions, HttpResult } from '../http.js';
import { processAlive } from '../processes.js';
import { sshClientOptions } from '../sshd.js';
import { waitUntil } from '../wait.js';
import type { Layout } from './layout.js';
import { consoleTail, killHost, launch, type Launched } from './launch.js';
import { httpGetAt, sshBanner } from './probe.js';
import { destroySync } from './teardown.js';

export interface HostIdentity {
  layout: Layout;
  hostname: string;
  address: string;
  username: 'deploy' | 'root';
  privateKey: string;
  privateKeyPath: string;
  knownHosts: string;
  knownHostsPath: string;
  hostKeyFingerprint: string;
}

export interface HostExecOptions {
  input?: string;
  /** Killed after this long (default 30 000 ms). */
  timeoutMs?: number;
}

const BOOT_TIMEOUT_MS = 30_000;
const ENV = ['PATH=' + SYS_PATH, 'HOME=/root', 'LANG=C.UTF-8', 'TERM=dumb'];

export class BootedHost {
  /** bgd-booted-<pid>-<n>: its network namespace, state dir and cgroup. */
  readonly id: string;
  readonly hostname: string;
  /** The host's side of its veth pair (10.214.x.y): sshd on 22, nginx on 80. */
  readonly address: string;
  readonly username: 'deploy' | 'root';
  /** OpenSSH private key text of the login user's key (ed25519, no passphrase) and its file. */
  readonly privateKey: string;
  readonly privateKeyPath: string;
  /** known_hosts lines `<address> <type> <base64>` of the host's own host keys (ed25519, ecdsa, rsa). */
  readonly knownHosts: string;
  readonly knownHostsPath: string;
  /** `SHA256:...` of its ed25519 host key. */
  readonly hostKeyFingerprint: string;
  /** Where the host keeps its overlay's upper layer, console.log, keys (on the machine). */
  readonly stateDir: string;
  /** Its cgroup on the machine (the root of its cgroup namespace). */
  readonly cgroupDir: string;
  /** PID 1 of the current boot, as the machine numbers it (0 when down). */
  pid1 = 0;
  /** How long the last boot took, until sshd and nginx answered. */
  bootMs = 0;
  /** `systemctl is-system-running` at the end of the last boot: running, or degraded. */
  bootState = '';

  private readonly layout: Layout;
  private launched: Launched | null = null;
  private stopping: Promise<void> | null = null;
  private readonly clientPids = new Set<number>();

  constructor(identity: HostIdentity) {
    this.layout = identity.layout;
    this.id = identity.layout.id;
    this.stateDir = identity.layout.state;
    this.cgroupDir = identity.layout.cgroup;
    this.hostname = identity.hostname;
    this.address = identity.address;
    this.username = identity.username;
    this.privateKey = identity.privateKey;
    this.privateKeyPath = identity.privateKeyPath;
    this.knownHosts = identity.knownHosts;
    this.knownHostsPath = identity.knownHostsPath;
    this.hostKeyFingerprint = identity.hostKeyFingerprint;
    killOnExit(this);
  }

  /** Runs argv inside the host (all its namespaces, its root), as root, with a clean environment. */
  exec(argv: string[], opts: HostExecOptions = {}): Promise<ExecResult> {
    if (!this.pid1)
      return Promise.resolve({ code: -1, stdout: '', stderr: `host ${this.id} is not running` });
    const ns = ['-t', String(this.pid1), '-m', '-u', '-i', '-n', '-p', '-C', '-r', '-w'];
    return exec('nsenter', [...ns, '--', 'env', '-i', ...ENV, ...argv], {
      input: opts.input,
      timeoutMs: opts.timeoutMs ?? 30_000,
    });
  }

  /** Like exec, but throws (with the output) unless the command exits 0. */
  async execOk(argv: string[], opts: HostExecOptions = {}): Promise<ExecResult> {
    const r = await this.exec(argv, opts);
    if (r.code !== 0) {
      throw new Error(
        `[${this.id}] ${argv.join(' ')} exited with ${r.code}\n${r.stdout}${r.stderr}`.trimEnd(),
      );
    }
    return r;
  }

  /** `systemctl ARGS` in the host (never throws: look at code). */
  systemctl(...args: string[]): Promise<ExecResult> {
    return this.exec(['systemctl', '--no-pager', ...args]);
  }

  /** `systemctl --user ARGS` as user (default deploy), whose user manager must run (linger or a session). */
  async userSystemctl(user: string, ...args: string[]): Promise<ExecResult> {
    const uid = (await this.execOk(['id', '-u', user])).stdout.trim();
    const env = ['env', `XDG_RUNTIME_DIR=/run/user/${uid}`];
    return this.exec(['runuser', '-u', user, '--', ...env, 'systemctl', '--user', '--no-pager', ...args]);
  }

  /** A file's text as the host sees it (read in the host, so its symlinks resolve there). */
  async readFile(p: string): Promise<string> {
    return (await this.execOk(['cat', '--', p])).stdout;
  }

  /** Writes a file in the host (root-owned unless owner is given, e.g. 'deploy:deploy'); creates its dir. */
  async writeFile(p: string, text: string, opts: { mode?: string; owner?: string } = {}): Promise<void> {
    const script =
      'set -e; mkdir -p -- "$(dirname -- "$1")"; cat > "$1"; chmod "$2" -- "$1"; ' +
      '[ -z "$3" ] || chown "$3" -- "$1"';
    await this.execOk(['sh', '-c', script, 'sh', p, opts.mode ?? '644', opts.owner ?? ''], { input: text });
  }

  /** GET through the host's nginx (address:80) from the test process; never throws. */
  get(urlPath: string, opts?: GetOptions): Promise<HttpResult> {
    return httpGetAt(this.address, 80, urlPath, opts);
  }

  /** Runs a command over SSH as the login user with the system ssh client (host key verified). */
  ssh(command: string, opts: { timeoutMs?: number; input?: string } = {}): Promise<ExecResult> {
    const args = [...this.sshClientOptions(), '-o', 'ConnectTimeout=10', `${this.username}@${this.address}`];
    return runTracked('ssh', [...args, command], opts, this.clientPids);
  }

  /** Options for the system ssh/scp clients: this host's key and known_hosts only, strict, non-interactive. */
  sshClientOptions(): string[] {
    return sshClientOptions(this.privateKeyPath, this.knownHostsPath);
  }

  /** The last lines the host's systemd wrote on its console (boot status, errors). */
  consoleTail(lines = 40): string {
    return consoleTail(this.layout, lines);
  }

  /** Boots systemd on the overlay; resolves once it has finished starting up and sshd and nginx answer. */
  async boot(): Promise<void> {
    if (this.launched) throw new Error(`host ${this.id} is already running`);
    const started = Date.now();
    this.launched = await launch(this.layout);
    this.pid1 = this.launched.pid1;
    try {
      await this.waitBooted();
    } catch (error) {
      const failed = await this.systemctl('--failed', '--plain', '--no-legend');
      const detail = `failed units:\n${failed.stdout}\nconsole:\n${this.consoleTail()}`;
      throw new Error(`[${this.id}] boot failed: ${(error as Error).message}\n${detail}`, { cause: error });
    }
    this.bootMs = Date.now() - started;
  }

  private async waitBooted(): Promise<void> {
    const pid1 = this.pid1;
    await waitUntil(
      () => `systemd to finish starting up (PID 1 ${processAlive(pid1) ? 'runs' : 'has exited'})`,
      async () => {
        if (!processAlive(pid1)) throw new Error(`the host's PID 1 (${pid1}) exited while booting`);
        const r = await this.exec(['systemctl', 'is-system-running', '--wait'], {
          timeoutMs: BOOT_TIMEOUT_MS,
        });
        this.bootState = r.stdout.trim();
        return ['running', 'degraded'].includes(this.bootState);
      },
      { timeoutMs: BOOT_TIMEOUT_MS, intervalMs: 50 },
    );
    await waitUntil(`sshd on ${this.address}:22`, () => sshBanner(this.address), { timeoutMs: 10_000 });
    await waitUntil(`nginx on ${this.address}:80`, async () => (await this.get('/')).status > 0, {
      timeoutMs: 10_000,
    });
  }

  /** SIGKILLs PID 1 from outside (the whole host dies at once), waits until nothing of it runs, boots again. */
  async reboot(): Promise<void> {
    await this.halt();
    await this.boot();
  }

  /** Kills the running host (PID 1 and so its pid namespace, then its cgroup), keeping its overlay. */
  private async halt(): Promise<void> {
    const launched = this.launched;
    if (!launched) return;
    await killHost(this.layout.cgroup, launched.pid1);
    await launched.closed;
    this.launched = null;
    this.pid1 = 0;
  }

  /** Kills the host and removes its network, cgroup and state dir (the overlay with it). Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    try {
      await this.halt();
    } finally {
      destroySync(this.layout);
      forget(this);
    }
  }

  /** Synchronous best-effort teardown when the test process exits with the host still running. */
  killOnExit(): void {
    try {
      destroySync(this.layout);
    } catch {
      // best effort
    }
  }
}
