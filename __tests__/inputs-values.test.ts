// Single inputs as readSettings reads them: numbers at their bounds and with fractions, the spellings of a
// boolean, paths and their trailing slashes, env lines, the jar glob, and the error that lists every problem.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SettingsError } from '../src/inputs.js';
import { inputsFixture, type InputsFixture } from './support/inputs-fixture.js';

let f: InputsFixture;
beforeAll(() => {
  f = inputsFixture();
});
afterAll(() => f.cleanup());

describe('numbers', () => {
  test('seconds: whole and fractional values, each at its lowest allowed value or above', async () => {
    const s = await f.settings({
      'connect-timeout': '1',
      'command-timeout': '12.5',
      'health-timeout': '30',
      'health-probe-timeout': '0.1',
      'health-interval': '2.25',
      'bake-time': '0',
      'drain-timeout': '45',
      'stop-timeout': '7.75',
      'lock-timeout': '600',
    });
    expect(s).toMatchObject({
      connectTimeoutMs: 1000,
      commandTimeoutMs: 12500,
      healthTimeoutMs: 30000,
      healthProbeTimeoutMs: 100,
      healthIntervalMs: 2250,
      bakeTimeMs: 0,
      drainTimeoutMs: 45000,
      stopTimeoutMs: 7750,
      lockTimeoutMs: 600000,
    });
  });

  test('whole numbers at both bounds are accepted', async () => {
    const s = await f.settings({
      port: '65535',
      'blue-port': '1',
      'green-port': '65535',
      'batch-size': '1',
      'keep-releases': '1',
    });
    expect(s).toMatchObject({
      targets: [{ host: '203.0.113.5', port: 65535 }],
      bluePort: 1,
      greenPort: 65535,
      batchSize: 1,
      keepReleases: 1,
    });
  });

  test.each<[Record<string, string>, string]>([
    [{ port: '65536' }, 'port: must be a whole number from 1 to 65535, got "65536"'],
    [{ 'connect-timeout': '0.99' }, 'connect-timeout: must be a number >= 1, got "0.99"'],
    [{ 'health-probe-timeout': '0.09' }, 'health-probe-timeout: must be a number >= 0.1, got "0.09"'],
    [{ 'bake-time': '-0.5' }, 'bake-time: must be a number >= 0, got "-0.5"'],
    [{ 'health-timeout': '2.' }, 'health-timeout: must be a number >= 1, got "2."'],
    [{ 'health-timeout': '.5' }, 'health-timeout: must be a number >= 1, got ".5"'],
  ])('%j is rejected just past the bound or malformed', async (values, problem) => {
    expect(await f.problems(values)).toEqual([problem]);
  });
});

describe('booleans: true, yes, 1 and false, no, 0, in any case', () => {
  test.each([
    ['true', true],
    ['Yes', true],
    ['yes', true],
    ['1', true],
    ['false', false],
    ['NO', false],
    ['no', false],
    ['0', false],
  ])('%j', async (text, value) => {
    const s = await f.settings({ 'await-stop': text, 'strict-host-key-checking': text });
    expect([s.awaitStop, s.strictHostKeyChecking]).toEqual([value, value]);
  });
});

describe('paths', () => {
  test('trailing slashes go; optional paths are kept when given', async () => {
    const s = await f.settings({
      'remote-dir': '/srv/app//',
      'nginx-include': '/etc/nginx/snippets/app.inc',
      'nginx-config': '/etc/nginx/nginx.conf',
      'nginx-upstream-file': '/etc/nginx/conf.d/bgd-upstream.conf',
    });
    expect(s).toMatchObject({
      remoteDir: '/srv/app',
      nginxInclude: '/etc/nginx/snippets/app.inc',
      nginxConfig: '/etc/nginx/nginx.conf',
      nginxUpstreamFile: '/etc/nginx/conf.d/bgd-upstream.conf',
    });
  });

  test.each<[Record<string, string>, string]>([
    [{ 'remote-dir': '//' }, 'remote-dir: must not be the root directory'],
    [{ 'remote-dir': '/opt/a\nb' }, 'remote-dir: must not contain newlines'],
    [{ 'nginx-include': '/etc/nginx/a\rb.inc' }, 'nginx-include: must not contain newlines'],
    [
      { 'nginx-upstream-file': 'upstream.conf' },
      'nginx-upstream-file: must be an absolute path on the host, got "upstream.conf"',
    ],
    [{ 'nginx-config': '/etc/nginx/../nginx.conf' }, 'nginx-config: must not contain ".."'],
  ])('%j is rejected', async (values, problem) => {
    expect(await f.problems(values)).toEqual([problem]);
  });
});

test('env: blank and comment lines (also indented) are skipped; keys are trimmed, values kept as written', async () => {
  const s = await f.settings({ env: 'A=1\n   \n  # X=commented out\n\t B = two \r\nC=3' });
  expect(s.env).toEqual([
    ['A', '1'],
    ['B', ' two '],
    ['C', '3'],
  ]);
  expect(await f.problems({ env: 'A=1\n\n=no key' })).toEqual([
    'env: line 3 must be KEY=VALUE with KEY made of letters, digits and _',
  ]);
});

test('java, health-expect: kept as given; a java command with a newline is refused', async () => {
  const s = await f.settings({ java: '/opt/jdk/bin/java', 'health-expect': 'OK' });
  expect(s).toMatchObject({ java: '/opt/jdk/bin/java', healthExpect: 'OK' });
  expect(await f.problems({ java: '/opt/jdk/bin/java\n-Dx=1' })).toEqual(['java: must not contain newlines']);
});

describe('the jar', () => {
  test('a glob matching a directory matches no jar (neither the directory nor the files in it)', async () => {
    const libs = join(f.dir, 'libs');
    expect(await f.problems({ jar: libs })).toEqual([
      `jar: "${libs}" matches no file (did the build step run?)`,
    ]);
  });

  test('a glob matching two jars names both', async () => {
    const two = join(f.dir, 'two');
    mkdirSync(two);
    writeFileSync(join(two, 'a.jar'), 'a');
    writeFileSync(join(two, 'b.jar'), 'b');
    expect(await f.problems({ jar: join(two, '*.jar') })).toEqual([
      `jar: "${two}/*.jar" matches 2 files; it must match exactly one: ${two}/a.jar, ${two}/b.jar`,
    ]);
  });

  test('is looked at only when every other input is valid', async () => {
    expect(await f.problems({ 'blue-port': '0', jar: join(f.dir, 'none-*.jar') })).toEqual([
      'blue-port: must be a whole number from 1 to 65535, got "0"',
    ]);
  });
});

test('the error lists every problem, one per line', async () => {
  const error: unknown = await f.settings({ 'blue-port': '0', sudo: 'x' }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SettingsError);
  expect((error as SettingsError).message).toBe(
    'Invalid inputs:\n' +
      '  - blue-port: must be a whole number from 1 to 65535, got "0"\n' +
      '  - sudo: must be one of auto, always, never, got "x"',
  );
});
