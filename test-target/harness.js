// A real, isolated deploy target on 127.0.0.1: its own sshd (port, host keys, authorized keys),
// its own nginx (proxying through an include file that names the live port), a narrow sudoers
// entry for the `deploy` user and an app directory. Everything lives under a fresh
// /tmp/bgd-target-XXXXXX directory and is torn down by stop().
// With { netns: true } sshd and nginx (and so every app they start) run in a network namespace of
// their own, whose 127.0.0.1 is not the test's; the only way in is a second sshd, the bastion, that
// listens on a veth address of that namespace (see startNetns and startBastion).
// Plain ESM JavaScript with JSDoc types; see harness.d.ts. Must run as root.
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { Buffer } from 'node:buffer';
import fs, { promises as fsp } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';

const SSHD = '/usr/sbin/sshd';
const NGINX = '/usr/sbin/nginx';
const SUDOERS_DIR = '/etc/sudoers.d';
const DIR_PREFIX = 'bgd-target-';
/** Not os.tmpdir(): a TMPDIR the deploy user cannot traverse would break the target. */
const TMP_ROOT = '/tmp';
const SYS_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Namespaces are named after the target dir (bgd-target-XXXXXX); the veth pair after its suffix. */
const NETNS_RUN_DIR = '/run/netns';
const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((f) => fs.existsSync(f)) ?? 'ip';
/** The bastion's login user. */
const JUMP_USER = 'jumper';
/** Isolated targets: the common paths (remote dir = <root>/app, nginx files in <root>/nginx) ... */
export const SHARED_ROOT = '/srv/bgd-multi';
/** ... and the same ports on every isolated target (each in its own network namespace, so no clash). */
export const ISOLATED_PORTS = Object.freeze({ ssh: 2222, nginx: 8080, blue: 9001, green: 9002 });

/**
 * @typedef {{ code: number, stdout: string, stderr: string }} ExecResult
 * @typedef {{ status: number, body: string }} HttpResult
 * @typedef {{ timeoutMs?: number, headers?: Record<string, string> }} GetOptions
 * @typedef {{ pid: number, cmdline: string }} ProcInfo
 * @typedef {{ user?: 'deploy' | 'root', sudo?: boolean, tcpForwarding?: boolean,
 *             includePort?: number | null, netns?: boolean, isolated?: boolean,
 *             sharedRoot?: string, privateKeyPath?: string }} TargetOptions
 * @typedef {{ host: string, sshPort: number, username: 'jumper', privateKey: string,
 *             privateKeyPath: string, knownHosts: string, knownHostsPath: string,
 *             hostKeyFingerprint: string, sshdPid: number, dir: string, logFile: string,
 *             readLog: () => string }} Bastion
 */

// ---------------------------------------------------------------------------------------------
// small helpers

/**
 * Runs a program, never throws; code is -1 when it could not start or was killed.
 * @param {string} file
 * @param {string[]} args
 * @param {{ input?: string, timeoutMs?: number, env?: NodeJS.ProcessEnv }} [opts]
 * @returns {Promise<ExecResult>}
 */
function exec(file, args, opts = {}) {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      {
        maxBuffer: 32 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 60_000,
        killSignal: 'SIGKILL',
        env: opts.env ?? { ...process.env, PATH: `${process.env.PATH ?? ''}:${SYS_PATH}` },
      },
      (err, stdout, stderr) => {
        const e = /** @type {(Error & { code?: unknown }) | null} */ (err);
        let code = 0;
        if (e) code = typeof e.code === 'number' ? e.code : -1;
        resolve({
          code,
          stdout: String(stdout),
          stderr: String(stderr) + (e && code === -1 ? e.message : ''),
        });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/**
 * Like exec, but throws (with the output) unless the exit code is 0.
 * @param {string} file
 * @param {string[]} args
 * @param {{ input?: string, timeoutMs?: number }} [opts]
 */
async function execOk(file, args, opts) {
  const r = await exec(file, args, opts);
  if (r.code !== 0) {
    throw new Error(`${file} ${args.join(' ')} exited with ${r.code}\n${r.stdout}${r.stderr}`.trimEnd());
  }
  return r;
}

/**
 * Absolute path of a command, as `command -v` finds it with the system PATH.
 * @param {string} cmd
 */
async function which(cmd) {
  const r = await exec('sh', ['-c', 'command -v "$1"', 'sh', cmd], {
    env: { ...process.env, PATH: SYS_PATH },
  });
  const p = r.stdout.trim();
  if (r.code !== 0 || !p.startsWith('/')) {
    throw new Error(`command not found: ${cmd} (run scripts/install-deps.sh)`);
  }
  return p;
}

/**
 * True when the process exists and is not a zombie (PID 1 here may never reap orphans).
 * @param {number} pid
 */
export function processAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * @param {number} pid
 * @param {NodeJS.Signals} sig
 */
function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** @returns {{ pid: number, ppid: number, cmdline: string, argv: string[] }[]} */
function listProcesses() {
  /** @type {{ pid: number, ppid: number, cmdline: string, argv: string[] }[]} */
  const out = [];
  let entries;
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (raw === '') continue; // kernel thread or zombie
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || fields[0] === 'X') continue;
      const argv = raw.replace(/\0$/, '').split('\0');
      out.push({ pid, ppid: Number(fields[1]), cmdline: argv.join(' '), argv });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** @param {number} pid */
function cwdOf(pid) {
  try {
    return fs.readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return '';
  }
}

/**
 * @param {string} p
 * @param {string} dir
 */
function isUnder(p, dir) {
  return p === dir || p.startsWith(dir + '/');
}

/**
 * PIDs of all live descendants of rootPid.
 * @param {number} rootPid
 * @param {ReturnType<typeof listProcesses>} [procs]
 */
function descendants(rootPid, procs = listProcesses()) {
  /** @type {Map<number, number[]>} */
  const children = new Map();
  for (const p of procs) {
    const list = children.get(p.ppid) ?? [];
    list.push(p.pid);
    children.set(p.ppid, list);
  }
  /** @type {number[]} */
  const result = [];
  const stack = [rootPid];
  while (stack.length) {
    const pid = /** @type {number} */ (stack.pop());
    for (const c of children.get(pid) ?? []) {
      result.push(c);
      stack.push(c);
    }
  }
  return result;
}

/**
 * Sends sig, waits up to graceMs for all to exit, then SIGKILLs the rest and waits again.
 * @param {number[]} pids
 * @param {NodeJS.Signals} sig
 * @param {number} graceMs
 */
async function terminate(pids, sig, graceMs) {
  const live = pids.filter(processAlive);
  if (!live.length) return;
  for (const pid of live) signal(pid, sig);
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && live.some(processAlive)) await sleep(25);
  const rest = live.filter(processAlive);
  for (const pid of rest) signal(pid, 'SIGKILL');
  const hardDeadline = Date.now() + 5000;
  while (Date.now() < hardDeadline && rest.some(processAlive)) await sleep(25);
}

/**
 * True when /proc/net/tcp{,6} text shows a socket in LISTEN state on port.
 * @param {string} text
 * @param {number} port
 */
function listensIn(text, port) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4 || cols[0] === 'sl') continue;
    const local = cols[1];
    if (cols[3] === '0A' && local.slice(local.lastIndexOf(':') + 1) === hex) return true;
  }
  return false;
}

