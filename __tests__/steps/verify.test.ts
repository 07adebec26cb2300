// Step 10 alone, on the fake clock: a check through nginx, which no process of ours answers directly.
import { verifyThroughNginx } from '../../src/steps/verify.js';
import { planFor, rejection, stepContext } from './helpers.js';

const APP = { pid: 22, start: '200' };
const VERIFY = 'https://shop.example/health';

test('no answer at first (nginx reloading): polled again, whatever the new app does', async () => {
  let polls = 0;
  const s = stepContext({ alive: () => false });
  s.host.health = () => (++polls === 1 ? new Error('socket hang up') : { status: 200, body: 'UP' });
  await verifyThroughNginx(s.ctx, VERIFY, planFor(), APP);
  expect(s.host.ran).toEqual([`GET ${VERIFY}`, `GET ${VERIFY}`]);
  expect(s.rows()).toEqual([['Verify through nginx', 'ok', `${VERIFY}: HTTP 200 UP`]]);
});

test.each([
  [600, 4, '0.60'],
  [2000, 8, '1.45'],
])('health-timeout %i ms: %i polls, for at most 1.5 s', async (healthTimeoutMs, polls, seconds) => {
  const s = stepContext({}, { healthTimeoutMs });
  s.host.health = () => ({ status: 500, body: 'oops' });
  const error = await rejection(verifyThroughNginx(s.ctx, VERIFY, planFor(), APP));
  expect(error.message).toBe(
    `Verify through nginx failed: ${VERIFY} is not healthy through nginx (HTTP 500 oops); switched back`,
  );
  expect(s.host.ran.filter((t) => t.startsWith('GET'))).toHaveLength(polls);
  expect(s.log.lines).toContain(`info: Verify through nginx: failed in ${seconds} s`);
});
