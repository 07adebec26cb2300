// Jump host, end to end: the target's sshd, nginx and apps run in a network namespace of their own
// (startTarget({ netns: true })), so nothing of them is reachable from this process; the only way in is
// a second sshd, the bastion (user jumper, its own host key and client key, forwarding to the
// target's sshd only), listening on a veth address of that namespace.
import fs from 'node:fs';
import { jest } from '@jest/globals';
import { buildDemoJar } from '../test-target/demo-jar.js';
import type { Bastion } from '../test-target/bastion.js';
import { processAlive } from '../test-target/processes.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { runAction, targetInputs, type ActionResult } from '../test-target/run-action.js';

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
  bastion = target.bastion!;
});
afterAll(async () => {
  await target?.stop();
});

/** The inputs for the target as the bastion sees it (127.0.0.1:<sshd port> in the namespace), via the bastion. */
function viaBastion(extra: Record<string, string> = {}) {
  return targetInputs(target, {
    'jump-host': bastion.host,
    'jump-port': String(bastion.sshPort),
    'jump-username': bastion.username,
    'jump-private-key': bastion.privateKey,
    'jump-known-hosts': bastion.knownHosts,
    ...extra,
  });
}

function expectSuccess(r: ActionResult) {
  if (r.code !== 0) throw new Error(`action failed (${r.code}):\n${r.log}`);
}

function errors(r: ActionResult) {
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('::error::'))
    .join('\n')
    .replaceAll('%0A', '\n');
}

const targetLog = () => fs.readFileSync(`${target.dir}/sshd.log`, 'utf8');
const count = (text: string, re: RegExp) => (text.match(new RegExp(re, 'g')) ?? []).length;

/** True when pid lives in the target's network namespace. */
function inNamespace(pid: number) {
  const ns = fs.statSync(`/run/netns/${target.netns}`);
  return fs.readlinkSync(`/proc/${pid}/ns/net`) === `net:[${ns.ino}]`;
}

test('the target is not reachable directly: neither on 127.0.0.1 nor on the namespace address', async () => {
  expect(target.netns).toMatch(/^bgd-target-/);
  expect(inNamespace(target.sshdPid)).toBe(true);
  expect(inNamespace(target.nginxPid)).toBe(true);
  expect(inNamespace(bastion.sshdPid)).toBe(true);
  expect(inNamespace(process.pid)).toBe(false);
  expect(target.listening(target.sshPort)).toBe(true); // it is up, in its namespace
  for (const host of ['127.0.0.1', bastion.host]) {
    const r = await runAction({ inputs: targetInputs(target, { jar: jars.v1, host }) });
    expect(r.code).not.toBe(0);
    expect(errors(r)).toContain(
      `Connect failed on ${host}:${target.sshPort}: could not connect to ${host}:${target.sshPort}: connect ECONNREFUSED`,
    );
  }
  expect(count(targetLog(), /Connection from/)).toBe(0);
  expect(target.appProcesses()).toHaveLength(0);
});

let v1Pid = 0;

test('through the bastion: v1 then v2 deployed, nginx in the namespace answers the new version', async () => {
  expect((await target.get('/')).status).toBe(502);
  const r1 = await runAction({ inputs: viaBastion({ jar: jars.v1 }) });
  expectSuccess(r1);
  expect(r1.stdout).toContain(
    `connected to jumper@${bastion.host}:${bastion.sshPort} (host key ssh-ed25519 ${bastion.hostKeyFingerprint})`,
  );
  expect(r1.stdout).toContain(
    `connected to deploy@127.0.0.1:${target.sshPort} (host key ssh-ed25519 ${target.hostKeyFingerprints.ed25519})`,
  );
  expect(r1.outputs['active-port']).toBe(String(target.bluePort));
  expect(r1.outputs['previous-port']).toBe('');
  expect(JSON.parse(r1.outputs.hosts)).toEqual([
    {
      host: `127.0.0.1:${target.sshPort}`,
      ok: true,
      releaseId: r1.outputs['release-id'],
      activePort: target.bluePort,
    },
  ]);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=v1 port=${target.bluePort}\n` });
  const apps = target.appProcesses();
  expect(apps).toHaveLength(1);
  v1Pid = apps[0].pid;
  expect(inNamespace(v1Pid)).toBe(true); // the JVM lives in the namespace too

  const r2 = await runAction({ inputs: viaBastion({ jar: jars.v2 }) });
  expectSuccess(r2);
  expect(r2.outputs['active-port']).toBe(String(target.greenPort));
  expect(r2.outputs['previous-port']).toBe(String(target.bluePort));
  expect(r2.outputs['release-id']).not.toBe(r1.outputs['release-id']);
  expect(JSON.parse(r2.outputs.hosts)).toEqual([
    {
      host: `127.0.0.1:${target.sshPort}`,
      ok: true,
      releaseId: r2.outputs['release-id'],
      activePort: target.greenPort,
      previousPort: target.bluePort,
    },
  ]);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=v2 port=${target.greenPort}\n` });
  expect(target.readInclude()).toContain(`set $service_url http://127.0.0.1:${target.greenPort};`);
  expect(target.listening(target.bluePort)).toBe(false);
  const end = Date.now() + 12_000;
  while (processAlive(v1Pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  expect(processAlive(v1Pid)).toBe(false);
  expect(target.appProcesses()).toHaveLength(1);
  expect(inNamespace(target.appProcesses()[0].pid)).toBe(true);
});

