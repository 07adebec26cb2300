// Hardened hosts often run sshd with AllowTcpForwarding no: the health checks then run on the host with curl.
// Each test starts from what the target serves, so the tests pass alone and in any order.
import { buildDemoJar } from '../test-target/demo-jar.js';
import { runAction, stopStartedActions, targetInputs } from '../test-target/run-action.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { expectFailure, expectSuccess } from './support/action.js';
import { ensureServing } from './support/serving.js';

let target: Target;
beforeAll(async () => {
  target = await startTarget({ tcpForwarding: false });
}, 30_000);
afterEach(stopStartedActions);
afterAll(async () => {
  await target.stop();
});

test('deploys, checks health and verifies through nginx without TCP forwarding', async () => {
  for (const version of ['v1', 'v2']) {
    const jar = await buildDemoJar({ version, startDelayMs: 500 });
    const r = await runAction({
      inputs: targetInputs(target, { jar, 'verify-url': `${target.nginxUrl}/actuator/health` }),
    });
    expectSuccess(r);
    expect(r.stdout).toMatch(
      /::warning::.*does not allow TCP forwarding: HTTP checks run on the host with curl/,
    );
    expect(r.stdout).toMatch(/Verify through nginx: ok/);
    expect((await target.get('/')).body).toMatch(new RegExp(`^version=${version} `));
  }
}, 60_000);

test('a never-healthy build still fails with the answer it gave', async () => {
  const live = await ensureServing(target);
  const jar = await buildDemoJar({ version: 'v3-down', health: 'DOWN' });
  const r = await runAction({ inputs: targetInputs(target, { jar, 'health-timeout': '2' }) });
  expectFailure(r);
  expect(r.stdout).toMatch(/was not healthy within 2 s; last answer: HTTP 503 \{"status":"DOWN"\}/);
  expect((await target.get('/')).body).toBe(`version=${live.version} port=${live.port}\n`);
}, 60_000);
