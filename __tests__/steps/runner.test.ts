// Each step is a log group that ends with its status and duration, and a row of the job summary.
import { StepError, StepRunner } from '../../src/steps/runner.js';
import { recordingLog } from '../support/fake-host.js';
import { rejection } from './helpers.js';

function runner() {
  const clock = { t: 5000 };
  const log = recordingLog();
  return { clock, log, steps: new StepRunner('web-1', log, () => clock.t) };
}

test('a step that succeeds: its group, its detail, its status and duration; its value is returned', async () => {
  const { clock, log, steps } = runner();
  const value = await steps.run('Upload', async (detail) => {
    clock.t += 1234;
    detail('1.0 MB in 1.23 s');
    return 'r2';
  });
  expect(value).toBe('r2');
  expect(log.lines).toEqual([
    'group: Upload',
    'info: 1.0 MB in 1.23 s',
    'info: Upload: ok in 1.23 s',
    'endgroup',
  ]);
  expect(steps.records).toEqual([
    { host: 'web-1', name: 'Upload', status: 'ok', durationMs: 1234, detail: '1.0 MB in 1.23 s' },
  ]);
});

test('a step that reports no detail has an empty one in the summary', async () => {
  const { log, steps } = runner();
  await steps.run('Lock', async () => undefined);
  expect(steps.records).toEqual([{ host: 'web-1', name: 'Lock', status: 'ok', durationMs: 0, detail: '' }]);
  expect(log.lines).toEqual(['group: Lock', 'info: Lock: ok in 0.00 s', 'endgroup']);
});

test('a failure: named by its step, its first line in the summary, the whole message in the log', async () => {
  const { clock, log, steps } = runner();
  const cause = new Error('switch nginx to port 8081 failed with exit code 32:\nnginx: [emerg] bad');
  const error = await rejection(
    steps.run('Switch nginx', async () => {
      clock.t += 500;
      throw cause;
    }),
  );
  expect(error).toBeInstanceOf(StepError);
  expect(error).toMatchObject({ step: 'Switch nginx', cause });
  expect(error.message).toBe(
    'Switch nginx failed: switch nginx to port 8081 failed with exit code 32:\nnginx: [emerg] bad',
  );
  expect(log.lines).toEqual([
    'group: Switch nginx',
    'info: Switch nginx failed: switch nginx to port 8081 failed with exit code 32:\nnginx: [emerg] bad',
    'info: Switch nginx: failed in 0.50 s',
    'endgroup',
  ]);
  expect(steps.records).toEqual([
    {
      host: 'web-1',
      name: 'Switch nginx',
      status: 'failed',
      durationMs: 500,
      detail: 'switch nginx to port 8081 failed with exit code 32:',
    },
  ]);
});

test('a thrown non-Error is shown as text; a StepError is passed on as it is', async () => {
  const { steps } = runner();
  const plain = await rejection(steps.run('Drain nginx', () => Promise.reject(new Error('x'))));
  expect(plain.message).toBe('Drain nginx failed: x');
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what this test is about
  const text = await rejection(steps.run('Bake', () => Promise.reject('gone')));
  expect(text.message).toBe('Bake failed: gone');
  const inner = new StepError('Lock', new Error('lost'));
  await expect(steps.run('Outer', () => Promise.reject(inner))).rejects.toBe(inner);
  expect(steps.records.map((r) => [r.name, r.status, r.detail])).toEqual([
    ['Drain nginx', 'failed', 'x'],
    ['Bake', 'failed', 'gone'],
    ['Outer', 'failed', 'Lock failed: lost'],
  ]);
});

test('a skipped step: shown in the log as in the summary', () => {
  const { log, steps } = runner();
  steps.skip('Bake', 'bake-time is 0');
  expect(log.lines).toEqual(['info: Bake: skipped (bake-time is 0)']);
  expect(steps.records).toEqual([
    { host: 'web-1', name: 'Bake', status: 'skipped', durationMs: 0, detail: 'bake-time is 0' },
  ]);
});
