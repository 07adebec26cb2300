// prepareRelease, verifyUpload and pruneReleases run by a real sh in the sandbox, against real files.
import { createHash } from 'node:crypto';
import { statSync, utimesSync } from 'node:fs';
import {
  CHECKSUM_EXIT,
  NO_SPACE_EXIT,
  prepareRelease,
  pruneReleases,
  verifyUpload,
} from '../../src/commands/release.js';
import { layout } from '../../src/layout.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';

let box: Sandbox;
beforeEach(() => {
  box = sandbox();
  box.file('app/releases/.keep', '');
  box.file('app/run/.keep', '');
});
afterEach(() => box.cleanup());

const paths = () => layout(box.path('app'));
const JAR = 'PK\u0003\u0004 not really a jar\n';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('prepareRelease', () => {
  const prepare = async (id: string, digest = sha(JAR), bytes = JAR.length) => {
    const cmd = prepareRelease(paths(), id, digest, bytes);
    const r = await box.run(cmd.script);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return cmd.parse(r.stdout);
  };

  test('claims the id, then id-2, id-3: never an existing folder', async () => {
    expect(await prepare('r1')).toEqual({ releaseId: 'r1' });
    box.file('app/releases/r1/app.jar', 'running');
    expect(await prepare('r1')).toEqual({ releaseId: 'r1-2' });
    expect(await prepare('r1')).toEqual({ releaseId: 'r1-3' });
    expect(box.read('app/releases/r1/app.jar')).toBe('running');
    expect(box.exists('app/releases/r1-3')).toBe(true);
  });

  test('reuses a release with the same jar by a hard link', async () => {
    box.file('app/releases/old/app.jar', JAR);
    box.file('app/releases/old/app.jar.sha256', `${sha(JAR)}\n`);
    box.file('app/releases/other/app.jar', 'other');
    box.file('app/releases/other/app.jar.sha256', `${sha('other')}\n`);
    expect(await prepare('r2')).toEqual({ releaseId: 'r2', reusedFrom: box.path('app/releases/old') });
    expect(box.read('app/releases/r2/app.jar')).toBe(JAR);
    expect(statSync(box.path('app/releases/r2/app.jar')).ino).toBe(
      statSync(box.path('app/releases/old/app.jar')).ino,
    );
    expect(box.read('app/releases/r2/app.jar.sha256')).toBe(`${sha(JAR)}\n`);
  });

  test('a re-used jar whose checksum cannot be written (disk full): NO_SPACE_EXIT and the folder goes', async () => {
    box.file('app/releases/old/app.jar', JAR);
    box.file('app/releases/old/app.jar.sha256', `${sha(JAR)}\n`);
    // The link succeeds (it takes no space); the checksum file then cannot be written (a folder stands there).
    box.fake('ln', 'mkdir -- "$(dirname "$4")/app.jar.sha256" && exec /bin/ln "$@"');
    const r = await box.run(prepareRelease(paths(), 'r2', sha(JAR), JAR.length).script);
    expect(r.code).toBe(NO_SPACE_EXIT);
    expect(r.stdout).toBe('release=r2\n');
    expect(r.stderr).toBe(
      `not enough disk space (disk full?): cannot write ${box.path('app/releases/r2')}/app.jar.sha256\n`,
    );
    expect(box.exists('app/releases/r2')).toBe(false);
    expect(box.read('app/releases/old/app.jar')).toBe(JAR);
  });

  test('a checksum without its jar, or another jar, is not reused', async () => {
    box.file('app/releases/old/app.jar.sha256', `${sha(JAR)}\n`);
    box.file('app/releases/other/app.jar', 'other');
    box.file('app/releases/other/app.jar.sha256', `${sha('other')}\n`);
    box.fake(
      'df',
      'printf "Filesystem 1024-blocks Used Available Capacity Mounted on\\n/dev/x 100 0 999999 0%% /\\n"',
    );
    expect(await prepare('r2')).toEqual({ releaseId: 'r2' });
    expect(box.exists('app/releases/r2/app.jar')).toBe(false);
  });

  test('too little space: NO_SPACE_EXIT and the folder goes', async () => {
    const cmd = prepareRelease(paths(), 'r3', sha(JAR), 10 * 1024 * 1024);
    box.fake(
      'df',
      'printf "Filesystem 1024-blocks Used Available Capacity Mounted on\\n/dev/x 100 0 11775 0%% /\\n"',
    );
    const r = await box.run(cmd.script);
    expect(r.code).toBe(NO_SPACE_EXIT);
    expect(r.stdout).toBe('release=r3\n');
    expect(r.stderr).toBe(
      `not enough disk space (disk full?): 11775 KiB free, 11776 KiB needed in ${box.path('app')}\n`,
    );
    expect(box.exists('app/releases/r3')).toBe(false);
  });

  test('exactly enough space, or a df that says nothing: go on', async () => {
    box.fake(
      'df',
      'printf "Filesystem 1024-blocks Used Available Capacity Mounted on\\n/dev/x 100 0 11776 0%% /\\n"',
    );
    expect(await prepare('r4', sha(JAR), 10 * 1024 * 1024)).toEqual({ releaseId: 'r4' });
    box.fake('df', 'exit 1');
    expect(await prepare('r5', sha(JAR), 10 * 1024 * 1024)).toEqual({ releaseId: 'r5' });
  });

  test('no releases folder: exit 1 with the reason', async () => {
    const r = await box.run(prepareRelease(layout(box.path('nowhere')), 'r1', sha(JAR), 1).script);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`cannot create a release folder in ${box.path('nowhere/releases')}\n`);
  });
});

