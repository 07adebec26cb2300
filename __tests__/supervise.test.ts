// A deploy with a supervisor, against the fake host: the check runs before anything changes, the new app is an
// instance of the unit, the live instance is enabled after the switch, the old one is stopped (and disabled)
// through systemd, and a failed deploy stops the new instance through systemd too.
import { switchHost } from '../src/deploy.js';
import type { Settings } from '../src/inputs.js';
import { hostContext } from '../src/steps/context.js';
import { StepError, StepRunner } from '../src/steps/runner.js';
import { checkSupervisor } from '../src/steps/supervise.js';
import { FakeHost, fakeClock, recordingLog, settings, type Answers } from './support/fake-host.js';
import { stepContext } from './steps/helpers.js';

const RECORD = 'record the run in /opt/app/history.jsonl';

function deploy(answers: Answers = {}, extra: Partial<Settings> = {}) {
  const host = new FakeHost({ launch: (cmd) => cmd.parse('pid=22\nstart=200\n'), ...answers });
  const log = recordingLog();
  const steps = new StepRunner('h', log, () => 0);
  const ctx = hostContext({
    settings: { ...settings, supervisor: 'systemd', ...extra },
    host,
    steps,
    log,
    lockHolder: 't',
    clock: fakeClock(),
  });
  const stepRows = () => steps.records.map((r) => [r.name, r.status, r.detail]);
  return { host, steps: stepRows, run: () => switchHost(ctx, { kind: 'deploy' }) };
}

test('systemd: check, launch as app@8081, enable it, stop app@8080 through systemd', async () => {
  const scripts: string[] = [];
  const d = deploy({ stop: (cmd) => (scripts.push(cmd.script), { how: 'exited', ms: 40 }) });
  await expect(d.run()).resolves.toMatchObject({ activePort: 8081, previousPort: 8080 });
  expect(d.host.commands()).toEqual([
    'lock /opt/app/.deploy.lock',
    RECORD,
    'check supervisor systemd',
    'detect live port (/etc/nginx/conf.d/service-url.inc)',
    'prepare release r2',
    'upload /opt/app/releases/r2/app.jar.part',
    'verify sha256 of /opt/app/releases/r2/app.jar',
    'launch r2 as app@8081.service',
    'who listens on port 8081',
    'switch nginx to port 8081',
    'wait for 2 old nginx workers',
    'enable app@8081.service',
    'stop app@8080.service (pid 11)',
    RECORD,
    'read /opt/app/history.jsonl',
    'keep the newest 5 releases',
  ]);
  expect(d.steps()).toContainEqual([
    'Check supervisor',
    'ok',
    'systemd: app@8080.service and app@8081.service',
  ]);
  expect(d.steps()).toContainEqual([
    'Launch on 8081',
    'ok',
    'app@8081.service, pid 22, log /opt/app/releases/r2/app.log',
  ]);
  expect(d.steps()).toContainEqual(['Enable at boot', 'ok', 'app@8081.service enabled']);
  expect(scripts[0]).toContain('sctl stop --no-block app@8080.service || exit 1');
  expect(d.host.lockScripts[0]).toContain('stop_unit "$unit" 1000');
});

test('systemd-user and another service name: the user unit', async () => {
  const d = deploy({}, { supervisor: 'systemd-user', serviceName: 'shop' });
  await d.run();
  expect(d.host.commands()).toContain('launch r2 as shop@8081.service');
  expect(d.host.commands()).toContain('enable shop@8081.service');
  expect(d.host.commands()).toContain('stop shop@8080.service (pid 11)');
  expect(d.host.commands().slice(0, 3)).toEqual([
    'lock /opt/app/.deploy.lock',
    RECORD,
    'check supervisor systemd-user',
  ]);
});

test('a failed check stops the deploy before anything is uploaded or launched, with every problem', async () => {
  const d = deploy({ supervisorCheck: () => ['no linger: run loginctl enable-linger deploy', 'second'] });
  const error = (await d.run().catch((e: unknown) => e)) as StepError;
  expect(error).toBeInstanceOf(StepError);
  expect(error.message).toBe('Check supervisor failed: no linger: run loginctl enable-linger deploy\nsecond');
  expect(d.host.commands()).toEqual([
    'lock /opt/app/.deploy.lock',
    RECORD,
    'check supervisor systemd',
    RECORD,
  ]);
  expect(d.host.history.map((h) => [h.record.result, h.record.step, h.marker])).toEqual([
    [undefined, undefined, expect.stringMatching(/^open /)],
    ['failed', 'Check supervisor', 'close'],
  ]);
});

