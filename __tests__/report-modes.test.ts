// report() for every mode: a rollback's summary and line, the rows of hosts a fleet rolled back, and the
// outputs and failure messages of status and preflight (from hand-made outcomes: their engines are elsewhere).
import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preflightMarkdown, type PreflightOutcome } from '../src/preflight.js';
import { report } from '../src/report.js';
import { statusMarkdown, type StatusOutcome } from '../src/status.js';
import { summaryMarkdown, type HostOutcome } from '../src/summary.js';

const dir = mkdtempSync(join(tmpdir(), 'report-modes-'));
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

function outputs(): Record<string, string> {
  const text = readFileSync(join(dir, 'GITHUB_OUTPUT'), 'utf8');
  const found: Record<string, string> = {};
  for (const m of text.matchAll(/^(.+?)<<(ghadelimiter_[^\n]+)\n([\s\S]*?)\n\2$/gm)) found[m[1]] = m[3];
  return found;
}

const summary = () => readFileSync(join(dir, 'GITHUB_STEP_SUMMARY'), 'utf8');

describe('mode rollback', () => {
  const back: HostOutcome = {
    host: 'a',
    ok: true,
    releaseId: 'r1',
    activePort: 8080,
    previousPort: 8081,
    previousRelease: 'r2',
  };

  test('success: the outputs, the rollback summary and one line', async () => {
    await report({ mode: 'rollback', outcomes: [back], steps: [] }, 1000);
    expect(outputs()).toEqual({
      'duration-seconds': '1.0',
      'active-port': '8080',
      'previous-port': '8081',
      'release-id': 'r1',
      hosts:
        '[{"host":"a","ok":true,"releaseId":"r1","activePort":8080,"previousPort":8081,"previousRelease":"r2"}]',
    });
    expect(summary()).toBe(summaryMarkdown([back], [], 1000, 'rollback'));
    expect(stdout.join('')).toBe('Rolled back: r1 to a (port 8080)\n');
  });

  test('the summary says rollback, and rolled back', () => {
    expect(summaryMarkdown([back], [], 1000, 'rollback').split('\n').slice(0, 5)).toEqual([
      '## Blue/green rollback succeeded in 1.0 s',
      '',
      '| Host | Release | Result | Now serving | Previous |',
      '| --- | --- | --- | --- | --- |',
      '| a | r1 | ✅ rolled back | 8080 | 8081 (r2) |',
    ]);
    const failed = { ...back, ok: false, activePort: 8081, error: 'Choose release failed: none' };
    expect(summaryMarkdown([failed], [], 2000, 'rollback').split('\n').slice(0, 5)).toEqual([
      '## Blue/green rollback failed in 2.0 s',
      '',
      '| Host | Release | Result | Now serving | Previous |',
      '| --- | --- | --- | --- | --- |',
      '| a | r1 | ❌ Choose release failed: none | 8081 (previous version) | 8081 (r2) |',
    ]);
  });
});

