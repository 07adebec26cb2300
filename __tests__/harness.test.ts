// Self-test of the deploy target (test-target/: startTarget, Target) and the demo app (test-target/demo-app,
// test-target/demo-jar.ts). Needs root, sshd, nginx, sudo and a JDK (scripts/install-deps.sh).
// Every test starts the apps it needs and stops them (by PID) when it ends, and puts the include back, so the
// tests pass alone and in any order.
import fs from 'node:fs';
import path from 'node:path';
import { buildDemoJar } from '../test-target/demo-jar.js';
import { processAlive, terminate, waitGone } from '../test-target/processes.js';
import { startTarget } from '../test-target/start-target.js';
import type { Target } from '../test-target/target.js';
import { waitUntil } from '../test-target/wait.js';

let target: Target;
let jars: { v1: string; v2broken: string; crash: string };

beforeAll(async () => {
  const started = Date.now();
  let v1: string, v2broken: string, crash: string;
  [target, v1, v2broken, crash] = await Promise.all([
    startTarget({ includePort: null }),
    buildDemoJar({ version: 'v1' }),
    buildDemoJar({ version: 'v2', brokenBehindProxy: true }),
    buildDemoJar({ version: 'vc', crash: true, startDelayMs: 200 }),
  ]);
  jars = { v1, v2broken, crash };
  const { uid, gid } = fs.statSync(target.remoteDir);
  for (const [name, jar] of [
    ['v1.jar', jars.v1],
    ['v2.jar', jars.v2broken],
    ['crash.jar', jars.crash],
  ]) {
    const dest = path.join(target.remoteDir, name);
    fs.copyFileSync(jar, dest);
    fs.chownSync(dest, uid, gid);
  }
  console.log(`target + jars ready in ${Date.now() - started} ms (${target.dir})`);
}, 60_000);

afterAll(async () => {
  await target.stop();
});

afterEach(async () => {
  if (target.readInclude() !== '') await target.setIncludePort(null);
});

/** Starts `java -jar` on the target in the background, in its own session; returns its pid once it listens. */
async function startApp(jarName: string, port: number, args: string, log: string, env = ''): Promise<number> {
  const r = await target.ssh(
    `cd ${target.remoteDir} || exit 1; ${env} setsid nohup java -jar ${jarName} --server.port=${port} ${args} > ${log} 2>&1 < /dev/null & echo $!`,
    { timeoutMs: 15_000 },
  );
  expect(r.code).toBe(0);
  const pid = Number(r.stdout.trim());
  expect(pid).toBeGreaterThan(1);
  await waitUntil(`${jarName} listening on ${port}`, () => target.listening(port) || !processAlive(pid));
  return pid;
}

/** Runs fn with an app on port, and stops that app (by its PID) afterwards, also when fn fails. */
async function withApp(
  jarName: string,
  port: number,
  fn: (pid: number) => Promise<void>,
  args = '',
  env = '',
) {
  const pid = await startApp(jarName, port, args, `${jarName}-${port}.log`, env);
  try {
    await fn(pid);
  } finally {
    await terminate([pid], 'SIGTERM', 5000);
  }
}

function appLog(log: string): string {
  return fs.readFileSync(path.join(target.remoteDir, log), 'utf8');
}

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
  expect(fs.readFileSync(target.sudoersFile as string, 'utf8').trim()).toBe(target.sudoersLine);
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
  const args = `'--spring.profiles.active=prod,blue' '--odd=a b "c" $HOME'`;
  await withApp(
    'v1.jar',
    target.bluePort,
    async (pid) => {
      expect(await target.getDirect(target.bluePort, '/')).toEqual({
        status: 200,
        body: `version=v1 port=${target.bluePort}\n`,
      });
      const log = appLog(`v1.jar-${target.bluePort}.log`);
      expect(log).toMatch(new RegExp(`Started DemoApp in \\d+ ms \\(version=v1, port=${target.bluePort}\\)`));
      expect(log).toContain('env DEMO_GREETING=hi there');
      const argsLine = log.split('\n').find((l) => l.startsWith('args: ')) ?? '';
      expect(JSON.parse(argsLine.slice('args: '.length))).toEqual([
        `--server.port=${target.bluePort}`,
        '--spring.profiles.active=prod,blue',
        '--odd=a b "c" $HOME',
      ]);
      expect(target.appProcesses().map((p) => p.pid)).toEqual([pid]);

      await target.setIncludePort(target.bluePort);
      expect(target.includePort()).toBe(target.bluePort);
      expect(target.readInclude()).toBe(`set $service_url http://127.0.0.1:${target.bluePort};\n`);
      expect(await target.get('/')).toEqual({ status: 200, body: `version=v1 port=${target.bluePort}\n` });
      expect(await target.get('/actuator/health')).toEqual({ status: 200, body: '{"status":"UP"}' });
      expect((await target.get('/nope')).status).toBe(404);
    },
    args,
    "DEMO_GREETING='hi there'",
  );
});

