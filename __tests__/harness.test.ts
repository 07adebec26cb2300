// Self-test of the loopback deploy target (test-target/harness.js) and the demo app
// (test-target/demo-app, test-target/demo-jar.js). Needs root, sshd, nginx, sudo and a JDK
// (scripts/install-deps.sh).
import fs from 'node:fs';
import path from 'node:path';
import { processAlive } from '../test-target/processes.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { buildDemoJar } from '../test-target/demo-jar.js';

let target: Target;
let uid = 0;
let gid = 0;
const jars: Record<string, string> = {};

async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Copies a built jar into the target's app dir as `name`, owned by the login user. */
function install(jar: string, name: string): string {
  const dest = path.join(target.remoteDir, name);
  fs.copyFileSync(jar, dest);
  fs.chownSync(dest, uid, gid);
  return dest;
}

/** Starts `java -jar` on the target in the background, in its own session; returns its pid. */
async function startApp(jarName: string, args: string, log: string, env = ''): Promise<number> {
  const r = await target.ssh(
    `cd ${target.remoteDir} || exit 1; ${env} setsid nohup java -jar ${jarName} ${args} > ${log} 2>&1 < /dev/null & echo $!`,
    { timeoutMs: 15_000 },
  );
  expect(r.code).toBe(0);
  const pid = Number(r.stdout.trim());
  expect(pid).toBeGreaterThan(1);
  return pid;
}

function appLog(log: string): string {
  return fs.readFileSync(path.join(target.remoteDir, log), 'utf8');
}

beforeAll(async () => {
  const started = Date.now();
  [target] = await Promise.all([
    startTarget({ includePort: null }),
    (async () => {
      jars.v1 = await buildDemoJar({ version: 'v1' });
      [jars.v2broken, jars.crash] = await Promise.all([
        buildDemoJar({ version: 'v2', brokenBehindProxy: true }),
        buildDemoJar({ version: 'vc', crash: true, startDelayMs: 200 }),
      ]);
    })(),
  ]);
  const st = fs.statSync(target.remoteDir);
  uid = st.uid;
  gid = st.gid;
  install(jars.v1, 'v1.jar');
  install(jars.v2broken, 'v2.jar');
  install(jars.crash, 'crash.jar');
  console.log(`target + jars ready in ${Date.now() - started} ms (${target.dir})`);
}, 60_000);

afterAll(async () => {
  await target?.stop();
});

test('target shape', () => {
  expect(target.host).toBe('127.0.0.1');
  expect(target.username).toBe('deploy');
  const ports = [target.sshPort, target.nginxPort, target.bluePort, target.greenPort];
  expect(new Set(ports).size).toBe(4);
  expect(target.nginxUrl).toBe(`http://127.0.0.1:${target.nginxPort}`);
  expect(target.knownHosts.trim().split('\n')).toHaveLength(3);
  for (const line of target.knownHosts.trim().split('\n')) {
    expect(line).toMatch(/^\[127\.0\.0\.1\]:\d+ (ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) [A-Za-z0-9+/=]+$/);
  }
  for (const fp of Object.values(target.hostKeyFingerprints))
    expect(fp).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  expect(target.privateKey).toContain('OPENSSH PRIVATE KEY');
  expect(target.readInclude()).toBe('');
  expect(fs.statSync(target.nginxInclude).uid).toBe(0);
  expect(fs.statSync(target.remoteDir).uid).not.toBe(0);
  expect(target.sudoersFile && fs.existsSync(target.sudoersFile)).toBeTruthy();
  expect(fs.readFileSync(target.sudoersFile!, 'utf8').trim()).toBe(target.sudoersLine);
});

