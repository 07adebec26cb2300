// mode and rollback-on-failure; the jar and release-id per mode: deploy needs the jar, rollback and status
// never look at it, preflight does when it is given.
import { createHash } from 'node:crypto';
import { makeReleaseId } from '../src/inputs.js';
import { inputsFixture, type InputsFixture } from './support/inputs-fixture.js';

let f: InputsFixture;
beforeAll(() => {
  f = inputsFixture();
});
afterAll(() => f.cleanup());

const NO_MATCH = '/nowhere/*.jar';
const sha = createHash('sha256').update('not really a jar').digest('hex');

test('mode: deploy by default; each mode, any case; anything else is a problem naming the choices', async () => {
  expect((await f.settings({})).mode).toBe('deploy');
  for (const mode of ['deploy', 'rollback', 'status', 'preflight']) {
    expect((await f.settings({ mode })).mode).toBe(mode);
  }
  expect((await f.settings({ mode: 'Rollback' })).mode).toBe('rollback');
  expect(await f.problems({ mode: 'undo' })).toEqual([
    'mode: must be one of deploy, rollback, status, preflight, got "undo"',
  ]);
});

test('rollback-on-failure: true by default; true/false, yes/no, 1/0; anything else is a problem', async () => {
  expect((await f.settings({})).rollbackOnFailure).toBe(true);
  for (const [text, value] of [
    ['false', false],
    ['no', false],
    ['0', false],
    ['true', true],
    ['YES', true],
    ['1', true],
  ] as const) {
    expect((await f.settings({ 'rollback-on-failure': text })).rollbackOnFailure).toBe(value);
  }
  expect(await f.problems({ 'rollback-on-failure': 'maybe' })).toEqual([
    'rollback-on-failure: must be true or false, got "maybe"',
  ]);
});

describe('jar', () => {
  test('deploy: required, and read', async () => {
    expect((await f.settings({})).jar).toEqual({ path: f.jar, sha256: sha, bytes: 16 });
    expect(await f.problems({ jar: '' })).toEqual(['jar: is required']);
    expect(await f.problems({ jar: NO_MATCH })).toEqual([
      `jar: "${NO_MATCH}" matches no file (did the build step run?)`,
    ]);
  });

  test.each(['rollback', 'status'])('%s: ignored, even a glob that matches nothing', async (mode) => {
    expect(await f.problems({ mode, jar: NO_MATCH })).toEqual([]);
    expect((await f.settings({ mode, jar: NO_MATCH })).jar).toBeUndefined();
    expect((await f.settings({ mode, jar: f.jar })).jar).toBeUndefined();
    expect((await f.settings({ mode, jar: '' })).jar).toBeUndefined();
  });

  test('preflight: optional; read when given (its size is checked), a bad glob still a problem', async () => {
    expect((await f.settings({ mode: 'preflight', jar: '' })).jar).toBeUndefined();
    expect((await f.settings({ mode: 'preflight' })).jar).toEqual({ path: f.jar, sha256: sha, bytes: 16 });
    expect(await f.problems({ mode: 'preflight', jar: NO_MATCH })).toEqual([
      `jar: "${NO_MATCH}" matches no file (did the build step run?)`,
    ]);
  });
});

describe('release-id', () => {
  const now = new Date('2026-11-24T10:20:30.456Z');

  test('deploy: the input, or one made from the time and the jar', async () => {
    expect((await f.settings({ 'release-id': 'v1.2' })).releaseId).toBe('v1.2');
    const made = await f.settings({});
    const suffix = makeReleaseId(now, sha).slice('20261124T102030Z'.length);
    expect(made.releaseId).toMatch(new RegExp(`^\\d{8}T\\d{6}Z${suffix}$`));
  });

  test('rollback: the release named, or none (the previous good one); a bad name is a problem', async () => {
    expect((await f.settings({ mode: 'rollback', 'release-id': 'v1.1' })).releaseId).toBe('v1.1');
    const none = await f.settings({ mode: 'rollback' });
    expect(none.releaseId).toBeUndefined();
    expect('releaseId' in none).toBe(false);
    expect(await f.problems({ mode: 'rollback', 'release-id': '../etc' })).toEqual([
      'release-id: must be letters, digits, ".", "_" or "-", got "../etc"',
    ]);
  });

  test.each(['status', 'preflight'])('%s: ignored, even an invalid one', async (mode) => {
    const s = await f.settings({ mode, 'release-id': '../etc' });
    expect(s.releaseId).toBeUndefined();
    expect('releaseId' in s).toBe(false);
  });
});
