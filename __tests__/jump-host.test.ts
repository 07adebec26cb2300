// Jump host, end to end: the target's sshd, nginx and apps run in a network namespace of their own
// (startTarget({ netns: true })), so nothing of them is reachable from this process; the only way in is
// a second sshd, the bastion (user jumper, its own host key and client key, forwarding to the
// target's sshd only), listening on a veth address of that namespace.
// Each test starts from what the target serves and looks only at the log lines it caused, so the tests pass
// alone and in any order.
import { jest } from '@jest/globals';
import fs from 'node:fs';
import type { Bastion } from '../test-target/bastion.js';
import { buildDemoJar } from '../test-target/demo-jar.js';
import { readQuiet } from '../test-target/exec.js';
import { netnsOf, processAlive, waitGone } from '../test-target/processes.js';
import { runAction, stopStartedActions, targetInputs, type ActionResult } from '../test-target/run-action.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { errors, expectFailure, expectSuccess } from './support/action.js';
import { otherPort, quiet, serving } from './support/serving.js';

jest.setTimeout(60_000);

let target: Target;
let bastion: Bastion;
let jars: { v1: string; v2: string };
beforeAll(async () => {
  let v1: string, v2: string;
  [target, v1, v2] = await Promise.all([
    startTarget({ netns: true }),
    buildDemoJar({ version: 'v1' }),
    buildDemoJar({ version: 'v2' }),
  ]);
  jars = { v1, v2 };
  bastion = target.bastion as Bastion;
});
afterEach(stopStartedActions);
afterAll(async () => {
  await target.stop();
});

/** The inputs for the target as the bastion sees it (127.0.0.1:<sshd port> in the namespace), via the bastion. */
function viaBastion(extra: Record<string, string> = {}, t = target) {
  const b = t.bastion as Bastion;
  return targetInputs(t, {
    'jump-host': b.host,
    'jump-port': String(b.sshPort),
    'jump-username': b.username,
    'jump-private-key': b.privateKey,
    'jump-known-hosts': b.knownHosts,
    ...extra,
  });
}

const error = (r: ActionResult) => errors(r).join('\n');
const targetLog = () => readQuiet(`${target.dir}/sshd.log`);
const count = (text: string, re: RegExp) => (text.match(new RegExp(re, 'g')) ?? []).length;

/** What the two sshd logs gain from now on. */
function logsFromNow() {
  const [b, t] = [bastion.readLog().length, targetLog().length];
  return { bastion: () => bastion.readLog().slice(b), target: () => targetLog().slice(t) };
}

/** True when pid lives in the target's network namespace. */
const inNamespace = (pid: number) => netnsOf(pid) === target.namespace?.link();

test('the target is not reachable directly: neither on 127.0.0.1 nor on the namespace address', async () => {
  expect(target.netns).toMatch(/^bgd-target-/);
  expect(inNamespace(target.sshdPid)).toBe(true);
  expect(inNamespace(target.nginxPid)).toBe(true);
  expect(inNamespace(bastion.sshdPid)).toBe(true);
  expect(inNamespace(process.pid)).toBe(false);
  expect(target.listening(target.sshPort)).toBe(true); // it is up, in its namespace
  await quiet(target);
  const apps = target.appProcesses().map((p) => p.pid);
  const logs = logsFromNow();
  for (const host of ['127.0.0.1', bastion.host]) {
    const r = await runAction({ inputs: targetInputs(target, { jar: jars.v1, host }) });
    expectFailure(r);
    expect(error(r)).toContain(
      `${host}:${target.sshPort}: Connect failed: could not connect to ${host}:${target.sshPort}: connect ECONNREFUSED`,
    );
  }
  expect(count(logs.target(), /Connection from/)).toBe(0);
  expect(target.appProcesses().map((p) => p.pid)).toEqual(apps);
});

test('through the bastion: v1 then v2 deployed, nginx in the namespace answers the new version', async () => {
  const live = await serving(target);
  const first = live ? otherPort(target, live.port) : target.bluePort;
  const second = otherPort(target, first);
  const r1 = await runAction({ inputs: viaBastion({ jar: jars.v1 }) });
  expectSuccess(r1);
  expect(r1.stdout).toContain(
    `connected to jumper@${bastion.host}:${bastion.sshPort} (host key ssh-ed25519 ${bastion.hostKeyFingerprint})`,
  );
  expect(r1.stdout).toContain(
    `connected to deploy@127.0.0.1:${target.sshPort} (host key ssh-ed25519 ${target.hostKeyFingerprints.ed25519})`,
  );
  expect(r1.outputs['active-port']).toBe(String(first));
  expect(r1.outputs['previous-port']).toBe(live ? String(live.port) : '');
  expect(await target.get('/')).toEqual({ status: 200, body: `version=v1 port=${first}\n` });
  const v1 = target.appsOn(first);
  expect(v1).toHaveLength(1);
  expect(inNamespace(v1[0].pid)).toBe(true); // the JVM lives in the namespace too

  const r2 = await runAction({ inputs: viaBastion({ jar: jars.v2 }) });
  expectSuccess(r2);
  expect(r2.outputs['active-port']).toBe(String(second));
  expect(r2.outputs['previous-port']).toBe(String(first));
  expect(r2.outputs['release-id']).not.toBe(r1.outputs['release-id']);
  expect(JSON.parse(r2.outputs.hosts)).toEqual([
    {
      host: `127.0.0.1:${target.sshPort}`,
      ok: true,
      releaseId: r2.outputs['release-id'],
      activePort: second,
      previousPort: first,
      previousRelease: expect.any(String) as unknown,
    },
  ]);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=v2 port=${second}\n` });
  expect(target.readInclude()).toContain(`set $service_url http://127.0.0.1:${second};`);
  expect(target.listening(first)).toBe(false);
  expect(await waitGone(v1[0].pid, 12_000)).toBe(true);
  expect(target.appProcesses()).toHaveLength(1);
  expect(inNamespace(target.appProcesses()[0].pid)).toBe(true);
});

