/**
 * Fail-closed SSH host key verification for ssh2.
 *
 * ssh2 accepts every host key unless a `hostVerifier` is supplied. This module
 * turns the action's `known-hosts` (known_hosts lines as `ssh-keyscan` prints
 * them) and `host-fingerprint` (`SHA256:...` as `ssh-keygen -lf` prints them)
 * inputs into a policy, and verifies the server's raw host key blob against it
 * following OpenSSH known_hosts semantics (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT").
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Client } from 'ssh2';
import type { ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';

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

const DEFAULT_PORT = 22;
const HASH_MAGIC = '|1|';
const SHA1_LEN = 20;

// ---------------------------------------------------------------------------
// Key blobs and fingerprints
// ---------------------------------------------------------------------------

/** Reads an SSH `string` (uint32 length + bytes) at `offset`; undefined when truncated. */
function readSshString(buf: Buffer, offset: number): { value: Buffer; next: number } | undefined {
  if (offset + 4 > buf.length) return undefined;
  const len = buf.readUInt32BE(offset);
  const start = offset + 4;
  if (len > buf.length - start) return undefined;
  return { value: buf.subarray(start, start + len), next: start + len };
}

/** The key type named at the start of an SSH public key blob, e.g. `ssh-ed25519`. */
export function keyTypeOf(keyBlob: Buffer): string {
  const s = readSshString(keyBlob, 0);
  if (s === undefined || s.value.length === 0 || s.value.length > 64) {
    throw new HostKeyError('malformed SSH public key blob: no key type at its start');
  }
  const type = s.value.toString('latin1');
  if (!/^[\x21-\x7e]+$/.test(type)) {
    throw new HostKeyError('malformed SSH public key blob: key type is not printable ASCII');
  }
  return type;
}

/** A plain public key blob is a sequence of SSH strings/mpints that uses up the whole buffer. */
function isWellFormedKeyBlob(keyBlob: Buffer): boolean {
  let offset = 0;
  let count = 0;
  while (offset < keyBlob.length) {
    const s = readSshString(keyBlob, offset);
    if (s === undefined) return false;
    offset = s.next;
    count++;
  }
  return count >= 2;
}

/** OpenSSH SHA256 fingerprint: `SHA256:` + unpadded base64 of sha256(blob). */
export function fingerprint(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

/** Strict, canonical base64 (what OpenSSH writes); undefined when invalid. */
function decodeBase64Strict(text: string): Buffer | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    return undefined;
  }
  const buf = Buffer.from(text, 'base64');
  return buf.toString('base64') === text ? buf : undefined;
}

// ---------------------------------------------------------------------------
// Parsing user input
// ---------------------------------------------------------------------------

const KEY_TYPE_LIKE = /^(ssh-|ecdsa-|sk-|rsa-)/;

function checkHashedPattern(pattern: string): string | undefined {
  if (!pattern.startsWith(HASH_MAGIC)) {
    return `unsupported hashed host name "${pattern}" (only |1|salt|hash is known)`;
  }
  const parts = pattern.slice(HASH_MAGIC.length).split('|');
  const salt = parts.length === 2 ? decodeBase64Strict(parts[0]) : undefined;
  const hash = parts.length === 2 ? decodeBase64Strict(parts[1]) : undefined;
  if (salt?.length !== SHA1_LEN || hash?.length !== SHA1_LEN) {
    return `malformed hashed host name "${pattern}" (expected |1|<base64 salt>|<base64 hash>)`;
  }
  return undefined;
}

/**
 * Parses known_hosts text (`[marker] host-patterns key-type base64-key [comment]`).
 * Blank lines and `#` comments are skipped; CRLF line ends are accepted. Any
 * malformed line throws a HostKeyError naming its (1-based) line number.
 */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((rawLine, index) => {
    const line = index + 1;
    const content = rawLine.replace(/\r$/, '').trim();
    if (content === '' || content.startsWith('#')) return;
    const fail = (what: string): never => {
      throw new HostKeyError(`known-hosts line ${line}: ${what}`);
    };

    const fields = content.split(/[ \t]+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0].startsWith('@')) {
      const m = fields.shift() as string;
      if (m !== '@cert-authority' && m !== '@revoked') {
        fail(`unknown marker "${m}" (expected @cert-authority or @revoked)`);
      }
      marker = m as KnownHostEntry['marker'];
    }
    if (fields.length < 3) {
      if (/^SHA256:/i.test(fields[0]) || /^MD5:/i.test(fields[0])) {
        fail('this looks like a fingerprint, not a known_hosts line; put it in host-fingerprint');
      }
      if (KEY_TYPE_LIKE.test(fields[0]) && fields.length === 2) {
        fail(
          'missing host name: known_hosts lines start with the host (as `ssh-keyscan HOST` prints them), not with the key type',
        );
      }
      fail(`expected "host-patterns key-type base64-key", found ${fields.length} field(s)`);
    }
    const [patterns, keyType, keyText] = fields;
    if (KEY_TYPE_LIKE.test(patterns) && decodeBase64Strict(keyType) !== undefined) {
      fail(
        'missing host name: known_hosts lines start with the host (as `ssh-keyscan HOST` prints them), not with the key type',
      );
    }
    for (const p of patterns.split(',')) {
      if (p.startsWith('|')) {
        const problem = checkHashedPattern(p);
        if (problem !== undefined) fail(problem);
      }
    }
    const key = decodeBase64Strict(keyText);
    if (key === undefined) fail(`key for ${keyType} is not valid base64`);
    const blob = key as Buffer;
    if (!isWellFormedKeyBlob(blob)) fail(`key data for ${keyType} is truncated or malformed`);
    const embedded = keyTypeOf(blob);
    if (embedded !== keyType) {
      fail(`key type field says "${keyType}" but the key data is a "${embedded}" key`);
    }
    entries.push({ ...(marker ? { marker } : {}), patterns, keyType, key: blob, line });
  });
  return entries;
}

