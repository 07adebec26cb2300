// Several hosts, end to end, with ONE set of inputs as users have it: three isolated targets
// (startTarget({ isolated: true })), each with its own network namespace (reached on its veth address)
// and private mount namespaces in which its own app and nginx dirs are the same common paths
// (SHARED_ROOT/app, SHARED_ROOT/nginx), on the same ssh/nginx/blue/green ports, the same sudoers line
// and the same client key. The action rolls across them batch by batch.
// Each test starts with all hosts serving from the same port (beforeEach aligns them), so the tests pass alone
// and in any order.
import { jest } from '@jest/globals';
import fs from 'node:fs';
import { buildDemoJar } from '../test-target/demo-jar.js';
import { runAction, stopStartedActions, targetInputs, type ActionResult } from '../test-target/run-action.js';
import { ISOLATED_PORTS, SHARED_ROOT, startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { expectFailure, expectSuccess } from './support/action.js';
import { settled } from './support/serving.js';

jest.setTimeout(60_000);

const { blue, green } = ISOLATED_PORTS;
let hosts: Target[] = [];

beforeAll(async () => {
  const first = await startTarget({ isolated: true });
  hosts = [first];
  const rest = await Promise.all(
    [1, 2].map(() => startTarget({ isolated: true, privateKeyPath: first.privateKeyPath })),
  );
  hosts.push(...rest);
});
afterEach(stopStartedActions);
afterAll(async () => {
  await Promise.all(hosts.map((t) => t.stop()));
});
beforeEach(async () => {
  await align();
});

const label = (t: Target) => `${t.host}:${t.sshPort}`;

/** The port a host's next deploy goes to: blue on a first deploy, else the one its include does not name. */
const idleOf = (t: Target) => (t.includePort() === blue ? green : blue);

/** One set of inputs for the given hosts (the paths and ports of the first; they are the same on all). */
function inputs(targets: Target[], extra: Record<string, string>) {
  return targetInputs(targets[0], {
    host: targets.map(label).join(', '),
    'known-hosts': targets.map((t) => t.knownHosts).join(''),
    ...extra,
  });
}

async function rollout(targets: Target[], version: string, extra: Record<string, string> = {}) {
  return runAction({ inputs: inputs(targets, { jar: await buildDemoJar({ version }), ...extra }) });
}

/** The port a host serves from: the one its include names, if an app of ours runs there. */
function servingPort(t: Target): number | null {
  const port = t.includePort();
  return port !== null && t.appsOn(port).length > 0 ? port : null;
}

/** Makes every host serve from the same port, deploying to the hosts that differ from the first. */
async function align(): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const ports = hosts.map(servingPort);
    if (ports.every((p) => p === ports[0]) && ports[0] !== null) break;
    const behind = ports[0] === null ? [hosts[0]] : hosts.filter((t) => servingPort(t) !== ports[0]);
    expectSuccess(await rollout(behind, 'base', { 'batch-size': '3' }), 'aligning the hosts');
  }
  await Promise.all(hosts.map((t) => settled(t)));
}

/** The version each host serves through its own nginx. */
async function serving(targets: Target[]) {
  return Promise.all(targets.map(async (t) => (await t.get('/')).body.trim()));
}

/** The app command lines of t once only one app is left. */
async function appsSettle(t: Target): Promise<string[]> {
  await settled(t);
  return t.appProcesses().map((p) => p.cmdline);
}

