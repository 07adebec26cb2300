// SSH public key blobs (RFC 4253 wire format), their SHA256 fingerprints, and strict base64.
import { createHash } from 'node:crypto';
import { HostKeyError } from './types.js';

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
export function isWellFormedKeyBlob(keyBlob: Buffer): boolean {
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
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (text.length === 0) return undefined;
  // Node's decoder skips what is not base64; only canonical text encodes back to itself.
  const buf = Buffer.from(text, 'base64');
  return buf.toString('base64') === text ? buf : undefined;
}
