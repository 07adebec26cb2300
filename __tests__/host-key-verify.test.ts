// Deciding whether to trust a server's host key, and explaining a refusal (the parsing and matching of the
// inputs are in host-key.test.ts, the handshakes against a real sshd in host-key-sshd.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createHostVerifier,
  fingerprint,
  mismatchMessage,
  pinnedKeyTypes,
  probeHostKeys,
  serverHostKeyAlgorithms,
  verifyHostKey,
  type HostKeyCheck,
  type VerifyResult,
} from '../src/host-key.js';
import { freePort, genKeys, line, policyOf, type TestKeys } from './support/test-keys.js';

let dir: string;
let keys: TestKeys;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'host-key-test-'));
  keys = genKeys(dir);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
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

describe('verifyHostKey accepts', () => {
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
});

describe('verifyHostKey refuses a key no matching entry holds', () => {
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

  test('negated host on the line means the entry does not apply', () => {
    const policy = policyOf(line('*.example,!db.example', keys.ed25519));
    expect(verifyHostKey(policy, 'web.example', 22, keys.ed25519.blob)).toEqual({ ok: true });
    const r = verifyHostKey(policy, 'db.example', 22, keys.ed25519.blob);
    expect(r.ok).toBe(false);
    expect(refusal(r)).toContain('no known-hosts entry matches db.example');
  });
});

describe('verifyHostKey refuses revoked keys, CA-only entries, an empty policy and malformed keys', () => {
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
});

