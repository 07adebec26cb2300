// Apps that are not Spring Boot, on the loopback target: three demo apps that read their port in different ways
// (--server.port, PORT only, a -D system property before -jar), one with a management port per colour and one
// with a JMX port made per colour with {port}: each deployed twice in a row under load through nginx with zero
// failed requests, and the real effect checked on the host (the app's argv and environment, what listens).
// Every unknown placeholder is refused before anything on the host changes.
import { jest } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDemoJar, type DemoJarOptions } from '../test-target/demo-jar.js';
import { runAction, startAction, stopStartedActions, targetInputs } from '../test-target/run-action.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { waitUntil } from '../test-target/wait.js';
import { errors, expectSuccess } from './support/action.js';
import { expectNoFailedRequests, whileLoaded } from './support/load.js';
import { ensureServing } from './support/serving.js';

jest.setTimeout(120_000);

let target: Target;
let remoteDir: string;

beforeAll(async () => {
  target = await startTarget();
  remoteDir = target.localPath(target.remoteDir);
  // Load needs something to serve before the first deploy under it.
  await ensureServing(target, 'base');
}, 120_000);
afterEach(stopStartedActions);
afterAll(async () => {
  await target.stop();
});

/** The app the action recorded on `port` (run/PORT.pid: pid, start, release). */
function appOn(port: number): { pid: number; release: string } {
  const [pid, , release] = readFileSync(join(remoteDir, 'run', `${port}.pid`), 'utf8')
    .trim()
    .split(' ');
  return { pid: Number(pid), release };
}

function argv(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
}

/** Some variables of the app's environment, as the kernel has it. */
function environ(pid: number, names: string[]): Record<string, string> {
  const all = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  return Object.fromEntries(
    names.map((n) => [n, all.find((e) => e.startsWith(`${n}=`))?.slice(n.length + 1) ?? '(unset)']),
  );
}

const colour = (port: number) => (port === target.bluePort ? 'blue' : 'green');

/**
 * Deploys `name`-1 then `name`-2 under load; each must switch to the other port with no failed request. `check`
 * gets the new app's port and pid, and the deploy's stdout.
 */
async function twiceUnderLoad(
  name: string,
  jarOptions: Omit<DemoJarOptions, 'version'>,
  inputs: Record<string, string>,
  check: (port: number, pid: number, stdout: string) => Promise<void> | void,
): Promise<void> {
  for (const n of [1, 2]) {
    const version = `${name}-${n}`;
    const jar = await buildDemoJar({ version, ...jarOptions });
    const before = target.includePort();
    const started = startAction({ inputs: targetInputs(target, { jar, ...inputs }) });
    const { result, report } = await whileLoaded(target, () => started.done, { warmup: 100 });
    expectSuccess(result, `the deploy of ${version}`);
    expectNoFailedRequests(report, [{ label: version, lines: started.lines }]);
    const port = target.includePort() ?? 0;
    expect(port).not.toBe(before);
    expect((await target.get('/')).body).toBe(`version=${version} port=${port}\n`);
    const app = appOn(port);
    expect(app.release).toBe(result.outputs['release-id']);
    await check(port, app.pid, result.stdout);
  }
}

test('--server.port (the default port-arg): PORT, SERVER_PORT, a UTF-8 locale, {color} in env, a non-ASCII file', async () => {
  await twiceUnderLoad(
    'arg',
    {},
    {
      env: 'DEMO_COLOR={color}\nDEMO_NAME=été {color} {port-1}',
      // Under LANG=C the JVM cannot encode this path: the app would fail at start.
      'app-args': `--demo.touch-file=${target.remoteDir}/fichier-été-{color}.txt`,
    },
    (port, pid) => {
      const c = colour(port);
      const names = ['PORT', 'SERVER_PORT', 'LANG', 'LC_ALL', 'DEMO_COLOR', 'DEMO_NAME'];
      expect(environ(pid, names)).toEqual({
        PORT: String(port),
        SERVER_PORT: String(port),
        LANG: 'C.UTF-8',
        LC_ALL: 'C.UTF-8',
        DEMO_COLOR: c,
        DEMO_NAME: `été ${c} ${port - 1}`,
      });
      expect(argv(pid).slice(-2)).toEqual([
        `--server.port=${port}`,
        `--demo.touch-file=${target.remoteDir}/fichier-été-${c}.txt`,
      ]);
      expect(readdirSync(remoteDir)).toContain(`fichier-été-${c}.txt`);
      const log = readFileSync(join(remoteDir, 'releases', appOn(port).release, 'app.log'), 'utf8');
      expect(log).toContain(`\nenv DEMO_NAME=été ${c} ${port - 1}\n`);
    },
  );
});

