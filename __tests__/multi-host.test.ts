// Several hosts, end to end, with ONE set of inputs as users have it: three isolated targets
// (startTarget({ isolated: true })), each with its own network namespace (reached on its veth address)
// and private mount namespaces in which its own app and nginx dirs are the same common paths
// (SHARED_ROOT/app, SHARED_ROOT/nginx), on the same ssh/nginx/blue/green ports, the same sudoers line
// and the same client key. The action rolls across them batch by batch.
import fs from 'node:fs';
import { jest } from '@jest/globals';
import { buildDemoJar } from '../test-target/demo-jar.js';
import { ISOLATED_PORTS, SHARED_ROOT, startTarget, type Target } from '../test-target/harness.js';
import { runAction, targetInputs, type ActionResult } from '../test-target/run-action.js';

jest.setTimeout(60_000);

let hosts: Target[] = [];
let jars: Record<'v1' | 'v2' | 'v3', string>;
beforeAll(async () => {
  const first = await startTarget({ isolated: true });
  hosts = [first];
  const [rest, v1, v2, v3] = await Promise.all([
    Promise.all([1, 2].map(() => startTarget({ isolated: true, privateKeyPath: first.privateKeyPath }))),
    buildDemoJar({ version: 'v1' }),
    buildDemoJar({ version: 'v2' }),
    buildDemoJar({ version: 'v3' }),
  ]);
  hosts.push(...rest);
  jars = { v1, v2, v3 };
});
afterAll(async () => {
  await Promise.all(hosts.map((t) => t.stop()));
});

const label = (t: Target) => `${t.host}:${t.sshPort}`;

/** One set of inputs for all hosts (the paths and ports of the first; they are the same on all). */
function inputs(targets: Target[], extra: Record<string, string>) {
  return targetInputs(targets[0], {
    host: targets.map(label).join(', '),
    'known-hosts': targets.map((t) => t.knownHosts).join(''),
    ...extra,
  });
}

function expectSuccess(r: ActionResult) {
  if (r.code !== 0) throw new Error(`action failed (${r.code}):\n${r.log}`);
}

/** The app command lines of t once there is only one app left (or after 12 s). */
async function appsSettle(t: Target) {
  const end = Date.now() + 12_000;
  while (t.appProcesses().length > 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return t.appProcesses().map((p) => p.cmdline);
}

/** The version each host serves through its own nginx. */
async function serving(targets: Target[]) {
  return Promise.all(targets.map(async (t) => (await t.get('/')).body.trim()));
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
      ISOLATED_PORTS.blue,
      ISOLATED_PORTS.green,
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
  expect(await serving(hosts)).toEqual(hosts.map(() => expect.stringContaining('502 Bad Gateway')));
});

test('first rollout, batch-size 1: v1 on every host, on the blue port', async () => {
  const r = await runAction({ inputs: inputs(hosts, { jar: jars.v1, 'batch-size': '1' }) });
  expectSuccess(r);
  const blue = ISOLATED_PORTS.blue;
  expect(await serving(hosts)).toEqual(hosts.map(() => `version=v1 port=${blue}`));
  expect(r.outputs['active-port']).toBe(String(blue));
  const outcome = JSON.parse(r.outputs.hosts);
  expect(outcome).toEqual(
    hosts.map((t) => ({ host: label(t), ok: true, releaseId: r.outputs['release-id'], activePort: blue })),
  );
  for (const t of hosts) {
    expect(t.readInclude()).toContain(`set $service_url http://127.0.0.1:${blue};`);
    const apps = t.appProcesses();
    expect(apps).toHaveLength(1);
    expect(apps[0].cmdline).toContain(`--server.port=${blue}`);
    expect(t.listening(blue)).toBe(true);
    expect(t.listening(ISOLATED_PORTS.green)).toBe(false);
  }
  // Batch by batch: host 1 finished its deploy before host 2 connected.
  const done1 = r.stdout.indexOf(`[${label(hosts[0])}]`);
  expect(done1).toBeGreaterThanOrEqual(0);
  expect(r.stdout.lastIndexOf(`[${label(hosts[0])}]`)).toBeLessThan(r.stdout.indexOf(`[${label(hosts[1])}]`));
});