test('--server.port and --demo.health=DOWN', async () => {
  const port = target.greenPort;
  const pid = await startApp('v1.jar', port, '--demo.health=DOWN', 'down.log');
  try {
    expect(await target.getDirect(port, '/actuator/health')).toEqual({
      status: 503,
      body: '{"status":"DOWN"}',
    });
    expect((await target.getDirect(port, '/')).body).toBe(`version=v1 port=${port}\n`);
    expect((await target.ssh(`kill ${pid}`)).code).toBe(0);
    expect(await waitGone(pid, 10_000)).toBe(true);
    expect(target.listening(port)).toBe(false);
    expect(appLog('down.log')).toContain('Stopped');
  } finally {
    await terminate([pid], 'SIGKILL', 0);
  }
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
  await withApp('v1.jar', target.bluePort, async () => {
    await target.setIncludePort(target.bluePort);
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
});

test('SIGTERM: listener closes at once, in-flight /slow finishes with 200, exit 0', async () => {
  const port = target.greenPort;
  // Run the app in the foreground of an ssh session so its exit code comes back.
  const session = target.ssh(
    `cd ${target.remoteDir} && { java -jar v1.jar --server.port=${port} > term.log 2>&1 < /dev/null & ` +
      `echo $! > term.pid; wait $!; echo "exit=$?"; }`,
    { timeoutMs: 30_000 },
  );
  await waitUntil('green listening', () => target.listening(port));
  const pid = Number(fs.readFileSync(path.join(target.remoteDir, 'term.pid'), 'utf8'));
  try {
    const t0 = Date.now();
    const slow = target.getDirect(port, '/slow?ms=1500');
    await target.requestsInFlight(port); // the app has read the request: it is in flight
    expect((await target.ssh(`kill -TERM ${pid}`)).code).toBe(0);
    await waitUntil('listener closed', () => !target.listening(port), { timeoutMs: 1000 });
    expect(Date.now() - t0).toBeLessThan(1400); // closed while the request was still running
    const refused = await target.getDirect(port, '/');
    expect(refused.status).toBe(0);
    expect(await slow).toEqual({ status: 200, body: `version=v1 port=${port}\n` });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1450);
    const done = await session;
    expect(done.stdout.trim()).toBe('exit=0');
    const log = appLog('term.log');
    expect(log).toContain('Shutting down (in-flight requests: 1)');
    expect(log.trimEnd().split('\n').pop()).toBe('Stopped');
  } finally {
    await terminate([pid], 'SIGKILL', 0);
  }
});

test('broken-behind-proxy: 500 through nginx, 200 direct', async () => {
  const port = target.greenPort;
  await withApp('v2.jar', port, async () => {
    await target.setIncludePort(port);
    expect((await target.get('/')).status).toBe(500);
    expect(await target.getDirect(port, '/')).toEqual({ status: 200, body: `version=v2 port=${port}\n` });
    const proxied = await target.getDirect(port, '/', { headers: { 'X-Forwarded-For': '1.2.3.4' } });
    expect(proxied.status).toBe(500);
  });
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
  const t = await startTarget();
  try {
    fs.copyFileSync(jars.v1, path.join(t.remoteDir, 'v1.jar'));
    const start = (port: number) =>
      t.ssh(
        `cd ${t.remoteDir} || exit 1; setsid nohup java -jar v1.jar --server.port=${port} > ${port}.log 2>&1 < /dev/null & echo $!`,
        { timeoutMs: 15_000 },
      );
    await Promise.all([start(t.bluePort), start(t.greenPort)]);
    await waitUntil('both apps listening', () => t.listening(t.bluePort) && t.listening(t.greenPort));
    const apps = t.appProcesses();
    expect(apps).toHaveLength(2);
    const pids = [...apps.map((p) => p.pid), t.sshdPid, t.nginxPid];
    const sudoers = t.sudoersFile as string;
    await t.stop();
    await t.stop(); // idempotent
    for (const pid of pids) expect(processAlive(pid)).toBe(false);
    expect(t.appProcesses()).toEqual([]);
    expect(fs.existsSync(t.dir)).toBe(false);
    expect(fs.existsSync(sudoers)).toBe(false);
    for (const port of [t.sshPort, t.nginxPort, t.bluePort, t.greenPort])
      expect(t.listening(port)).toBe(false);
  } finally {
    await t.stop();
  }
}, 60_000);
