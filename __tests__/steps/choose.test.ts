// Rollback's step instead of the upload: the release from the host's history and folders, its jar verified.
import { recordLine } from '../../src/history.js';
import { chooseRelease } from '../../src/steps/choose.js';
import { exitCode } from '../support/fake-host.js';
import { planFor, rejection, stepContext } from './helpers.js';

const T = '2026-11-01T10:00:00.000Z';
/** r0 and then r1 deployed; r1 is live (the default plan: our pid 11 of r1 on 8080). */
const HISTORY = [
  recordLine({ v: 1, event: 'start', id: 'a', mode: 'deploy', release: 'r0', started: T }),
  recordLine({ v: 1, event: 'end', id: 'a', ended: T, result: 'deployed', release: 'r0' }),
  recordLine({ v: 1, event: 'start', id: 'b', mode: 'deploy', release: 'r1', started: T }),
  recordLine({ v: 1, event: 'end', id: 'b', ended: T, result: 'deployed', release: 'r1' }),
].join('\n');
const RELEASES = [
  { id: 'r0', complete: true },
  { id: 'r1', complete: true },
];

test('the previous good release, its jar verified; nothing uploaded', async () => {
  const s = stepContext({ history: () => ({ text: HISTORY, releases: RELEASES }) });
  await expect(chooseRelease(s.ctx, planFor())).resolves.toBe('r0');
  expect(s.host.ran).toEqual(['read /opt/app/history.jsonl', 'verify /opt/app/releases/r0/app.jar']);
  expect(s.rows()).toEqual([
    [
      'Choose release',
      'ok',
      `r0 (deployed ${T}); jar sha256 bbbbbbbbbbbb verified on the host, nothing uploaded`,
    ],
  ]);
  expect(s.ctx.state).toEqual({ releaseId: 'r0' });
});

test('a named release', async () => {
  const s = stepContext({ history: () => ({ text: '', releases: RELEASES }) });
  await expect(chooseRelease(s.ctx, planFor(), 'r0')).resolves.toBe('r0');
  expect(s.rows()).toEqual([
    [
      'Choose release',
      'ok',
      'r0 (named by release-id); jar sha256 bbbbbbbbbbbb verified on the host, nothing uploaded',
    ],
  ]);
});

test('nothing to choose: the step fails with the reason, nothing is verified', async () => {
  const s = stepContext();
  const error = await rejection(chooseRelease(s.ctx, planFor()));
  expect(error.message).toBe(
    'Choose release failed: the host has no deploy history yet (history.jsonl), so no release is known to be good: name one with release-id (releases on the host: r1)',
  );
  expect(s.host.ran).toEqual(['read /opt/app/history.jsonl']);
  expect(s.ctx.state).toEqual({});
});

test('the live release named: chosen (serving already), its jar still verified', async () => {
  const s = stepContext({ history: () => ({ text: HISTORY, releases: RELEASES }) });
  await expect(chooseRelease(s.ctx, planFor(), 'r1')).resolves.toBe('r1');
  expect(s.host.commands()).toEqual(['read /opt/app/history.jsonl', 'verify /opt/app/releases/r1/app.jar']);
});

test('a jar that changed since its upload: the step fails with the host message, no release is set', async () => {
  const s = stepContext({
    history: () => ({ text: HISTORY, releases: RELEASES }),
    verifyRelease: exitCode(41, '/opt/app/releases/r0/app.jar is not the jar that was uploaded'),
  });
  const error = await rejection(chooseRelease(s.ctx, planFor()));
  expect(error.message).toBe(
    'Choose release failed: verify /opt/app/releases/r0/app.jar failed with exit code 41:\n/opt/app/releases/r0/app.jar is not the jar that was uploaded',
  );
  expect(s.ctx.state).toEqual({});
});
