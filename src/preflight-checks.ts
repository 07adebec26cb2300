// mode preflight: what the host reported (src/commands/preflight.ts), judged into rows: ok, or failed with the
// fix. Pure: every row's text is decided here, from the probe, the port plan and the supervisor check.
import type { Probe } from './commands/preflight.js';
import { notLoadedFix, type RootCommands } from './commands/nginx-root.js';
import { neededKiB } from './commands/release.js';
import { unitName } from './commands/systemd.js';
import type { Settings } from './inputs.js';
import type { Layout } from './layout.js';
import type { PortPlan } from './plan.js';
import type { PreflightCheck } from './preflight.js';
import { sudo } from './preflight-sudo.js';
import { quote } from './shell.js';

export interface CheckInput {
  settings: Settings;
  paths: Layout;
  probe: Probe;
  /** What a deploy would run as root, as asked of sudo. */
  root: RootCommands;
  /** The files nginx must load (the include first), in the probe's order. */
  mustLoad: readonly string[];
  /** The port plan, or why a deploy would refuse the host (PortConflictError, HostStateError). */
  plan: PortPlan | Error;
  /** The supervisor check's problems; undefined without a supervisor. */
  supervisorProblems?: readonly string[];
}

function row(name: string, ok: boolean, detail: string, fix?: string): PreflightCheck {
  return ok || fix === undefined ? { name, ok, detail } : { name, ok, detail, fix };
}

function hostKey(s: Settings): PreflightCheck {
  if (!s.strictHostKeyChecking) {
    return row(
      'host key',
      true,
      'not verified: strict-host-key-checking is false (any host key is accepted)',
    );
  }
  const by = s.knownHosts.length > 0 ? 'known-hosts' : 'host-fingerprint';
  return row('host key', true, `the connection succeeded with the host key verified against ${by}`);
}

function remoteDir({ probe: p, paths }: CheckInput): PreflightCheck {
  const { root } = paths;
  const name = 'remote-dir';
  switch (p.remoteDir) {
    case 'notDir':
      return row(
        name,
        false,
        `${root} exists but is not a folder`,
        'remove it, or set remote-dir to a folder',
      );
    case 'notWritable':
      return row(name, false, `${p.user} cannot write ${root}`, `sudo chown ${quote(p.user)} ${quote(root)}`);
    case 'notCreatable':
      return row(
        name,
        false,
        `${root} does not exist and ${p.user} cannot create it in ${p.base}`,
        `sudo install -d -o ${quote(p.user)} -g ${quote(p.user)} ${quote(root)}`,
      );
    case 'creatable':
      return row(
        name,
        true,
        `${root} does not exist yet; a deploy creates it in ${p.base}, which ${p.user} can write`,
      );
    case 'writable':
      if (p.blocked.length > 0) {
        return row(
          name,
          false,
          `${p.user} cannot write ${p.blocked.join(', ')}`,
          `sudo chown -R ${quote(p.user)} ${quote(root)}`,
        );
      }
      return row(name, true, `${root} exists and ${p.user} can write it`);
  }
}

/** Only with the jar input: its size against the free space, as the upload step reckons it. */
function freeSpace({ settings: s, probe: p }: CheckInput): PreflightCheck[] {
  if (!s.jar) return [];
  const name = 'free space';
  const free = p.freeKiB;
  if (free === undefined) {
    return [
      row(name, false, `df printed no free space for ${p.base}`, `check that df -Pk ${quote(p.base)} works`),
    ];
  }
  if (p.reusable !== undefined) {
    const same = `${p.reusable} has the same jar: a deploy links it, nothing is sent`;
    return [
      free > 0
        ? row(name, true, `${same}; ${free} KiB free in ${p.base}`)
        : row(name, false, `${same}, but ${p.base} is full (0 KiB free)`, `free space in ${p.base}`),
    ];
  }
  const need = neededKiB(s.jar.bytes);
  const text = `${free} KiB free in ${p.base}, ${need} KiB needed for the jar (${s.jar.bytes} bytes)`;
  return [
    free >= need
      ? row(name, true, text)
      : row(
          name,
          false,
          text,
          `free at least ${need - free} KiB in ${p.base}, or set remote-dir to a larger file system`,
        ),
  ];
}

function java({ settings: s, probe: p }: CheckInput): PreflightCheck {
  const fix = `install a Java runtime for ${p.user}, or set the java input to its path`;
  if (!p.java) return row('java', false, `"${s.java}" is not a command ${p.user} can run`, fix);
  const { path, ok, version } = p.java;
  if (!ok) return row('java', false, `${path} -version failed: ${version}`, fix);
  return row('java', true, `${path}: ${version}`);
}

function tools({ probe: p }: CheckInput): PreflightCheck {
  if (p.missingTools.length === 0) {
    return row('tools', true, 'flock, setsid, sha256sum, ps, base64, and ss or lsof are present');
  }
  return row(
    'tools',
    false,
    `missing on the host: ${p.missingTools.join(', ')}`,
    'install them: flock and setsid (util-linux), sha256sum and base64 (coreutils), ps (procps), ss (iproute2) or lsof',
  );
}