test("the bastion's log shows jumper logging in and the channel it opened to the target's sshd", async () => {
  const logs = logsFromNow();
  expectSuccess(await runAction({ inputs: viaBastion({ jar: jars.v1 }) }));
  const log = logs.bastion();
  expect(count(log, /Accepted publickey for jumper from 10\.213\.\d+\.\d+ port \d+ ssh2: ED25519/)).toBe(1);
  const port = target.sshPort;
  const direct = `server_request_direct_tcpip: originator \\S+ port \\d+, target 127\\.0\\.0\\.1 port ${port}\\b`;
  expect(count(log, new RegExp(direct))).toBe(1);
  expect(count(log, new RegExp(`channel \\d+: connected to 127\\.0\\.0\\.1 port ${port}\\b`))).toBe(1);
  expect(bastion.readLog()).not.toMatch(/Starting session/); // no shell on the bastion: a channel is all it asks for
  // ... and the target's sshd saw that connection coming from inside the namespace.
  expect(count(logs.target(), /Accepted publickey for deploy from 127\.0\.0\.1 port \d+/)).toBe(1);
});

test('a wrong jump-known-hosts fails on the bastion, naming it, before anything reaches the target', async () => {
  await quiet(target);
  const logs = logsFromNow();
  const apps = target.appProcesses().map((a) => a.pid);
  const before = await target.get('/');
  // The target's host keys, filed under the bastion's name: a pinned key the bastion does not have.
  const wrong = target.knownHosts.replaceAll(
    `[127.0.0.1]:${target.sshPort}`,
    `[${bastion.host}]:${bastion.sshPort}`,
  );
  const r = await runAction({ inputs: viaBastion({ jar: jars.v1, 'jump-known-hosts': wrong }) });
  expectFailure(r);
  expect(error(r)).toContain(
    `Host key verification failed for [${bastion.host}]:${bastion.sshPort}: the server offered a ssh-ed25519 key with fingerprint ${bastion.hostKeyFingerprint}`,
  );
  expect(error(r)).toContain(`ssh-keyscan -p ${bastion.sshPort} ${bastion.host}`);
  expect(r.stdout).not.toMatch(/::group::Lock/);
  expect(logs.bastion()).not.toMatch(/Accepted publickey|direct_tcpip/);
  expect(logs.target()).toBe(''); // not even a TCP connection to the target's sshd
  expect(target.appProcesses().map((a) => a.pid)).toEqual(apps);
  expect(await target.get('/')).toEqual(before);
});

test('a target the bastion will not forward to: the channel refusal is reported as such', async () => {
  const before = await target.get('/');
  const logs = logsFromNow();
  const r = await runAction({ inputs: viaBastion({ jar: jars.v1, port: String(target.nginxPort) }) });
  expectFailure(r);
  expect(error(r)).toContain(`the jump host could not reach 127.0.0.1:${target.nginxPort}:`);
  expect(logs.bastion()).toMatch(
    new RegExp(`to connect to host 127\\.0\\.0\\.1 port ${target.nginxPort}, but the request was denied`),
  );
  expect(await target.get('/')).toEqual(before);
});

test('stop() removes the namespace, the veth pair, every process and the directory', async () => {
  const t = await startTarget({ netns: true });
  try {
    expectSuccess(await runAction({ inputs: viaBastion({ jar: jars.v1 }, t) }));
    const apps = t.appProcesses().map((p) => p.pid);
    expect(apps).toHaveLength(1);
    const ns = t.netns as string;
    const pids = [t.sshdPid, t.nginxPid, (t.bastion as Bastion).sshdPid, ...apps];
    await t.stop();
    expect(fs.existsSync(`/run/netns/${ns}`)).toBe(false);
    const veth = `bgd${ns.slice('bgd-target-'.length)}`;
    expect(fs.readdirSync('/sys/class/net').filter((n) => n.startsWith(veth))).toEqual([]);
    expect(pids.filter(processAlive)).toEqual([]);
    expect(fs.existsSync(t.dir)).toBe(false);
    await t.stop(); // idempotent
  } finally {
    await t.stop();
  }
});
