// The per-colour inputs through the steps, against the fake host: what the launch runs (detached and under
// systemd), the env file of each port, the health URL of the gate, the bake window, status and preflight, and
// secret values cut out of the log tail as the app on that port got them.
import type { RemoteCommand } from '../../src/commands/types.js';
import type { Settings } from '../../src/inputs.js';
import { deployPlan } from '../../src/preflight-plan.js';
import { readyProbe, statusRead } from '../support/fake-host.js';
import { hostStatus } from '../../src/status.js';
import { bake } from '../../src/steps/bake.js';
import { healthGate } from '../../src/steps/health-gate.js';
import { launch } from '../../src/steps/launch.js';
import { upload } from '../../src/steps/upload.js';
import { planFor, rejection, stepContext } from './helpers.js';

const APP = { pid: 22, start: '200' };
const TEMPLATES: Partial<Settings> = {
  javaOpts: ['-Djmx.port={port+2000}', '-Dname=app {color}'],
  portArg: ['-port={port}'],
  appArgs: ['--management.server.port={port+1000}'],
  env: [['LOG', '/var/log/app-{color}.log']],
  secretEnv: [['PW', 'pw-{color}']],
  healthPath: '/health/{color}',
  healthPort: '{port+1000}',
};

/** The launch script's last line of the JVM: green (8081) is the idle port. */
async function launched(extra: Partial<Settings>): Promise<string> {
  let script = '';
  const s = stepContext(
    { launch: (cmd: RemoteCommand<'launch'>) => ((script = cmd.script), { pid: 22, start: '200' }) },
    extra,
  );
  await launch(s.ctx, planFor(), 'r2');
  return script.split('\n').find((l) => l.includes('-jar')) ?? '';
}

test('launch: java-opts, port-arg and app-args for the idle port (green), quoted', async () => {
  expect(await launched(TEMPLATES)).toBe(
    '  exec setsid sh -c \'echo "$$" > "$1" || exit 1; shift; exec "$@"\' launcher /opt/app/releases/r2/.launch.pid java -Djmx.port=10081 \'-Dname=app green\' -jar /opt/app/releases/r2/app.jar -port=8081 --management.server.port=9081',
  );
});

test('launch: port-arg none puts nothing after the jar but app-args', async () => {
  expect(await launched({ portArg: [], appArgs: ['--x={color}'] })).toMatch(
    / -jar \/opt\/app\/releases\/r2\/app\.jar --x=green$/,
  );
});

test('launch under systemd: the launcher runs the same words', async () => {
  expect(await launched({ ...TEMPLATES, supervisor: 'systemd' })).toBe(
    `exec "$java" -Djmx.port=10081 '\\''-Dname=app green'\\'' -jar /opt/app/releases/r2/app.jar -port=8081 --management.server.port=9081 < /dev/null > "$fifo" 2>&1`,
  );
});

test('upload: one env file per port, each with its own values, mode 600', async () => {
  const s = stepContext({}, TEMPLATES);
  await upload(s.ctx);
  expect(s.host.ran.filter((r) => r.startsWith('write '))).toEqual([
    'write /opt/app/releases/r2/app-8080.env (600): export LOG=/var/log/app-blue.log\nexport PW=pw-blue',
    'write /opt/app/releases/r2/app-8081.env (600): export LOG=/var/log/app-green.log\nexport PW=pw-green',
  ]);
});

test('upload without env or secret-env: no env file', async () => {
  const s = stepContext({}, { ...TEMPLATES, env: [], secretEnv: [] });
  await upload(s.ctx);
  expect(s.host.ran.filter((r) => r.startsWith('write '))).toEqual([]);
});

test('health gate: health-port and health-path of the idle port; whose answer, on both ports', async () => {
  const s = stepContext({}, TEMPLATES);
  await healthGate(s.ctx, planFor(), APP, 'r2');
  expect(s.host.ran).toEqual([
    'GET http://127.0.0.1:9081/health/green',
    'who listens on port 8081',
    'who listens on port 9081',
  ]);
  expect(s.rows()).toEqual([
    ['Health check', 'ok', 'http://127.0.0.1:9081/health/green healthy after 0.00 s (1 polls)'],
  ]);
});

test('health gate: the log tail hides the secret as the new app got it, and as it was given', async () => {
  const s = stepContext(
    { alive: () => false, logTail: () => 'pw=pw-green, template pw-{color}, other pw-blue\n' },
    TEMPLATES,
  );
  s.host.health = () => new Error('connect ECONNREFUSED');
  await rejection(healthGate(s.ctx, planFor(), APP, 'r2'));
  expect(s.log.lines).toContain('verbatim: pw=***, template ***, other ***\n');
});

test('bake: the new app is watched at its health URL', async () => {
  const s = stepContext({}, { ...TEMPLATES, bakeTimeMs: 250 });
  await s.clock.sleep(10_000);
  await bake(s.ctx, planFor(), APP);
  expect(s.host.ran.slice(0, 2)).toEqual(['is pid 22 alive', 'GET http://127.0.0.1:9081/health/green']);
});

test("status: each listening port's health at its own health URL", async () => {
  const s = stepContext({ status: statusRead }, TEMPLATES);
  const status = await hostStatus(s.ctx);
  expect(s.host.ran).toEqual(['read the status of /opt/app', 'GET http://127.0.0.1:9080/health/blue']);
  expect(status.ports[0].health?.url).toBe('http://127.0.0.1:9080/health/blue');
});

test("preflight plan: the launch and the health check as the idle port's app gets them", () => {
  const s = stepContext({}, TEMPLATES);
  const plan = deployPlan(s.ctx.settings, s.ctx.paths, planFor(), readyProbe());
  expect(plan).toContain(
    "Launch on 8081: java -Djmx.port=10081 '-Dname=app green' -jar /opt/app/releases/RELEASE/app.jar -port=8081 --management.server.port=9081",
  );
  expect(plan).toContain('Health check: http://127.0.0.1:9081/health/green until healthy (UP), at most 2 s');
});
