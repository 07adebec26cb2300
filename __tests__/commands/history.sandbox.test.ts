// appendHistory, readHistory, verifyRelease and the watchdog's lines run by a real sh in the sandbox, against
// real files; the watchdog's record is read back by parseHistory.
import { createHash } from 'node:crypto';
import { chmodSync, statSync, utimesSync } from 'node:fs';
import {
  appendHistory,
  HISTORY_LINES,
  historyAppendSh,
  JAR_CHANGED_EXIT,
  readHistory,
  verifyRelease,
  watchdogHistorySh,
} from '../../src/commands/history.js';
import { holdLock } from '../../src/commands/lock.js';
import { INTERRUPTED_ERROR, parseHistory, recordLine } from '../../src/history.js';
import { layout } from '../../src/layout.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';

let box: Sandbox;
beforeEach(() => {
  box = sandbox();
  box.file('app/releases/.keep', '');
});
afterEach(() => {
  chmodSync(box.path('app'), 0o755);
  box.cleanup();
});

const paths = () => layout(box.path('app'));
const START = recordLine({ v: 1, event: 'start', id: 'run-1', mode: 'deploy', release: 'r2', started: 't0' });
const OLD = '{"v":1,"event":"start","id":"old","mode":"deploy","started":"t"}\n';

async function append(line: string, marker: { open: string } | { close: true }, prefix = '') {
  return box.run(`${prefix}${appendHistory(paths(), line, marker).script}`);
}

describe('appendHistory', () => {
  test('keeps the lines there and adds one, by renaming a new file over the old; the run id is open', async () => {
    box.file('app/history.jsonl', OLD);
    const before = statSync(box.path('app/history.jsonl')).ino;
    const r = await append(START, { open: 'run-1' });
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(box.read('app/history.jsonl')).toBe(`${OLD}${START}\n`);
    expect(statSync(box.path('app/history.jsonl')).ino).not.toBe(before);
    expect(box.read('app/run/history.open')).toBe('run-1\n');
    // no temp file left beside it
    expect((await box.run('ls -A app')).stdout).toBe('history.jsonl\nreleases\nrun\n');

    const end = '{"v":1,"event":"end","id":"run-1","ended":"t1","result":"deployed"}';
    expect(await append(end, { close: true })).toMatchObject({ code: 0, stderr: '' });
    expect(box.read('app/history.jsonl')).toBe(`${OLD}${START}\n${end}\n`);
    expect(box.exists('app/run/history.open')).toBe(false);
  });

  test('the first line creates the file (and run/); mode 644 even under umask 077', async () => {
    const r = await append(START, { open: 'run-1' }, 'umask 077\n');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(box.read('app/history.jsonl')).toBe(`${START}\n`);
    expect(statSync(box.path('app/history.jsonl')).mode & 0o777).toBe(0o644);
  });

  test(`keeps only the newest ${HISTORY_LINES} lines`, async () => {
    const lines = Array.from({ length: HISTORY_LINES }, (_, i) => `line ${i + 1}`);
    box.file('app/history.jsonl', `${lines.join('\n')}\n`);
    expect(await append(START, { close: true })).toMatchObject({ code: 0, stderr: '' });
    const kept = box.read('app/history.jsonl').split('\n');
    expect(kept.length).toBe(HISTORY_LINES + 1); // the last one is empty: the file ends with a newline
    expect(kept.slice(0, 2)).toEqual(['line 2', 'line 3']);
    expect(kept.slice(-3)).toEqual([`line ${HISTORY_LINES}`, START, '']);
  });

  test('a folder it cannot write to: the old file stays as it was, the marker untouched, a non-zero exit', async () => {
    box.file('app/history.jsonl', OLD);
    box.file('app/run/history.open', 'earlier\n');
    chmodSync(box.path('app'), 0o555);
    const r = await append(START, { open: 'run-1' });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').slice(-2)).toEqual([
      `cannot write ${box.path('app/history.jsonl')} (disk full? not writable?)`,
      '',
    ]);
    expect(r.stderr).toMatch(/Permission denied/);
    expect(box.read('app/history.jsonl')).toBe(OLD);
    expect(box.read('app/run/history.open')).toBe('earlier\n');
    expect((await box.run('ls -A app')).stdout).toBe('history.jsonl\nreleases\nrun\n');
  });
});

describe("the watchdog's lines", () => {
  const watchdog = () =>
    [historyAppendSh(paths()), ...watchdogHistorySh(paths(), INTERRUPTED_ERROR)].join('\n');

  test('the open run ends as interrupted: a JSON line parseHistory reads back; the marker goes', async () => {
    box.file('app/history.jsonl', `${START}\n`);
    box.file('app/run/history.open', 'run-1\n');
    const r = await box.run(watchdog());
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const lines = box.read('app/history.jsonl').split('\n');
    expect(lines.length).toBe(3);
    expect(JSON.parse(lines[1])).toEqual({
      v: 1,
      event: 'end',
      id: 'run-1',
      ended: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) as string,
      result: 'interrupted',
      error: INTERRUPTED_ERROR,
    });
    expect(parseHistory(box.read('app/history.jsonl'))).toEqual([
      {
        id: 'run-1',
        mode: 'deploy',
        release: 'r2',
        started: 't0',
        ended: (JSON.parse(lines[1]) as { ended: string }).ended,
        result: 'interrupted',
        error: INTERRUPTED_ERROR,
      },
    ]);
    expect(box.exists('app/run/history.open')).toBe(false);
  });

  test('no open run: nothing is written', async () => {
    box.file('app/history.jsonl', `${START}\n`);
    expect(await box.run(watchdog())).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(box.read('app/history.jsonl')).toBe(`${START}\n`);
  });

  test("the lock shell's watchdog ends the open run when the session goes", async () => {
    box.file('app/history.jsonl', `${START}\n`);
    box.file('app/run/history.open', 'run-1\n');
    const cmd = holdLock(paths(), { holder: 'test', timeoutSeconds: 5, stopTimeoutMs: 100 });
    const lock = box.start(cmd.script);
    await lock.waitFor(cmd.heldLine);
    lock.closeStdin();
    expect((await lock.done).code).toBe(0);
    expect(parseHistory(box.read('app/history.jsonl'))).toMatchObject([
      { id: 'run-1', result: 'interrupted' },
    ]);
    expect(box.exists('app/run/history.open')).toBe(false);
  });
});

