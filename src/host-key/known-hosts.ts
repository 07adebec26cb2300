// The known-hosts input (known_hosts lines as `ssh-keyscan` prints them) and OpenSSH's host matching
// (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT").
import { createHmac, timingSafeEqual } from 'node:crypto';
import { decodeBase64Strict, isWellFormedKeyBlob, keyTypeOf } from './key-blob.js';
import { HostKeyError, lookupName, type KnownHostEntry } from './types.js';

const HASH_MAGIC = '|1|';
const SHA1_LEN = 20;
const KEY_TYPE_LIKE = /^(ssh-|ecdsa-|sk-|rsa-)/;
const MISSING_HOST =
  'missing host name: known_hosts lines start with the host (as `ssh-keyscan HOST` prints them), not with the key type';

function checkHashedPattern(pattern: string): string | undefined {
  if (!pattern.startsWith(HASH_MAGIC)) {
    return `unsupported hashed host name "${pattern}" (only |1|salt|hash is known)`;
  }
  const parts = pattern.slice(HASH_MAGIC.length).split('|');
  const salt = decodeBase64Strict(parts[0]);
  const hash = parts.length === 2 ? decodeBase64Strict(parts[1]) : undefined;
  if (salt?.length !== SHA1_LEN || hash?.length !== SHA1_LEN) {
    return `malformed hashed host name "${pattern}" (expected |1|<base64 salt>|<base64 hash>)`;
  }
  return undefined;
}

/** Why a line with fewer than three fields (after its marker) is not a known_hosts line. */
function tooFewFields(fields: string[]): string {
  if (/^SHA256:/i.test(fields[0]) || /^MD5:/i.test(fields[0])) {
    return 'this looks like a fingerprint, not a known_hosts line; put it in host-fingerprint';
  }
  if (KEY_TYPE_LIKE.test(fields[0]) && fields.length === 2) return MISSING_HOST;
  return `expected "host-patterns key-type base64-key", found ${fields.length} field(s)`;
}

/** One non-blank, non-comment line; throws a HostKeyError naming the line. */
function parseLine(content: string, line: number): KnownHostEntry {
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
  if (fields.length < 3) fail(tooFewFields(fields));
  const [patterns, keyType, keyText] = fields;
  if (KEY_TYPE_LIKE.test(patterns) && decodeBase64Strict(keyType) !== undefined) fail(MISSING_HOST);
  for (const p of patterns.split(',')) {
    if (p.startsWith('|')) {
      const problem = checkHashedPattern(p);
      if (problem !== undefined) fail(problem);
    }
  }
  const key = decodeBase64Strict(keyText) ?? fail(`key for ${keyType} is not valid base64`);
  if (!isWellFormedKeyBlob(key)) fail(`key data for ${keyType} is truncated or malformed`);
  const embedded = keyTypeOf(key);
  if (embedded !== keyType) {
    fail(`key type field says "${keyType}" but the key data is a "${embedded}" key`);
  }
  return { ...(marker ? { marker } : {}), patterns, keyType, key, line };
}

/**
 * Parses known_hosts text (`[marker] host-patterns key-type base64-key [comment]`).
 * Blank lines and `#` comments are skipped; CRLF line ends are accepted. Any
 * malformed line throws a HostKeyError naming its (1-based) line number.
 */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split('\n');
  lines.forEach((rawLine, index) => {
    // trim() also drops a CR before the newline and a byte order mark (U+FEFF) at the start of the text.
    const content = rawLine.trim();
    if (content === '' || content.startsWith('#')) return;
    entries.push(parseLine(content, index + 1));
  });
  return entries;
}

/** OpenSSH-style wildcard match: `*` any run, `?` one character, everything else literal. */
function wildcardMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (pattern[p] === '?' || pattern[p] === text[t]) {
      p++;
      t++;
    } else if (pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
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
