// The last step alone: the log lists what was removed, and says nothing when nothing was.
import { prune } from '../../src/steps/prune.js';
import { stepContext } from './helpers.js';

test('nothing old enough to remove: nothing said', async () => {
  const s = stepContext({ prune: () => [] });
  await prune(s.ctx, 'r2');
  expect(s.host.ran).toEqual(['read /opt/app/history.jsonl', 'keep the newest 5 releases']);
  expect(s.log.lines).toEqual([]);
});

test('removed releases are listed', async () => {
  const s = stepContext({ prune: () => ['r0', 'r-1'] });
  await prune(s.ctx, 'r2');
  expect(s.log.lines).toEqual(['info: removed old releases: r0, r-1']);
});