describe('a deploy that a fleet rolled back', () => {
  const switched = { ok: true, releaseId: 'r2', activePort: 8081, previousPort: 8080, previousRelease: 'r1' };
  const outcomes: HostOutcome[] = [
    { host: 'a', ...switched, rolledBack: { ok: true, releaseId: 'r1', activePort: 8080 } },
    {
      host: 'b',
      ...switched,
      rolledBack: { ok: false, releaseId: 'r1', activePort: 8081, error: 'Health check failed: x' },
    },
    {
      host: 'c',
      ok: false,
      releaseId: 'r2',
      activePort: 8080,
      previousPort: 8080,
      error: 'Health check failed: y',
    },
    { host: 'd', ...switched, rolledBack: { ok: false } },
  ];

  test('the failure names the failed host; each rolled back host says where it went, or why not', async () => {
    await report({ mode: 'deploy', outcomes, steps: [] }, 1000);
    expect(stdout.join('')).toBe(
      [
        '::error::c: Health check failed: y',
        'a: rolled back to r1 (port 8080)',
        '::error::b: could not be rolled back: Health check failed: x',
        '::error::d: could not be rolled back: unknown',
        '',
      ].join('\n'),
    );
    expect(process.exitCode).toBe(1);
    expect(JSON.parse(outputs().hosts)).toEqual(outcomes);
  });

  test('the summary rows: rolled back to where, or not rolled back and why', () => {
    expect(summaryMarkdown(outcomes, [], 1000).split('\n').slice(4, 8)).toEqual([
      '| a | r2 | ✅ deployed, then ↩️ rolled back to r1 (port 8080) | 8081 | 8080 (r1) |',
      '| b | r2 | ✅ deployed, then ❌ not rolled back: Health check failed: x | 8081 | 8080 (r1) |',
      '| c | r2 | ❌ Health check failed: y | 8080 (previous version) | 8080 |',
      '| d | r2 | ✅ deployed, then ❌ not rolled back: failed | 8081 | 8080 (r1) |',
    ]);
    const unknown: HostOutcome = { host: 'e', ok: true, rolledBack: { ok: true } };
    expect(summaryMarkdown([unknown], [], 0).split('\n')[4]).toBe(
      '| e | – | ✅ deployed, then ↩️ rolled back to ? (port ?) | – | – |',
    );
  });
});

describe('mode status', () => {
  const hosts: StatusOutcome[] = [{ host: 'a', status: { notes: ['r1 on 8080'] } }];

  test('the findings as the status output, its summary; no failure', async () => {
    await report({ mode: 'status', hosts, steps: [] }, 1500);
    expect(outputs()).toEqual({ 'duration-seconds': '1.5', status: JSON.stringify(hosts) });
    expect(summary()).toBe(statusMarkdown(hosts));
    expect(stdout.join('')).toBe('');
    expect(process.exitCode).toBeUndefined();
  });

  test('a host that could not be read fails the step, named with its error', async () => {
    const failing = [...hosts, { host: 'b', error: 'Connect failed: refused' }, { host: 'c', error: 'gone' }];
    await report({ mode: 'status', hosts: failing, steps: [] }, 1500);
    expect(outputs().status).toBe(JSON.stringify(failing));
    expect(stdout.join('')).toBe('::error::b: Connect failed: refused%0Ac: gone\n');
    expect(process.exitCode).toBe(1);
  });
});

describe('mode preflight', () => {
  const pass: PreflightOutcome = {
    host: 'a',
    report: { checks: [{ name: 'disk', ok: true, detail: '2 GB free' }], plan: ['Upload'] },
  };

  test('every check passed: the preflight output, its summary and one line', async () => {
    const hosts = [pass, { ...pass, host: 'b' }];
    await report({ mode: 'preflight', hosts, steps: [] }, 500);
    expect(outputs()).toEqual({ 'duration-seconds': '0.5', preflight: JSON.stringify(hosts) });
    expect(summary()).toBe(preflightMarkdown(hosts));
    expect(stdout.join('')).toBe('preflight passed on a, b: a deploy with these inputs can run\n');
    expect(process.exitCode).toBeUndefined();
  });

  test('a failed check or an unreachable host: one failure listing each, with its fix', async () => {
    const hosts: PreflightOutcome[] = [
      {
        host: 'a',
        report: {
          checks: [
            { name: 'disk', ok: false, detail: '10 MB free, 60 MB needed', fix: 'free space in /opt/app' },
            { name: 'java', ok: true, detail: '17' },
            { name: 'nginx', ok: false, detail: 'nginx -t fails' },
          ],
          plan: [],
        },
      },
      { host: 'b', error: 'Connect failed: refused' },
      { host: 'c' },
    ];
    await report({ mode: 'preflight', hosts, steps: [] }, 500);
    expect(outputs().preflight).toBe(JSON.stringify(hosts));
    expect(stdout.join('')).toBe(
      '::error::a deploy would fail:%0Aa: disk: 10 MB free, 60 MB needed (fix: free space in /opt/app)%0Aa: nginx: nginx -t fails%0Ab: Connect failed: refused\n',
    );
    expect(process.exitCode).toBe(1);
  });
});