/**
 * Parses host-fingerprint input: `SHA256:<43 base64 chars>` values separated by
 * commas and/or whitespace. A trailing `=` pad is accepted and stripped.
 */
export function parseFingerprints(text: string): string[] {
  const out: string[] = [];
  for (const token of text.split(/[\s,]+/)) {
    if (token === '') continue;
    const m = /^SHA256:([A-Za-z0-9+/]{43})=?$/i.exec(token);
    const body = m?.[1];
    // 43 chars carry 258 bits: the last char must leave the 2 spare bits zero (32 bytes exactly).
    if (body === undefined || Buffer.from(body + '=', 'base64').toString('base64') !== body + '=') {
      let hint = 'expected SHA256: followed by 43 base64 characters, as `ssh-keygen -lf` prints';
      if (/^MD5:/i.test(token) || /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/i.test(token)) {
        hint = 'MD5 fingerprints are not supported; use the SHA256: form `ssh-keygen -lf` prints';
      } else if (/^\d+$/.test(token) || /^\(.*\)$/.test(token)) {
        hint = 'give only the SHA256:... part of the `ssh-keygen -lf` output';
      }
      throw new HostKeyError(`invalid host-fingerprint "${token}": ${hint}`);
    }
    const fp = 'SHA256:' + body;
    if (!out.includes(fp)) out.push(fp);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Host matching
// ---------------------------------------------------------------------------

/** The name OpenSSH looks up in known_hosts: `host`, or `[host]:port` off port 22. */
function lookupName(host: string, port: number): string {
  return port === DEFAULT_PORT ? host : `[${host}]:${port}`;
}

/** OpenSSH-style wildcard match: `*` any run, `?` one character, everything else literal. */
function wildcardMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

function hashedMatches(pattern: string, name: string): boolean {
  if (checkHashedPattern(pattern) !== undefined) return false;
  const [saltB64, hashB64] = pattern.slice(HASH_MAGIC.length).split('|');
  const expected = Buffer.from(hashB64, 'base64');
  const actual = createHmac('sha1', Buffer.from(saltB64, 'base64')).update(name).digest();
  return timingSafeEqual(expected, actual);
}

/**
 * Whether a known_hosts host-patterns field matches `host` on `port`
 * (comma-separated patterns, `*`/`?` wildcards, `!` negation wins, hashed
 * `|1|salt|hash` names, case-insensitive).
 */
export function hostMatches(patterns: string, host: string, port: number): boolean {
  const name = lookupName(host, port).toLowerCase();
  let matched = false;
  for (const raw of patterns.split(',')) {
    if (raw === '') continue;
    if (raw.startsWith('|')) {
      if (hashedMatches(raw, name)) matched = true;
      continue;
    }
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (wildcardMatch(pattern, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

// ---------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------

/** Key types of the plain (non-revoked, non-CA) entries that match the host. */
export function pinnedKeyTypes(policy: HostKeyPolicy, host: string, port: number): string[] {
  const types: string[] = [];
  for (const e of policy.entries) {
    if (e.marker !== undefined || !hostMatches(e.patterns, host, port)) continue;
    if (!types.includes(e.keyType)) types.push(e.keyType);
  }
  return types;
}

const HOST_KEY_ALGORITHMS: Record<string, ServerHostKeyAlgorithm[]> = {
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
  const plain = matching.filter((e) => e.marker === undefined);
  if (plain.some((e) => e.key.equals(keyBlob))) return { ok: true };
  if (policy.fingerprints.includes(fp)) return { ok: true };

  if (policy.entries.length === 0 && policy.fingerprints.length === 0) {
    return {
      ok: false,
      reason: `Host key verification failed for ${label}: the server offered ${offered}, but neither known-hosts nor host-fingerprint was given, so no host key is trusted.`,
    };
  }

  const problems: string[] = [];
  if (policy.entries.length > 0) {
    const ca = matching.filter((e) => e.marker === '@cert-authority');
    if (plain.length === 0 && ca.length === 0) {
      let p = `no known-hosts entry matches ${label}`;
      if (port !== DEFAULT_PORT) {
        const onDefault = policy.entries.filter(
          (e) => e.marker === undefined && hostMatches(e.patterns, host, DEFAULT_PORT),
        );
        if (onDefault.length > 0) {
          p += ` (known-hosts has ${plural(onDefault.length, 'entry', 'entries')} for ${host} on port 22, but for port ${port} the host must be written as [${host}]:${port}, as \`ssh-keyscan -p ${port} ${host}\` prints it)`;
        }
      }
      problems.push(p);
    } else if (plain.length === 0) {
      problems.push(
        `only @cert-authority entries match ${label} (line ${ca.map((e) => e.line).join(', ')}), and host certificates are not supported: give the host's own key instead`,
      );
    } else {
      const expected = plain.map((e) => `${e.keyType} ${fingerprint(e.key)} (line ${e.line})`).join(', ');
      let p = `known-hosts has ${plural(plain.length, 'entry', 'entries')} for ${label} with a different key: ${expected}`;
      if (!plain.some((e) => e.keyType === keyType)) p += `; none of them is a ${keyType} key`;
      problems.push(p);
    }
  }
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

// ---------------------------------------------------------------------------
// Probing a server for the keys it offers
// ---------------------------------------------------------------------------

const PROBE_FAMILIES: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
];

function probeOnce(
  host: string,
  port: number,
  algorithms: ServerHostKeyAlgorithm[],
  timeoutMs: number,
  sock?: NodeJS.ReadableStream & NodeJS.WritableStream,
): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const client = new Client();
    let key: Buffer | undefined;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      client.removeAllListeners();
      client.on('error', () => {});
      client.destroy();
      resolve(key);
    };
    const timer = setTimeout(finish, timeoutMs);
    client.on('error', finish);
    client.on('close', finish);
    client.on('ready', finish);
    const config: ConnectConfig = {
      host,
      port,
      username: 'host-key-probe',
      readyTimeout: timeoutMs,
      algorithms: { serverHostKey: algorithms },
      // Record the key and refuse it: the handshake stops before any authentication.
      hostVerifier: (k: Buffer): boolean => {
        key = Buffer.from(k);
        return false;
      },
      ...(sock ? { sock: sock as unknown as NonNullable<ConnectConfig['sock']> } : {}),
    };
    try {
      client.connect(config);
    } catch {
      finish();
    }
  });
}

/**
 * Collects the host keys a server offers, one handshake per key family, run
 * concurrently; families the server lacks are skipped. Never authenticates.
 * Given `sock`, only one handshake is possible, so it reports the single key
 * the server picks from all families.
 */
export async function probeHostKeys(opts: {
  host: string;
  port: number;
  sock?: NodeJS.ReadableStream & NodeJS.WritableStream;
  timeoutMs?: number;
}): Promise<OfferedHostKey[]> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const runs = opts.sock
    ? [probeOnce(opts.host, opts.port, PROBE_FAMILIES, timeoutMs, opts.sock)]
    : PROBE_FAMILIES.map((family) => probeOnce(opts.host, opts.port, [family], timeoutMs));
  const keys = await Promise.all(runs.map((p) => p.catch(() => undefined)));
  const out: OfferedHostKey[] = [];
  for (const key of keys) {
    if (key === undefined) continue;
    let keyType: string;
    try {
      keyType = keyTypeOf(key);
    } catch {
      continue;
    }
    const fp = fingerprint(key);
    if (!out.some((o) => o.fingerprint === fp)) out.push({ keyType, fingerprint: fp });
  }
  return out;
}

/** The user-facing explanation for a rejected host key, with how to fix it. */
export function mismatchMessage(
  host: string,
  port: number,
  reason: string,
  offered: OfferedHostKey[],
): string {
  const lines = [reason];
  if (offered.length === 0) {
    lines.push('The server offers: (its host keys could not be retrieved)');
  } else {
    lines.push('The server offers:');
    for (const o of offered) lines.push(`  ${o.keyType} ${o.fingerprint}`);
  }
  lines.push(`Get its keys with: ssh-keyscan ${port === DEFAULT_PORT ? '' : `-p ${port} `}${host}`);
  lines.push('Put those lines in the known-hosts input (or a fingerprint in host-fingerprint).');
  return lines.join('\n');
}