test('ssh as deploy, narrow sudo, include not writable', async () => {
  expect(await target.ssh('id -un')).toMatchObject({ code: 0, stdout: 'deploy\n' });

  const t = await target.ssh(`sudo -n ${target.nginxBin} -c ${target.nginxConfig} -t`);
  expect(t.code).toBe(0);
  expect(t.stderr).toContain('test is successful');

  const id = await target.ssh('sudo -n id');
  expect(id.code).not.toBe(0);
  expect(id.stdout).toBe('');

  const direct = await target.ssh(`echo 'set $service_url http://127.0.0.1:1;' > ${target.nginxInclude}`);
  expect(direct.code).not.toBe(0);
  expect(target.readInclude()).toBe('');

  // the allowed tee / rm -f of the .tmp file work
  const tee = await target.ssh(
    `echo x | sudo -n tee ${target.nginxInclude}.tmp >/dev/null && sudo -n rm -f ${target.nginxInclude}.tmp`,
  );
  expect(tee).toMatchObject({ code: 0, stderr: '' });
  expect(fs.existsSync(`${target.nginxInclude}.tmp`)).toBe(false);
});

test('v1 on bluePort via ssh: direct, then through nginx after the include is rewritten', async () => {
  expect((await target.get('/')).status).toBe(502); // empty include
  const pid = await startApp(
    'v1.jar',
    `--server.port=${target.bluePort} '--spring.profiles.active=prod,blue' '--odd=a b "c" $HOME'`,
    'v1.log',
    "DEMO_GREETING='hi there'",
  );
  await waitFor('v1 listening', () => target.listening(target.bluePort));
  expect(await target.getDirect(target.bluePort, '/')).toEqual({
    status: 200,
    body: `version=v1 port=${target.bluePort}\n`,
  });
  const log = appLog('v1.log');
  expect(log).toMatch(new RegExp(`Started DemoApp in \\d+ ms \\(version=v1, port=${target.bluePort}\\)`));
  expect(log).toContain('env DEMO_GREETING=hi there');
  const argsLine = log.split('\n').find((l) => l.startsWith('args: '))!;
  expect(JSON.parse(argsLine.slice('args: '.length))).toEqual([
    `--server.port=${target.bluePort}`,
    '--spring.profiles.active=prod,blue',
    '--odd=a b "c" $HOME',
  ]);
  expect(target.appProcesses().map((p) => p.pid)).toEqual([pid]);

  await target.setIncludePort(target.bluePort);
  expect(target.readInclude()).toBe(`set $service_url http://127.0.0.1:${target.bluePort};\n`);
  expect(await target.get('/')).toEqual({ status: 200, body: `version=v1 port=${target.bluePort}\n` });
  expect(await target.get('/actuator/health')).toEqual({ status: 200, body: '{"status":"UP"}' });
  expect((await target.get('/nope')).status).toBe(404);
});

test('--server.port and --demo.health=DOWN', async () => {
  const pid = await startApp('v1.jar', `--server.port=${target.greenPort} --demo.health=DOWN`, 'down.log');
  await waitFor('green listening', () => target.listening(target.greenPort));
  expect(await target.getDirect(target.greenPort, '/actuator/health')).toEqual({
    status: 503,
    body: '{"status":"DOWN"}',
  });
  expect((await target.getDirect(target.greenPort, '/')).body).toBe(`version=v1 port=${target.greenPort}\n`);
  expect((await target.ssh(`kill ${pid}`)).code).toBe(0);
  await waitFor('green app gone', () => !processAlive(pid));
  expect(target.listening(target.greenPort)).toBe(false);
  expect(appLog('down.log')).toContain('Stopped');
});

test('crash=true exits 1 before listening', async () => {
  const r = await target.ssh(
    `cd ${target.remoteDir} && java -jar crash.jar --server.port=${target.greenPort}`,
    {
      timeoutMs: 15_000,
    },
  );
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('demo crash requested');
  expect(r.stdout).not.toContain('Started DemoApp');
  expect(target.listening(target.greenPort)).toBe(false);
});

test('slow endpoint runs concurrently', async () => {
  const t0 = Date.now();
  const results = await Promise.all([
    target.getDirect(target.bluePort, '/slow?ms=700'),
    target.getDirect(target.bluePort, '/slow?ms=700'),
    target.get('/slow?ms=700'),
  ]);
  const took = Date.now() - t0;
  for (const r of results) expect(r).toEqual({ status: 200, body: `version=v1 port=${target.bluePort}\n` });
  expect(took).toBeGreaterThanOrEqual(650);
  expect(took).toBeLessThan(1900);
});

