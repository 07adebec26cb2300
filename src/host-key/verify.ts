// Checking the key a server offers against the policy, fail closed, with a reason that says how to fix it.
import type { ServerHostKeyAlgorithm } from 'ssh2';
import { fingerprint, keyTypeOf } from './key-blob.js';
import { hostMatches } from './known-hosts.js';
import {
  DEFAULT_PORT,
  lookupName,
  type HostKeyCheck,
  type HostKeyPolicy,
  type KnownHostEntry,
  type VerifyResult,
} from './types.js';

/** Key types of the plain (non-revoked, non-CA) entries that match the host. */
export function pinnedKeyTypes(policy: HostKeyPolicy, host: string, port: number): string[] {
  const types: string[] = [];
  for (const e of policy.entries) {
    if (e.marker !== undefined || !hostMatches(e.patterns, host, port)) continue;
    if (!types.includes(e.keyType)) types.push(e.keyType);
  }
  return types;
}

const HOST_KEY_ALGORITHMS: Record<string, ServerHostKeyAlgorithm[] | undefined> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ssh-dss': ['ssh-dss'],
};

/**
 * ssh2 `algorithms.serverHostKey` list negotiating only the pinned key types,
 * in the given order. Types ssh2 cannot negotiate are left out; an empty result
 * means "keep ssh2's default list".
 */
export function serverHostKeyAlgorithms(keyTypes: string[]): ServerHostKeyAlgorithm[] {
  const out: ServerHostKeyAlgorithm[] = [];
  for (const t of keyTypes) {
    for (const alg of HOST_KEY_ALGORITHMS[t] ?? []) {
      if (!out.includes(alg)) out.push(alg);
    }
  }
  return out;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Why the known-hosts entries that match the host do not trust the offered key. */
function knownHostsProblem(
  policy: HostKeyPolicy,
  matching: KnownHostEntry[],
  target: { host: string; port: number; keyType: string },
): string {
  const { host, port, keyType } = target;
  const label = lookupName(host, port);
  const plain = matching.filter((e) => e.marker === undefined);
  const ca = matching.filter((e) => e.marker === '@cert-authority');
  if (plain.length === 0 && ca.length === 0) {
    let p = `no known-hosts entry matches ${label}`;
    // (on port 22 the entries for port 22 are the plain ones that match, and there are none)
    const onDefault = policy.entries.filter(
      (e) => e.marker === undefined && hostMatches(e.patterns, host, DEFAULT_PORT),
    );
    if (onDefault.length > 0) {
      p += ` (known-hosts has ${plural(onDefault.length, 'entry', 'entries')} for ${host} on port 22, but for port ${port} the host must be written as [${host}]:${port}, as \`ssh-keyscan -p ${port} ${host}\` prints it)`;
    }
    return p;
  }
  if (plain.length === 0) {
    return `only @cert-authority entries match ${label} (line ${ca.map((e) => e.line).join(', ')}), and host certificates are not supported: give the host's own key instead`;
  }
  const expected = plain.map((e) => `${e.keyType} ${fingerprint(e.key)} (line ${e.line})`).join(', ');
  let p = `known-hosts has ${plural(plain.length, 'entry', 'entries')} for ${label} with a different key: ${expected}`;
  if (!plain.some((e) => e.keyType === keyType)) p += `; none of them is a ${keyType} key`;
  return p;
}

/**
 * Checks a raw host key blob against the policy. Fail-closed: an empty policy,
 * a malformed blob, a revoked key or a key matching nothing are all rejected.
 */
export function verifyHostKey(
  policy: HostKeyPolicy,
  host: string,
  port: number,
  keyBlob: Buffer,
): VerifyResult {
  const label = lookupName(host, port);
  const fp = fingerprint(keyBlob);
  let keyType: string;
  try {
    keyType = keyTypeOf(keyBlob);
  } catch {
    return {
      ok: false,
      reason: `Host key verification failed for ${label}: the server sent a malformed host key (${fp}).`,
    };
  }
  const offered = `a ${keyType} key with fingerprint ${fp}`;

  const matching = policy.entries.filter((e) => hostMatches(e.patterns, host, port));
  const revoked = matching.find((e) => e.marker === '@revoked' && e.key.equals(keyBlob));
  if (revoked !== undefined) {
    return {
      ok: false,
      reason: `Host key verification failed for ${label}: the server offered ${offered}, which is marked @revoked in known-hosts (line ${revoked.line}).`,
    };
  }
  if (matching.some((e) => e.marker === undefined && e.key.equals(keyBlob))) return { ok: true };
  if (policy.fingerprints.includes(fp)) return { ok: true };

  if (policy.entries.length === 0 && policy.fingerprints.length === 0) {
    return {
      ok: false,
      reason: `Host key verification failed for ${label}: the server offered ${offered}, but neither known-hosts nor host-fingerprint was given, so no host key is trusted.`,
    };
  }

  const problems: string[] = [];
  if (policy.entries.length > 0) problems.push(knownHostsProblem(policy, matching, { host, port, keyType }));
  if (policy.fingerprints.length > 0) {
    problems.push(
      `${fp} is not among the ${plural(policy.fingerprints.length, 'host-fingerprint value', 'host-fingerprint values')}`,
    );
  }
  return {
    ok: false,
    reason: `Host key verification failed for ${label}: the server offered ${offered}, but ${problems.join('; and ')}.`,
  };
}

/**
 * A synchronous ssh2 `hostVerifier` (do not set `hostHash`, so ssh2 passes the
 * raw key blob). Reports every decision through `onResult`; returns false on
 * anything unexpected.
 */
export function createHostVerifier(
  policy: HostKeyPolicy,
  host: string,
  port: number,
  onResult: (r: HostKeyCheck) => void,
): (key: Buffer) => boolean {
  return (key: Buffer): boolean => {
    let check: HostKeyCheck;
    if (!Buffer.isBuffer(key)) {
      check = {
        ok: false,
        reason: `Host key verification failed for ${lookupName(host, port)}: the verifier got a hash instead of the key (hostHash must not be set).`,
        keyType: 'unknown',
        fingerprint: 'unknown',
      };
    } else {
      let keyType = 'unknown';
      try {
        keyType = keyTypeOf(key);
      } catch {
        // verifyHostKey reports the malformed key
      }
      const r = verifyHostKey(policy, host, port, key);
      check = { ok: r.ok, ...(r.ok ? {} : { reason: r.reason }), keyType, fingerprint: fingerprint(key) };
    }
    try {
      onResult(check);
    } catch {
      return false;
    }
    return check.ok;
  };
}
