// The connection inputs: host lists, the private key and its passphrase, the host keys, and the jump host with
// what it inherits from the target.
import { parseHosts } from '../src/inputs.js';
import { inputsFixture, type InputsFixture } from './support/inputs-fixture.js';

let f: InputsFixture;
beforeAll(() => {
  f = inputsFixture();
});
afterAll(() => f.cleanup());

describe('parseHosts', () => {
  test.each([
    ['h:1', [{ host: 'h', port: 1 }]],
    ['h:65535', [{ host: 'h', port: 65535 }]],
    ['[2001:db8::1]', [{ host: '2001:db8::1', port: 22 }]],
    ['[::1]:2200', [{ host: '::1', port: 2200 }]],
    ['web-1-', [{ host: 'web-1-', port: 22 }]],
    [
      ' a,, b\n\tc ',
      [
        { host: 'a', port: 22 },
        { host: 'b', port: 22 },
        { host: 'c', port: 22 },
      ],
    ],
  ])('%j', (text, targets) => {
    expect(parseHosts(text, 22)).toEqual(targets);
  });

  test.each([
    ['h:0', '"h:0" has a port out of range'],
    ['h:65536', '"h:65536" has a port out of range'],
    ['-oProxy', '"-oProxy" is not a host name, IP address or host:port'],
    ['x[::1]', '"x[::1]" is not a host name, IP address or host:port'],
    ['[::1]x', '"[::1]x" is not a host name, IP address or host:port'],
    ['[::1]:22x', '"[::1]:22x" is not a host name, IP address or host:port'],
    [' , ', 'is required'],
  ])('%j is refused', (text, problem) => {
    expect(parseHosts(text, 22)).toBe(problem);
  });
});

test('a host without :port gets the port input', async () => {
  expect((await f.settings({ host: '[2001:db8::1]', port: '2200' })).targets).toEqual([
    { host: '2001:db8::1', port: 2200 },
  ]);
});

test('a passphrase given with something that is not a key: the key is the problem', async () => {
  expect(await f.problems({ 'private-key': 'not a key', passphrase: 'x' })).toEqual([
    'private-key: is not a usable private key (Unsupported key format); paste the whole key file',
  ]);
});

test('a host fingerprint alone is enough to verify the server', async () => {
  const s = await f.settings({ 'known-hosts': '', 'host-fingerprint': f.fingerprint });
  expect([s.knownHosts, s.hostFingerprints]).toEqual([[], [f.fingerprint]]);
});

describe('the jump host', () => {
  test('its own port, user, key, passphrase and host fingerprint', async () => {
    const s = await f.settings({
      'jump-host': 'bastion.example.com',
      'jump-port': '2200',
      'jump-username': 'jumper',
      'jump-private-key': f.encryptedKey,
      'jump-passphrase': 'secret phrase',
      'jump-host-fingerprint': f.fingerprint,
    });
    expect(s.jump).toEqual({
      host: 'bastion.example.com',
      port: 2200,
      username: 'jumper',
      privateKey: f.encryptedKey.trim(),
      passphrase: 'secret phrase',
      knownHosts: [],
      hostFingerprints: [f.fingerprint],
    });
  });

  test("the target's key comes with its passphrase; a key of its own does not take the target's", async () => {
    const target = { 'private-key': f.encryptedKey, passphrase: 'secret phrase' };
    const jump = { 'jump-host': 'b', 'jump-host-fingerprint': f.fingerprint };
    const inherited = await f.settings({ ...target, ...jump });
    expect(inherited.jump).toMatchObject({ privateKey: f.encryptedKey.trim(), passphrase: 'secret phrase' });
    const own = await f.settings({ ...target, ...jump, 'jump-private-key': f.key });
    expect(own.jump).toMatchObject({ privateKey: f.key.trim(), passphrase: undefined });
  });

  test.each<[Record<string, string>, string[]]>([
    [{ 'jump-username': 'a b' }, ['jump-username: is not a valid user name']],
    [{ 'jump-host': 'bad!' }, ['jump-host: "bad!" is not a host name, IP address or host:port']],
    [{ 'jump-port': '0' }, ['jump-port: must be a whole number from 1 to 65535, got "0"']],
    [
      { 'jump-private-key': 'ENCRYPTED' },
      ['jump-private-key: is encrypted: give its passphrase in the jump-passphrase input'],
    ],
    // The target's key is checked once, under its own name.
    [
      { 'private-key': 'not a key' },
      ['private-key: is not a usable private key (Unsupported key format); paste the whole key file'],
    ],
    [
      { 'jump-host-fingerprint': '' },
      [
        'jump-known-hosts: or jump-host-fingerprint is required so the server is verified: run `ssh-keyscan -p PORT HOST` and store its output in a secret (or set strict-host-key-checking: false, not recommended)',
      ],
    ],
  ])('%j is refused', async (values, problems) => {
    const v: Record<string, string> = { 'jump-host': 'b', 'jump-host-fingerprint': f.fingerprint, ...values };
    if (v['jump-private-key'] === 'ENCRYPTED') v['jump-private-key'] = f.encryptedKey;
    expect(await f.problems(v)).toEqual(problems);
  });

  test('without strict host key checking it needs no host key either', async () => {
    const s = await f.settings({ 'jump-host': 'b', 'strict-host-key-checking': 'false' });
    expect(s.jump).toMatchObject({ host: 'b', port: 22, knownHosts: [], hostFingerprints: [] });
  });
});
