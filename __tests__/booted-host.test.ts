// Self-test of the booted hosts (test-target/booted/): systemd as PID 1 in namespaces of its own on an overlay of
// the machine's root, with sshd, nginx and the deploy user. Needs root and the systemd package
// (scripts/install-deps.sh). Later suites use these hosts for crash restart, reboot survival and fleets.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bootHost, NGINX_INCLUDE, type BootedHost } from '../test-target/booted/index.js';
import { exec } from '../test-target/exec.js';
import { IP } from '../test-target/netns.js';
import { listProcesses, processAlive } from '../test-target/processes.js';
import { waitUntil } from '../test-target/wait.js';

let host: BootedHost;

beforeAll(async () => {
  const started = Date.now();
  host = await bootHost({ name: 'blue-1', linger: true });
  console.log(
    `booted ${host.id} (${host.address}) in ${Date.now() - started} ms (systemd: ${host.bootMs} ms)`,
  );
}, 60_000);

afterAll(async () => {
  await host.stop();
});

const ns = (pid: number | 'self', kind: string) => fs.readlinkSync(`/proc/${pid}/ns/${kind}`);

/** MainPID of a unit once it is active with a MainPID other than `not`. */
async function activePid(unit: string, not = '0', user?: string): Promise<string> {
  let pid = '0';
  await waitUntil(
    `${unit} to be active (MainPID other than ${not})`,
    async () => {
      const args = ['show', '-P', 'MainPID', unit];
      const r = user ? await host.userSystemctl(user, ...args) : await host.systemctl(...args);
      pid = r.stdout.trim();
      const active = user
        ? await host.userSystemctl(user, 'is-active', unit)
        : await host.systemctl('is-active', unit);
      return active.stdout.trim() === 'active' && pid !== '0' && pid !== not && pid !== '';
    },
    { timeoutMs: 15_000, intervalMs: 100 },
  );
  return pid;
}

const SLEEPER = (extra: string) =>
  `[Unit]\nDescription=bgd test unit\n\n[Service]\nExecStart=/bin/sleep infinity\n${extra}\n[Install]\nWantedBy=`;

test('systemd runs as PID 1 in namespaces of its own, on an overlay of / with its own /tmp and /run', async () => {
  expect(host.bootState).toBe('running');
  for (const kind of ['net', 'pid', 'mnt', 'uts', 'cgroup'])
    expect(ns(host.pid1, kind)).not.toBe(ns('self', kind));
  expect((await host.execOk(['cat', '/proc/1/comm'])).stdout.trim()).toBe('systemd');
  expect((await host.execOk(['hostname'])).stdout.trim()).toBe('blue-1');
  for (const [mount, type] of [
    ['/', 'overlay'],
    ['/tmp', 'tmpfs'],
    ['/run', 'tmpfs'],
    ['/sys/fs/cgroup', 'cgroup2'],
  ]) {
    expect((await host.execOk(['findmnt', '-n', '-o', 'FSTYPE', mount])).stdout.trim()).toBe(type);
  }
  // Units that would change the whole machine are masked; ssh and nginx are enabled.
  for (const unit of [
    'systemd-sysctl.service',
    'systemd-modules-load.service',
    'systemd-timesyncd.service',
  ]) {
    expect((await host.systemctl('is-enabled', unit)).stdout.trim()).toBe('masked');
  }
  expect((await host.systemctl('is-enabled', 'ssh.service', 'nginx.service')).stdout.split('\n')).toEqual([
    'enabled',
    'enabled',
    '',
  ]);
});

test("the host's writes and deletions stay in its overlay; the machine's /tmp is not its /tmp", async () => {
  const marker = fs.mkdtempSync('/tmp/bgd-booted-test-');
  try {
    expect((await host.exec(['test', '-e', marker])).code).not.toBe(0);
    await host.writeFile('/etc/bgd-overlay-probe', 'x\n');
    await host.execOk(['rm', '-f', '/etc/hostname.bgd-absent', '/etc/debian_version']);
    expect(fs.existsSync('/etc/bgd-overlay-probe')).toBe(false);
    expect(fs.existsSync('/etc/debian_version')).toBe(true);
    expect(await host.readFile('/etc/bgd-overlay-probe')).toBe('x\n');
  } finally {
    fs.rmSync(marker, { recursive: true, force: true });
  }
});

test('ssh as deploy with its own host key verified; the narrow sudoers line', async () => {
  const machineKey = execFileSync('ssh-keygen', ['-l', '-f', '/etc/ssh/ssh_host_ed25519_key.pub'], {
    encoding: 'utf8',
  });
  expect(machineKey).not.toContain(host.hostKeyFingerprint);
  const r = await host.ssh('id -un; hostname; sudo -n -l');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^deploy\nblue-1\n/);
  expect(r.stdout).toContain(`/usr/sbin/nginx -s reload`);
  expect(r.stdout).toContain(`-f ${NGINX_INCLUDE}.tmp ${NGINX_INCLUDE}`);
  // Strict host key checking: another key for the address is refused.
  const wrong = path.join(host.stateDir, 'wrong_known_hosts');
  const machinePub = fs
    .readFileSync('/etc/ssh/ssh_host_ed25519_key.pub', 'utf8')
    .split(' ')
    .slice(0, 2)
    .join(' ');
  fs.writeFileSync(wrong, `${host.address} ${machinePub}\n`);
  const args = host.sshClientOptions().map((a) => a.replace(host.knownHostsPath, wrong));
  const refused = await exec('ssh', [...args, `deploy@${host.address}`, 'true']);
  expect(refused.code).toBe(255);
  expect(refused.stderr).toMatch(/host key/i);
});

