// Types for harness.js (hand-written; the .js file is plain ESM).

export interface TargetOptions {
  /** Login user (default 'deploy'). */
  user?: 'deploy' | 'root';
  /** Install the narrow sudoers file for deploy (default true; ignored for root). */
  sudo?: boolean;
  /** sshd AllowTcpForwarding (default true). */
  tcpForwarding?: boolean;
  /** Port written into the initial include (default bluePort); null: an empty include file. */
  includePort?: number | null;
  /**
   * Run sshd and nginx (and so every app they start) in a network namespace of their own
   * (`ip netns`, named after dir), whose 127.0.0.1 is not the test's: the target's sshd, nginx and
   * apps are unreachable from the test process. The way in is `bastion`, a second sshd in the
   * namespace listening on a veth address the test can reach. get/getDirect/listening/ssh go
   * through `ip netns exec`. stop() deletes the namespace and the veth pair. Default false.
   */
  netns?: boolean;
  /**
   * Implies netns, without a bastion. Every isolated target looks the same from the outside: its sshd
   * listens on its veth address (`host`, 10.213.x.y, reachable from the test) on ISOLATED_PORTS.ssh,
   * nginx/blue/green use ISOLATED_PORTS inside the namespace, and sshd and nginx (so every app they
   * start) run in private mount namespaces where `<sharedRoot>/app` and `<sharedRoot>/nginx` are
   * bind mounts of the target's own dir/app and dir/nginx (a small tmpfs over the parent of
   * sharedRoot holds the mount points: nothing is created on the real file system). remoteDir,
   * nginxConfig, nginxInclude and sudoersLine name the common paths, identical for every isolated
   * target; localPath() maps them to where the test process sees them. Default false.
   */
  isolated?: boolean;
  /** Log in with this existing client key (copied; e.g. another target's privateKeyPath) instead of a new one. */
  privateKeyPath?: string;
  /** Isolated targets: the common root (default SHARED_ROOT); its parent must exist and not be `/`. */
  sharedRoot?: string;
}

/** Default common root of isolated targets: remote dir `<root>/app`, nginx files in `<root>/nginx`. */
export declare const SHARED_ROOT: string;
/** The ports every isolated target uses (inside its own network namespace). */
export declare const ISOLATED_PORTS: Readonly<{ ssh: number; nginx: number; blue: number; green: number }>;

/** The jump host of a netns target. */
export interface Bastion {
  /** The namespace side of the veth pair (10.213.x.y), reachable from the test. */
  readonly host: string;
  readonly sshPort: number;
  readonly username: 'jumper';
  /** OpenSSH private key text of jumper (ed25519, no passphrase). */
  readonly privateKey: string;
  readonly privateKeyPath: string;
  /** The known_hosts line `[host]:<sshPort> ssh-ed25519 <base64>` (ed25519 host key only). */
  readonly knownHosts: string;
  readonly knownHostsPath: string;
  /** `SHA256:...` of its ed25519 host key. */
  readonly hostKeyFingerprint: string;
  readonly sshdPid: number;
  /** dir/bastion */
  readonly dir: string;
  /** Its sshd's log (LogLevel VERBOSE). */
  readonly logFile: string;
  readLog(): string;
}

export interface ExecResult {
  /** Exit code; -1 when killed (timeout) or not started. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface HttpResult {
  /** HTTP status; 0 on a connection error/timeout (then body is the error message). */
  status: number;
  body: string;
}

