// All-or-nothing fleets (issue 9), on three hosts that boot (systemd as PID 1, each with its own sshd and
// nginx): v1 on all three, then v2 one host at a time whose third host fails (its nginx -t fails): with
// rollback-on-failure (the default) the two hosts already switched go back to v1 with the same zero-downtime
// switch, so all three end on v1, under load through each host's nginx with 0 failed requests; the outputs and
// summary say per host what happened, and each host's history has the runs. With rollback-on-failure false,
// the switched hosts stay on the new release (today's behaviour).
import { jest } from '@jest/globals';
import { parseHistory } from '../src/history.js';
import { APP_DIR, bootHost, NGINX_INCLUDE, type BootedHost } from '../test-target/booted/index.js';
import { buildDemoJar } from '../test-target/demo-jar.js';
import { underLoad, type LoadReport } from '../test-target/load.js';
import { runAction, stopStartedActions, targetInputs } from '../test-target/run-action.js';
import { waitUntil } from '../test-target/wait.js';
import { errors, expectFailure, expectSuccess } from './support/action.js';
import { expectNoFailedRequests } from './support/load.js';

jest.setTimeout(240_000);

/** The switch runs `chmod 644` on the include's temp file; the harness's sudoers line lacks it. */
const CHMOD_INCLUDE = `deploy ALL=(root) NOPASSWD: /usr/bin/chmod 644 ${NGINX_INCLUDE}.tmp`;
const BROKEN_CONF = '/etc/nginx/conf.d/zz-broken.conf';

let hosts: BootedHost[] = [];
beforeAll(async () => {
  const first = await bootHost({ name: 'fleet-1', sudoers: [CHMOD_INCLUDE] });
  hosts = [first];
  const rest = await Promise.all(
    [2, 3].map((n) =>
      bootHost({ name: `fleet-${n}`, sudoers: [CHMOD_INCLUDE], privateKeyPath: first.privateKeyPath }),
    ),
  );
  hosts.push(...rest);
}, 120_000);
afterEach(stopStartedActions);
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
});

function inputs(jar: string, extra: Record<string, string> = {}): Record<string, string> {
  const target = {
    host: hosts.map((h) => h.address).join(','),
    sshPort: 22,
    username: 'deploy',
    privateKey: hosts[0].privateKey,
    knownHosts: hosts.map((h) => h.knownHosts).join('\n'),
    remoteDir: APP_DIR,
    bluePort: 8080,
    greenPort: 8081,
    nginxInclude: NGINX_INCLUDE,
    nginxConfig: '',
  };
  return targetInputs(target, { jar, 'batch-size': '1', ...extra });
}

/** The version each host serves through its own nginx. */
async function versions(): Promise<string[]> {
  return Promise.all(hosts.map(async (h) => /^version=(\S+)/.exec((await h.get('/')).body)?.[1] ?? 'none'));
}

/** Runs fn under load through all three nginx at once; returns its result and the three reports. */
async function underFleetLoad<T>(fn: () => Promise<T>): Promise<{ result: T; reports: LoadReport[] }> {
  const reports: LoadReport[] = [];
  const nest = async (i: number): Promise<T> => {
    if (i === hosts.length) return fn();
    const { result, report } = await underLoad(`http://${hosts[i].address}/`, () => nest(i + 1), {
      concurrency: 8,
      slowMs: 200,
      warmup: 50,
    });
    reports[i] = report;
    return result;
  };
  return { result: await nest(0), reports };
}

async function allOn(version: string): Promise<void> {
  const jar = await buildDemoJar({ version });
  expectSuccess(
    await runAction({ inputs: inputs(jar, { 'release-id': version }) }),
    `${version} on all hosts`,
  );
  expect(await versions()).toEqual([version, version, version]);
}

async function breakNginxOn(host: BootedHost): Promise<void> {
  // nginx keeps serving with the config it loaded; only the next `nginx -t` (the switch) fails.
  await host.writeFile(BROKEN_CONF, 'this is not nginx syntax;\n');
}

test('a 3-host rollout whose third host fails: all three end on the old release, 0 failed requests', async () => {
  await allOn('f1');
  await breakNginxOn(hosts[2]);
  try {
    const jar = await buildDemoJar({ version: 'f2' });
    const { result, reports } = await underFleetLoad(() =>
      runAction({ inputs: inputs(jar, { 'release-id': 'f2' }) }),
    );
    reports.forEach((report) => expectNoFailedRequests(report));
    expectFailure(result);
    expect(await versions()).toEqual(['f1', 'f1', 'f1']);
    expect(errors(result).join('\n')).toContain(`${hosts[2].address}: Switch nginx failed:`);

    const outcome = JSON.parse(result.outputs.hosts) as {
      host: string;
      ok: boolean;
      releaseId?: string;
      rolledBack?: { ok: boolean; releaseId?: string };
    }[];
    expect(outcome.map((o) => [o.host, o.ok, o.releaseId, o.rolledBack])).toEqual([
      [hosts[0].address, true, 'f2', { ok: true, releaseId: 'f1', activePort: 8080 }],
      [hosts[1].address, true, 'f2', { ok: true, releaseId: 'f1', activePort: 8080 }],
      [hosts[2].address, false, 'f2', undefined],
    ]);
    expect(result.summary).toContain('✅ deployed, then ↩️ rolled back to f1');
    for (const h of hosts.slice(0, 2)) {
      const runs = parseHistory(await h.readFile(`${APP_DIR}/history.jsonl`));
      expect(runs.slice(-2).map((r) => [r.mode, r.release, r.result, r.reason])).toEqual([
        ['deploy', 'f2', 'deployed', undefined],
        ['rollback', 'f1', 'rolled-back-to', `rollback-on-failure: ${hosts[2].address} failed`],
      ]);
    }
    const third = parseHistory(await hosts[2].readFile(`${APP_DIR}/history.jsonl`)).at(-1);
    expect(third).toMatchObject({ mode: 'deploy', release: 'f2', result: 'failed', step: 'Switch nginx' });
  } finally {
    await hosts[2].execOk(['rm', '-f', BROKEN_CONF]);
  }
});

test('rollback-on-failure false: the hosts already switched stay on the new release', async () => {
  await allOn('g1');
  await breakNginxOn(hosts[2]);
  try {
    const jar = await buildDemoJar({ version: 'g2' });
    const r = await runAction({
      inputs: inputs(jar, { 'release-id': 'g2', 'rollback-on-failure': 'false' }),
    });
    expectFailure(r);
    expect(await versions()).toEqual(['g2', 'g2', 'g1']);
  } finally {
    await hosts[2].execOk(['rm', '-f', BROKEN_CONF]);
  }
  // One click converges the fleet on g1: the third host serves it already and has nothing to do.
  const back = await runAction({ inputs: inputs('', { mode: 'rollback', 'release-id': 'g1' }) });
  expectSuccess(back, 'the fleet rollback');
  expect(back.summary).toContain('g1 serves already on port');
  await waitUntil('all three to serve', async () => (await versions()).every((v) => v !== 'none'), {
    timeoutMs: 10_000,
  });
  expect(await versions()).toEqual(['g1', 'g1', 'g1']);
});
