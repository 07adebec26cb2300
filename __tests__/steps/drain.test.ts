// Step 9 alone: a drain within drain-timeout is a summary line; past it, a warning too.
import { drain } from '../../src/steps/drain.js';
import { stepContext } from './helpers.js';

test('drained in time: no warning', async () => {
  const s = stepContext({ drain: () => ({ ms: 30, timedOut: false }) });
  await drain(s.ctx, [5, 6]);
  expect(s.log.lines).toEqual([
    'group: Drain nginx',
    'info: 2 old nginx workers finished their requests in 30 ms',
    'info: Drain nginx: ok in 0.00 s',
    'endgroup',
  ]);
});

test('still busy at drain-timeout: a warning, and the step goes on', async () => {
  const s = stepContext({ drain: () => ({ ms: 2500, timedOut: true }) }, { drainTimeoutMs: 2500 });
  await drain(s.ctx, [5]);
  expect(s.log.lines.slice(1, 3)).toEqual([
    'warning: old nginx workers were still busy after drain-timeout (2.5 s)',
    'info: 1 old nginx workers finished their requests in 2500 ms',
  ]);
});