test('every isolated target has the same paths, ports and sudoers line, and its own content', async () => {
  const [a, b, c] = hosts;
  for (const t of hosts) {
    expect(t.remoteDir).toBe(`${SHARED_ROOT}/app`);
    expect(t.nginxInclude).toBe(`${SHARED_ROOT}/nginx/service-url.inc`);
    expect(t.nginxConfig).toBe(`${SHARED_ROOT}/nginx/nginx.conf`);
    expect([t.sshPort, t.nginxPort, t.bluePort, t.greenPort]).toEqual([
      ISOLATED_PORTS.ssh,
      ISOLATED_PORTS.nginx,
      blue,
      green,
    ]);
    expect(t.sudoersLine).toBe(a.sudoersLine);
    expect(t.privateKey).toBe(a.privateKey);
    expect(t.bastion).toBeNull();
  }
  expect(new Set(hosts.map((t) => t.host)).size).toBe(3);
  expect(new Set(hosts.map((t) => t.dir)).size).toBe(3);
  // Nothing of the common root exists in this (the test's) mount namespace.
  expect(fs.existsSync(SHARED_ROOT)).toBe(false);
  // Same path over ssh, different files behind it.
  await Promise.all(hosts.map((t, i) => t.ssh(`echo host${i} > ${t.remoteDir}/whoami`)));
  for (const [i, t] of [a, b, c].entries()) {
    expect(fs.readFileSync(t.localPath(`${t.remoteDir}/whoami`), 'utf8')).toBe(`host${i}\n`);
    expect((await t.ssh(`cat ${t.remoteDir}/whoami`)).stdout).toBe(`host${i}\n`);
    fs.rmSync(t.localPath(`${t.remoteDir}/whoami`));
  }
  // Each nginx answers from its own include: rewrite host b's to an empty one and only b answers 502.
  const port = b.includePort();
  try {
    await b.setIncludePort(null);
    expect(await serving(hosts)).toEqual([
      expect.stringMatching(/^version=\S+ port=\d+$/),
      expect.stringContaining('502 Bad Gateway'),
      expect.stringMatching(/^version=\S+ port=\d+$/),
    ]);
  } finally {
    await b.setIncludePort(port);
  }
});

test('batch-size 1: the new version on every host, host after host', async () => {
  const before = hosts.map((t) => t.includePort());
  const idle = idleOf(hosts[0]);
  const r = await rollout(hosts, 'v1', { 'batch-size': '1' });
  expectSuccess(r);
  expect(await serving(hosts)).toEqual(hosts.map(() => `version=v1 port=${idle}`));
  expect(r.outputs['active-port']).toBe(String(idle));
  expect(r.outputs['previous-port']).toBe(String(before[0]));
  expect(JSON.parse(r.outputs.hosts)).toEqual(
    hosts.map((t) => ({
      host: label(t),
      ok: true,
      releaseId: r.outputs['release-id'],
      activePort: idle,
      previousPort: before[0],
      previousRelease: expect.any(String) as unknown,
    })),
  );
  for (const t of hosts) {
    expect(t.readInclude()).toContain(`set $service_url http://127.0.0.1:${idle};`);
    expect(await appsSettle(t)).toEqual([expect.stringContaining(`--server.port=${idle}`)]);
    expect(t.listening(idle)).toBe(true);
    expect(t.listening(idle === blue ? green : blue)).toBe(false);
  }
  // Batch by batch: each host finished its deploy (down to stopping its old app) before the next one connected.
  const lines = r.stdout.split('\n');
  const of = (t: Target) => lines.flatMap((l, i) => (l.startsWith(`[${label(t)}] `) ? [i] : []));
  for (const t of hosts) {
    expect(lines.filter((l) => l.startsWith(`[${label(t)}] Stop old app: ok`))).toHaveLength(1);
  }
  const spans = hosts.map((t) => [Math.min(...of(t)), Math.max(...of(t))]);
  // host 1 ends before host 2 begins, host 2 ends before host 3 begins
  expect(spans.slice(1).map((span, i) => spans[i][1] < span[0])).toEqual([true, true]);
});

test('batch-size 2: every host switches to its idle port', async () => {
  const live = hosts[0].includePort() as number;
  const idle = idleOf(hosts[0]);
  const r = await rollout(hosts, 'v2', { 'batch-size': '2' });
  expectSuccess(r);
  expect(await serving(hosts)).toEqual(hosts.map(() => `version=v2 port=${idle}`));
  expect(r.outputs['active-port']).toBe(String(idle));
  expect(r.outputs['previous-port']).toBe(String(live));
  expect(JSON.parse(r.outputs.hosts)).toEqual(
    hosts.map((t) => ({
      host: label(t),
      ok: true,
      releaseId: r.outputs['release-id'],
      activePort: idle,
      previousPort: live,
      previousRelease: expect.any(String) as unknown,
    })),
  );
  for (const t of hosts) {
    expect(t.readInclude()).toContain(`set $service_url http://127.0.0.1:${idle};`);
    expect(t.listening(live)).toBe(false); // the old app closed its port ...
    // ... and exits once it has finished (stop-timeout 10 s).
    expect(await appsSettle(t)).toEqual([expect.stringContaining(`--server.port=${idle}`)]);
  }
});

