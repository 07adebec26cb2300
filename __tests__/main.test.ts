// The run as the runner drives it: INPUT_* variables in, outputs, summary and workflow commands out, with a
// fake host in place of SSH.
import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { run } from '../src/main.js';
import type { Connector } from '../src/rollout.js';
import { FakeHost } from './support/fake-host.js';

const dir = mkdtempSync(join(tmpdir(), 'main-'));
const jar = join(dir, 'app.jar');
writeFileSync(jar, 'not really a jar');
// A real key, so that the inputs are valid; its lines are what the run must mask.
const KEY = ssh2.utils.generateKeyPairSync('ed25519').private.trim().split('\n');
let stdout: string[];
let env: NodeJS.ProcessEnv;

const inputs: Record<string, string> = {
  host: 'h1',
  username: 'deploy',
  'private-key': KEY.join('\n'),
  'host-fingerprint': 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU',
  jar,
  'release-id': 'r2',
  'secret-env': 'TOKEN=very-secret-value',
  'health-timeout': '1',
  'bake-time': '0',
};

beforeEach(() => {
  env = { ...process.env };
  for (const name of ['GITHUB_OUTPUT', 'GITHUB_STEP_SUMMARY']) {
    writeFileSync(join(dir, name), '');
    process.env[name] = join(dir, name);
  }
  for (const [name, value] of Object.entries(inputs)) process.env[`INPUT_${name.toUpperCase()}`] = value;
  stdout = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => (stdout.push(String(chunk)), true));
});

