// The typed result of reading the action's inputs, and the error that lists every problem with them.
import type { KnownHostEntry } from '../host-key.js';

export type SudoMode = 'auto' | 'always' | 'never';
export type ReloadMode = 'auto' | 'systemctl' | 'service' | 'signal';
/** Who keeps the app running between deploys: nobody, a system unit, or a user unit of the deploy user. */
export type Supervisor = 'none' | 'systemd' | 'systemd-user';
/**
 * deploy: the jar, blue/green. rollback: a release already on the host, the same way, nothing uploaded.
 * status and preflight: read and report, change nothing.
 */
export type Mode = 'deploy' | 'rollback' | 'status' | 'preflight';
export const MODES = ['deploy', 'rollback', 'status', 'preflight'] as const;

/** The local jar: always for deploy; for preflight when given (its size is checked against the free space). */
export interface Jar {
  path: string;
  sha256: string;
  bytes: number;
}

export interface HostTarget {
  host: string;
  port: number;
}

/** A bastion the targets are reached through (OpenSSH's ProxyJump). */
export interface JumpHost extends HostTarget {
  username: string;
  privateKey: string;
  passphrase?: string;
  knownHosts: KnownHostEntry[];
  hostFingerprints: string[];
}

export interface Settings {
  mode: Mode;
  targets: HostTarget[];
  jump?: JumpHost;
  batchSize: number;
  username: string;
  privateKey: string;
  passphrase?: string;
  knownHosts: KnownHostEntry[];
  hostFingerprints: string[];
  strictHostKeyChecking: boolean;
  connectTimeoutMs: number;
  /** Deadline of a remote command beyond its own waits (RemoteCommand.waitMs). */
  commandTimeoutMs: number;

  /** Set for mode deploy (required), and for preflight when the input is given. */
  jar?: Jar;
  /**
   * deploy: the folder name to claim (always set: the input, or a generated one). rollback: the release to go
   * back to (undefined: the previous good one, from the host's history). Unused by status and preflight.
   */
  releaseId?: string;
  /** A failed batch rolls back the hosts this run already switched (mode deploy, several batches). */
  rollbackOnFailure: boolean;
  remoteDir: string;
  keepReleases: number;

  bluePort: number;
  greenPort: number;
  java: string;
  // The next five and healthPath are templates: `{port}`, `{port+N}`, `{port-N}`, `{color}` are replaced per
  // launch (src/placeholders.ts); readSettings checked them for both colours.
  javaOpts: string[];
  appArgs: string[];
  /** The words after the jar that give the app its port (port-arg; empty: none). */
  portArg: string[];
  env: [string, string][];
  secretEnv: [string, string][];

  healthPath: string;
  /** The port the health check asks, a template (health-port); undefined: the app's own port. */
  healthPort?: string;
  healthExpect: string;
  healthTimeoutMs: number;
  /** The longest one health request may take. */
  healthProbeTimeoutMs: number;
  healthIntervalMs: number;

  nginxInclude: string;
  nginxConfig?: string;
  /** Our upstream group's file (http { } context); default: beside the include. */
  nginxUpstreamFile?: string;
  /** How long the old app stays warm as nginx's backup after the switch; 0: no bake window. */
  bakeTimeMs: number;
  nginxReload: ReloadMode;
  verifyUrl?: string;
  sudo: SudoMode;

  drainTimeoutMs: number;
  stopTimeoutMs: number;
  awaitStop: boolean;
  lockTimeoutMs: number;

  supervisor: Supervisor;
  /** The template unit's name: `<serviceName>@<port>.service`. */
  serviceName: string;
}

/** Reads one input as the runner passes it (empty string when unset). */
export type InputReader = (name: string) => string;

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid inputs:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}
