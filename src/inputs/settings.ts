// The typed result of reading the action's inputs, and the error that lists every problem with them.
import type { KnownHostEntry } from '../host-key.js';

export type SudoMode = 'auto' | 'always' | 'never';
export type ReloadMode = 'auto' | 'systemctl' | 'service' | 'signal';
/** Who keeps the app running between deploys: nobody, a system unit, or a user unit of the deploy user. */
export type Supervisor = 'none' | 'systemd' | 'systemd-user';

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

  jarPath: string;
  jarSha256: string;
  releaseId: string;
  remoteDir: string;
  keepReleases: number;

  bluePort: number;
  greenPort: number;
  java: string;
  javaOpts: string[];
  appArgs: string[];
  env: [string, string][];
  secretEnv: [string, string][];

  healthPath: string;
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
