// The host-fingerprint input: `SHA256:...` values as `ssh-keygen -lf` prints them.
import { HostKeyError } from './types.js';

function fingerprintHint(token: string): string {
  if (/^MD5:/i.test(token) || /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/i.test(token)) {
    return 'MD5 fingerprints are not supported; use the SHA256: form `ssh-keygen -lf` prints';
  }
  if (/^\d+$/.test(token) || /^\(.*\)$/.test(token)) {
    return 'give only the SHA256:... part of the `ssh-keygen -lf` output';
  }
  return 'expected SHA256: followed by 43 base64 characters, as `ssh-keygen -lf` prints';
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
    if (body === undefined || Buffer.from(body, 'base64').toString('base64') !== body + '=') {
      throw new HostKeyError(`invalid host-fingerprint "${token}": ${fingerprintHint(token)}`);
    }
    const fp = 'SHA256:' + body;
    if (!out.includes(fp)) out.push(fp);
  }
  return out;
}