test("the bastion's log shows jumper logging in and the channel it opened to the target's sshd", () => {
  const log = bastion.readLog();
  expect(count(log, /Accepted publickey for jumper from 10\.213\.\d+\.\d+ port \d+ ssh2: ED25519/)).toBe(2);
  expect(
    count(
      log,
      new RegExp(
        `server_request_direct_tcpip: originator \\S+ port \\d+, target 127\\.0\\.0\\.1 port ${target.sshPort}\\b`,
      ),
    ),
  ).toBe(2);
  expect(count(log, new RegExp(`channel \\d+: connected to 127\\.0\\.0\\.1 port ${target.sshPort}\\b`))).toBe(
    2,
  );
  expect(log).not.toMatch(/Starting session/); // no shell on the bastion: a channel is all the action asks for
  // ... and the target's sshd saw those connections coming from inside the namespace.
  expect(count(targetLog(), /Accepted publickey for deploy from 127\.0\.0\.1 port \d+/)).toBe(2);
});

test('a wrong jump-known-hosts fails on the bastion, naming it, before anything reaches the target', async () => {
  const bastionLog = bastion.readLog().length;
  const tLog = targetLog().length;
  const apps = target.appProcesses().map((a) => a.pid);
  // The target's host keys, filed under the bastion's name: a pinned key the bastion does not have.
  const wrong = target.knownHosts.replaceAll(
    `[127.0.0.1]:${target.sshPort}`,
    `[${bastion.host}]:${bastion.sshPort}`,
  );
  const r = await runAction({ inputs: viaBastion({ jar: jars.v1, 'jump-known-hosts': wrong }) });
  expect(r.code).not.toBe(0);
  const err = errors(r);
  expect(err).toContain(
    `Host key verification failed for [${bastion.host}]:${bastion.sshPort}: the server offered a ssh-ed25519 key with fingerprint ${bastion.hostKeyFingerprint}`,
  );
  expect(err).toContain(`ssh-keyscan -p ${bastion.sshPort} ${bastion.host}`);
  expect(r.stdout).not.toMatch(/::group::Lock/);
  expect(bastion.readLog().slice(bastionLog)).not.toMatch(/Accepted publickey|direct_tcpip/);
  expect(targetLog().slice(tLog)).toBe(''); // not even a TCP connection to the target's sshd
  expect(target.appProcesses().map((a) => a.pid)).toEqual(apps);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=v2 port=${target.greenPort}\n` });
});

test('a target the bastion will not forward to: the channel refusal is reported as such', async () => {
  const r = await runAction({ inputs: viaBastion({ jar: jars.v1, port: String(target.nginxPort) }) });
  expect(r.code).not.toBe(0);
  expect(errors(r)).toContain(`the jump host could not reach 127.0.0.1:${target.nginxPort}:`);
  expect(bastion.readLog()).toMatch(
    new RegExp(`to connect to host 127\\.0\\.0\\.1 port ${target.nginxPort}, but the request was denied`),
  );
  expect(await target.get('/')).toEqual({ status: 200, body: `version=v2 port=${target.greenPort}\n` });
});

test('stop() removes the namespace, the veth pair, every process and the directory', async () => {
  const ns = target.netns!;
  const pids = [target.sshdPid, target.nginxPid, bastion.sshdPid, ...target.appProcesses().map((a) => a.pid)];
  await target.stop();
  expect(fs.existsSync(`/run/netns/${ns}`)).toBe(false);
  expect(
    fs.readdirSync('/sys/class/net').filter((n) => n.startsWith(`bgd${ns.slice('bgd-target-'.length)}`)),
  ).toEqual([]);
  expect(pids.filter(processAlive)).toEqual([]);
  expect(fs.existsSync(target.dir)).toBe(false);
  await target.stop(); // idempotent
});