test('hosts on different ports: active-port and previous-port hold one value per host, in host order', async () => {
  const [a, b, c] = hosts;
  // Host b alone moves on, so that b is on the other port than a and c.
  expectSuccess(await rollout([b], 'v3-b'));
  const live = hosts.map((t) => t.includePort() as number);
  expect(live[1]).not.toBe(live[0]);
  const r = await rollout(hosts, 'v3', { 'batch-size': '3' });
  expectSuccess(r);
  const idle = live.map((p) => (p === blue ? green : blue));
  expect(await serving(hosts)).toEqual(idle.map((p) => `version=v3 port=${p}`));
  expect(r.outputs['active-port']).toBe(idle.join(','));
  expect(r.outputs['previous-port']).toBe(live.join(','));
  expect(r.outputs['release-id']).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{12}$/); // the same on all hosts: one value
  expect(JSON.parse(r.outputs.hosts)).toEqual(
    [a, b, c].map((t, i) => ({
      host: label(t),
      ok: true,
      releaseId: r.outputs['release-id'],
      activePort: idle[i],
      previousPort: live[i],
      previousRelease: expect.any(String) as unknown,
    })),
  );
});

test('rollback-on-failure false, the second host fails (nginx -t): host 1 keeps the new version, hosts 2 and 3 keep theirs, the rollout fails', async () => {
  const [a, b, c] = hosts;
  const live = a.includePort() as number;
  const idle = idleOf(a);
  const before = await serving(hosts);
  // Break host 2's nginx config after nginx loaded it: it keeps serving, but `nginx -t` fails there.
  const conf = b.localPath(b.nginxConfig);
  const good = fs.readFileSync(conf, 'utf8');
  fs.writeFileSync(conf, `${good}\nthis is not nginx syntax;\n`);
  let r: ActionResult;
  try {
    r = await rollout(hosts, 'v4', { 'batch-size': '1', 'rollback-on-failure': 'false' });
  } finally {
    fs.writeFileSync(conf, good);
  }
  expectFailure(r);
  expect(await serving(hosts)).toEqual([`version=v4 port=${idle}`, before[1], before[2]]);
  // Only host 1 succeeded, so the outputs are its values alone.
  expect(r.outputs['active-port']).toBe(String(idle));
  const outcome = JSON.parse(r.outputs.hosts) as Record<string, unknown>[];
  expect(outcome.map((o) => [o.host, o.ok])).toEqual([
    [label(a), true],
    [label(b), false],
    [label(c), false],
  ]);
  expect(outcome[0].activePort).toBe(idle);
  expect(outcome[1].error).toMatch(/nginx/i);
  expect(outcome[2].error).toBe('not attempted');
  // The summary names the failed host and its failed step; host 3 has no steps at all.
  const failedRows = r.summary.split('\n').filter((l) => l.includes('❌ failed'));
  expect(failedRows).toHaveLength(1);
  expect(failedRows[0]).toContain(`| ${label(b)} | Switch nginx |`);
  expect(r.summary).toMatch(
    new RegExp(`\\| ${label(c).replace(/\./g, '\\.')} \\| [^|]+ \\| ❌ not attempted \\|`),
  );
  expect(r.summary.split('\n').filter((l) => l.startsWith(`| ${label(c)} |`))).toHaveLength(1);
  // Host 2 rolled back: only its old app runs there, the include still names the old port.
  expect(b.readInclude()).toContain(`set $service_url http://127.0.0.1:${live};`);
  expect(await appsSettle(b)).toEqual([expect.stringContaining(`--server.port=${live}`)]);
  expect(c.appProcesses().map((p) => p.cmdline)).toEqual([expect.stringContaining(`--server.port=${live}`)]);
  expect(await appsSettle(a)).toEqual([expect.stringContaining(`--server.port=${idle}`)]);
});
