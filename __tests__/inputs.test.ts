import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeReleaseId, parseHosts, readSettings, SettingsError } from '../src/inputs.js';

let dir: string;
let key: string;
let encryptedKey: string;
let knownHosts: string;
let jar: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bgd-inputs-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret phrase', '-f', join(dir, 'enc')]);
  key = readFileSync(join(dir, 'key'), 'utf8');
  encryptedKey = readFileSync(join(dir, 'enc'), 'utf8');
  const pub = readFileSync(join(dir, 'key.pub'), 'utf8').split(' ');
  knownHosts = `[203.0.113.5]:2222 ${pub[0]} ${pub[1]}`;
  mkdirSync(join(dir, 'libs'));
  jar = join(dir, 'libs', 'app-1.0.jar');
  writeFileSync(jar, 'not really a jar');
  writeFileSync(join(dir, 'libs', 'other-1.0.jar'), 'x');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function reader(values: Record<string, string | undefined>) {
  const base: Record<string, string> = {
    host: '203.0.113.5',
    port: '2222',
    username: 'deploy',
    'private-key': key,
    'known-hosts': knownHosts,
    jar,
  };
  const all = { ...base, ...values };
  return (name: string) => all[name] ?? '';
}

async function problems(values: Record<string, string | undefined>): Promise<string[]> {
  try {
    await readSettings(reader(values));
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
  return [];
}

test('defaults: every setting', async () => {
  const s = await readSettings(reader({}), new Date('2026-11-24T10:20:30.456Z'));
  const { knownHosts, jar: jarRead, releaseId, ...rest } = s;
  const jarSha256 = jarRead?.sha256 ?? '';
  expect(jarRead).toEqual({ path: jar, sha256: jarSha256, bytes: 16 });
  expect(rest).toEqual({
    mode: 'deploy',
    rollbackOnFailure: true,
    targets: [{ host: '203.0.113.5', port: 2222 }],
    batchSize: 1,
    jump: undefined,
    username: 'deploy',
    privateKey: key.trim(),
    passphrase: undefined,
    hostFingerprints: [],
    strictHostKeyChecking: true,
    connectTimeoutMs: 20000,
    commandTimeoutMs: 60000,
    remoteDir: '/opt/app',
    keepReleases: 5,
    bluePort: 8080,
    greenPort: 8081,
    java: 'java',
    javaOpts: [],
    appArgs: [],
    portArg: ['--server.port={port}'],
    env: [],
    secretEnv: [],
    healthPath: '/actuator/health',
    healthExpect: 'UP',
    healthTimeoutMs: 120000,
    healthProbeTimeoutMs: 5000,
    healthIntervalMs: 250,
    nginxInclude: '/etc/nginx/conf.d/service-url.inc',
    nginxConfig: undefined,
    nginxUpstreamFile: undefined,
    bakeTimeMs: 10000,
    nginxReload: 'auto',
    verifyUrl: undefined,
    sudo: 'auto',
    drainTimeoutMs: 30000,
    stopTimeoutMs: 30000,
    awaitStop: false,
    lockTimeoutMs: 300000,
    supervisor: 'none',
    serviceName: 'app',
  });
  expect(jarSha256).toBe(createHash('sha256').update('not really a jar').digest('hex'));
  expect(releaseId).toBe(`20261124T102030Z-${jarSha256.slice(0, 12)}`);
  expect(knownHosts.map((e) => [e.patterns, e.keyType, e.line])).toEqual([
    ['[203.0.113.5]:2222', 'ssh-ed25519', 1],
  ]);
});

test('values are parsed and kept intact', async () => {
  const s = await readSettings(
    reader({
      host: 'a.example.com, b.example.com:2200\n[2001:db8::1]:22',
      'remote-dir': '/srv/my app/',
      'java-opts': '-Xmx512m -Dgreeting="hello world"',
      'app-args': "--name='it is' --x=1",
      'spring-profiles': 'prod',
      env: 'A=1\n# comment\n\nB=with = sign and spaces \nC=',
      'secret-env': 'TOKEN=s3cr3t',
      'health-timeout': '2.5',
      'await-stop': 'TRUE',
      'nginx-reload': 'Signal',
      'batch-size': '2',
    }),
  );
  expect(s.targets).toEqual([
    { host: 'a.example.com', port: 2222 },
    { host: 'b.example.com', port: 2200 },
    { host: '2001:db8::1', port: 22 },
  ]);
  expect(s.remoteDir).toBe('/srv/my app');
  expect(s.javaOpts).toEqual(['-Xmx512m', '-Dgreeting=hello world']);
  expect(s.appArgs).toEqual(['--spring.profiles.active=prod', '--name=it is', '--x=1']);
  expect(s.env).toEqual([
    ['A', '1'],
    ['B', 'with = sign and spaces '],
    ['C', ''],
  ]);
  expect(s.secretEnv).toEqual([['TOKEN', 's3cr3t']]);
  expect(s.healthTimeoutMs).toBe(2500);
  expect(s.awaitStop).toBe(true);
  expect(s.nginxReload).toBe('signal');
  expect(s.batchSize).toBe(2);
});

test('an encrypted key opens with its passphrase', async () => {
  await expect(
    readSettings(reader({ 'private-key': encryptedKey, passphrase: 'secret phrase' })),
  ).resolves.toBeDefined();
});

// Each bad input fails before any connection, naming the input and the fix: the whole list of problems.
test.each<[Record<string, string>, string]>([
  [{ 'blue-port': '0' }, 'blue-port: must be a whole number from 1 to 65535, got "0"'],
  [{ 'green-port': '70000' }, 'green-port: must be a whole number from 1 to 65535, got "70000"'],
  [{ 'blue-port': '9000', 'green-port': '9000' }, 'green-port: must differ from blue-port (both are 9000)'],
  [{ 'blue-port': 'abc' }, 'blue-port: must be a whole number from 1 to 65535, got "abc"'],
  [{ port: '-1' }, 'port: must be a whole number from 1 to 65535, got "-1"'],
  [{ host: '' }, 'host: is required'],
  [{ host: 'bad host!' }, 'host: "host!" is not a host name, IP address or host:port'],
  [{ host: '-oProxyCommand=x' }, 'host: "-oProxyCommand=x" is not a host name, IP address or host:port'],
  [{ username: '' }, 'username: is required'],
  [{ username: 'a b' }, 'username: is not a valid user name'],
  [{ jar: 'NODIR/none-*.jar' }, 'jar: "DIR/libs/none-*.jar" matches no file (did the build step run?)'],
  [{ jar: '' }, 'jar: is required'],
  [{ 'private-key': '' }, 'private-key: is required'],
  [
    { 'private-key': 'not a key' },
    'private-key: is not a usable private key (Unsupported key format); paste the whole key file',
  ],
  [{ 'private-key': 'ENCRYPTED' }, 'private-key: is encrypted: give its passphrase in the passphrase input'],
  [
    { 'private-key': 'ENCRYPTED', passphrase: 'wrong' },
    'passphrase: does not open the private key (OpenSSH key integrity check failed -- bad passphrase?)',
  ],
  [
    { 'known-hosts': 'garbage' },
    'known-hosts: known-hosts line 1: expected "host-patterns key-type base64-key", found 1 field(s); paste lines as ssh-keyscan prints them',
  ],
  [
    { 'known-hosts': '', 'host-fingerprint': '' },
    'known-hosts: or host-fingerprint is required so the server is verified: run `ssh-keyscan -p PORT HOST` and store its output in a secret (or set strict-host-key-checking: false, not recommended)',
  ],
  [
    { 'host-fingerprint': 'MD5:aa:bb' },
    'host-fingerprint: invalid host-fingerprint "MD5:aa:bb": MD5 fingerprints are not supported; use the SHA256: form `ssh-keygen -lf` prints',
  ],
  [{ 'health-timeout': '-5' }, 'health-timeout: must be a number >= 1, got "-5"'],
  [{ 'health-timeout': 'soon' }, 'health-timeout: must be a number >= 1, got "soon"'],
  [{ 'health-interval': '0' }, 'health-interval: must be a number >= 0.05, got "0"'],
  [{ 'drain-timeout': '-1' }, 'drain-timeout: must be a number >= 0, got "-1"'],
  [{ 'stop-timeout': 'x' }, 'stop-timeout: must be a number >= 0, got "x"'],
  [{ 'lock-timeout': '1e9' }, 'lock-timeout: must be a number >= 0, got "1e9"'],
  [{ 'command-timeout': '0.5' }, 'command-timeout: must be a number >= 1, got "0.5"'],
  [{ 'remote-dir': 'relative/dir' }, 'remote-dir: must be an absolute path on the host, got "relative/dir"'],
  [{ 'remote-dir': '/' }, 'remote-dir: must not be the root directory'],
  [{ 'remote-dir': '/opt/../etc' }, 'remote-dir: must not contain ".."'],
  [
    { 'nginx-include': 'service-url.inc' },
    'nginx-include: must be an absolute path on the host, got "service-url.inc"',
  ],
  [{ 'nginx-config': 'nginx.conf' }, 'nginx-config: must be an absolute path on the host, got "nginx.conf"'],
  [{ sudo: 'maybe' }, 'sudo: must be one of auto, always, never, got "maybe"'],
  [
    { 'nginx-reload': 'restart' },
    'nginx-reload: must be one of auto, systemctl, service, signal, got "restart"',
  ],
  [{ 'await-stop': 'perhaps' }, 'await-stop: must be true or false, got "perhaps"'],
  [{ 'strict-host-key-checking': 'nope' }, 'strict-host-key-checking: must be true or false, got "nope"'],
  [
    { 'health-path': 'actuator/health' },
    'health-path: must be a URL path starting with / and without spaces, got "actuator/health"',
  ],
  [
    { 'health-path': '/a b' },
    'health-path: must be a URL path starting with / and without spaces, got "/a b"',
  ],
  [{ 'java-opts': '-Dx="open' }, 'java-opts: unterminated " in: -Dx="open (quote words with \' or ")'],
  [{ 'app-args': "--x='open" }, "app-args: unterminated ' in: --x='open (quote words with ' or \")"],
  [{ env: 'NOT VALID=1' }, 'env: line 1 must be KEY=VALUE with KEY made of letters, digits and _'],
  [{ env: 'novalue' }, 'env: line 1 must be KEY=VALUE with KEY made of letters, digits and _'],
  [{ 'secret-env': '1X=2' }, 'secret-env: line 1 must be KEY=VALUE with KEY made of letters, digits and _'],
  [
    { 'verify-url': 'https://example.com' },
    'verify-url: must be an http:// URL as seen from the host, e.g. http://127.0.0.1/actuator/health',
  ],
  [{ 'batch-size': '0' }, 'batch-size: must be a whole number >= 1, got "0"'],
  [{ 'keep-releases': '0' }, 'keep-releases: must be a whole number >= 1, got "0"'],
  [{ 'release-id': '../x' }, 'release-id: must be letters, digits, ".", "_" or "-", got "../x"'],
  [{ 'batch-size': '1.5' }, 'batch-size: must be a whole number >= 1, got "1.5"'],
  [{ 'batch-size': '2.0' }, 'batch-size: must be a whole number >= 1, got "2.0"'],
  [{ 'keep-releases': '2.5' }, 'keep-releases: must be a whole number >= 1, got "2.5"'],
  [{ 'keep-releases': '3.0' }, 'keep-releases: must be a whole number >= 1, got "3.0"'],
  [{ port: '22.5' }, 'port: must be a whole number from 1 to 65535, got "22.5"'],
])('%j is rejected', async (values, problem) => {
  const v: Record<string, string | undefined> = { ...values };
  if (v['private-key'] === 'ENCRYPTED') v['private-key'] = encryptedKey;
  if (v.jar?.startsWith('NODIR')) v.jar = join(dir, 'libs', 'none-*.jar');
  expect(await problems(v)).toEqual([problem.replace('DIR', dir)]);
});

// The release id names a folder under releases/: the whole value must be one safe path component.
test.each(['a/../x', 'a/b', '/x', '..', '.', '.hidden', 'a b', 'a\nb', 'x$(id)', 'ok\n/../x', 'é'])(
  'release-id %j is rejected',
  async (releaseId) => {
    await expect(readSettings(reader({ 'release-id': releaseId }))).rejects.toEqual(
      new SettingsError([`release-id: must be letters, digits, ".", "_" or "-", got "${releaseId}"`]),
    );
  },
);

test('a release id of letters, digits, ".", "_" and "-" is kept', async () => {
  const s = await readSettings(reader({ 'release-id': 'v1.2.3_build-7' }));
  expect(s.releaseId).toBe('v1.2.3_build-7');
});

test('whole numbers are kept', async () => {
  const s = await readSettings(reader({ 'batch-size': '3', 'keep-releases': '12', port: '2200' }));
  expect(s).toMatchObject({ batchSize: 3, keepReleases: 12, targets: [{ host: '203.0.113.5', port: 2200 }] });
});

test('a glob that matches several jars names them', async () => {
  const found = await problems({ jar: join(dir, 'libs', '*.jar') });
  expect(found[0]).toMatch(
    /^jar: ".*\*\.jar" matches 2 files; it must match exactly one: .*app-1\.0\.jar.*other-1\.0\.jar/,
  );
});

test('all problems are reported at once', async () => {
  const found = await problems({ 'blue-port': '0', sudo: 'x', 'remote-dir': 'rel' });
  expect(found).toHaveLength(3);
});

test('skipping host key checking is explicit', async () => {
  const s = await readSettings(reader({ 'known-hosts': '', 'strict-host-key-checking': 'false' }));
  expect(s.strictHostKeyChecking).toBe(false);
});

test('a jump host inherits the user and key, and needs its own host key', async () => {
  const s = await readSettings(
    reader({ 'jump-host': 'bastion.example.com:2200', 'jump-known-hosts': knownHosts }),
  );
  expect(s.jump).toMatchObject({
    host: 'bastion.example.com',
    port: 2200,
    username: 'deploy',
    privateKey: key.trim(),
  });
  expect(s.jump?.knownHosts).toHaveLength(1);
  expect(await problems({ 'jump-host': 'bastion.example.com' })).toEqual([
    expect.stringMatching(/^jump-known-hosts: or jump-host-fingerprint is required/),
  ]);
  expect(await problems({ 'jump-host': 'a,b', 'jump-known-hosts': knownHosts })).toEqual([
    'jump-host: must name exactly one host',
  ]);
  expect(
    (
      await problems({ 'jump-host': 'b', 'jump-known-hosts': knownHosts, 'jump-private-key': encryptedKey })
    )[0],
  ).toMatch(/^jump-private-key: is encrypted: give its passphrase in the jump-passphrase input/);
  expect((await readSettings(reader({}))).jump).toBeUndefined();
});

test('parseHosts', () => {
  expect(parseHosts('h1,h2:23', 22)).toEqual([
    { host: 'h1', port: 22 },
    { host: 'h2', port: 23 },
  ]);
  expect(parseHosts('h:99999', 22)).toMatch(/out of range/);
});

test('release ids sort by time', () => {
  expect(makeReleaseId(new Date('2026-01-02T03:04:05.678Z'), 'abcdef0123456789')).toBe(
    '20260102T030405Z-abcdef012345',
  );
});

describe('supervisor and service-name', () => {
  test('defaults: none, app', async () => {
    expect(await readSettings(reader({}))).toMatchObject({ supervisor: 'none', serviceName: 'app' });
  });

  test('systemd and systemd-user, any case; a service name of letters, digits, - and _', async () => {
    const s = await readSettings(reader({ supervisor: 'SystemD-User', 'service-name': 'shop_api-2' }));
    expect(s).toMatchObject({ supervisor: 'systemd-user', serviceName: 'shop_api-2' });
    expect(await readSettings(reader({ supervisor: 'systemd' }))).toMatchObject({ supervisor: 'systemd' });
  });

  test('bad values name the input and the rule', async () => {
    expect(await problems({ supervisor: 'upstart', 'service-name': 'my app@x' })).toEqual([
      'supervisor: must be one of none, systemd, systemd-user, got "upstart"',
      'service-name: must be 1 to 64 letters, digits, "-" or "_", got "my app@x"',
    ]);
    expect(await problems({ 'service-name': 'a'.repeat(65) })).toHaveLength(1);
  });

  test('with a supervisor, remote-dir must be a path a unit file names as it is', async () => {
    expect(await problems({ supervisor: 'systemd', 'remote-dir': '/srv/my app' })).toEqual([
      'remote-dir: must consist of letters, digits, ".", "_", "+", "-" and "/" with supervisor: systemd (a unit file names it), got "/srv/my app"',
    ]);
    expect(await problems({ 'remote-dir': '/srv/my app' })).toEqual([]);
    expect(await problems({ supervisor: 'systemd-user', 'remote-dir': '/srv/%i' })).toHaveLength(1);
  });
});