function ports({ plan }: CheckInput): PreflightCheck {
  if (plan instanceof Error) return row('ports', false, 'a deploy would refuse this host', plan.message);
  const old = plan.oldProcess;
  let live = 'first deploy';
  if (plan.live !== undefined) {
    const who = old
      ? `pid ${old.pid}${old.ours ? ', ours' : `, ${old.command ?? ''}, not started by this action`}`
      : 'a process the deploy user cannot see';
    live = `live ${plan.live} (${who})`;
  }
  const stale = plan.staleOnIdle;
  const idle = stale ? `held by a stale app of ours (pid ${stale.pid}), which a deploy stops first` : 'free';
  return row('ports', true, `${live}; idle ${plan.idle} ${idle}`);
}

export function preflightChecks(input: CheckInput): PreflightCheck[] {
  return [
    hostKey(input.settings),
    remoteDir(input),
    ...freeSpace(input),
    java(input),
    tools(input),
    ports(input),
    ...hostChecks(input),
  ];
}

function nginxTest({ probe: p }: CheckInput): PreflightCheck {
  const lines = p.nginxTest.output.split('\n').filter(Boolean);
  if (p.nginxTest.ok) return row('nginx -t', true, lines[lines.length - 1] ?? 'ok');
  return row(
    'nginx -t',
    false,
    lines.join(' ') || 'failed without a message',
    'fix what nginx -t reports: a deploy runs the same test before every reload',
  );
}

/** Where the include belongs: in http { } when it holds the upstream block, else in the proxying server { }. */
function includeFix(file: string, plan: PortPlan | Error): string {
  const block = plan instanceof Error ? undefined : plan.routing.include.block;
  const where = block
    ? `inside http { } (it holds upstream ${block.name})`
    : 'inside the server { } that proxies to $service_url';
  return `add "include ${file};" ${where}, or set nginx-include`;
}

function loaded({ probe: p, mustLoad, plan }: CheckInput): PreflightCheck[] {
  return mustLoad.map((file, i) => {
    const name = `nginx loads ${file}`;
    const include = i === 0;
    if (!p.nginxDump) {
      return row(
        name,
        false,
        'nginx -T failed: what nginx loads cannot be seen',
        'make nginx -T work (see the rows sudo and nginx -t)',
      );
    }
    if (p.loaded[i] === 'yes') return row(name, true, 'nginx -T shows it');
    if (p.loaded[i] === 'pattern')
      return row(name, true, 'not written yet; an include pattern of nginx matches it');
    const fix = include ? includeFix(file, plan) : notLoadedFix(file);
    return row(
      name,
      false,
      `nginx -T does not show ${file}: a deploy would change a file nginx does not read`,
      fix,
    );
  });
}

function nginxRunning({ probe: p }: CheckInput): PreflightCheck {
  if (p.nginxWorkers > 0) return row('nginx running', true, `${p.nginxWorkers} worker processes`);
  return row(
    'nginx running',
    false,
    'no nginx worker process runs: a switch reloads a running nginx',
    'start nginx (e.g. sudo systemctl start nginx)',
  );
}

function supervisor({ settings: s, supervisorProblems }: CheckInput): PreflightCheck[] {
  if (supervisorProblems === undefined) return [];
  if (supervisorProblems.length === 0) {
    const units = [s.bluePort, s.greenPort].map((port) => unitName(s.serviceName, port)).join(' and ');
    return [row('supervisor', true, `${s.supervisor}: ${units} can run`)];
  }
  // Each message names its fix; the row says where a deploy would stop.
  return supervisorProblems.map((problem) =>
    row('supervisor', false, 'a deploy would stop at Check supervisor', problem.replace(/^supervisor: /, '')),
  );
}

function selinux({ probe: p }: CheckInput): PreflightCheck[] {
  if (p.selinux === 'absent') return [];
  if (p.selinux !== 'Enforcing') return [row('SELinux', true, `SELinux is ${p.selinux || 'unknown'}`)];
  if (p.networkConnect === 'on')
    return [row('SELinux', true, 'SELinux is Enforcing; httpd_can_network_connect is on')];
  return [
    row(
      'SELinux',
      false,
      `SELinux is Enforcing and httpd_can_network_connect is ${p.networkConnect || 'unknown'}: nginx cannot connect to the app and answers 502`,
      'sudo setsebool -P httpd_can_network_connect 1',
    ),
  ];
}

function lock({ settings: s, paths, probe: p }: CheckInput): PreflightCheck {
  if (!p.lock.held) return row('lock', true, `no deploy holds ${paths.lockFile} now`);
  const who = p.lock.info.trim() || 'holder unknown';
  return row(
    'lock',
    true,
    `a deploy holds ${paths.lockFile} now (${who}): a deploy would wait up to ${s.lockTimeoutMs / 1000} s`,
  );
}

function hostChecks(input: CheckInput): PreflightCheck[] {
  return [
    sudo(input),
    nginxTest(input),
    ...loaded(input),
    nginxRunning(input),
    ...supervisor(input),
    ...selinux(input),
    lock(input),
  ];
}