/** @param {number} port */
export function isListening(port) {
  return ['/proc/net/tcp', '/proc/net/tcp6'].some((file) => listensIn(readQuiet(file), port));
}

/**
 * HTTP GET on a new connection; never throws: connection problems give status 0 and the message.
 * @param {number} port
 * @param {string} urlPath
 * @param {GetOptions} [opts]
 * @returns {Promise<HttpResult>}
 */
export function httpGet(port, urlPath, opts = {}) {
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise((resolve) => {
    let done = false;
    /** @param {HttpResult} r */
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: 'GET',
        agent: false,
        headers: { Connection: 'close', ...(opts.headers ?? {}) },
      },
      (res) => {
        /** @type {Buffer[]} */
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', (e) => finish({ status: 0, body: e.message }));
        res.on('close', () => {
          if (!res.complete)
            finish({ status: 0, body: 'connection closed before the response was complete' });
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`timeout after ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (e) => finish({ status: 0, body: e.message }));
    req.end();
  });
}

/**
 * @param {number} port
 * @param {string} [host]
 * @returns {Promise<boolean>}
 */
function canConnect(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.setTimeout(1000);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Waits until something accepts TCP connections on port (or `up` says so); fails if child exits
 * first or on timeout.
 * @param {number} port
 * @param {import('node:child_process').ChildProcess} child
 * @param {string} what
 * @param {string} logFile
 * @param {number} timeoutMs
 * @param {(port: number) => Promise<boolean>} [up]
 */
async function waitForPort(port, child, what, logFile, timeoutMs, up = (p) => canConnect(p)) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${what} exited (${child.exitCode ?? child.signalCode}) before listening:\n${readQuiet(logFile)}`,
      );
    }
    if (await up(port)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${what} did not listen on port ${port} within ${timeoutMs} ms:\n${readQuiet(logFile)}`,
      );
    }
    await sleep(20);
  }
}

/** @param {string} file */
function readQuiet(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// users, ports

/** @param {string} user */
function passwdEntry(user) {
  const line = readQuiet('/etc/passwd')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  if (!line) return null;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]), home: f[5], shell: f[6] };
}

/** @param {string} user */
function shadowPassword(user) {
  const line = readQuiet('/etc/shadow')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  return line ? line.split(':')[1] : null;
}

/**
 * Makes sure the login user exists and is not locked (sshd refuses even key logins for a
 * password field starting with '!'). Safe when several targets start at once.
 * @param {'deploy' | 'root' | 'jumper'} user
 */
async function ensureUser(user) {
  if (user === 'root') {
    if ((shadowPassword('root') ?? '').startsWith('!')) {
      throw new Error("root's password field is locked ('!'): sshd would refuse root key logins");
    }
    return /** @type {NonNullable<ReturnType<typeof passwdEntry>>} */ (passwdEntry('root'));
  }
  let last = '';
  for (let attempt = 0; attempt < 50; attempt++) {
    if (!passwdEntry(user)) {
      const r = await exec('useradd', ['-m', '-s', '/bin/bash', user]);
      last = r.stderr;
      if (!passwdEntry(user)) {
        await sleep(100); // probably /etc/passwd was locked by a concurrent useradd
        continue;
      }
    }
    const pw = shadowPassword(user);
    if (pw !== null && pw.startsWith('!')) {
      const r = await exec('usermod', ['-p', '*', user]);
      last = r.stderr;
      if (r.code !== 0) {
        await sleep(100);
        continue;
      }
    }
    const entry = passwdEntry(user);
    if (entry && !(shadowPassword(user) ?? '!').startsWith('!')) return entry;
    await sleep(100);
  }
  throw new Error(`could not create/unlock user ${user}: ${last}`);
}

/** Ports handed to live targets of this process, so two targets never share one. */
const reservedPorts = new Set();

/**
 * @param {number} port
 * @returns {Promise<boolean>}
 */
function canBind(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * n distinct free ports on 127.0.0.1. They are picked below the kernel's ephemeral range
 * (ip_local_port_range), so an outgoing connection's source port can never occupy one of
 * them before the app binds it; falls back to port 0 if that range is unusable.
 * @param {number} n
 */
async function freePorts(n) {
  let low = 32768;
  const range = readQuiet('/proc/sys/net/ipv4/ip_local_port_range').trim().split(/\s+/).map(Number);
  if (range.length === 2 && Number.isInteger(range[0])) low = range[0];
  /** @type {number[]} */
  const ports = [];
  const minPort = 10000;
  if (low - minPort >= 1000) {
    for (let tries = 0; tries < 200 && ports.length < n; tries++) {
      const port = minPort + Math.floor(Math.random() * (low - minPort));
      if (ports.includes(port) || reservedPorts.has(port) || isListening(port)) continue;
      if (await canBind(port)) ports.push(port);
    }
  }
  while (ports.length < n) {
    const port = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = /** @type {net.AddressInfo} */ (srv.address());
        srv.close(() => resolve(addr.port));
      });
    });
    if (!ports.includes(port) && !reservedPorts.has(port)) ports.push(port);
  }
  for (const p of ports) reservedPorts.add(p);
  return ports;
}

// ---------------------------------------------------------------------------------------------
// cleanup on exit

/** @type {Set<Target>} */
const liveTargets = new Set();
let exitHandlerInstalled = false;

function installExitHandler() {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', () => {
    for (const t of liveTargets) t.killNowSync();
  });
}

/**
 * Removes sudoers files left by earlier runs whose target directory no longer exists.
 */
function removeStaleSudoers() {
  let names;
  try {
    names = fs.readdirSync(SUDOERS_DIR);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(`bgd-${DIR_PREFIX}`)) continue;
    const dir = path.join(TMP_ROOT, name.slice('bgd-'.length));
    if (!fs.existsSync(dir)) fs.rmSync(path.join(SUDOERS_DIR, name), { force: true });
  }
}

/** `<pid> <start time>` of this process, as written to a netns target's dir/owner. */
function ownerStamp(pid = process.pid) {
  const stat = readQuiet(`/proc/${pid}/stat`);
  return `${pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? ''}`;
}

/**
 * Deletes network namespaces (with their processes, target dir and sudoers file) left by earlier
 * runs that were killed before they could clean up: the dir is gone, or its owner process is.
 */
function removeStaleNetns() {
  let names;
  try {
    names = fs.readdirSync(NETNS_RUN_DIR);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = path.join(TMP_ROOT, name);
    const owner = readQuiet(path.join(dir, 'owner')).trim();
    if (fs.existsSync(dir) && (owner === '' || owner === ownerStamp(Number(owner.split(' ')[0])))) continue;
    deleteNetnsSync(name, vethNames(name).host);
    fs.rmSync(path.join(SUDOERS_DIR, `bgd-${name}`), { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The veth pair of a target dir / namespace named bgd-target-XXXXXX (interface names: 15 chars max).
 * @param {string} name
 */
function vethNames(name) {
  const suffix = name.slice(DIR_PREFIX.length);
  return { host: `bgd${suffix}h`, ns: `bgd${suffix}n` };
}

/**
 * PIDs of the processes in a network namespace (`ip netns pids`).
 * @param {string} ns
 */
function netnsPidsSync(ns) {
  const r = spawnSync(IP, ['netns', 'pids', ns], { encoding: 'utf8', timeout: 10_000 });
  return (r.stdout ?? '')
    .split(/\s+/)
    .filter((x) => /^\d+$/.test(x))
    .map(Number);
}

/**
 * SIGKILLs whatever still runs in the namespace, deletes it and the veth pair. Best effort.
 * @param {string} ns
 * @param {string} hostVeth
 */
function deleteNetnsSync(ns, hostVeth) {
  for (let round = 0; round < 20; round++) {
    const pids = netnsPidsSync(ns).filter((pid) => pid !== process.pid);
    if (!pids.length) break;
    for (const pid of pids) signal(pid, 'SIGKILL');
    const deadline = Date.now() + 500;
    while (Date.now() < deadline && pids.some(processAlive)) {
      spawnSync('sleep', ['0.02']);
    }
  }
  spawnSync(IP, ['netns', 'del', ns], { timeout: 10_000 });
  // Gone with the namespace; only there if the namespace was never fully set up.
  spawnSync(IP, ['link', 'del', hostVeth], { timeout: 10_000, stdio: 'ignore' });
}

/** Third and fourth octet prefixes of /30 nets handed to live targets of this process. */
const reservedNets = new Set();

/**
 * A free 10.213.X.Y/30 for a veth pair: .Y+1 on the host side, .Y+2 in the namespace. Only ever
 * configured on interfaces this harness creates.
 */
function freeVethNet() {
  const inUse = spawnSync(IP, ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' }).stdout ?? '';
  const routes = spawnSync(IP, ['-o', '-4', 'route', 'show'], { encoding: 'utf8' }).stdout ?? '';
  for (let tries = 0; tries < 1000; tries++) {
    const net3 = Math.floor(Math.random() * 256);
    const base = Math.floor(Math.random() * 64) * 4;
    const prefix = `10.213.${net3}.`;
    const key = `${net3}.${base}`;
    if (reservedNets.has(key)) continue;
    if ([1, 2].some((i) => inUse.includes(` ${prefix}${base + i}/`))) continue;
    if (routes.includes(`${prefix}${base}/`)) continue;
    reservedNets.add(key);
    return { key, hostAddr: `${prefix}${base + 1}`, nsAddr: `${prefix}${base + 2}` };
  }
  throw new Error('no free 10.213.x.y/30 for the veth pair');
}

// ---------------------------------------------------------------------------------------------
// the target

class Target {
  /**
   * @param {object} f
   * @param {string} f.dir
   * @param {string} f.username
   */
  constructor(f) {
    this.dir = f.dir;
    this.host = '127.0.0.1';
    this.username = f.username;
    this.sshPort = 0;
    this.nginxPort = 0;
    this.bluePort = 0;
    this.greenPort = 0;
    this.privateKeyPath = path.join(f.dir, 'client_key');
    this.privateKey = '';
    this.knownHosts = '';
    this.knownHostsPath = path.join(f.dir, 'known_hosts');
    /** @type {{ ed25519: string, ecdsa: string, rsa: string }} */
    this.hostKeyFingerprints = { ed25519: '', ecdsa: '', rsa: '' };
    this.remoteDir = path.join(f.dir, 'app');
    this.nginxDir = path.join(f.dir, 'nginx');
    this.nginxConfig = path.join(this.nginxDir, 'nginx.conf');
    this.nginxInclude = path.join(this.nginxDir, 'service-url.inc');
    this.nginxBin = NGINX;
    this.nginxUrl = '';
    this.sudoersLine = '';
    /** @type {string | null} */
    this.sudoersFile = null;
    this.sshdPid = 0;
    this.nginxPid = 0;
    /** @type {import('node:child_process').ChildProcess | null} */
    this.sshdChild = null;
    /** @type {import('node:child_process').ChildProcess | null} */
    this.nginxChild = null;
    /** @type {Set<number>} */
    this.clientPids = new Set();
    /** @type {Promise<void> | null} */
    this.stopping = null;
    /** Network namespace name (netns targets), else null. @type {string | null} */
    this.netns = null;
    /** @type {{ key: string, hostAddr: string, nsAddr: string } | null} */
    this.vethNet = null;
    this.hostVeth = '';
    /** @type {Bastion | null} */
    this.bastion = null;
    /** Isolated targets: the common root every isolated target sees (its own dir bind-mounted there). @type {string | null} */
    this.sharedRoot = null;
  }

  /**
   * Where a path the target's processes see lives in this (the test's) mount namespace: for isolated
   * targets <sharedRoot>/x is <dir>/x (bind mounts in the target's mount namespaces); else as is.
   * @param {string} p
   */
  localPath(p) {
    if (this.sharedRoot && isUnder(p, this.sharedRoot)) return this.dir + p.slice(this.sharedRoot.length);
    return p;
  }

  /**
   * argv that runs file in the target's network namespace (or as is).
   * @param {string} file
   * @param {string[]} args
   * @returns {[string, string[]]}
   */
  nsCommand(file, args) {
    if (this.netns && this.sharedRoot) {
      // A private mount namespace per command, all with the same mounts: a small tmpfs over the parent
      // of sharedRoot (nothing is created on the real file system) holding the mount points, and the
      // target's app and nginx dirs bind-mounted there. Dies with the process (and its children).
      const root = this.sharedRoot;
      const script =
        'set -e; mount -t tmpfs -o mode=755,size=1m bgd-shared "$1"; ' +
        'mkdir -p "$2/app" "$2/nginx"; mount --bind "$3/app" "$2/app"; mount --bind "$3/nginx" "$2/nginx"; ' +
        'shift 3; exec "$@"';
      return [
        IP,
        [
          'netns',
          'exec',
          this.netns,
          'unshare',
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          script,
          'sh',
          path.dirname(root),
          root,
          this.dir,
          file,
          ...args,
        ],
      ];
    }
    return this.netns ? [IP, ['netns', 'exec', this.netns, file, ...args]] : [file, args];
  }

  /**
   * GET through nginx.
   * @param {string} urlPath
   * @param {GetOptions} [opts]
   */
  get(urlPath, opts) {
    return this.getDirect(this.nginxPort, urlPath, opts);
  }

  /**
   * GET straight to 127.0.0.1:port (the namespace's, for netns targets: from a child in it).
   * @param {number} port
   * @param {string} urlPath
   * @param {GetOptions} [opts]
   * @returns {Promise<HttpResult>}
   */
  async getDirect(port, urlPath, opts = {}) {
    if (!this.netns) return httpGet(port, urlPath, opts);
    const script =
      'const [u, port, urlPath, o] = process.argv.slice(1);' +
      'const { httpGet } = await import(u);' +
      'process.stdout.write(JSON.stringify(await httpGet(Number(port), urlPath, JSON.parse(o))));';
    const [file, args] = this.nsCommand(process.execPath, [
      '--input-type=module',
      '-e',
      script,
      import.meta.url,
      String(port),
      urlPath,
      JSON.stringify(opts),
    ]);
    const r = await exec(file, args, { timeoutMs: (opts.timeoutMs ?? 5000) + 10_000 });
    try {
      return /** @type {HttpResult} */ (JSON.parse(r.stdout));
    } catch {
      return { status: 0, body: `GET in ${this.netns} failed (${r.code}): ${r.stderr}` };
    }
  }

  readInclude() {
    return fs.readFileSync(this.localPath(this.nginxInclude), 'utf8');
  }

  /**
   * Test helper (as root): rewrites the include for port (null: empty include) and reloads nginx,
   * returning once the old worker processes have exited.
   * @param {number | null} port
   */
  async setIncludePort(port) {
    const include = this.localPath(this.nginxInclude);
    fs.writeFileSync(include, port === null ? '' : `set $service_url http://127.0.0.1:${port};\n`);
    fs.chmodSync(include, 0o644);
    await this.reloadNginx();
  }

  /** Test helper (as root): `nginx -s reload`, then waits for the old workers to exit. */
  async reloadNginx() {
    const oldWorkers = descendants(this.nginxPid);
    await execOk(...this.nsCommand(NGINX, ['-c', this.nginxConfig, '-t', '-q']));
    await execOk(...this.nsCommand(NGINX, ['-c', this.nginxConfig, '-s', 'reload']));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && oldWorkers.some(processAlive)) await sleep(20);
  }

  /**
   * Live processes whose command line mentions this target's dir (or whose working directory is
   * inside it, e.g. `cd app && java -jar v1.jar`), except sshd/nginx themselves.
   */
  appProcesses() {
    const procs = listProcesses();
    const exclude = new Set([
      this.sshdPid,
      this.nginxPid,
      this.bastion?.sshdPid ?? 0,
      process.pid,
      ...this.clientPids,
    ]);
    /** @type {ProcInfo[]} */
    const result = [];
    // Isolated targets: their processes name the common paths, which other isolated targets share,
    // so only those in this target's network namespace count.
    let netnsLink = '';
    if (this.sharedRoot && this.netns) {
      try {
        netnsLink = `net:[${fs.statSync(path.join(NETNS_RUN_DIR, this.netns)).ino}]`;
      } catch {
        return result; // namespace gone: nothing of ours can run
      }
    }
    const root = this.sharedRoot;
    for (const p of procs) {
      if (exclude.has(p.pid)) continue;
      const cwd = cwdOf(p.pid);
      if (netnsLink) {
        let link;
        try {
          link = fs.readlinkSync(`/proc/${p.pid}/ns/net`);
        } catch {
          continue; // exited meanwhile
        }
        if (link !== netnsLink) continue;
        const mentions =
          p.cmdline.includes(this.dir) ||
          isUnder(cwd, this.dir) ||
          (root !== null && (p.cmdline.includes(root) || isUnder(cwd, root)));
        if (!mentions) continue;
      } else if (!p.cmdline.includes(this.dir) && !isUnder(cwd, this.dir)) continue;
      const argv0 = p.argv[0] ?? '';
      if (path.basename(argv0) === 'sshd' || argv0.startsWith('sshd:')) continue;
      if (argv0.startsWith('nginx:')) continue;
      result.push({ pid: p.pid, cmdline: p.cmdline });
    }
    return result;
  }

  /** @param {number} port */
  listening(port) {
    if (!this.netns) return isListening(port);
    let text;
    try {
      text = execFileSync(IP, ['netns', 'exec', this.netns, 'cat', '/proc/net/tcp', '/proc/net/tcp6'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 10_000,
      });
    } catch (e) {
      text = String(/** @type {{ stdout?: unknown }} */ (e).stdout ?? ''); // no tcp6: cat exits 1
    }
    return listensIn(text, port);
  }

  /**
   * Options for the system ssh/scp clients: this target's key and known_hosts only, strict, non-interactive.
   * @returns {string[]}
   */
  sshClientOptions() {
    return [
      '-F',
      '/dev/null',
      '-i',
      this.privateKeyPath,
      '-o',
      `UserKnownHostsFile=${this.knownHostsPath}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'IdentityAgent=none',
      '-o',
      'LogLevel=ERROR',
    ];
  }

  /**
   * Runs a shell command on the target as the login user with the system ssh client.
   * @param {string} command
   * @param {{ timeoutMs?: number, input?: string }} [opts]
   * @returns {Promise<ExecResult>}
   */
  ssh(command, opts = {}) {
    const args = [
      ...this.sshClientOptions(),
      '-p',
      String(this.sshPort),
      '-o',
      'ConnectTimeout=10',
      `${this.username}@${this.host}`,
      command,
    ];
    const timeoutMs = opts.timeoutMs ?? 60_000;
    // An isolated target's sshd listens on its veth address, reachable from here.
    const [file, argv] = this.sharedRoot ? ['ssh', args] : this.nsCommand('ssh', args);
    return new Promise((resolve) => {
      const child = spawn(file, argv, {
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
      if (child.pid) this.clientPids.add(child.pid);
      /** @type {Buffer[]} */
      const out = [];
      /** @type {Buffer[]} */
      const err = [];
      child.stdout?.on('data', (c) => out.push(c));
      child.stderr?.on('data', (c) => err.push(c));
      if (opts.input !== undefined) child.stdin?.end(opts.input);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      let spawnError = '';
      child.on('error', (e) => {
        spawnError = e.message;
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (child.pid) this.clientPids.delete(child.pid);
        let stderr = Buffer.concat(err).toString('utf8') + spawnError;
        if (timedOut) stderr += `\nssh: timed out after ${timeoutMs} ms`;
        resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr });
      });
    });
  }

  /** Stops everything the target started and removes its files. Idempotent. */
  stop() {
    if (!this.stopping) this.stopping = this.doStop();
    return this.stopping;
  }

  /** @private */
  async doStop() {
    try {
      // 1. the deployed apps (and anything else started under dir)
      await terminate(
        this.appProcesses().map((p) => p.pid),
        'SIGTERM',
        3000,
      );
      // 2. nginx: graceful quit, then kill master and workers
      if (this.nginxPid) {
        const workers = descendants(this.nginxPid);
        await terminate([this.nginxPid], 'SIGQUIT', 5000);
        await terminate(workers, 'SIGKILL', 0);
      }
      // 3. sshd and its per-connection children
      if (this.sshdPid) {
        const sessions = descendants(this.sshdPid);
        await terminate([this.sshdPid], 'SIGTERM', 3000);
        await terminate(sessions, 'SIGTERM', 2000);
      }
      // 4. the bastion and its sessions
      if (this.bastion?.sshdPid) {
        const sessions = descendants(this.bastion.sshdPid);
        await terminate([this.bastion.sshdPid], 'SIGTERM', 3000);
        await terminate(sessions, 'SIGTERM', 2000);
      }
      // anything that appeared meanwhile
      await terminate(
        this.appProcesses().map((p) => p.pid),
        'SIGKILL',
        0,
      );
    } finally {
      if (this.netns) deleteNetnsSync(this.netns, this.hostVeth);
      if (this.vethNet) reservedNets.delete(this.vethNet.key);
      if (this.sudoersFile) fs.rmSync(this.sudoersFile, { force: true });
      await fsp.rm(this.dir, { recursive: true, force: true });
      liveTargets.delete(this);
      for (const p of [
        this.sshPort,
        this.nginxPort,
        this.bluePort,
        this.greenPort,
        this.bastion?.sshPort ?? 0,
      ])
        reservedPorts.delete(p);
    }
  }

  /** Synchronous best-effort teardown for process exit. @private */
  killNowSync() {
    try {
      const procs = listProcesses();
      const pids = [
        ...this.appProcesses().map((p) => p.pid),
        ...(this.nginxPid ? [this.nginxPid, ...descendants(this.nginxPid, procs)] : []),
        ...(this.sshdPid ? [this.sshdPid, ...descendants(this.sshdPid, procs)] : []),
        ...(this.bastion?.sshdPid ? [this.bastion.sshdPid, ...descendants(this.bastion.sshdPid, procs)] : []),
      ];
      for (const pid of pids) signal(pid, 'SIGKILL');
    } catch {
      // best effort
    }
    try {
      if (this.netns) deleteNetnsSync(this.netns, this.hostVeth);
    } catch {
      // best effort
    }
    try {
      if (this.sudoersFile) fs.rmSync(this.sudoersFile, { force: true });
      fs.rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
}

// ---------------------------------------------------------------------------------------------
// start-up steps

/**
 * @param {string} file
 * @param {string} type
 * @param {string[]} extra
 */
async function keygen(file, type, extra = []) {
  await execOk('ssh-keygen', ['-q', '-t', type, ...extra, '-N', '', '-C', '', '-f', file]);
}

/**
 * Uses an existing client key (e.g. another target's, so that one key logs in to several targets).
 * @param {string} from
 * @param {string} to
 */
async function copyClientKey(from, to) {
  fs.copyFileSync(from, to);
  fs.chmodSync(to, 0o600);
  const r = await execOk('ssh-keygen', ['-y', '-f', to]);
  fs.writeFileSync(`${to}.pub`, r.stdout, { mode: 0o644 });
}

/** @param {string} pubFile */
async function fingerprint(pubFile) {
  const r = await execOk('ssh-keygen', ['-l', '-f', pubFile]);
  const fp = r.stdout.trim().split(/\s+/)[1] ?? '';
  if (!fp.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen -l output: ${r.stdout}`);
  return fp;
}

/**
 * @param {Target} t
 * @param {boolean} tcpForwarding
 */
async function startSshd(t, tcpForwarding) {
  const d = t.dir;
  const cfg = [
    `Port ${t.sshPort}`,
    `ListenAddress ${t.host}`,
    `HostKey ${d}/ssh_host_ed25519_key`,
    `HostKey ${d}/ssh_host_ecdsa_key`,
    `HostKey ${d}/ssh_host_rsa_key`,
    `PidFile ${d}/sshd.pid`,
    `AuthorizedKeysFile ${d}/authorized_keys/%u`,
    'StrictModes no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    `AllowUsers ${t.username}`,
    `AllowTcpForwarding ${tcpForwarding ? 'yes' : 'no'}`,
    'Subsystem sftp internal-sftp',
    'MaxSessions 50',
    'MaxStartups 50:30:100',
    'LogLevel VERBOSE',
    '',
  ].join('\n');
  const cfgFile = path.join(d, 'sshd_config');
  fs.writeFileSync(cfgFile, cfg, { mode: 0o644 });
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  await execOk(SSHD, ['-t', '-f', cfgFile]);
  const logFile = path.join(d, 'sshd.log');
  const fd = fs.openSync(logFile, 'a');
  try {
    const child = spawn(...t.nsCommand(SSHD, ['-D', '-e', '-f', cfgFile]), { stdio: ['ignore', fd, fd] });
    t.sshdChild = child;
    child.on('error', () => {});
    t.sshdPid = child.pid ?? 0;
  } finally {
    fs.closeSync(fd);
  }
  await waitForPort(
    t.sshPort,
    /** @type {import('node:child_process').ChildProcess} */ (t.sshdChild),
    'sshd',
    logFile,
    10_000,
    upIn(t),
  );
}

/**
 * How to tell that a target's server listens: connect (or, in a namespace, look at its sockets).
 * @param {Target} t
 * @returns {(port: number) => Promise<boolean>}
 */
function upIn(t) {
  return t.netns ? async (port) => t.listening(port) : (port) => canConnect(port);
}

/**
 * @param {Target} t
 * @param {number | null} includePort
 */
async function startNginx(t, includePort) {
  // n: the nginx dir as nginx sees it (the common path for isolated targets); local: as we see it.
  const n = path.dirname(t.nginxConfig);
  const local = t.nginxDir;
  fs.mkdirSync(path.join(local, 'tmp'), { recursive: true, mode: 0o755 });
  fs.chmodSync(local, 0o755);
  fs.writeFileSync(
    t.localPath(t.nginxInclude),
    includePort === null ? '' : `set $service_url http://127.0.0.1:${includePort};\n`,
    {
      mode: 0o644,
    },
  );
  const conf = `# bgd test target (test-target/harness.js)
worker_processes 2;
pid ${n}/nginx.pid;
error_log ${n}/error.log;

events {
    worker_connections 1024;
}

http {
    access_log off;
    client_body_temp_path ${n}/tmp/client_body;
    proxy_temp_path ${n}/tmp/proxy;
    fastcgi_temp_path ${n}/tmp/fastcgi;
    uwsgi_temp_path ${n}/tmp/uwsgi;
    scgi_temp_path ${n}/tmp/scgi;

    server {
        listen 127.0.0.1:${t.nginxPort};

        # Declares the variable so that an empty include is still a valid config (answers 502).
        set $service_url "";
        include ${t.nginxInclude};

        location / {
            if ($service_url = "") {
                return 502;
            }
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_pass $service_url;
        }
    }
}
`;
  fs.writeFileSync(t.localPath(t.nginxConfig), conf, { mode: 0o644 });
  const logFile = path.join(local, 'stderr.log');
  // -e: the compiled-in default error log is opened before the config is read.
  const errArgs = ['-e', path.join(n, 'error.log')];
  await execOk(...t.nsCommand(NGINX, ['-c', t.nginxConfig, ...errArgs, '-t', '-q']));
  const fd = fs.openSync(logFile, 'a');
  try {
    const child = spawn(...t.nsCommand(NGINX, ['-c', t.nginxConfig, ...errArgs, '-g', 'daemon off;']), {
      stdio: ['ignore', fd, fd],
    });
    t.nginxChild = child;
    child.on('error', () => {});
    t.nginxPid = child.pid ?? 0;
  } finally {
    fs.closeSync(fd);
  }
  const errorLog = path.join(local, 'error.log');
  await waitForPort(
    t.nginxPort,
    /** @type {import('node:child_process').ChildProcess} */ (t.nginxChild),
    'nginx',
    errorLog,
    10_000,
    upIn(t),
  );
}

/**
 * Creates the target's network namespace (loopback up) and a veth pair into it:
 * host side 10.213.X.Y+1/30 in the root namespace, 10.213.X.Y+2/30 inside.
 * @param {Target} t
 */
async function startNetns(t) {
  const ns = path.basename(t.dir);
  const veth = vethNames(ns);
  // Lets a later run clean up after this one if it is killed before stop() (see removeStaleNetns).
  fs.writeFileSync(path.join(t.dir, 'owner'), `${ownerStamp()}\n`);
  t.vethNet = freeVethNet();
  t.hostVeth = veth.host;
  await execOk(IP, ['netns', 'add', ns]);
  t.netns = ns;
  const { hostAddr, nsAddr } = t.vethNet;
  await execOk(IP, ['-n', ns, 'link', 'set', 'lo', 'up']);
  await execOk(IP, ['link', 'add', veth.host, 'type', 'veth', 'peer', 'name', veth.ns, 'netns', ns]);
  await execOk(IP, ['addr', 'add', `${hostAddr}/30`, 'dev', veth.host]);
  await execOk(IP, ['link', 'set', veth.host, 'up']);
  await execOk(IP, ['-n', ns, 'addr', 'add', `${nsAddr}/30`, 'dev', veth.ns]);
  await execOk(IP, ['-n', ns, 'link', 'set', veth.ns, 'up']);
}

/**
 * The bastion: a second sshd inside the namespace, listening only on its veth address, for the
 * user jumper (own key), allowing nothing but direct-tcpip forwarding (no shell, no remote
 * forwarding). Reachable from the test; it reaches the target's sshd on the namespace's 127.0.0.1.
 * @param {Target} t
 * @param {number} port
 */
async function startBastion(t, port) {
  const d = path.join(t.dir, 'bastion');
  fs.mkdirSync(path.join(d, 'authorized_keys'), { recursive: true, mode: 0o755 });
  const host = /** @type {NonNullable<Target['vethNet']>} */ (t.vethNet).nsAddr;
  const keyPath = path.join(d, 'client_key');
  const [account] = await Promise.all([
    ensureUser(JUMP_USER),
    keygen(keyPath, 'ed25519'),
    keygen(path.join(d, 'ssh_host_ed25519_key'), 'ed25519'),
  ]);
  const authFile = path.join(d, 'authorized_keys', JUMP_USER);
  fs.writeFileSync(authFile, fs.readFileSync(`${keyPath}.pub`, 'utf8'), { mode: 0o600 });
  fs.chownSync(authFile, account.uid, account.gid);
  const [type, b64] = fs.readFileSync(path.join(d, 'ssh_host_ed25519_key.pub'), 'utf8').trim().split(/\s+/);
  const knownHosts = `[${host}]:${port} ${type} ${b64}\n`;
  const knownHostsPath = path.join(d, 'known_hosts');
  fs.writeFileSync(knownHostsPath, knownHosts, { mode: 0o644 });
  const cfg = [
    `Port ${port}`,
    `ListenAddress ${host}`,
    `HostKey ${d}/ssh_host_ed25519_key`,
    `PidFile ${d}/sshd.pid`,
    `AuthorizedKeysFile ${d}/authorized_keys/%u`,
    'StrictModes no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'PermitRootLogin no',
    `AllowUsers ${JUMP_USER}`,
    'AllowTcpForwarding local',
    `PermitOpen 127.0.0.1:${t.sshPort}`,
    'AllowAgentForwarding no',
    'X11Forwarding no',
    'PermitTTY no',
    'ForceCommand /bin/false',
    'MaxStartups 50:30:100',
    // VERBOSE logs logins but not the direct-tcpip channels; DEBUG1 logs those too.
    'LogLevel DEBUG1',
    '',
  ].join('\n');
  const cfgFile = path.join(d, 'sshd_config');
  fs.writeFileSync(cfgFile, cfg, { mode: 0o644 });
  await execOk(SSHD, ['-t', '-f', cfgFile]);
  const logFile = path.join(d, 'sshd.log');
  const fd = fs.openSync(logFile, 'a');
  /** @type {import('node:child_process').ChildProcess} */
  let child;
  try {
    child = spawn(...t.nsCommand(SSHD, ['-D', '-e', '-f', cfgFile]), { stdio: ['ignore', fd, fd] });
    child.on('error', () => {});
  } finally {
    fs.closeSync(fd);
  }
  t.bastion = {
    host,
    sshPort: port,
    username: JUMP_USER,
    privateKey: fs.readFileSync(keyPath, 'utf8'),
    privateKeyPath: keyPath,
    knownHosts,
    knownHostsPath,
    hostKeyFingerprint: await fingerprint(path.join(d, 'ssh_host_ed25519_key.pub')),
    sshdPid: child.pid ?? 0,
    dir: d,
    logFile,
    readLog: () => readQuiet(logFile),
  };
  // From the root namespace, through the veth: the way the action will come in.
  await waitForPort(port, child, 'bastion sshd', logFile, 10_000, (p) => canConnect(p, host));
}

/**
 * Installs /etc/sudoers.d/bgd-<basename of dir>, validated with visudo first.
 * @param {Target} t
 */
async function installSudoers(t) {
  const file = path.join(SUDOERS_DIR, `bgd-${path.basename(t.dir)}`);
  const tmpCheck = path.join(t.dir, 'sudoers.check');
  fs.writeFileSync(tmpCheck, `${t.sudoersLine}\n`, { mode: 0o440 });
  await execOk('visudo', ['-c', '-q', '-f', tmpCheck]);
  // A name with a dot is ignored by sudo's @includedir, so the half-written file is never read.
  const staging = path.join(SUDOERS_DIR, `.bgd-${path.basename(t.dir)}.tmp`);
  fs.copyFileSync(tmpCheck, staging);
  fs.chownSync(staging, 0, 0);
  fs.chmodSync(staging, 0o440);
  fs.renameSync(staging, file);
  t.sudoersFile = file;
  fs.rmSync(tmpCheck, { force: true });
  const r = await exec('sudo', ['-n', '-l', '-U', 'deploy']);
  if (r.code !== 0 || !r.stdout.includes(t.nginxConfig)) {
    throw new Error(`sudo -n -l -U deploy does not show the target's rules:\n${r.stdout}${r.stderr}`);
  }
}

/**
 * Starts a fresh, isolated target (sshd + nginx + sudoers + app dir) on 127.0.0.1.
 * @param {TargetOptions} [opts]
 * @returns {Promise<Target>}
 */
export async function startTarget(opts = {}) {
  if (process.getuid?.() !== 0) throw new Error('startTarget must run as root');
  const username = opts.user ?? 'deploy';
  if (username !== 'deploy' && username !== 'root') throw new Error(`unsupported user ${username}`);
  const wantSudo = opts.sudo ?? true;
  const tcpForwarding = opts.tcpForwarding ?? true;
  const isolated = opts.isolated ?? false;
  const netns = (opts.netns ?? false) || isolated;
  const sharedRoot = path.resolve(opts.sharedRoot ?? SHARED_ROOT);
  if (isolated && (path.dirname(sharedRoot) === '/' || !fs.existsSync(path.dirname(sharedRoot)))) {
    throw new Error(`sharedRoot ${sharedRoot}: its parent must be an existing directory other than /`);
  }

  removeStaleSudoers();
  if (netns) removeStaleNetns();
  const dir = await fsp.mkdtemp(path.join(TMP_ROOT, DIR_PREFIX));
  fs.chmodSync(dir, 0o755);
  const t = new Target({ dir, username });
  installExitHandler();
  liveTargets.add(t);
  try {
    const [account, ports, tools] = await Promise.all([
      ensureUser('deploy').then((deploy) => (username === 'root' ? ensureUser('root') : deploy)),
      isolated
        ? Promise.resolve([
            ISOLATED_PORTS.ssh,
            ISOLATED_PORTS.nginx,
            ISOLATED_PORTS.blue,
            ISOLATED_PORTS.green,
          ])
        : freePorts(netns ? 5 : 4),
      Promise.all([which('nginx'), which('tee'), which('mv'), which('rm')]),
      opts.privateKeyPath
        ? copyClientKey(opts.privateKeyPath, t.privateKeyPath)
        : keygen(t.privateKeyPath, 'ed25519'),
      keygen(path.join(dir, 'ssh_host_ed25519_key'), 'ed25519'),
      keygen(path.join(dir, 'ssh_host_ecdsa_key'), 'ecdsa', ['-b', '256']),
      keygen(path.join(dir, 'ssh_host_rsa_key'), 'rsa', ['-b', '2048']),
    ]);
    [t.sshPort, t.nginxPort, t.bluePort, t.greenPort] = ports;
    if (netns) await startNetns(t);
    if (isolated) {
      // Reached directly on its veth address; sees its own dir at the common paths.
      t.host = /** @type {NonNullable<Target['vethNet']>} */ (t.vethNet).nsAddr;
      t.sharedRoot = sharedRoot;
      t.remoteDir = path.join(sharedRoot, 'app');
      t.nginxConfig = path.join(sharedRoot, 'nginx', 'nginx.conf');
      t.nginxInclude = path.join(sharedRoot, 'nginx', 'service-url.inc');
    }
    t.nginxUrl = `http://127.0.0.1:${t.nginxPort}`;
    const [nginxPath, tee, mv, rm] = tools;
    t.nginxBin = nginxPath;
    const I = t.nginxInclude;
    const C = t.nginxConfig;
    t.sudoersLine =
      `deploy ALL=(root) NOPASSWD: ${nginxPath} -c ${C} -t, ${nginxPath} -c ${C} -s reload, ` +
      `${tee} ${I}.tmp, ${mv} -f ${I}.tmp ${I}, ${rm} -f ${I}.tmp, ${rm} -f ${I}`;

    // client key, authorized keys
    t.privateKey = fs.readFileSync(t.privateKeyPath, 'utf8');
    const authDir = path.join(dir, 'authorized_keys');
    fs.mkdirSync(authDir, { mode: 0o755 });
    const authFile = path.join(authDir, username);
    fs.writeFileSync(authFile, fs.readFileSync(`${t.privateKeyPath}.pub`, 'utf8'), { mode: 0o600 });
    fs.chownSync(authFile, account.uid, account.gid);

    // host keys: known_hosts lines and fingerprints
    /** @type {Array<'ed25519' | 'ecdsa' | 'rsa'>} */
    const kinds = ['ed25519', 'ecdsa', 'rsa'];
    const lines = kinds.map((k) => {
      const [type, b64] = fs
        .readFileSync(path.join(dir, `ssh_host_${k}_key.pub`), 'utf8')
        .trim()
        .split(/\s+/);
      return `[${t.host}]:${t.sshPort} ${type} ${b64}`;
    });
    t.knownHosts = lines.join('\n') + '\n';
    fs.writeFileSync(t.knownHostsPath, t.knownHosts, { mode: 0o644 });
    const fps = await Promise.all(kinds.map((k) => fingerprint(path.join(dir, `ssh_host_${k}_key.pub`))));
    t.hostKeyFingerprints = { ed25519: fps[0], ecdsa: fps[1], rsa: fps[2] };

    // app dir
    const localRemoteDir = t.localPath(t.remoteDir);
    fs.mkdirSync(localRemoteDir, { mode: 0o755 });
    fs.chmodSync(localRemoteDir, 0o755);
    fs.chownSync(localRemoteDir, account.uid, account.gid);

    await Promise.all([
      startSshd(t, tcpForwarding),
      startNginx(t, opts.includePort === undefined ? t.bluePort : opts.includePort),
      username === 'deploy' && wantSudo ? installSudoers(t) : Promise.resolve(),
      netns && !isolated ? startBastion(t, ports[4]) : Promise.resolve(),
    ]);
    return t;
  } catch (err) {
    await t.stop().catch(() => {});
    throw err;
  }
}
