// Step 7 alone: polling the new app on its own port, on the fake clock; whose answer it is; its log tail.
import { capLines, healthGate } from '../../src/steps/health-gate.js';
import { planFor, rejection, stepContext } from './helpers.js';

const APP = { pid: 22, start: '200' };
const URL = 'http://127.0.0.1:8081/actuator/health';

test('a refused connection while the app still starts: asked whether it lives, then polled again', async () => {
  let polls = 0;
  const s = stepContext();
  s.host.health = () => (++polls === 1 ? new Error('connect ECONNREFUSED') : { status: 200, body: 'UP' });
  await healthGate(s.ctx, planFor(), APP, 'r2');
  expect(s.host.ran).toEqual([`GET ${URL}`, 'is pid 22 alive', `GET ${URL}`, 'who listens on port 8081']);
  expect(s.rows()).toEqual([['Health check', 'ok', `${URL} healthy after 0.05 s (2 polls)`]]);
});

test('a slow start: the time it took, from the fake clock', async () => {
  let polls = 0;
  const s = stepContext({}, { healthIntervalMs: 1000, healthTimeoutMs: 60_000 });
  await s.clock.sleep(30_000);
  s.host.health = () => (++polls < 5 ? { status: 503, body: 'DOWN' } : { status: 200, body: 'UP' });
  await healthGate(s.ctx, planFor(), APP, 'r2');
  // 100, 150, 225 and 338 ms between the polls
  expect(s.rows()).toEqual([['Health check', 'ok', `${URL} healthy after 0.81 s (5 polls)`]]);
});

test('a long wait says so in the log every 5 s, with the last answer', async () => {
  const s = stepContext({}, { healthIntervalMs: 1000, healthTimeoutMs: 12_000 });
  s.host.health = () => ({ status: 503, body: '{"status":"DOWN"}' });
  const error = await rejection(healthGate(s.ctx, planFor(), APP, 'r2'));
  expect(error.message).toBe(
    `Health check failed: ${URL} was not healthy within 12 s; last answer: HTTP 503 {"status":"DOWN"}`,
  );
  expect(s.log.lines.filter((l) => l.includes('still waiting'))).toEqual([
    'info: still waiting after 5 s: HTTP 503 {"status":"DOWN"}',
    'info: still waiting after 10 s: HTTP 503 {"status":"DOWN"}',
  ]);
});

test('every pid of a foreign listener is named', async () => {
  const s = stepContext({ portOwner: () => ({ owner: 'foreign', pids: [4242, 4343] }) });
  const error = await rejection(healthGate(s.ctx, planFor(), APP, 'r2'));
  expect(error.message).toBe(
    'Health check failed: port 8081 answered healthy, but it is served by pid 4242, 4343, not by the app this deploy launched (pid 22); nothing was switched',
  );
});

describe('a health check on a management port (health-port)', () => {
  const MGMT = 'http://127.0.0.1:9081/actuator/health';

  test('polled there; both ports must be the app this deploy launched', async () => {
    const s = stepContext({}, { healthPort: '{port+1000}' });
    await healthGate(s.ctx, planFor(), APP, 'r2');
    expect(s.host.ran).toEqual([`GET ${MGMT}`, 'who listens on port 8081', 'who listens on port 9081']);
    expect(s.rows()).toEqual([['Health check', 'ok', `${MGMT} healthy after 0.00 s (1 polls)`]]);
  });

  test('a stranger answering on the management port: refused, nothing switched', async () => {
    const s = stepContext(
      {
        portOwner: (cmd) =>
          cmd.title.endsWith(' 9081') ? { owner: 'foreign', pids: [777] } : { owner: 'ours', pids: [22] },
      },
      { healthPort: '{port+1000}' },
    );
    const error = await rejection(healthGate(s.ctx, planFor(), APP, 'r2'));
    expect(error.message).toBe(
      'Health check failed: port 9081 answered healthy, but it is served by pid 777, not by the app this deploy launched (pid 22); nothing was switched',
    );
  });
});

test('the log tail: every secret-env value cut out; an empty one cuts nothing', async () => {
  const s = stepContext(
    { alive: () => false, logTail: () => 'started with token=s3cret and key=k3y\n' },
    {
      secretEnv: [
        ['EMPTY', ''],
        ['TOKEN', 's3cret'],
        ['KEY', 'k3y'],
      ],
    },
  );
  s.host.health = () => new Error('connect ECONNREFUSED');
  await expect(healthGate(s.ctx, planFor(), APP, 'r2')).rejects.toThrow(/exited before it became healthy/);
  expect(s.log.lines.slice(1, 3)).toEqual([
    'info: Last 40 lines of /opt/app/releases/r2/app.log:',
    'verbatim: started with token=*** and key=***\n',
  ]);
});

test('lines of the log tail are cut past 2000 characters, saying how much', () => {
  const at = 'a'.repeat(2000);
  expect(capLines(`${at}\nshort\n`)).toBe(`${at}\nshort\n`);
  expect(capLines(`${at}bc\n`)).toBe(`${at}… (2 more characters)\n`);
});
