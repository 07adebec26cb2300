// Supervision between deploys, on hosts that boot (systemd as PID 1): for supervisor systemd (a system template
// unit, managed with the README's sudoers line) and systemd-user (a user unit; lingering on), the bundled action
// deploys v1 and v2; a kill -9 of the live JVM and a reboot each bring the live version back through nginx with
// no action run; the next deploy works from there; a failed deploy leaves the live instance serving and enabled
// and the new one stopped and disabled. A missing prerequisite (lingering, a sudo right) fails before anything
// is launched, naming the fix.
import { jest } from '@jest/globals';
import { sudoersLine } from '../src/commands/systemd-launch.js';
import { stopUnit } from '../src/commands/systemd.js';
import { layout } from '../src/layout.js';
import { APP_DIR, bootHost, NGINX_INCLUDE, type BootedHost } from '../test-target/booted/index.js';
import { buildDemoJar, type DemoJarOptions } from '../test-target/demo-jar.js';
import {
  runAction,
  startAction,
  stopStartedActions,
  targetInputs,
  type ActionResult,
} from '../test-target/run-action.js';
import { waitUntil } from '../test-target/wait.js';
import { errors, expectFailure, expectSuccess } from './support/action.js';

jest.setTimeout(90_000);

const STOP_TIMEOUT_S = 3;
const BLUE = 8080;
const GREEN = 8081;
type Mode = 'systemd' | 'systemd-user';
/** The switch on this branch also runs `chmod 644` on the include's temp file; the harness's line lacks it. */
const CHMOD_INCLUDE = `deploy ALL=(root) NOPASSWD: /usr/bin/chmod 644 ${NGINX_INCLUDE}.tmp`;

afterEach(stopStartedActions);
const paths = layout(APP_DIR);

