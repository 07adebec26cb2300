// What a run leaves for the workflow: the outputs, the job summary and the failure message, as the runner
// reads them (GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, workflow commands on stdout).
import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actionsLog, prefixedLog } from '../src/log.js';
import { report, reportEarlyFailure } from '../src/report.js';
import type { StepRecord } from '../src/steps/runner.js';
import { summaryMarkdown, type HostOutcome } from '../src/summary.js';
import { recordingLog } from './support/fake-host.js';

// @actions/core keeps the summary file's path once read: one folder for the whole file, emptied per test.
const dir = mkdtempSync(join(tmpdir(), 'report-'));
let stdout: string[];

beforeEach(() => {
  for (const name of ['GITHUB_OUTPUT', 'GITHUB_STEP_SUMMARY']) {
    writeFileSync(join(dir, name), '');
    process.env[name] = join(dir, name);
  }
  stdout = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => (stdout.push(String(chunk)), true));
});

afterEach(() => {
  jest.restoreAllMocks();
  process.exitCode = undefined;
});

afterAll(() => {
  delete process.env.GITHUB_OUTPUT;
  delete process.env.GITHUB_STEP_SUMMARY;
  rmSync(dir, { recursive: true, force: true });
});

/** The name=value outputs, from the runner's heredoc format. */
function outputs(): Record<string, string> {
  const text = readFileSync(join(dir, 'GITHUB_OUTPUT'), 'utf8');
  const found: Record<string, string> = {};
  for (const m of text.matchAll(/^(.+?)<<(ghadelimiter_[^\n]+)\n([\s\S]*?)\n\2$/gm)) found[m[1]] = m[3];
  return found;
}

const summary = () => readFileSync(join(dir, 'GITHUB_STEP_SUMMARY'), 'utf8');

const ok = (host: string, releaseId: string, activePort: number): HostOutcome => ({
  host,
  ok: true,
  releaseId,
  activePort,
  previousPort: activePort === 9001 ? 9002 : 9001,
});

const step: StepRecord = {
  host: 'a',
  name: 'Switch nginx',
  status: 'ok',
  durationMs: 1234,
  detail: 'x | y\nz',
};

test('success on every host: outputs, a summary, and one info line', async () => {
  await report({ mode: 'deploy', outcomes: [ok('a', 'r1', 9002), ok('b', 'r1', 9002)], steps: [step] }, 4567);
  expect(outputs()).toEqual({
    'active-port': '9002',
    'previous-port': '9001',
    'release-id': 'r1',
    'duration-seconds': '4.6',
    hosts: JSON.stringify([
      { host: 'a', ok: true, releaseId: 'r1', activePort: 9002, previousPort: 9001 },
      { host: 'b', ok: true, releaseId: 'r1', activePort: 9002, previousPort: 9001 },
    ]),
  });
  expect(summary()).toBe(summaryMarkdown([ok('a', 'r1', 9002), ok('b', 'r1', 9002)], [step], 4567));
  expect(stdout.join('')).toBe('Deployed r1 to a (port 9002), r1 to b (port 9002)\n');
  expect(process.exitCode).toBeUndefined();
});

test('hosts that differ get one value each, in host order', async () => {
  await report({ mode: 'deploy', outcomes: [ok('a', 'r1', 9002), ok('b', 'r1-2', 9001)], steps: [] }, 1000);
  expect(outputs()).toMatchObject({
    'active-port': '9002,9001',
    'previous-port': '9001,9002',
    'release-id': 'r1,r1-2',
  });
});

test('a failure: one error line per failed host, naming it once; no active-port', async () => {
  const failed: HostOutcome = {
    host: 'b',
    ok: false,
    releaseId: 'r1',
    activePort: 9001,
    previousPort: 9001,
    error: 'Health check failed: boom',
  };
  await report(
    { mode: 'deploy', outcomes: [failed, { host: 'c', ok: false, error: 'not attempted' }], steps: [] },
    1000,
  );
  expect(stdout.join('')).toBe('::error::b: Health check failed: boom%0Ac: not attempted\n');
  expect(process.exitCode).toBe(1);
  expect(outputs()).toEqual({
    'release-id': 'r1',
    'duration-seconds': '1.0',
    hosts: JSON.stringify([
      {
        host: 'b',
        ok: false,
        releaseId: 'r1',
        activePort: 9001,
        previousPort: 9001,
        error: 'Health check failed: boom',
      },
      { host: 'c', ok: false, error: 'not attempted' },
    ]),
  });
});

test('a first deploy has no previous port: an empty value, or an empty place in the list', async () => {
  const first = (host: string, activePort: number): HostOutcome => ({
    ...ok(host, 'r1', activePort),
    previousPort: undefined,
  });
  await report({ mode: 'deploy', outcomes: [first('a', 9001), first('b', 9001)], steps: [] }, 1000);
  expect(outputs()).toMatchObject({ 'active-port': '9001', 'previous-port': '' });
  writeFileSync(join(dir, 'GITHUB_OUTPUT'), '');
  await report({ mode: 'deploy', outcomes: [ok('a', 'r1', 9002), first('b', 9001)], steps: [] }, 1000);
  expect(outputs()).toMatchObject({ 'active-port': '9002,9001', 'previous-port': '9001,' });
});