describe('probeHostKeys', () => {
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

describe('verifyHostKey: the whole reason of each refusal', () => {
  const failed = (label: string, k: { type: string; fp: string }): string =>
    `Host key verification failed for ${label}: the server offered a ${k.type} key with fingerprint ${k.fp}, but`;

  test('entries for the host hold other keys of the same type: no "none of them" remark', () => {
    const policy = policyOf([line('h.example', keys.ed25519), line('h.example', keys.rsa)].join('\n'));
    expect(refusal(verifyHostKey(policy, 'h.example', 22, keys.other.blob))).toBe(
      `${failed('h.example', keys.other)} known-hosts has 2 entries for h.example with a different key: ssh-ed25519 ${keys.ed25519.fp} (line 1), ssh-rsa ${keys.rsa.fp} (line 2).`,
    );
  });

  test('entries of other types, and a fingerprint list that lacks the key', () => {
    const policy = policyOf(line('h.example', keys.ed25519), keys.rsa.fp);
    expect(refusal(verifyHostKey(policy, 'h.example', 22, keys.ecdsa.blob))).toBe(
      `${failed('h.example', keys.ecdsa)} known-hosts has 1 entry for h.example with a different key: ssh-ed25519 ${keys.ed25519.fp} (line 1); none of them is a ecdsa-sha2-nistp256 key; and ${keys.ecdsa.fp} is not among the 1 host-fingerprint value.`,
    );
  });

  test('only fingerprints given: nothing said about known-hosts', () => {
    const policy = policyOf('', `${keys.rsa.fp}\n${keys.ed25519.fp}`);
    expect(refusal(verifyHostKey(policy, 'h.example', 2222, keys.other.blob))).toBe(
      `${failed('[h.example]:2222', keys.other)} ${keys.other.fp} is not among the 2 host-fingerprint values.`,
    );
  });

  test('only known-hosts given: nothing said about fingerprints', () => {
    const policy = policyOf(line('other.example', keys.ed25519));
    expect(refusal(verifyHostKey(policy, 'h.example', 22, keys.ed25519.blob))).toBe(
      `${failed('h.example', keys.ed25519)} no known-hosts entry matches h.example.`,
    );
  });

  test('off port 22, entries for the host on port 22 get a hint', () => {
    const hint = (n: string): string =>
      ` (known-hosts has ${n} for h.example on port 22, but for port 2222 the host must be written as [h.example]:2222, as \`ssh-keyscan -p 2222 h.example\` prints it).`;
    const one = policyOf(line('h.example', keys.rsa));
    expect(refusal(verifyHostKey(one, 'h.example', 2222, keys.ed25519.blob))).toBe(
      `${failed('[h.example]:2222', keys.ed25519)} no known-hosts entry matches [h.example]:2222${hint('1 entry')}`,
    );
    const two = policyOf([line('h.example', keys.rsa), line('*.example', keys.ecdsa)].join('\n'));
    expect(refusal(verifyHostKey(two, 'h.example', 2222, keys.ed25519.blob))).toBe(
      `${failed('[h.example]:2222', keys.ed25519)} no known-hosts entry matches [h.example]:2222${hint('2 entries')}`,
    );
  });

  test('off port 22, no hint for entries of other hosts or for marker lines', () => {
    const policy = policyOf(
      [
        line('other.example', keys.rsa),
        line('h.example', keys.rsa, '@revoked'),
        line('h.example', keys.ecdsa, '@cert-authority'),
      ].join('\n'),
    );
    expect(refusal(verifyHostKey(policy, 'h.example', 2222, keys.ed25519.blob))).toBe(
      `${failed('[h.example]:2222', keys.ed25519)} no known-hosts entry matches [h.example]:2222.`,
    );
  });

  test('a @revoked line for another key is not a @cert-authority line', () => {
    const policy = policyOf(line('h.example', keys.rsa, '@revoked'));
    expect(refusal(verifyHostKey(policy, 'h.example', 22, keys.ed25519.blob))).toBe(
      `${failed('h.example', keys.ed25519)} no known-hosts entry matches h.example.`,
    );
  });

  test('only @cert-authority lines match: their line numbers', () => {
    const policy = policyOf(
      [
        line('h.example', keys.ed25519, '@cert-authority'),
        line('h.example', keys.rsa, '@revoked'),
        line('*.example', keys.ecdsa, '@cert-authority'),
      ].join('\n'),
    );
    expect(refusal(verifyHostKey(policy, 'h.example', 22, keys.ed25519.blob))).toBe(
      `${failed('h.example', keys.ed25519)} only @cert-authority entries match h.example (line 1, 3), and host certificates are not supported: give the host's own key instead.`,
    );
  });

  test('revoked, an empty policy, a malformed key', () => {
    const revoked = policyOf(
      [line('h.example', keys.ed25519), line('*.example', keys.ed25519, '@revoked')].join('\n'),
    );
    expect(refusal(verifyHostKey(revoked, 'h.example', 22, keys.ed25519.blob))).toBe(
      `Host key verification failed for h.example: the server offered a ssh-ed25519 key with fingerprint ${keys.ed25519.fp}, which is marked @revoked in known-hosts (line 2).`,
    );
    expect(refusal(verifyHostKey(policyOf(''), 'h.example', 22, keys.ed25519.blob))).toBe(
      `${failed('h.example', keys.ed25519)} neither known-hosts nor host-fingerprint was given, so no host key is trusted.`,
    );
    const junk = Buffer.from('junk');
    expect(refusal(verifyHostKey(revoked, 'h.example', 22, junk))).toBe(
      `Host key verification failed for h.example: the server sent a malformed host key (${fingerprint(junk)}).`,
    );
  });
});

describe('createHostVerifier reports what it could not read as unknown', () => {
  test('a hash instead of a key; a malformed key', () => {
    const seen: HostKeyCheck[] = [];
    const v = createHostVerifier(policyOf(line('h.example', keys.ed25519)), 'h.example', 2222, (r) =>
      seen.push(r),
    );
    expect(v('ab12cd' as unknown as Buffer)).toBe(false);
    const junk = Buffer.from('junk');
    expect(v(junk)).toBe(false);
    expect(seen).toEqual([
      {
        ok: false,
        reason:
          'Host key verification failed for [h.example]:2222: the verifier got a hash instead of the key (hostHash must not be set).',
        keyType: 'unknown',
        fingerprint: 'unknown',
      },
      {
        ok: false,
        reason: `Host key verification failed for [h.example]:2222: the server sent a malformed host key (${fingerprint(junk)}).`,
        keyType: 'unknown',
        fingerprint: fingerprint(junk),
      },
    ]);
  });
});

test('serverHostKeyAlgorithms leaves out the key types ssh2 cannot negotiate', () => {
  expect(serverHostKeyAlgorithms(['sk-ssh-ed25519@openssh.com'])).toEqual([]);
  expect(serverHostKeyAlgorithms(['ssh-foo', 'ssh-ed25519', 'ssh-dss'])).toEqual(['ssh-ed25519', 'ssh-dss']);
});