test('v2 with batch-size 2: every host switches to green', async () => {
  const r = await runAction({ inputs: inputs(hosts, { jar: jars.v2, 'batch-size': '2' }) });
  expectSuccess(r);
  const green = ISOLATED_PORTS.green;
  expect(await serving(hosts)).toEqual(hosts.map(() => `version=v2 port=${green}`));
  expect(r.outputs['active-port']).toBe(String(green));
  expect(r.outputs['previous-port']).toBe(String(ISOLATED_PORTS.blue));
  expect(JSON.parse(r.outputs.hosts)).toEqual(
    hosts.map((t) => ({
      host: label(t),
      ok: true,
      releaseId: r.outputs['release-id'],
      activePort: green,
      previousPort: ISOLATED_PORTS.blue,
    })),
  );
  for (const t of hosts) {
    expect(t.readInclude()).toContain(`set $service_url http://127.0.0.1:${green};`);
    expect(t.listening(ISOLATED_PORTS.blue)).toBe(false); // the old app closed its port ...
    // ... and exits once it has finished (stop-timeout 10 s).
    expect(await appsSettle(t)).toEqual([expect.stringContaining(`--server.port=${green}`)]);
  }
});

test('the second host fails (nginx -t): host 1 gets v3, hosts 2 and 3 keep v2, the rollout fails', async () => {
  const [a, b, c] = hosts;
  // Break host 2's nginx config after nginx loaded it: it keeps serving v2, but `nginx -t` fails there.
  const conf = b.localPath(b.nginxConfig);
  const good = fs.readFileSync(conf, 'utf8');
  fs.writeFileSync(conf, `${good}\nthis is not nginx syntax;\n`);
  let r: ActionResult;
  try {
    r = await runAction({ inputs: inputs(hosts, { jar: jars.v3, 'batch-size': '1' }) });
  } finally {
    fs.writeFileSync(conf, good);
  }
  expect(r.code).not.toBe(0);
  const green = ISOLATED_PORTS.green;
  expect(await serving(hosts)).toEqual([
    `version=v3 port=${ISOLATED_PORTS.blue}`,
    `version=v2 port=${green}`,
    `version=v2 port=${green}`,
  ]);
  const outcome = JSON.parse(r.outputs.hosts) as Array<Record<string, unknown>>;
  expect(outcome.map((o) => [o.host, o.ok])).toEqual([
    [label(a), true],
    [label(b), false],
    [label(c), false],
  ]);
  expect(outcome[0].activePort).toBe(ISOLATED_PORTS.blue);
  expect(outcome[1].error).toMatch(/nginx/i);
  expect(outcome[2].error).toBe('not attempted');
  // The summary names the failed host and its failed step; host 3 has no steps at all.
  const failedRows = r.summary.split('\n').filter((l) => l.includes('❌ failed'));
  expect(failedRows).toHaveLength(1);
  expect(failedRows[0]).toContain(`| ${label(b)} | Switch nginx |`);
  expect(r.summary).toContain(`| ${label(c)} | ${r.outputs['release-id']} | ❌ not attempted |`);
  expect(r.summary.split('\n').filter((l) => l.startsWith(`| ${label(c)} |`))).toHaveLength(1);
  // Host 2 rolled back: only v2 runs there, the include still names green.
  expect(b.readInclude()).toContain(`set $service_url http://127.0.0.1:${green};`);
  expect(await appsSettle(b)).toEqual([expect.stringContaining(`--server.port=${green}`)]);
  expect(c.appProcesses().map((p) => p.cmdline)).toEqual([expect.stringContaining(`--server.port=${green}`)]);
  expect(await appsSettle(a)).toEqual([expect.stringContaining(`--server.port=${ISOLATED_PORTS.blue}`)]);
});