describe('readHistory', () => {
  const read = async () => {
    const cmd = readHistory(paths());
    const r = await box.run(cmd.script);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return cmd.parse(r.stdout);
  };

  test('the text as it is, and the release folders oldest first, complete or partial', async () => {
    const text = `${START}\n{"v":1,"note":"ünïcödé ✓"}\n`;
    box.file('app/history.jsonl', text);
    box.file('app/releases/r3/app.jar', 'jar');
    box.file('app/releases/r3/app.jar.sha256', 'abc\n');
    box.file('app/releases/r1/app.jar', 'jar');
    box.file('app/releases/r1/app.jar.sha256', 'abc\n');
    box.file('app/releases/r2/app.jar.part', 'half');
    box.file('app/releases/r4/app.jar', 'jar'); // no checksum: an upload that never finished
    box.file('app/releases/r5/app.jar.sha256', ''); // an empty checksum is none
    box.file('app/releases/r5/app.jar', 'jar');
    box.file('app/releases/stray-file', 'not a release');
    ['r3', 'r1', 'r2', 'r4', 'r5'].forEach((id, i) => {
      utimesSync(box.path(`app/releases/${id}`), 1_700_000_000 + i * 60, 1_700_000_000 + i * 60);
    });
    utimesSync(box.path('app/releases/stray-file'), 1_600_000_000, 1_600_000_000);
    expect(await read()).toEqual({
      text,
      releases: [
        { id: 'r3', complete: true },
        { id: 'r1', complete: true },
        { id: 'r2', complete: false },
        { id: 'r4', complete: false },
        { id: 'r5', complete: false },
      ],
    });
  });

  test('no history and no releases folder yet', async () => {
    await box.run(`rm -rf ${box.path('app/releases')}`);
    expect(await read()).toEqual({ text: '', releases: [] });
  });

  test('a history the deploy user cannot read is an error naming it', async () => {
    box.file('app/history.jsonl', START);
    chmodSync(box.path('app/history.jsonl'), 0o000);
    const r = await box.run(readHistory(paths()).script);
    expect(r).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `${box.path('app/history.jsonl')} exists but the deploy user cannot read it\n`,
    });
  });
});

describe('verifyRelease', () => {
  const JAR = 'PK\u0003\u0004 the jar\n';
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');
  const verify = () => box.run(verifyRelease(paths(), 'r1').script);

  test('a jar with the sha256 recorded at its upload: accepted, its sha256 printed', async () => {
    box.file('app/releases/r1/app.jar', JAR);
    box.file('app/releases/r1/app.jar.sha256', `${sha(JAR)}\n`);
    const r = await verify();
    expect(r).toMatchObject({ code: 0, stdout: `sha256=${sha(JAR)}\n`, stderr: '' });
    expect(verifyRelease(paths(), 'r1').parse(r.stdout)).toBe(sha(JAR));
  });

  test('a changed jar is refused with its exact message', async () => {
    box.file('app/releases/r1/app.jar', `${JAR}changed`);
    box.file('app/releases/r1/app.jar.sha256', `${sha(JAR)}\n`);
    expect(await verify()).toMatchObject({
      code: JAR_CHANGED_EXIT,
      stdout: '',
      stderr: `${box.path('app/releases/r1/app.jar')} is not the jar that was uploaded (sha256 ${sha(`${JAR}changed`)}, recorded ${sha(JAR)}): it is not launched; deploy the release again\n`,
    });
  });

  test('no jar, or no recorded sha256: refused too', async () => {
    box.file('app/releases/r1/app.jar.sha256', `${sha(JAR)}\n`);
    expect(await verify()).toMatchObject({
      code: JAR_CHANGED_EXIT,
      stderr: `${box.path('app/releases/r1/app.jar')} is not the jar that was uploaded (sha256 missing, recorded ${sha(JAR)}): it is not launched; deploy the release again\n`,
    });
    await box.run(`rm -f ${box.path('app/releases/r1/app.jar.sha256')}`);
    box.file('app/releases/r1/app.jar', JAR);
    expect(await verify()).toMatchObject({
      code: JAR_CHANGED_EXIT,
      stderr: `${box.path('app/releases/r1/app.jar')} is not the jar that was uploaded (sha256 ${sha(JAR)}, recorded none): it is not launched; deploy the release again\n`,
    });
  });
});
