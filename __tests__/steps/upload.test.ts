// Step 4 alone: the summary says how much was sent, how long it took and how fast, on a clock the upload advances.
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { upload } from '../../src/steps/upload.js';
import { stepContext } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upload-step-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A jar of `bytes` whose upload takes `ms` on the fake clock, which starts well after 0. */
async function uploadOf(bytes: number, ms: number) {
  const jarPath = join(dir, `app-${bytes}.jar`);
  await writeFile(jarPath, '');
  await truncate(jarPath, bytes);
  const s = stepContext({}, { jar: { path: jarPath, sha256: 'a'.repeat(64), bytes } });
  await s.clock.sleep(60_000);
  const send = s.host.upload.bind(s.host);
  s.host.upload = async (local, remote) => {
    await s.clock.sleep(ms);
    await send(local, remote);
  };
  await expect(upload(s.ctx)).resolves.toBe('r2');
  return s;
}

test.each([
  [1500, 250, '1.5 kB in 0.25 s (0.0 MB/s), sha256 verified'],
  [999_999, 1000, '1000.0 kB in 1.00 s (1.0 MB/s), sha256 verified'],
  [1_000_000, 2000, '1.0 MB in 2.00 s (0.5 MB/s), sha256 verified'],
  [12_500_000, 500, '12.5 MB in 0.50 s (25.0 MB/s), sha256 verified'],
])('%i bytes in %i ms: %s', async (bytes, ms, detail) => {
  const s = await uploadOf(bytes, ms);
  expect(s.rows()).toEqual([['Upload', 'ok', detail]]);
  expect(s.host.commands()).toEqual([
    'prepare release r2',
    'upload /opt/app/releases/r2/app.jar.part',
    'verify sha256 of /opt/app/releases/r2/app.jar',
  ]);
});

test('the release folder of the release-id: nothing to say about it in the log', async () => {
  const s = await uploadOf(1500, 250);
  expect(s.log.lines).toEqual([
    'group: Upload',
    'info: 1.5 kB in 0.25 s (0.0 MB/s), sha256 verified',
    'info: Upload: ok in 0.25 s',
    'endgroup',
  ]);
  expect(s.ctx.state).toEqual({ releaseId: 'r2' });
});