test('SIGTERM: listener closes at once, in-flight /slow finishes with 200, exit 0', async () => {
  // Run the app in the foreground of an ssh session so its exit code comes back.
  const session = target.ssh(
    `cd ${target.remoteDir} && { java -jar v1.jar --server.port=${target.greenPort} > term.log 2>&1 < /dev/null & ` +
      `echo $! > term.pid; wait $!; echo "exit=$?"; }`,
    { timeoutMs: 30_000 },
  );
  await waitFor('green listening', () => target.listening(target.greenPort));
  const pid = Number(fs.readFileSync(path.join(target.remoteDir, 'term.pid'), 'utf8'));
  const t0 = Date.now();
  const slow = target.getDirect(target.greenPort, '/slow?ms=1500');
  await new Promise((r) => setTimeout(r, 300)); // the request is now in flight
  expect((await target.ssh(`kill -TERM ${pid}`)).code).toBe(0);
  await waitFor('listener closed', () => !target.listening(target.greenPort), 1000);
  expect(Date.now() - t0).toBeLessThan(1400); // closed while the request was still running
  const refused = await target.getDirect(target.greenPort, '/');
  expect(refused.status).toBe(0);
  expect(await slow).toEqual({ status: 200, body: `version=v1 port=${target.greenPort}\n` });
  expect(Date.now() - t0).toBeGreaterThanOrEqual(1450);
  const done = await session;
  expect(done.stdout.trim()).toBe('exit=0');
  const log = appLog('term.log');
  expect(log).toContain('Shutting down (in-flight requests: 1)');
  expect(log.trimEnd().split('\n').pop()).toBe('Stopped');
});

test('broken-behind-proxy: 500 through nginx, 200 direct', async () => {
  await startApp('v2.jar', `--server.port=${target.greenPort}`, 'v2.log');
  await waitFor('v2 listening', () => target.listening(target.greenPort));
  await target.setIncludePort(target.greenPort);
  expect((await target.get('/')).status).toBe(500);
  expect(await target.getDirect(target.greenPort, '/')).toEqual({
    status: 200,
    body: `version=v2 port=${target.greenPort}\n`,
  });
  expect(
    (await target.getDirect(target.greenPort, '/', { headers: { 'X-Forwarded-For': '1.2.3.4' } })).status,
  ).toBe(500);
});

test('root target without sudo and without TCP forwarding', async () => {
  const root = await startTarget({ user: 'root', sudo: false, tcpForwarding: false, includePort: 1 });
  try {
    expect(root.username).toBe('root');
    expect(root.sudoersFile).toBeNull();
    expect(root.readInclude()).toBe('set $service_url http://127.0.0.1:1;\n');
    expect(await root.ssh('id -u')).toMatchObject({ code: 0, stdout: '0\n' });
    expect(fs.readFileSync(path.join(root.dir, 'sshd_config'), 'utf8')).toContain('AllowTcpForwarding no');
    expect((await root.get('/')).status).toBe(502);
  } finally {
    await root.stop();
  }
  expect(fs.existsSync(root.dir)).toBe(false);
  expect(processAlive(root.sshdPid) || processAlive(root.nginxPid)).toBe(false);
});

test('stop() leaves no process, removes the dir and the sudoers file', async () => {
  const apps = target.appProcesses();
  expect(apps.length).toBeGreaterThanOrEqual(2); // v1 on blue, v2 on green
  const pids = [...apps.map((p) => p.pid), target.sshdPid, target.nginxPid];
  const sudoers = target.sudoersFile!;
  await target.stop();
  await target.stop(); // idempotent
  for (const pid of pids) expect(processAlive(pid)).toBe(false);
  expect(target.appProcesses()).toEqual([]);
  expect(fs.existsSync(target.dir)).toBe(false);
  expect(fs.existsSync(sudoers)).toBe(false);
  for (const port of [target.sshPort, target.nginxPort, target.bluePort, target.greenPort]) {
    expect(target.listening(port)).toBe(false);
  }
});