export interface GetOptions {
  /** Whole-request timeout (default 5000 ms). */
  timeoutMs?: number;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

export interface ProcInfo {
  pid: number;
  /** /proc/PID/cmdline with NULs turned into spaces. */
  cmdline: string;
}

export interface HostKeyFingerprints {
  /** As `ssh-keygen -lf` prints them: `SHA256:...` */
  ed25519: string;
  ecdsa: string;
  rsa: string;
}

export interface Target {
  /** The target's own /tmp/bgd-target-XXXXXX directory (mode 755). */
  readonly dir: string;
  /** '127.0.0.1'; for isolated targets the namespace side of its veth pair (10.213.x.y). */
  readonly host: string;
  readonly sshPort: number;
  readonly username: 'deploy' | 'root';
  /** OpenSSH private key text (ed25519, no passphrase). */
  readonly privateKey: string;
  readonly privateKeyPath: string;
  /** known_hosts lines `[127.0.0.1]:<sshPort> <type> <base64>` for ed25519, ecdsa and rsa, newline-joined. */
  readonly knownHosts: string;
  /** File holding knownHosts (used by ssh()). */
  readonly knownHostsPath: string;
  readonly hostKeyFingerprints: HostKeyFingerprints;
  /** dir/app, owned by the login user. */
  readonly remoteDir: string;
  readonly bluePort: number;
  readonly greenPort: number;
  readonly nginxPort: number;
  /** dir/nginx/nginx.conf (root-owned). */
  readonly nginxConfig: string;
  /** dir/nginx/service-url.inc (root-owned, 644): `set $service_url http://127.0.0.1:<port>;` */
  readonly nginxInclude: string;
  /** Absolute nginx path as `command -v nginx` gives it (the one in the sudoers line). */
  readonly nginxBin: string;
  /** 'http://127.0.0.1:' + nginxPort */
  readonly nginxUrl: string;
  /** The sudoers line for deploy (computed even when it was not installed). */
  readonly sudoersLine: string;
  /** /etc/sudoers.d/bgd-<basename of dir> when installed, else null. */
  readonly sudoersFile: string | null;
  readonly sshdPid: number;
  readonly nginxPid: number;
  /** The network namespace's name (netns targets), else null. */
  readonly netns: string | null;
  /** The only way in to a netns target (not isolated ones), else null. */
  readonly bastion: Bastion | null;
  /** Isolated targets: the common root, else null. */
  readonly sharedRoot: string | null;
  /** Where a path as the target's processes see it lives for the test process (isolated: <sharedRoot>/x is <dir>/x). */
  localPath(p: string): string;

  /** GET through nginx on a new connection; never throws. */
  get(path: string, opts?: GetOptions): Promise<HttpResult>;
  /** GET straight to 127.0.0.1:port on a new connection; never throws. */
  getDirect(port: number, path: string, opts?: GetOptions): Promise<HttpResult>;
  /** Text of the include file. */
  readInclude(): string;
  /** Test helper (as root): rewrite the include for port (null: empty) and reload nginx. */
  setIncludePort(port: number | null): Promise<void>;
  /** Test helper (as root): validate + `nginx -s reload`, then wait until the old workers exited. */
  reloadNginx(): Promise<void>;
  /** Live processes whose cmdline contains dir (or whose cwd is inside dir), except sshd/nginx (and the harness's own ssh clients). */
  appProcesses(): ProcInfo[];
  /** True when some socket is in LISTEN state on that TCP port (/proc/net/tcp{,6}). */
  listening(port: number): boolean;
  /** Options for the system ssh/scp clients: this target's key and known_hosts only, strict, non-interactive. */
  sshClientOptions(): string[];
  /** Runs a command as the login user with the system ssh client (strict host key checking). */
  ssh(command: string, opts?: { timeoutMs?: number; input?: string }): Promise<ExecResult>;
  /** Kills everything the target started, removes the sudoers file and dir. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a fresh, isolated target (sshd + nginx + sudoers + app dir) on 127.0.0.1. Needs root. */
export declare function startTarget(opts?: TargetOptions): Promise<Target>;

/** HTTP GET to 127.0.0.1:port on a new connection; never throws. */
export declare function httpGet(port: number, path: string, opts?: GetOptions): Promise<HttpResult>;

/** True when a socket is in LISTEN state on that TCP port. */
export declare function isListening(port: number): boolean;

/** True when the process exists and is not a zombie. */
export declare function processAlive(pid: number): boolean;