describe('verifyUpload', () => {
  test('a matching upload becomes app.jar with its checksum beside it', async () => {
    box.file('app/releases/r1/app.jar.part', JAR);
    const r = await box.run(verifyUpload(paths(), 'r1', sha(JAR)).script);
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(box.read('app/releases/r1/app.jar')).toBe(JAR);
    expect(box.read('app/releases/r1/app.jar.sha256')).toBe(`${sha(JAR)}\n`);
    expect(box.exists('app/releases/r1/app.jar.part')).toBe(false);
  });

  test('a mismatch: CHECKSUM_EXIT, the part removed, no jar', async () => {
    box.file('app/releases/r1/app.jar.part', 'truncated');
    const r = await box.run(verifyUpload(paths(), 'r1', sha(JAR)).script);
    expect(r.code).toBe(CHECKSUM_EXIT);
    expect(r.stderr).toBe(`checksum mismatch: expected ${sha(JAR)}, host has ${sha('truncated')}\n`);
    expect(box.exists('app/releases/r1/app.jar.part')).toBe(false);
    expect(box.exists('app/releases/r1/app.jar')).toBe(false);
    expect(box.exists('app/releases/r1/app.jar.sha256')).toBe(false);
  });

  test('no upload at all: CHECKSUM_EXIT', async () => {
    box.file('app/releases/r1/.keep', '');
    const r = await box.run(verifyUpload(paths(), 'r1', sha(JAR)).script);
    expect(r.code).toBe(CHECKSUM_EXIT);
    expect(r.stderr).toBe(`checksum mismatch: expected ${sha(JAR)}, host has no file\n`);
  });
});

describe('pruneReleases', () => {
  /** Releases r1 (oldest) .. r6 (newest), by folder time. */
  function releases(names: string[]): void {
    names.forEach((name, i) => {
      box.file(`app/releases/${name}/app.jar`, name);
      const t = new Date(Date.UTC(2026, 0, 1, 0, i));
      utimesSync(box.path(`app/releases/${name}`), t, t);
    });
  }
  const list = () =>
    ['r1', 'r 2', 'r3', 'r4', 'r5', 'r6', '-r7'].filter((r) => box.exists(`app/releases/${r}`));

  test('keeps the newest N, the current one and every release a pid file names', async () => {
    releases(['r1', 'r 2', 'r3', '-r7', 'r4', 'r5', 'r6']);
    box.file('app/run/8080.pid', '4242 987654 r1\n');
    box.file('app/run/8081.pid', '4343 987655 r3\n');
    const cmd = pruneReleases(paths(), 2, ['r4']);
    const r = await box.run(cmd.script);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(cmd.parse(r.stdout)).toEqual(['-r7', 'r 2']);
    expect(list()).toEqual(['r1', 'r3', 'r4', 'r5', 'r6']);
  });

  test('keeps everything when there are no more than N', async () => {
    releases(['r1', 'r3']);
    const r = await box.run(pruneReleases(paths(), 2, ['r3']).script);
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(list()).toEqual(['r1', 'r3']);
  });

  test('keep 1 with another current release', async () => {
    releases(['r1', 'r3', 'r4']);
    const r = await box.run(pruneReleases(paths(), 1, ['r1']).script);
    expect(r.stdout).toBe('removed=r3\n');
    expect(list()).toEqual(['r1', 'r4']);
  });

  test('no releases folder: nothing, exit 0', async () => {
    const r = await box.run(pruneReleases(layout(box.path('nowhere')), 1, ['r1']).script);
    expect(r).toMatchObject({ code: 0, stdout: '' });
  });
});