test('PORT only (port-arg: none): nothing after the jar', async () => {
  await twiceUnderLoad('env', { portFrom: 'env' }, { 'port-arg': 'none' }, (port, pid) => {
    const args = argv(pid);
    expect(args.at(-1)).toBe(join(target.remoteDir, 'releases', appOn(port).release, 'app.jar'));
    expect(args.some((a) => a.includes('server.port'))).toBe(false);
    expect(environ(pid, ['PORT'])).toEqual({ PORT: String(port) });
  });
});

test('a -D system property before -jar (java-opts: -Ddemo.http.port={port}, port-arg: none)', async () => {
  await twiceUnderLoad(
    'prop',
    { portFrom: 'property' },
    { 'java-opts': '-Ddemo.http.port={port}', 'port-arg': 'none' },
    (port, pid) => {
      const jar = join(target.remoteDir, 'releases', appOn(port).release, 'app.jar');
      expect(argv(pid).slice(1)).toEqual([`-Ddemo.http.port=${port}`, '-jar', jar]);
    },
  );
});

test('a management port per colour (health-port {port+1000}), watched through a bake window', async () => {
  await twiceUnderLoad(
    'mgmt',
    {},
    {
      'app-args': '--management.server.port={port+1000}',
      'health-port': '{port+1000}',
      'bake-time': '1',
    },
    async (port, _pid, stdout) => {
      const url = `http://127.0.0.1:${port + 1000}/actuator/health`;
      expect(stdout).toContain(`\n${url} healthy after `);
      expect(await target.getDirect(port + 1000, '/actuator/health')).toMatchObject({
        status: 200,
        body: '{"status":"UP"}',
      });
      expect((await target.getDirect(port, '/actuator/health')).status).toBe(404);
    },
  );
});

test('a JMX port made per colour with {port+2000}: both colours run at once, each on its own', async () => {
  const jmx = [
    '-Dcom.sun.management.jmxremote.port={port+2000}',
    '-Dcom.sun.management.jmxremote.rmi.port={port+2000}',
    '-Dcom.sun.management.jmxremote.host=127.0.0.1',
    '-Djava.rmi.server.hostname=127.0.0.1',
    '-Dcom.sun.management.jmxremote.authenticate=false',
    '-Dcom.sun.management.jmxremote.ssl=false',
  ].join(' ');
  await twiceUnderLoad('jmx', {}, { 'java-opts': jmx }, async (port, pid) => {
    expect(argv(pid)).toContain(`-Dcom.sun.management.jmxremote.port=${port + 2000}`);
    expect(target.listening(port + 2000)).toBe(true);
    const old = port === target.bluePort ? target.greenPort : target.bluePort;
    // The old app's JMX port goes with it.
    await waitUntil(`port ${old + 2000} closed`, () => !target.listening(old + 2000), { timeoutMs: 15_000 });
  });
});

const KNOWN = 'known: {port}, {port+N}, {port-N}, {color} (write {{name} for a literal {name})';

test.each([
  [{ 'java-opts': '-Dx={prot}' }, `java-opts: unknown placeholder {prot}; ${KNOWN}`],
  [{ 'app-args': '--a={host}' }, `app-args: unknown placeholder {host}; ${KNOWN}`],
  [{ 'port-arg': '--server.port={PORT}' }, `port-arg: unknown placeholder {PORT}; ${KNOWN}`],
  [{ env: 'A={colour}' }, `env (A): unknown placeholder {colour}; ${KNOWN}`],
  [{ 'secret-env': 'S={release}' }, `secret-env (S): unknown placeholder {release}; ${KNOWN}`],
  [{ 'health-path': '/{name}' }, `health-path: unknown placeholder {name}; ${KNOWN}`],
  [{ 'health-port': '{mgmt}' }, `health-port: unknown placeholder {mgmt}; ${KNOWN}`],
])('%j is refused before anything changes on the host', async (inputs, problem) => {
  const state = () => ({
    include: target.readInclude(),
    files: readdirSync(remoteDir).sort(),
    releases: readdirSync(join(remoteDir, 'releases')).sort(),
    apps: target.appProcesses(),
  });
  const before = state();
  const jar = await buildDemoJar({ version: 'never' });
  const r = await runAction({ inputs: targetInputs(target, { jar, ...inputs }) });
  expect(r.code).not.toBe(0);
  expect(errors(r)).toEqual([`Invalid inputs:\n  - ${problem}`]);
  expect(r.stdout).not.toMatch(/::group::Connect/);
  expect(state()).toEqual(before);
});