test('a new app that never turns healthy: its instance is stopped through systemd; nothing is enabled', async () => {
  const d = deploy();
  d.host.health = () => ({ status: 503, body: '{"status":"DOWN"}' });
  await expect(d.run()).rejects.toThrow(/Health check failed/);
  const commands = d.host.commands();
  expect(commands).toContain('stop app@8081.service (pid 22)');
  expect(commands.some((c) => c.startsWith('enable'))).toBe(false);
  expect(commands.some((c) => c.includes('8080.service'))).toBe(false);
});

test('without a supervisor nothing changes: no check, no enable, a process-group stop', async () => {
  const d = deploy({}, { supervisor: 'none' });
  await d.run();
  expect(d.host.commands()).not.toContain('check supervisor systemd');
  expect(d.host.commands()).toContain('launch r2 on port 8081');
  expect(d.host.commands()).toContain('stop pid 11 on port 8080');
  expect(d.host.commands().some((c) => c.startsWith('enable'))).toBe(false);
  expect(d.host.lockScripts[0]).not.toContain('stop_unit');
});

describe('what the host is sent', () => {
  function recording(extra: Partial<Settings>) {
    const scripts = new Map<string, string>();
    const keep = (cmd: { title: string; script: string }) => scripts.set(cmd.title, cmd.script);
    const d = deploy(
      {
        launch: (cmd) => (keep(cmd), cmd.parse('pid=22\nstart=200\n')),
        supervisorCheck: (cmd) => (keep(cmd), []),
        enableUnit: (cmd) => void keep(cmd),
        stop: (cmd) => (keep(cmd), { how: 'exited', ms: 40 }),
      },
      extra,
    );
    return { ...d, scripts };
  }

  test('systemd: a system unit, recorded as such for the watchdog; java runs the jar on the port', async () => {
    const d = recording({ javaOpts: ['-Xmx256m'], appArgs: ['--spring.profiles.active=prod'] });
    await d.run();
    const launch = d.scripts.get('launch r2 as app@8081.service') ?? '';
    expect(launch).toContain(
      "\nprintf '0 0 %s %s\\n' 8081 system:app@8081.service > /opt/app/run/pending ||",
    );
    expect(launch).toContain('\nunit_file=/etc/systemd/system/app@.service\n');
    expect(launch).toContain(
      'exec "$java" -Xmx256m -jar /opt/app/releases/r2/app.jar --server.port=8081 --spring.profiles.active=prod < /dev/null',
    );
    expect(d.scripts.get('enable app@8081.service')).toContain('\nsctl() { as_root systemctl "$@"; }\n');
    expect(d.scripts.get('stop app@8080.service (pid 11)')).toContain(
      '\nsctl() { as_root systemctl "$@"; }\n',
    );
  });

  test('systemd-user: a user unit, recorded as such, its unit file in the home directory', async () => {
    const d = recording({ supervisor: 'systemd-user', serviceName: 'shop' });
    await d.run();
    const launch = d.scripts.get('launch r2 as shop@8081.service') ?? '';
    expect(launch).toContain("\nprintf '0 0 %s %s\\n' 8081 user:shop@8081.service > /opt/app/run/pending ||");
    expect(launch).toContain('\nunit_file="$HOME"/.config/systemd/user/shop@.service\n');
    expect(d.scripts.get('enable shop@8081.service')).toContain('\nsctl() { systemctl --user "$@"; }\n');
    expect(d.scripts.get('stop shop@8080.service (pid 11)')).toContain(
      '\nsctl() { systemctl --user "$@"; }\n',
    );
  });

  test('the check asks for the sudo rights of both ports, blue-port and green-port', async () => {
    const scripts: string[] = [];
    const s = stepContext(
      { supervisorCheck: (cmd) => (scripts.push(cmd.script), []) },
      { supervisor: 'systemd', bluePort: 9000, greenPort: 9001 },
    );
    await checkSupervisor(s.ctx);
    for (const port of [9000, 9001]) {
      for (const verb of ['start', 'stop --no-block', 'enable', 'disable']) {
        expect(scripts[0]).toContain(`sudo -n -l $sc ${verb} app@${port}.service >/dev/null 2>&1`);
      }
    }
    expect(s.rows()).toEqual([['Check supervisor', 'ok', 'systemd: app@9000.service and app@9001.service']]);
  });
});
