import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type ConnectConfig } from 'ssh2';
import {
  HostKeyError,
  createHostVerifier,
  fingerprint,
  hostMatches,
  keyTypeOf,
  mismatchMessage,
  parseFingerprints,
  parseKnownHosts,
  pinnedKeyTypes,
  probeHostKeys,
  serverHostKeyAlgorithms,
  verifyHostKey,
  type HostKeyPolicy,
  type VerifyResult,
} from '../src/host-key.js';

interface TestKey {
  file: string; // private key path (public one is file + '.pub')
  type: string;
  b64: string;
  blob: Buffer;
  fp: string; // as `ssh-keygen -lf` prints it
}

let dir: string;
let keys: { ed25519: TestKey; rsa: TestKey; ecdsa: TestKey; other: TestKey };
let sshd: ChildProcess | undefined;
let sshdPort: number;

function genKey(name: string, type: string, extra: string[] = []): TestKey {
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

function line(host: string, k: TestKey, marker = ''): string {
  return `${marker ? marker + ' ' : ''}${host} ${k.type} ${k.b64}`;
}

function policyOf(text: string, fps = ''): HostKeyPolicy {
  return { entries: parseKnownHosts(text), fingerprints: parseFingerprints(fps) };
}

function freePort(): Promise<number> {
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
  keys = {
    ed25519: genKey('ed25519', 'ed25519'),
    rsa: genKey('rsa', 'rsa', ['-b', '2048']),
    ecdsa: genKey('ecdsa', 'ecdsa', ['-b', '256']),
    other: genKey('other', 'ed25519'),
  };
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

describe('fingerprint and keyTypeOf', () => {
  test.each(['ed25519', 'rsa', 'ecdsa'] as const)('%s fingerprint equals ssh-keygen -lf', (name) => {
    const k = keys[name];
    expect(fingerprint(k.blob)).toBe(k.fp);
    expect(fingerprint(k.blob)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  test('key types come from the blob', () => {
    expect(keyTypeOf(keys.ed25519.blob)).toBe('ssh-ed25519');
    expect(keyTypeOf(keys.rsa.blob)).toBe('ssh-rsa');
    expect(keyTypeOf(keys.ecdsa.blob)).toBe('ecdsa-sha2-nistp256');
  });

  test('malformed blobs throw HostKeyError', () => {
    expect(() => keyTypeOf(Buffer.alloc(0))).toThrow(HostKeyError);
    expect(() => keyTypeOf(Buffer.from([0, 0, 0, 50, 0x61]))).toThrow(HostKeyError);
  });
});

describe('parseKnownHosts', () => {
  test('skips comments and blank lines, tolerates CRLF, keeps markers and line numbers', () => {
    const text = [
      '# generated by ssh-keyscan',
      '',
      line('example.com,10.0.0.1', keys.ed25519) + ' trailing comment',
      '   ',
      '  ' + line('[example.com]:2222', keys.rsa),
      line('*.example.com', keys.ecdsa, '@cert-authority'),
      line('example.com', keys.other, '@revoked'),
      '    # indented comment',
    ].join('\r\n');
    const entries = parseKnownHosts(text);
    expect(entries).toHaveLength(4);
    expect(entries[0]).toEqual({
      patterns: 'example.com,10.0.0.1',
      keyType: 'ssh-ed25519',
      key: keys.ed25519.blob,
      line: 3,
    });
    expect(entries[0].marker).toBeUndefined();
    expect(entries[1]).toMatchObject({ patterns: '[example.com]:2222', keyType: 'ssh-rsa', line: 5 });
    expect(entries[2]).toMatchObject({ marker: '@cert-authority', keyType: 'ecdsa-sha2-nistp256', line: 6 });
    expect(entries[3]).toMatchObject({ marker: '@revoked', keyType: 'ssh-ed25519', line: 7 });
    expect(parseKnownHosts('')).toEqual([]);
    expect(parseKnownHosts('# only a comment\n\n')).toEqual([]);
  });

  test('parses real ssh-keyscan output', () => {
    const out = execFileSync('ssh-keyscan', ['-p', String(sshdPort), '127.0.0.1'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const entries = parseKnownHosts(out);
    expect(entries.map((e) => e.keyType).sort()).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519', 'ssh-rsa']);
    for (const e of entries) expect(e.patterns).toBe(`[127.0.0.1]:${sshdPort}`);
  });

  const bad = (text: string): string => {
    try {
      parseKnownHosts(text);
    } catch (e) {
      expect(e).toBeInstanceOf(HostKeyError);
      return (e as Error).message;
    }
    throw new Error('expected parseKnownHosts to throw');
  };

  test('too few fields', () => {
    expect(bad(`# c\n${line('a.example', keys.ed25519)}\nhost ssh-ed25519\n`)).toMatch(
      /line 3: .*found 2 field/,
    );
    expect(bad(`@revoked host ${keys.ed25519.type}`)).toMatch(/line 1: .*found 2 field/);
  });

  test('bad base64', () => {
    expect(bad(`host ssh-ed25519 AAAA!!notbase64`)).toMatch(/line 1: .*not valid base64/);
    expect(bad(`\n\nhost ssh-ed25519 ${keys.ed25519.b64.slice(0, -1)}`)).toMatch(
      /line 3: .*not valid base64/,
    );
  });

  test('key type field differs from the type inside the blob', () => {
    expect(bad(`\nhost ssh-rsa ${keys.ed25519.b64}`)).toMatch(
      /line 2: key type field says "ssh-rsa" but the key data is a "ssh-ed25519" key/,
    );
  });

  test('truncated key data', () => {
    const truncated = keys.rsa.blob.subarray(0, 40).toString('base64');
    expect(bad(`host ssh-rsa ${truncated}`)).toMatch(/line 1: .*truncated or malformed/);
  });

  test('unknown marker, pasted .pub line, pasted fingerprint, bad hashed name', () => {
    expect(bad(`@trusted ${line('host', keys.ed25519)}`)).toMatch(/line 1: unknown marker "@trusted"/);
    expect(bad(readFileSync(keys.ed25519.file + '.pub', 'utf8'))).toMatch(/line 1: missing host name/);
    expect(bad(`${keys.ed25519.type} ${keys.ed25519.b64}`)).toMatch(/line 1: missing host name/);
    expect(bad(keys.ed25519.fp)).toMatch(/line 1: .*fingerprint.*host-fingerprint/);
    expect(bad(`|1|abc|def ${keys.ed25519.type} ${keys.ed25519.b64}`)).toMatch(
      /line 1: malformed hashed host name/,
    );
  });
});

describe('hostMatches', () => {
  test('hashed entries made by ssh-keygen -H', () => {
    const file = join(dir, 'known_hosts_hashed');
    writeFileSync(
      file,
      [line('deploy.example.com', keys.ed25519), line('[deploy.example.com]:2222', keys.rsa)].join('\n') +
        '\n',
    );
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const entries = parseKnownHosts(readFileSync(file, 'utf8'));
    expect(entries).toHaveLength(2);
    for (const e of entries) expect(e.patterns).toMatch(/^\|1\|[^|]+\|[^|]+$/);
    const [plain, ported] = entries;
    expect(plain.keyType).toBe('ssh-ed25519');
    expect(hostMatches(plain.patterns, 'deploy.example.com', 22)).toBe(true);
    expect(hostMatches(plain.patterns, 'DEPLOY.Example.com', 22)).toBe(true);
    expect(hostMatches(plain.patterns, 'deploy.example.com', 2222)).toBe(false);
    expect(hostMatches(plain.patterns, 'other.example.com', 22)).toBe(false);
    expect(hostMatches(ported.patterns, 'deploy.example.com', 2222)).toBe(true);
    expect(hostMatches(ported.patterns, 'deploy.example.com', 22)).toBe(false);
    expect(hostMatches(ported.patterns, 'deploy.example.com', 2223)).toBe(false);
  });

  test('[host]:port patterns are literal and plain hosts mean port 22', () => {
    expect(hostMatches('[h.example]:2222', 'h.example', 2222)).toBe(true);
    expect(hostMatches('[h.example]:2222', 'h.example', 22)).toBe(false);
    expect(hostMatches('h.example', 'h.example', 2222)).toBe(false);
    expect(hostMatches('h.example', 'h.example', 22)).toBe(true);
    expect(hostMatches('[10.0.0.1]:2200', '10.0.0.1', 2200)).toBe(true);
    // brackets are not a character class
    expect(hostMatches('[ab]c', 'ac', 22)).toBe(false);
    expect(hostMatches('[ab]c', '[ab]c', 22)).toBe(true);
  });

  test('wildcards, lists, case-insensitivity', () => {
    expect(hostMatches('*.example.com', 'web1.example.com', 22)).toBe(true);
    expect(hostMatches('*.example.com', 'example.com', 22)).toBe(false);
    expect(hostMatches('web?.example.com', 'web7.example.com', 22)).toBe(true);
    expect(hostMatches('web?.example.com', 'web10.example.com', 22)).toBe(false);
    expect(hostMatches('10.0.0.*', '10.0.0.42', 22)).toBe(true);
    expect(hostMatches('a.example,b.example', 'b.example', 22)).toBe(true);
    expect(hostMatches('a.example,b.example', 'c.example', 22)).toBe(false);
    expect(hostMatches('Web1.EXAMPLE.com', 'web1.example.COM', 22)).toBe(true);
    expect(hostMatches('[*.example.com]:*', 'x.example.com', 2222)).toBe(true);
    expect(hostMatches('*', 'anything', 2222)).toBe(true);
  });

  test('a matching negated pattern makes the whole line not match', () => {
    const p = '*.example.com,!db.example.com';
    expect(hostMatches(p, 'web.example.com', 22)).toBe(true);
    expect(hostMatches(p, 'db.example.com', 22)).toBe(false);
    expect(hostMatches('!db.example.com,*.example.com', 'db.example.com', 22)).toBe(false);
    // a negation alone never produces a match
    expect(hostMatches('!db.example.com', 'web.example.com', 22)).toBe(false);
  });
});

describe('parseFingerprints', () => {
  test('accepts comma / newline separated values, strips a trailing =, dedupes', () => {
    const { ed25519, rsa, ecdsa } = keys;
    expect(parseFingerprints(`${ed25519.fp}, ${rsa.fp}=\r\n\n${ecdsa.fp},${ed25519.fp}\n`)).toEqual([
      ed25519.fp,
      rsa.fp,
      ecdsa.fp,
    ]);
    expect(parseFingerprints('')).toEqual([]);
    expect(parseFingerprints(' \n ,')).toEqual([]);
  });

  test('rejects anything else', () => {
    const fp = keys.ed25519.fp;
    for (const badValue of [
      fp.slice(0, -1),
      fp + 'A',
      fp.replace('SHA256:', 'SHA1:'),
      fp.slice('SHA256:'.length),
      'SHA256:' + '!'.repeat(43),
      'MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48',
      '16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48',
      // 43rd char with non-zero spare bits is not a canonical 32-byte digest
      'SHA256:' + 'A'.repeat(42) + 'B',
    ]) {
      expect(() => parseFingerprints(badValue)).toThrow(HostKeyError);
    }
    expect(() => parseFingerprints('MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48')).toThrow(/MD5/);
    // the whole `ssh-keygen -lf` line is not a fingerprint list
    expect(() => parseFingerprints(`256 ${fp} me@host (ED25519)`)).toThrow(/only the SHA256/);
  });
});

describe('pinnedKeyTypes and serverHostKeyAlgorithms', () => {
  test('types of matching plain entries only', () => {
    const policy = policyOf(
      [
        line('h.example', keys.ed25519),
        line('h.example', keys.rsa),
        line('h.example', keys.other),
        line('h.example', keys.ecdsa, '@cert-authority'),
        line('[h.example]:2222', keys.ecdsa),
        line('other.example', keys.ecdsa),
        line('h.example', keys.ecdsa, '@revoked'),
      ].join('\n'),
      keys.ecdsa.fp,
    );
    expect(pinnedKeyTypes(policy, 'h.example', 22)).toEqual(['ssh-ed25519', 'ssh-rsa']);
    expect(pinnedKeyTypes(policy, 'h.example', 2222)).toEqual(['ecdsa-sha2-nistp256']);
    expect(pinnedKeyTypes(policy, 'nowhere.example', 22)).toEqual([]);
  });

  test('algorithm lists', () => {
    expect(serverHostKeyAlgorithms(['ssh-rsa'])).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(serverHostKeyAlgorithms(['ssh-ed25519'])).toEqual(['ssh-ed25519']);
    for (const t of ['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521']) {
      expect(serverHostKeyAlgorithms([t])).toEqual([t]);
    }
    expect(serverHostKeyAlgorithms(['ecdsa-sha2-nistp384', 'ssh-rsa', 'ssh-ed25519', 'ssh-rsa'])).toEqual([
      'ecdsa-sha2-nistp384',
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ssh-ed25519',
    ]);
    expect(serverHostKeyAlgorithms([])).toEqual([]);
  });
});

/** Why the key was refused; '' when it was accepted (the caller checks `ok` first). */
function refusal(r: VerifyResult): string {
  return r.ok ? '' : r.reason;
}

describe('verifyHostKey', () => {
  test('ok when a matching entry has the key', () => {
    const policy = policyOf([line('h.example', keys.rsa), line('h.example', keys.ed25519)].join('\n'));
    expect(verifyHostKey(policy, 'h.example', 22, keys.ed25519.blob)).toEqual({ ok: true });
    expect(verifyHostKey(policy, 'H.EXAMPLE', 22, keys.rsa.blob)).toEqual({ ok: true });
  });

  test('ok when the fingerprint is pinned, whatever the host', () => {
    const policy = policyOf('', `${keys.rsa.fp}\n${keys.ed25519.fp}`);
    expect(verifyHostKey(policy, 'h.example', 2222, keys.ed25519.blob)).toEqual({ ok: true });
    const r = verifyHostKey(policy, 'h.example', 2222, keys.other.blob);
    expect(r.ok).toBe(false);
    expect(refusal(r)).toContain(`ssh-ed25519 key with fingerprint ${keys.other.fp}`);
    expect(refusal(r)).toContain('is not among the 2 host-fingerprint values');
  });

  test('mismatch: entries match the host but hold other keys', () => {
    const policy = policyOf(line('h.example', keys.ed25519), keys.rsa.fp);
    const r = verifyHostKey(policy, 'h.example', 22, keys.ecdsa.blob);
    expect(r.ok).toBe(false);
    const reason = refusal(r);
    expect(reason).toContain('h.example');
    expect(reason).toContain(`ecdsa-sha2-nistp256 key with fingerprint ${keys.ecdsa.fp}`);
    expect(reason).toContain('1 entry for h.example with a different key');
    expect(reason).toContain(keys.ed25519.fp);
    expect(reason).toContain('none of them is a ecdsa-sha2-nistp256 key');
    expect(reason).toContain('not among the 1 host-fingerprint value');
    expect(reason).not.toContain('no known-hosts entry matches');
  });

  test('no entry for the host, with a hint when only port 22 entries exist', () => {
    const policy = policyOf(line('h.example', keys.ed25519));
    const r = verifyHostKey(policy, 'h.example', 2222, keys.ed25519.blob);
    expect(r.ok).toBe(false);
    const reason = refusal(r);
    expect(reason).toContain('no known-hosts entry matches [h.example]:2222');
    expect(reason).toContain('[h.example]:2222');
    expect(reason).toContain('ssh-keyscan -p 2222 h.example');
    expect(reason).toContain(`ssh-ed25519 key with fingerprint ${keys.ed25519.fp}`);

    const r2 = verifyHostKey(policy, 'other.example', 22, keys.ed25519.blob);
    expect(r2.ok).toBe(false);
    expect(refusal(r2)).toContain('no known-hosts entry matches other.example');
    expect(refusal(r2)).not.toContain('port 22');
  });

  test('revoked keys are refused even when also pinned', () => {
    const policy = policyOf(
      [line('h.example', keys.ed25519), line('*.example', keys.ed25519, '@revoked')].join('\n'),
      keys.ed25519.fp,
    );
    const r = verifyHostKey(policy, 'h.example', 22, keys.ed25519.blob);
    expect(r.ok).toBe(false);
    expect(refusal(r)).toContain('@revoked');
    expect(refusal(r)).toContain('line 2');
    expect(refusal(r)).toContain(keys.ed25519.fp);
    // revocation only applies to the hosts its line matches
    expect(verifyHostKey(policy, 'h.other', 22, keys.ed25519.blob)).toEqual({ ok: true });
  });

  test('@cert-authority entries never match plain keys', () => {
    const policy = policyOf(line('h.example', keys.ed25519, '@cert-authority'));
    const r = verifyHostKey(policy, 'h.example', 22, keys.ed25519.blob);
    expect(r.ok).toBe(false);
    expect(refusal(r)).toMatch(/only @cert-authority entries match h\.example .*not supported/);
  });

  test('negated host on the line means the entry does not apply', () => {
    const policy = policyOf(line('*.example,!db.example', keys.ed25519));
    expect(verifyHostKey(policy, 'web.example', 22, keys.ed25519.blob)).toEqual({ ok: true });
    const r = verifyHostKey(policy, 'db.example', 22, keys.ed25519.blob);
    expect(r.ok).toBe(false);
    expect(refusal(r)).toContain('no known-hosts entry matches db.example');
  });

  test('an empty policy trusts nothing; a malformed blob is refused', () => {
    const r = verifyHostKey({ entries: [], fingerprints: [] }, 'h.example', 22, keys.ed25519.blob);
    expect(r.ok).toBe(false);
    expect(refusal(r)).toContain('neither known-hosts nor host-fingerprint');
    const r2 = verifyHostKey(policyOf(line('h.example', keys.ed25519)), 'h.example', 22, Buffer.from('junk'));
    expect(r2.ok).toBe(false);
    expect(refusal(r2)).toContain('malformed host key');
  });
});

describe('createHostVerifier', () => {
  test('returns the decision and reports it', () => {
    const results: unknown[] = [];
    const v = createHostVerifier(policyOf(line('h.example', keys.ed25519)), 'h.example', 22, (r) =>
      results.push(r),
    );
    expect(v(keys.ed25519.blob)).toBe(true);
    expect(v(keys.rsa.blob)).toBe(false);
    expect(results[0]).toEqual({ ok: true, keyType: 'ssh-ed25519', fingerprint: keys.ed25519.fp });
    expect(results[1]).toMatchObject({ ok: false, keyType: 'ssh-rsa', fingerprint: keys.rsa.fp });
    expect((results[1] as { reason: string }).reason).toContain('different key');
  });

  test('fails closed when the callback throws or a hash is passed', () => {
    const policy = policyOf(line('h.example', keys.ed25519));
    const throwing = createHostVerifier(policy, 'h.example', 22, () => {
      throw new Error('boom');
    });
    expect(throwing(keys.ed25519.blob)).toBe(false);
    let seen: { ok: boolean; reason?: string } | undefined;
    const v = createHostVerifier(policy, 'h.example', 22, (r) => (seen = r));
    expect(v('ab12cd' as unknown as Buffer)).toBe(false);
    expect(seen?.reason).toContain('hostHash');
  });

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

  test('never throws: a closed port gives an empty list', async () => {
    const port = await freePort();
    await expect(probeHostKeys({ host: '127.0.0.1', port, timeoutMs: 2000 })).resolves.toEqual([]);
  });
});

describe('mismatchMessage', () => {
  const offered = [
    { keyType: 'ssh-ed25519', fingerprint: 'SHA256:' + 'a'.repeat(43) },
    { keyType: 'ssh-rsa', fingerprint: 'SHA256:' + 'b'.repeat(43) },
  ];

  test('non-default port', () => {
    expect(mismatchMessage('h.example', 2222, 'Host key verification failed.', offered)).toBe(
      [
        'Host key verification failed.',
        'The server offers:',
        `  ssh-ed25519 SHA256:${'a'.repeat(43)}`,
        `  ssh-rsa SHA256:${'b'.repeat(43)}`,
        'Get its keys with: ssh-keyscan -p 2222 h.example',
        'Put those lines in the known-hosts input (or a fingerprint in host-fingerprint).',
      ].join('\n'),
    );
  });

  test('port 22 omits -p; nothing offered is said plainly', () => {
    const m = mismatchMessage('h.example', 22, 'reason', []);
    expect(m).toContain('Get its keys with: ssh-keyscan h.example\n');
    expect(m).toContain('The server offers: (its host keys could not be retrieved)');
  });
});