test('nginx answers on port 80 with the README layout', async () => {
  const r = await host.get('/');
  expect(r.status).toBe(502); // the include names 127.0.0.1:8080, where nothing listens yet
  expect(r.body).toContain('nginx');
  expect(await host.readFile(NGINX_INCLUDE)).toBe('set $service_url http://127.0.0.1:8080;\n');
  expect((await host.systemctl('is-active', 'nginx.service')).stdout.trim()).toBe('active');
});

test('a unit with Restart=always comes back after kill -9', async () => {
  await host.writeFile(
    '/etc/systemd/system/bgd-crashy.service',
    `${SLEEPER('Restart=always\nRestartSec=100ms')}multi-user.target\n`,
  );
  await host.execOk(['systemctl', 'daemon-reload']);
  await host.execOk(['systemctl', 'enable', '--now', 'bgd-crashy.service']);
  const first = await activePid('bgd-crashy.service');
  await host.execOk(['kill', '-9', first]);
  const second = await activePid('bgd-crashy.service', first);
  expect(second).not.toBe(first);
  await host.execOk(['systemctl', 'disable', '--now', 'bgd-crashy.service']);
});

test("reboot(): an enabled system unit and deploy's lingering user unit start again, with no action run", async () => {
  const uid = (await host.execOk(['id', '-u', 'deploy'])).stdout.trim();
  expect((await host.systemctl('is-active', `user@${uid}.service`)).stdout.trim()).toBe('active'); // linger
  await host.writeFile('/etc/systemd/system/bgd-boot.service', `${SLEEPER('')}multi-user.target\n`);
  await host.execOk(['systemctl', 'enable', 'bgd-boot.service']);
  const home = (await host.execOk(['sh', '-c', 'getent passwd deploy | cut -d: -f6'])).stdout.trim();
  const userDir = `${home}/.config/systemd/user`;
  const asDeploy = (...argv: string[]) => host.execOk(['runuser', '-u', 'deploy', '--', ...argv]);
  await asDeploy('mkdir', '-p', `${userDir}/default.target.wants`);
  await host.writeFile(`${userDir}/bgd-user.service`, `${SLEEPER('')}default.target\n`, {
    owner: 'deploy:deploy',
  });
  await asDeploy('ln', '-s', '../bgd-user.service', `${userDir}/default.target.wants/`);
  const oldPid1 = host.pid1;
  const bootId = () => host.readFile('/proc/sys/kernel/random/boot_id');
  const oldBootId = await bootId();
  // systemd-tmpfiles-setup empties /tmp at every boot: the host's own tmpfs, never the machine's.
  const marker = fs.mkdtempSync('/tmp/bgd-booted-marker-');
  const started = Date.now();
  await host.reboot();
  console.log(`reboot of ${host.id} took ${Date.now() - started} ms (systemd: ${host.bootMs} ms)`);
  expect(processAlive(oldPid1)).toBe(false);
  expect(host.pid1).not.toBe(oldPid1);
  expect(await bootId()).not.toBe(oldBootId);
  expect(fs.existsSync(marker)).toBe(true);
  fs.rmSync(marker, { recursive: true });
  await activePid('bgd-boot.service');
  await activePid('bgd-user.service', '0', 'deploy');
  expect((await host.ssh('systemctl --user is-active bgd-user.service')).stdout.trim()).toBe('active');
  expect((await host.get('/')).status).toBe(502);
  const boots = await host.execOk(['journalctl', '--list-boots', '--no-pager', '-q']);
  expect(boots.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(2);
});

test('stop() leaves nothing behind: no process, mount, cgroup, network namespace, veth or state dir', async () => {
  const other = await bootHost({ name: 'root-host', user: 'root', sudo: false });
  const r = await other.ssh('id -un; test -e /etc/sudoers.d/deploy || echo no-sudoers');
  expect(r.stdout).toBe('root\nno-sudoers\n');
  const pid1 = other.pid1;
  const pidNs = ns(pid1, 'pid');
  const inHost = () =>
    listProcesses().filter((p) => {
      try {
        return ns(p.pid, 'pid') === pidNs;
      } catch {
        return false;
      }
    });
  expect(inHost().length).toBeGreaterThan(3); // systemd, journald, sshd, nginx...
  await other.stop();
  expect(processAlive(pid1)).toBe(false);
  expect(inHost()).toEqual([]);
  expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(other.id);
  expect(execFileSync(IP, ['netns', 'list'], { encoding: 'utf8' })).not.toContain(other.id);
  expect(execFileSync(IP, ['-o', 'addr', 'show'], { encoding: 'utf8' })).not.toContain(other.address);
  expect(fs.existsSync(other.stateDir)).toBe(false);
  expect(fs.readdirSync(path.dirname(host.cgroupDir))).not.toContain(other.id);
  // The other host still serves.
  expect((await host.get('/')).status).toBe(502);
}, 30_000);
