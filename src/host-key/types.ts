// The host key policy and the results of checking a key against it.

export class HostKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostKeyError';
  }
}

export interface KnownHostEntry {
  marker?: '@cert-authority' | '@revoked';
  patterns: string;
  keyType: string;
  key: Buffer;
  line: number;
}

export interface HostKeyPolicy {
  entries: KnownHostEntry[];
  fingerprints: string[];
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

export interface HostKeyCheck {
  ok: boolean;
  reason?: string;
  keyType: string;
  fingerprint: string;
}

export interface OfferedHostKey {
  keyType: string;
  fingerprint: string;
}

export const DEFAULT_PORT = 22;

/** The name OpenSSH looks up in known_hosts: `host`, or `[host]:port` off port 22. */
export function lookupName(host: string, port: number): string {
  return port === DEFAULT_PORT ? host : `[${host}]:${port}`;
}