test('release-id: the hosts that succeeded, not a failed host that claimed its own folder', async () => {
  const failed: HostOutcome = { host: 'b', ok: false, releaseId: 'r1-2', activePort: 9001, error: 'boom' };
  await report({ mode: 'deploy', outcomes: [ok('a', 'r1', 9002), failed], steps: [] }, 1000);
  expect(outputs()['release-id']).toBe('r1');
});

test('a failed host without a message is reported as failed', async () => {
  await report({ mode: 'deploy', outcomes: [{ host: 'a', ok: false }], steps: [] }, 10);
  expect(stdout.join('')).toBe('::error::a: failed\n');
});

test('a host without a release or port reads "?" in the info line, never "undefined"', async () => {
  await report({ mode: 'deploy', outcomes: [{ host: 'a', ok: true }], steps: [] }, 10);
  expect(stdout.join('')).toBe('Deployed ? to a (port ?)\n');
});

test('no release-id output when no host got as far as claiming a folder', async () => {
  await report(
    { mode: 'deploy', outcomes: [{ host: 'a', ok: false, error: 'Connect failed: refused' }], steps: [] },
    10,
  );
  expect(Object.keys(outputs()).sort()).toEqual(['duration-seconds', 'hosts']);
});

test('a failure before any host: the message and a summary saying nothing changed', async () => {
  await reportEarlyFailure('Invalid inputs:\n  - port: bad');
  expect(stdout.join('')).toBe('::error::Invalid inputs:%0A  - port: bad\n');
  expect(summary()).toBe(
    '## Blue/green deploy failed before any host was changed\n\n<pre><code>Invalid inputs:\n  - port: bad</code></pre>\n',
  );
});

describe('summary', () => {
  test('the whole table, with cells escaped', () => {
    const outcomes: HostOutcome[] = [
      ok('a', 'r1', 9002),
      { host: 'b', ok: false, releaseId: 'r1', activePort: 9001, previousPort: 9001, error: 'Health | bad' },
      { host: 'c', ok: false, releaseId: 'r1', activePort: 9002, previousPort: 9001, error: 'Drain failed' },
      { host: 'd', ok: false, error: 'not attempted' },
    ];
    const skipped: StepRecord = {
      ...step,
      name: 'Stop old app',
      status: 'skipped',
      durationMs: 0,
      detail: 'none',
    };
    const failed: StepRecord = { ...step, host: 'b', status: 'failed', detail: 'boom' };
    expect(summaryMarkdown(outcomes, [step, skipped, failed], 61_000)).toBe(
      [
        '## Blue/green deploy failed in 61.0 s',
        '',
        '| Host | Release | Result | Now serving | Previous |',
        '| --- | --- | --- | --- | --- |',
        '| a | r1 | ✅ deployed | 9002 | 9001 |',
        '| b | r1 | ❌ Health \\| bad | 9001 (previous version) | 9001 |',
        '| c | r1 | ❌ Drain failed | 9002 (new version) | 9001 |',
        '| d | – | ❌ not attempted | – | – |',
        '',
        '| Host | Step | Result | Duration | Detail |',
        '| --- | --- | --- | --- | --- |',
        '| a | Switch nginx | ✅ ok | 1.23 s | x \\| y z |',
        '| a | Stop old app | ⏭️ skipped | 0.00 s | none |',
        '| b | Switch nginx | ❌ failed | 1.23 s | boom |',
        '',
      ].join('\n'),
    );
  });

  test('a failure without a message, and success', () => {
    expect(summaryMarkdown([{ host: 'a', ok: false }], [], 0)).toContain('| a | – | ❌ failed | – | – |');
    expect(summaryMarkdown([ok('a', 'r', 9001)], [], 0)).toMatch(
      /^## Blue\/green deploy succeeded in 0\.0 s\n/,
    );
  });
});

describe('log', () => {
  test('parallel hosts: every line carries its host, groups become plain lines', () => {
    const base = recordingLog();
    const log = prefixedLog(base, 'h1');
    log.startGroup('Lock');
    log.info('a\nb');
    log.warning('w');
    log.error('e');
    log.debug('d');
    log.verbatim('::error::x\ny');
    log.endGroup();
    expect(base.lines).toEqual([
      'info: [h1] ── Lock',
      'info: [h1] a\n[h1] b',
      'warning: [h1] w',
      'error: [h1] e',
      'debug: [h1] d',
      'verbatim: [h1] ::error::x\n[h1] y',
    ]);
  });

  test('the Actions log writes workflow commands', () => {
    actionsLog.startGroup('G');
    actionsLog.info('i');
    actionsLog.warning('w');
    actionsLog.error('e');
    actionsLog.debug('d');
    actionsLog.endGroup();
    expect(stdout.join('')).toBe('::group::G\ni\n::warning::w\n::error::e\n::debug::d\n::endgroup::\n');
  });

  test('text from the host is wrapped in stop-commands with a fresh token', () => {
    actionsLog.verbatim('::error::from the app\n::add-mask::x');
    actionsLog.verbatim('again');
    const [start, text, end, start2] = stdout.map((l) => l.replace(/\n$/, ''));
    const token = /^::stop-commands::(bgd-[0-9a-f]{24})$/.exec(start)?.[1];
    expect(token).toBeDefined();
    expect(text).toBe('::error::from the app\n::add-mask::x');
    expect(end).toBe(`::${token}::`);
    expect(start2).not.toBe(start);
  });
});