afterEach(() => {
  jest.restoreAllMocks();
  process.env = env;
  process.exitCode = undefined;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** GITHUB_OUTPUT as [name, value] pairs, in the order they were set (each `name<<delimiter` block). */
function outputs(): [string, string][] {
  const text = readFileSync(join(dir, 'GITHUB_OUTPUT'), 'utf8');
  return [...text.matchAll(/^([a-z-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)].map((m) => [m[1], m[3]]);
}

const fake =
  (host = new FakeHost()): (() => Connector) =>
  () =>
  async () => ({ host, close: async () => undefined });

test('a deploy: secrets masked first, then the steps, outputs and the summary', async () => {
  await run(fake());
  const out = stdout.join('');
  expect(out.indexOf(`::add-mask::${KEY[1]}`)).toBeGreaterThan(-1);
  expect(out).toContain(`::add-mask::${KEY[0]}`);
  expect(out).toContain('::add-mask::very-secret-value\n');
  expect(out.indexOf('::add-mask::')).toBeLessThan(out.indexOf('::group::'));
  expect(out).toMatch(/Deployed r2 to h1 \(port 8081\)\n$/);
  expect(outputs()).toEqual([
    ['duration-seconds', expect.stringMatching(/^\d+\.\d$/)],
    ['active-port', '8081'],
    ['previous-port', '8080'],
    ['release-id', 'r2'],
    [
      'hosts',
      '[{"host":"h1","ok":true,"releaseId":"r2","activePort":8081,"previousPort":8080,"previousRelease":"r1"}]',
    ],
  ]);
  expect(readFileSync(join(dir, 'GITHUB_STEP_SUMMARY'), 'utf8')).toMatch(
    /^## Blue\/green deploy succeeded in/,
  );
  expect(process.exitCode).toBeUndefined();
});

test('short lines of a key are not masked (they would hide unrelated log text)', async () => {
  process.env.INPUT_PASSPHRASE = 'pw\nlong-enough';
  await run(fake());
  const masks = stdout.filter((l) => l.startsWith('::add-mask::'));
  expect(masks).toContain('::add-mask::long-enough\n');
  expect(masks).not.toContain('::add-mask::pw\n');
});

test('every secret input is masked whole, then each line of 8 characters or more, trimmed; nothing empty', async () => {
  // Jump secrets are masked even when no jump host uses them; a key may come with CRLF line ends.
  process.env['INPUT_JUMP-PRIVATE-KEY'] =
    '-----BEGIN KEY-----\r\nabcdefgh\r\nabc\r\n   short   \r\n-----END KEY-----';
  process.env['INPUT_JUMP-PASSPHRASE'] = 'first-line  \n  second-line';
  process.env['INPUT_SECRET-ENV'] = 'TOKEN=very-secret-value\nEMPTY=';
  await run(fake());
  const masks = stdout.filter((l) => l.startsWith('::add-mask::'));
  expect(masks.slice(0, 1 + KEY.length)).toEqual([
    `::add-mask::${KEY.join('%0A')}\n`,
    ...KEY.map((line) => `::add-mask::${line}\n`),
  ]);
  expect(masks.slice(1 + KEY.length)).toEqual([
    '::add-mask::-----BEGIN KEY-----%0D%0Aabcdefgh%0D%0Aabc%0D%0A   short   %0D%0A-----END KEY-----\n',
    '::add-mask::-----BEGIN KEY-----\n',
    '::add-mask::abcdefgh\n',
    '::add-mask::-----END KEY-----\n',
    '::add-mask::first-line  %0A  second-line\n',
    '::add-mask::first-line\n',
    '::add-mask::second-line\n',
    '::add-mask::very-secret-value\n',
  ]);
});

test('duration-seconds is the time the run took', async () => {
  jest.spyOn(Date, 'now').mockReturnValueOnce(1_700_000_000_000).mockReturnValue(1_700_000_004_200);
  await run(fake());
  expect(readFileSync(join(dir, 'GITHUB_OUTPUT'), 'utf8')).toMatch(/^duration-seconds<<(.*)\n4\.2\n\1$/m);
});

test('bad inputs: one failure listing every problem, no stack, nothing connected', async () => {
  process.env.INPUT_PORT = 'x';
  process.env['INPUT_BLUE-PORT'] = '70000';
  const connect = jest.fn<() => Connector>();
  await run(connect);
  expect(connect).not.toHaveBeenCalled();
  const error = stdout.find((l) => l.startsWith('::error::')) ?? '';
  expect(error).toMatch(/^::error::Invalid inputs:%0A {2}- port: .*%0A {2}- blue-port: /);
  expect(error).not.toContain('    at ');
  expect(readFileSync(join(dir, 'GITHUB_STEP_SUMMARY'), 'utf8')).toMatch(
    /failed before any host was changed/,
  );
  expect(process.exitCode).toBe(1);
});

test('an unexpected error is reported with its stack', async () => {
  await run(() => {
    throw new TypeError('boom');
  });
  expect(stdout.find((l) => l.startsWith('::error::'))).toMatch(/^::error::TypeError: boom%0A {4}at /);
});

test('a thrown non-Error is reported as text', async () => {
  await run(() => {
    throw 'plain'; // eslint-disable-line @typescript-eslint/only-throw-error
  });
  expect(stdout).toContain('::error::plain\n');
});

test.each(['SIGINT', 'SIGTERM'])(
  '%s cancels the deploy: the new app is stopped, the step fails',
  async (signal) => {
    const host = new FakeHost();
    host.health = () => {
      process.emit(signal as NodeJS.Signals, signal as NodeJS.Signals);
      return { status: 503, body: 'DOWN' };
    };
    await run(fake(host));
    const out = stdout.join('');
    expect(out).toContain(
      `::warning::received ${signal}: cancelling the deploy; the old version keeps serving`,
    );
    expect(out).toContain('::error::h1: Health check failed: the deploy was cancelled');
    expect(host.commands().slice(-2)).toEqual([
      'stop pid 22 on port 8081',
      'record the run in /opt/app/history.jsonl',
    ]);
    const [start, end] = host.history;
    expect(end).toEqual({
      record: {
        v: 1,
        event: 'end',
        id: start.record.id,
        ended: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as string,
        result: 'cancelled',
        release: 'r2',
        port: 8080,
        previous: { release: 'r1', port: 8080 },
        step: 'Health check',
        error: 'Health check failed: the deploy was cancelled',
      },
      marker: 'close',
    });
  },
);

test.each([
  [
    { GITHUB_RUN_ID: '7', GITHUB_RUN_ATTEMPT: '2', GITHUB_ACTOR: 'alice', GITHUB_REPOSITORY: 'o/r' },
    "'run 7.2 by alice of o/r since 20",
  ],
  [
    { GITHUB_RUN_ID: '7', GITHUB_RUN_ATTEMPT: '', GITHUB_ACTOR: '', GITHUB_REPOSITORY: '' },
    "'run 7 since 20",
  ],
  [
    { GITHUB_RUN_ID: '', GITHUB_RUN_ATTEMPT: '3', GITHUB_ACTOR: '', GITHUB_REPOSITORY: '' },
    `'pid ${process.pid} since 20`,
  ],
])('the lock names this run to a deploy that has to wait: %j', async (vars, holder) => {
  Object.assign(process.env, vars);
  const host = new FakeHost();
  await run(fake(host));
  expect(host.lockScripts[0]).toContain(`printf '%s\\n' ${holder}`);
});