describe.each<Mode>(['systemd', 'systemd-user'])('supervisor: %s', (mode) => {
  let host: BootedHost;
  const unit = (port: number) => `app@${port}.service`;

  beforeAll(async () => {
    // Each host lacks what the other mode needs: the systemd host has no lingering, the systemd-user host
    // no systemctl sudo rights.
    host = await bootHost({
      name: `sup-${mode}`,
      linger: mode === 'systemd-user',
      sudoers: [CHMOD_INCLUDE, ...(mode === 'systemd' ? [sudoersLine('deploy', 'app', [BLUE, GREEN])] : [])],
    });
  }, 60_000);
  afterAll(async () => {
    await host.stop();
  });

  const systemctl = (...args: string[]) =>
    mode === 'systemd' ? host.systemctl(...args) : host.userSystemctl('deploy', ...args);
  const state = async (port: number) => {
    const args = ['show', '-p', 'ActiveState', '-p', 'UnitFileState', '-p', 'MainPID', unit(port)];
    const v = new Map(
      (await systemctl(...args)).stdout
        .trim()
        .split('\n')
        .map((l): [string, string] => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    return { active: v.get('ActiveState'), enabled: v.get('UnitFileState'), pid: Number(v.get('MainPID')) };
  };

  /** The state once the instance is no longer between states (an old app may still finish its shutdown). */
  async function settled(port: number) {
    let now = await state(port);
    await waitUntil(
      `${unit(port)} to settle`,
      async () => !((now = await state(port)).active ?? '').endsWith('ing'),
      {
        timeoutMs: 15_000,
        intervalMs: 100,
      },
    );
    return now;
  }

  function inputs(jar: string, extra: Record<string, string> = {}): Record<string, string> {
    const target = {
      host: host.address,
      sshPort: 22,
      username: 'deploy',
      privateKey: host.privateKey,
      knownHosts: host.knownHosts,
      remoteDir: APP_DIR,
      bluePort: BLUE,
      greenPort: GREEN,
      nginxInclude: NGINX_INCLUDE,
      nginxConfig: '',
    };
    return targetInputs(target, { jar, supervisor: mode, 'stop-timeout': String(STOP_TIMEOUT_S), ...extra });
  }

  async function deploy(jar: DemoJarOptions, extra: Record<string, string> = {}): Promise<ActionResult> {
    return runAction({ inputs: inputs(await buildDemoJar(jar), extra) });
  }

  async function servesThroughNginx(version: string, port: number, timeoutMs = 30_000): Promise<number> {
    const t0 = Date.now();
    const want = `version=${version} port=${port}\n`;
    await waitUntil(`nginx to serve ${want.trim()}`, async () => (await host.get('/')).body === want, {
      timeoutMs,
      intervalMs: 100,
    });
    return Date.now() - t0;
  }

  test('a missing prerequisite fails before anything is launched, naming the fix', async () => {
    const other: Mode = mode === 'systemd' ? 'systemd-user' : 'systemd';
    const r = await deploy({ version: 'v0' }, { supervisor: other });
    expectFailure(r);
    const [error] = errors(r);
    const fix =
      other === 'systemd-user'
        ? 'loginctl enable-linger deploy'
        : sudoersLine('deploy', 'app', [BLUE, GREEN]);
    expect(error).toContain(fix);
    expect(error).toContain('Check supervisor failed');
    expect((await host.exec(['pgrep', '-u', 'deploy', 'java'])).code).toBe(1);
    expect((await host.execOk(['ls', '-A', `${APP_DIR}/releases`])).stdout).toBe('');
  });

  test('deploys v1 then v2: the live instance enabled, the old one stopped and disabled; log in app.log and journald', async () => {
    expectSuccess(await deploy({ version: 'v1' }));
    await servesThroughNginx('v1', BLUE, 1000);
    expect(await state(BLUE)).toMatchObject({ active: 'active', enabled: 'enabled' });
    const r = await deploy({ version: 'v2' });
    expectSuccess(r);
    await servesThroughNginx('v2', GREEN, 1000);
    const green = await state(GREEN);
    expect(green).toMatchObject({ active: 'active', enabled: 'enabled' });
    expect(await settled(BLUE)).toMatchObject({ active: 'inactive', enabled: 'disabled' });
    // MainPID is the JVM itself; the records name it.
    const cmdline = await host.readFile(`/proc/${green.pid}/cmdline`);
    expect(cmdline).toContain('app.jar');
    expect((await host.readFile(`${APP_DIR}/run/${GREEN}.pid`)).split(' ')[0]).toBe(String(green.pid));
    expect(r.stdout).toMatch(/old pid \d+ on port 8080: (exited after SIGTERM|closed its port)/);
    // The old app's last words reached its app.log (the tee outlives the SIGTERM); journald has the output too.
    const logs = await host.execOk(['sh', '-c', `tail -q -n 1 ${APP_DIR}/releases/*/app.log`]);
    expect(logs.stdout).toContain('Stopped');
    const journal = await host.execOk([
      'journalctl',
      '--no-pager',
      '-o',
      'cat',
      mode === 'systemd' ? `_SYSTEMD_UNIT=${unit(GREEN)}` : `_SYSTEMD_USER_UNIT=${unit(GREEN)}`,
    ]);
    expect(journal.stdout).toContain('Started DemoApp');
  });

  test('kill -9 of the live JVM: systemd restarts it and nginx serves again, no action run', async () => {
    const before = await state(GREEN);
    expect(before.pid).toBeGreaterThan(1); // never `kill -9 0`
    await host.execOk(['kill', '-9', String(before.pid)]);
    const ms = await servesThroughNginx('v2', GREEN);
    const after = await state(GREEN);
    expect(after.pid).not.toBe(before.pid);
    expect(after).toMatchObject({ active: 'active', enabled: 'enabled' });
    console.log(`${mode}: v2 served again ${ms} ms after kill -9`);
  });

  test("a deploy whose runner dies after the launch: the lock's watchdog stops the new instance", async () => {
    const live = await state(GREEN);
    const jar = await buildDemoJar({ version: 'v-slow', startDelayMs: 20_000 });
    const started = startAction({ inputs: inputs(jar) });
    await started.waitForLine(/Launch on 8080: ok/);
    started.child.kill('SIGKILL');
    await started.done;
    expect(await settled(BLUE)).toMatchObject({ active: 'inactive', enabled: 'disabled' });
    expect(await state(GREEN)).toMatchObject({ active: 'active', enabled: 'enabled', pid: live.pid });
    await servesThroughNginx('v2', GREEN, 1000);
    expect((await host.exec(['pgrep', '-u', 'deploy', '-f', `server.port=${BLUE}`])).code).toBe(1);
  });

  test('a reboot brings the live version back through nginx; the next deploy works from there; a failed one changes nothing', async () => {
    await host.reboot();
    const ms = await servesThroughNginx('v2', GREEN);
    console.log(`${mode}: v2 served ${ms} ms after the host was up again`);
    expect(await state(BLUE)).toMatchObject({ active: 'inactive', enabled: 'disabled' });

    const v3 = await deploy({ version: 'v3' });
    expectSuccess(v3);
    // The launcher recorded the app systemd started at boot: the deploy knows it as its own.
    expect(v3.stdout).not.toContain('not started by this action');
    expect(v3.stdout).toMatch(/old pid \d+ on port 8081: (exited after SIGTERM|closed its port)/);
    await servesThroughNginx('v3', BLUE, 1000);
    expect(await state(BLUE)).toMatchObject({ active: 'active', enabled: 'enabled' });
    expect(await settled(GREEN)).toMatchObject({ active: 'inactive', enabled: 'disabled' });

    const failed = await deploy({ version: 'v4', health: 'DOWN' }, { 'health-timeout': '4' });
    expectFailure(failed);
    expect(errors(failed).join('\n')).toMatch(/Health check failed/);
    await servesThroughNginx('v3', BLUE, 1000);
    expect(await state(BLUE)).toMatchObject({ active: 'active', enabled: 'enabled' });
    expect(await settled(GREEN)).toMatchObject({ active: 'inactive', enabled: 'disabled' });
    expect((await host.exec(['pgrep', '-u', 'deploy', '-f', `server.port=${GREEN}`])).code).toBe(1);

    // A build that crashes at start fails at once (systemd would restart it for ever): stopped and disabled.
    const crashed = await deploy({ version: 'v5', crash: true });
    expectFailure(crashed);
    expect(errors(crashed).join('\n')).toMatch(/exited before it became healthy/);
    expect(crashed.stdout).toContain('crash requested');
    const after = await settled(GREEN);
    expect(['inactive', 'failed']).toContain(after.active);
    expect(after.enabled).toBe('disabled');
    await servesThroughNginx('v3', BLUE, 1000);
  });

  test('an app that ignores SIGTERM is SIGKILLed at stop-timeout, and the stop says so', async () => {
    const launcher = "#!/bin/sh\ntrap '' TERM\nexec sleep 1000\n";
    await host.writeFile(`${APP_DIR}/run/${GREEN}.launch`, launcher, { owner: 'deploy:deploy' });
    await systemctl('start', unit(GREEN));
    const { pid } = await state(GREEN);
    expect(pid).toBeGreaterThan(1);
    const scope = mode === 'systemd' ? 'system' : 'user';
    const app = { pid, start: '0', unit: { scope, name: unit(GREEN), sudo: 'auto' } as const };
    const cmd = stopUnit(paths, { app, port: GREEN, timeoutMs: STOP_TIMEOUT_S * 1000, untilClosed: false });
    const r = await host.ssh('sh -s', { input: cmd.script });
    expect(r.code).toBe(0);
    const stopped = cmd.parse(r.stdout);
    expect(stopped.how).toBe('killed');
    expect(stopped.ms).toBeGreaterThanOrEqual(STOP_TIMEOUT_S * 1000 - 100);
    expect((await settled(GREEN)).active).toBe('failed');
  });
});
