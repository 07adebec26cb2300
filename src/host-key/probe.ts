// Asking a server which host keys it offers (handshakes that never authenticate), and the message that shows
// them when its key is not trusted.
import { Client } from 'ssh2';
import type { ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import { fingerprint, keyTypeOf } from './key-blob.js';
import { DEFAULT_PORT, type OfferedHostKey } from './types.js';

type Stream = NodeJS.ReadableStream & NodeJS.WritableStream;

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
  sock?: Stream,
): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const client = new Client();
    let key: Buffer | undefined;
    // Called once: it removes every listener that could call it again and clears the timer.
    const finish = (): void => {
      clearTimeout(timer);
      client.removeAllListeners();
      client.on('error', () => {
        // a late error of the destroyed client: the probe has its answer already
      });
      client.destroy();
      resolve(key);
    };
    const timer = setTimeout(finish, timeoutMs);
    client.on('error', finish);
    client.on('close', finish);
    // No 'ready': the key is refused, so the client never gets to authentication.
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
  sock?: Stream;
  timeoutMs?: number;
}): Promise<OfferedHostKey[]> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const runs = opts.sock
    ? [probeOnce(opts.host, opts.port, PROBE_FAMILIES, timeoutMs, opts.sock)]
    : PROBE_FAMILIES.map((family) => probeOnce(opts.host, opts.port, [family], timeoutMs));
  return offeredKeys(await Promise.all(runs.map((p) => p.catch(() => undefined))));
}

/** The key type and fingerprint of each key the handshakes got, once each; a malformed key is skipped. */
export function offeredKeys(keys: (Buffer | undefined)[]): OfferedHostKey[] {
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
