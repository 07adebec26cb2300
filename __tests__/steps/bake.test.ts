// Step 11 alone, on the fake clock (started well after 0): how often the new app is watched in the window,
// what a failure says, and how a clean window ends.
import { bake } from '../../src/steps/bake.js';
import type { HttpResult } from '../../src/remote.js';
import { firstDeploy, planFor, rejection, stepContext } from './helpers.js';

const APP = { pid: 22, start: '200' };
const HEALTH = 'http://127.0.0.1:8081/actuator/health';
/** One round every 250 ms of a 2 s window: at 0, 0.25, ... 1.75 s. */
const ROUNDS = 8;

async function baking(extra: { verifyUrl?: string } = {}) {
  const s = stepContext({}, { bakeTimeMs: 2000, ...extra });
  await s.clock.sleep(10_000);
  return s;
}

test('a clean window: watched every 250 ms until it ends, then the backup is dropped and drained', async () => {
  const s = await baking();
  await bake(s.ctx, planFor(), APP);
  expect(s.host.ran).toEqual([
    ...Array.from({ length: ROUNDS }, () => ['is pid 22 alive', `GET ${HEALTH}`]).flat(),
    'nginx: drop the backup on port 8080',
    'wait for 2 old nginx workers',
  ]);
  expect(s.log.lines).toEqual([
    'group: Bake',
    'info: the new app stayed healthy for 2 s; port 8080 is no longer a backup',
    'info: Bake: ok in 2.00 s',
    'endgroup',
  ]);
});

test('a clean window on a first deploy: no backup to drop', async () => {
  const s = await baking();
  await bake(s.ctx, planFor(firstDeploy()), APP);
  expect(s.host.ran).toEqual(
    Array.from({ length: ROUNDS }, () => [
      'is pid 22 alive',
      'GET http://127.0.0.1:8080/actuator/health',
    ]).flat(),
  );
  expect(s.rows()).toEqual([['Bake', 'ok', 'the new app stayed healthy for 2 s']]);
});

test('verify-url is watched in every round too', async () => {
  const s = await baking({ verifyUrl: 'https://shop.example/health' });
  await bake(s.ctx, planFor(), APP);
  expect(s.host.ran.slice(0, 6)).toEqual([
    'is pid 22 alive',
    `GET ${HEALTH}`,
    'GET https://shop.example/health',
    'is pid 22 alive',
    `GET ${HEALTH}`,
    'GET https://shop.example/health',
  ]);
  expect(s.host.ran.filter((t) => t === 'GET https://shop.example/health')).toHaveLength(ROUNDS);
});

test('the new app dies: when, in the window, it was found gone', async () => {
  let checks = 0;
  const s = stepContext({ alive: () => ++checks < 3 }, { bakeTimeMs: 2000 });
  await s.clock.sleep(10_000);
  const error = await rejection(bake(s.ctx, planFor(), APP));
  expect(error.message).toBe(
    'Bake failed: the new app (pid 22) exited 0.5 s into the bake window; switched back: port 8080 serves again',
  );
});

describe('an unhealthy answer, as the error shows it', () => {
  async function unhealthy(answer: HttpResult) {
    const s = await baking();
    s.host.health = () => answer;
    return (await rejection(bake(s.ctx, planFor(), APP))).message;
  }
  const failed = (what: string) =>
    `Bake failed: ${HEALTH} turned unhealthy 0.3 s into the bake window (${what}); switched back: port 8080 serves again`;

  test('its body on one line, each run of white space one space, at most 200 characters', async () => {
    const body = `\n  {"status":  "DOWN",\n\t"detail": "${'x'.repeat(300)}"}  \n`;
    await expect(unhealthy({ status: 503, body })).resolves.toBe(
      failed(`HTTP 503 {"status": "DOWN", "detail": "${'x'.repeat(170)}`),
    );
  });

  test('an empty or blank body: the status alone', async () => {
    await expect(unhealthy({ status: 503, body: '' })).resolves.toBe(failed('HTTP 503'));
    await expect(unhealthy({ status: 502, body: ' \n ' })).resolves.toBe(failed('HTTP 502'));
  });
});
