// SSH keys made with ssh-keygen for the host key tests, and known_hosts lines for them.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseFingerprints, parseKnownHosts, type HostKeyPolicy } from '../../src/host-key.js';

export interface TestKey {
  file: string; // private key path (public one is file + '.pub')
  type: string;
  b64: string;
  blob: Buffer;
  fp: string; // as `ssh-keygen -lf` prints it
}

export interface TestKeys {
  ed25519: TestKey;
  rsa: TestKey;
  ecdsa: TestKey;
  other: TestKey;
}

function genKey(dir: string, name: string, type: string, extra: string[] = []): TestKey {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...extra, '-N', '', '-C', `${name}@test`, '-f', file]);
  const [keyType, b64] = readFileSync(file + '.pub', 'utf8')
    .trim()
    .split(/\s+/);
  const fp = execFileSync('ssh-keygen', ['-lf', file + '.pub'], { encoding: 'utf8' })
    .trim()
    .split(/\s+/)[1];
  return { file, type: keyType, b64, blob: Buffer.from(b64, 'base64'), fp };
}

/** Three host keys of different types, and another ed25519 key, in `dir`. */
export function genKeys(dir: string): TestKeys {
  return {
    ed25519: genKey(dir, 'ed25519', 'ed25519'),
    rsa: genKey(dir, 'rsa', 'rsa', ['-b', '2048']),
    ecdsa: genKey(dir, 'ecdsa', 'ecdsa', ['-b', '256']),
    other: genKey(dir, 'other', 'ed25519'),
  };
}

export function line(host: string, k: TestKey, marker = ''): string {
  return `${marker ? marker + ' ' : ''}${host} ${k.type} ${k.b64}`;
}

export function policyOf(text: string, fps = ''): HostKeyPolicy {
  return { entries: parseKnownHosts(text), fingerprints: parseFingerprints(fps) };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
