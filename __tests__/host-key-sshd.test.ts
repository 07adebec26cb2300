// Host key checks against a real sshd on 127.0.0.1 (started here, with three host keys): ssh2 handshakes with
// our host verifier, and probing a server for the keys it offers. Needs sshd (and root for /run/sshd).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type ConnectConfig } from 'ssh2';
import {
  createHostVerifier,
  parseKnownHosts,
  pinnedKeyTypes,
  probeHostKeys,
  serverHostKeyAlgorithms,
} from '../src/host-key.js';
import { freePort, genKeys, line, policyOf, type TestKeys } from './support/test-keys.js';

let dir: string;
let keys: TestKeys;
let sshd: ChildProcess | undefined;
let sshdPort: number;

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Starts sshd (kept in `sshd` at once so afterAll can stop it) and waits until it accepts connections. */
async function startSshd(cfgFile: string): Promise<void> {
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', cfgFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  sshd = child;
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}:\n${log}`);
    if (await portOpen(sshdPort)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not start listening:\n${log}`);
}

/** One ssh2 handshake (no credentials: auth fails right after host key verification). */
function handshake(cfg: ConnectConfig): Promise<string> {
  return new Promise((resolve) => {
    const c = new Client();
    let settled = false;
    const done = (what: string): void => {
      if (settled) return;
      settled = true;
      c.removeAllListeners();
      c.on('error', () => {
        // a late error of the destroyed client
      });
      c.destroy();
      resolve(what);
    };
    c.on('error', (e: Error) => done(e.message));
    c.on('close', () => done('closed'));
    c.on('ready', () => done('ready'));
    c.connect({ host: '127.0.0.1', port: sshdPort, username: 'nobody', readyTimeout: 5000, ...cfg });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'host-key-test-'));
  keys = genKeys(dir);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  sshdPort = await freePort();
  const cfg = join(dir, 'sshd_config');
  writeFileSync(
    cfg,
    [
      `Port ${sshdPort}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${keys.ed25519.file}`,
      `HostKey ${keys.rsa.file}`,
      `HostKey ${keys.ecdsa.file}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication no',
      'AuthorizedKeysFile none',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  await startSshd(cfg);
});

afterAll(async () => {
  const child = sshd;
  if (child?.pid !== undefined && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(child.pid, 'SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('parseKnownHosts', () => {
  test('parses real ssh-keyscan output', () => {
    const out = execFileSync('ssh-keyscan', ['-p', String(sshdPort), '127.0.0.1'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const entries = parseKnownHosts(out);
    expect(entries.map((e) => e.keyType).sort()).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519', 'ssh-rsa']);
    for (const e of entries) expect(e.patterns).toBe(`[127.0.0.1]:${sshdPort}`);
  });
});

describe('createHostVerifier', () => {
  test('works as ssh2 hostVerifier against a real sshd', async () => {
    const host = '127.0.0.1';
    const known = [line(`[${host}]:${sshdPort}`, keys.rsa), line(`[${host}]:${sshdPort}`, keys.ecdsa)].join(
      '\n',
    );
    const policy = policyOf(known);
    const types = pinnedKeyTypes(policy, host, sshdPort);
    expect(types).toEqual(['ssh-rsa', 'ecdsa-sha2-nistp256']);

    const seen: { ok: boolean; keyType: string; fingerprint: string }[] = [];
    const msg = await handshake({
      algorithms: { serverHostKey: serverHostKeyAlgorithms(types) },
      hostVerifier: createHostVerifier(policy, host, sshdPort, (r) => seen.push(r)),
    });
    expect(seen).toEqual([{ ok: true, keyType: 'ssh-rsa', fingerprint: keys.rsa.fp }]);
    expect(msg).not.toContain('Host denied');

    // default algorithms: the server's ed25519 key is not pinned -> refused before auth
    const denied: { ok: boolean; reason?: string }[] = [];
    const msg2 = await handshake({
      algorithms: { serverHostKey: ['ssh-ed25519'] },
      hostVerifier: createHostVerifier(policy, host, sshdPort, (r) => denied.push(r)),
    });
    expect(msg2).toContain('Host denied');
    expect(denied).toHaveLength(1);
    expect(denied[0].ok).toBe(false);
    expect(denied[0].reason).toContain(keys.ed25519.fp);
  });
});

describe('probeHostKeys', () => {
  test('returns exactly the fingerprints ssh-keygen -lf prints for the host keys', async () => {
    const offered = await probeHostKeys({ host: '127.0.0.1', port: sshdPort, timeoutMs: 5000 });
    expect(offered.map((o) => o.fingerprint).sort()).toEqual(
      [keys.ed25519.fp, keys.rsa.fp, keys.ecdsa.fp].sort(),
    );
    expect(offered).toEqual(
      expect.arrayContaining([
        { keyType: 'ssh-ed25519', fingerprint: keys.ed25519.fp },
        { keyType: 'ssh-rsa', fingerprint: keys.rsa.fp },
        { keyType: 'ecdsa-sha2-nistp256', fingerprint: keys.ecdsa.fp },
      ]),
    );
  });

  test('over a given socket it reports the one key the server picks', async () => {
    const sock = netConnect(sshdPort, '127.0.0.1');
    const offered = await probeHostKeys({ host: '127.0.0.1', port: sshdPort, sock, timeoutMs: 5000 });
    expect(offered).toHaveLength(1);
    expect([keys.ed25519.fp, keys.rsa.fp, keys.ecdsa.fp]).toContain(offered[0].fingerprint);
    sock.destroy();
  });
});
