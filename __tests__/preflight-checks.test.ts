// preflightChecks: the rows of a ready host, and for each failure the exact row with its fix.
import type { Probe } from '../src/commands/preflight.js';
import type { Settings } from '../src/inputs.js';
import { layout } from '../src/layout.js';
import { HostStateError, planPorts, PortConflictError } from '../src/plan.js';
import { preflightChecks, type CheckInput } from '../src/preflight-checks.js';
import { deployChanges, deployRootCommands, mustLoad } from '../src/preflight-plan.js';
import { blueLive, readyProbe, settings } from './support/fake-host.js';

const INC = settings.nginxInclude;
const UP = '/etc/nginx/conf.d/bluegreen-service-url.conf';
const files = { include: INC, upstream: UP };
const plan = () => planPorts(blueLive(), { blue: 8080, green: 8081, includePath: INC, upstreamPath: UP });

function input(
  probe: Partial<Probe> = {},
  over: Partial<CheckInput> = {},
  s: Partial<Settings> = {},
): CheckInput {
  const st = { ...settings, ...s };
  const p = over.plan ?? plan();
  const changes = deployChanges(st, p, files);
  return {
    settings: st,
    paths: layout(st.remoteDir),
    probe: { ...readyProbe(), loaded: ['yes'], ...probe },
    root: deployRootCommands({ reload: st.nginxReload, sudo: st.sudo }, changes),
    mustLoad: mustLoad(changes, files),
    plan: p,
    ...over,
  };
}
const rows = (...args: Parameters<typeof input>) => preflightChecks(input(...args));
const row = (name: string, ...args: Parameters<typeof input>) => rows(...args).filter((r) => r.name === name);

/** A deploy user with sudo: every right asked, all given. */
const sudoProbe = (allowed: boolean[], reload = [true, true, true]): Partial<Probe> => ({
  user: 'deploy',
  uid: 1000,
  sudo: 'checked',
  allowed,
  reload: reload.map((applies) => ({ applies, allowed: true })),
});

describe('a ready host', () => {
  test('every row ok, in order', () => {
    expect(rows()).toEqual([
      {
        name: 'host key',
        ok: true,
        detail: 'the connection succeeded with the host key verified against host-fingerprint',
      },
      { name: 'remote-dir', ok: true, detail: '/opt/app exists and root can write it' },
      {
        name: 'free space',
        ok: true,
        detail: '500000 KiB free in /opt/app, 1026 KiB needed for the jar (1000 bytes)',
      },
      { name: 'java', ok: true, detail: '/usr/bin/java: openjdk version "21.0.2" 2024-01-16' },
      { name: 'tools', ok: true, detail: 'flock, setsid, sha256sum, ps, base64, and ss or lsof are present' },
      { name: 'ports', ok: true, detail: 'live 8080 (pid 11, ours); idle 8081 free' },
      { name: 'sudo', ok: true, detail: 'not needed: logged in as root' },
      {
        name: 'nginx -t',
        ok: true,
        detail: 'nginx: configuration file /etc/nginx/nginx.conf test is successful',
      },
      { name: `nginx loads ${INC}`, ok: true, detail: 'nginx -T shows it' },
      { name: 'nginx running', ok: true, detail: '2 worker processes' },
      { name: 'lock', ok: true, detail: 'no deploy holds /opt/app/.deploy.lock now' },
    ]);
  });

  test('known-hosts, strict checking off, no jar, a re-use, a first deploy, a stale app on idle, a held lock', () => {
    expect(row('host key', {}, {}, { knownHosts: [{} as never] })[0].detail).toBe(
      'the connection succeeded with the host key verified against known-hosts',
    );
    expect(row('host key', {}, {}, { strictHostKeyChecking: false })[0].detail).toBe(
      'not verified: strict-host-key-checking is false (any host key is accepted)',
    );
    expect(row('free space', {}, {}, { jar: undefined })).toEqual([]);
    expect(row('free space', { reusable: '/opt/app/releases/r1', freeKiB: 3 })).toEqual([
      {
        name: 'free space',
        ok: true,
        detail:
          '/opt/app/releases/r1 has the same jar: a deploy links it, nothing is sent; 3 KiB free in /opt/app',
      },
    ]);
    const first = planPorts(
      { include: { state: 'missing' }, upstream: { state: 'missing' }, releases: 0, ports: new Map() },
      { blue: 8080, green: 8081, includePath: INC, upstreamPath: UP },
    );
    expect(row('ports', {}, { plan: first })[0].detail).toBe('first deploy; idle 8080 free');
    const stale = blueLive();
    stale.ports.set(8081, { port: 8081, listening: true, ours: { pid: 33, start: '5', release: 'r0' } });
    const withStale = planPorts(stale, { blue: 8080, green: 8081, includePath: INC, upstreamPath: UP });
    expect(row('ports', {}, { plan: withStale })[0].detail).toBe(
      'live 8080 (pid 11, ours); idle 8081 held by a stale app of ours (pid 33), which a deploy stops first',
    );
    expect(row('lock', { lock: { held: true, info: 'run 7 by bob ' } })).toEqual([
      {
        name: 'lock',
        ok: true,
        detail: 'a deploy holds /opt/app/.deploy.lock now (run 7 by bob): a deploy would wait up to 1 s',
      },
    ]);
    expect(row('remote-dir', { remoteDir: 'creatable', base: '/opt' })[0]).toEqual({
      name: 'remote-dir',
      ok: true,
      detail: '/opt/app does not exist yet; a deploy creates it in /opt, which root can write',
    });
  });

  test('sudo: every right given; sudo never', () => {
    const n = input().root.all.length;
    expect(row('sudo', sudoProbe(Array.from({ length: n }, () => true)))).toEqual([
      {
        name: 'sudo',
        ok: true,
        detail: `deploy may run the ${n + 1} commands a deploy runs as root (sudo -n -l)`,
      },
    ]);
    expect(row('sudo', { user: 'deploy', uid: 1000 })[0].detail).toBe(
      'not used (sudo: never): deploy runs nginx and writes its files itself',
    );
  });
});

describe('each failure names its fix', () => {
  test('remote-dir: not a folder, not writable, not creatable, contents not writable', () => {
    expect(row('remote-dir', { remoteDir: 'notDir' })).toEqual([
      {
        name: 'remote-dir',
        ok: false,
        detail: '/opt/app exists but is not a folder',
        fix: 'remove it, or set remote-dir to a folder',
      },
    ]);
    expect(row('remote-dir', { user: 'deploy', remoteDir: 'notWritable' })).toEqual([
      {
        name: 'remote-dir',
        ok: false,
        detail: 'deploy cannot write /opt/app',
        fix: 'sudo chown deploy /opt/app',
      },
    ]);
    expect(
      row(
        'remote-dir',
        { user: 'deploy', remoteDir: 'notCreatable', base: '/opt' },
        {},
        { remoteDir: '/opt/my app' },
      ),
    ).toEqual([
      {
        name: 'remote-dir',
        ok: false,
        detail: '/opt/my app does not exist and deploy cannot create it in /opt',
        fix: "sudo install -d -o deploy -g deploy '/opt/my app'",
      },
    ]);
    expect(row('remote-dir', { user: 'deploy', blocked: ['/opt/app/run', '/opt/app/.deploy.lock'] })).toEqual(
      [
        {
          name: 'remote-dir',
          ok: false,
          detail: 'deploy cannot write /opt/app/run, /opt/app/.deploy.lock',
          fix: 'sudo chown -R deploy /opt/app',
        },
      ],
    );
  });

  test('free space: too little for the jar; full on a re-use; unknown', () => {
    expect(
      row(
        'free space',
        { freeKiB: 1000 },
        {},
        { jar: { path: '/x/app.jar', sha256: 'a', bytes: 10_000_000 } },
      ),
    ).toEqual([
      {
        name: 'free space',
        ok: false,
        detail: '1000 KiB free in /opt/app, 11278 KiB needed for the jar (10000000 bytes)',
        fix: 'free at least 10278 KiB in /opt/app, or set remote-dir to a larger file system',
      },
    ]);
    expect(row('free space', { freeKiB: 1026 })[0].ok).toBe(true);
    expect(row('free space', { freeKiB: 1025 })[0].ok).toBe(false);
    expect(row('free space', { reusable: '/opt/app/releases/r1', freeKiB: 0 })).toEqual([
      {
        name: 'free space',
        ok: false,
        detail:
          '/opt/app/releases/r1 has the same jar: a deploy links it, nothing is sent, but /opt/app is full (0 KiB free)',
        fix: 'free space in /opt/app',
      },
    ]);
    expect(row('free space', { freeKiB: undefined })).toEqual([
      {
        name: 'free space',
        ok: false,
        detail: 'df printed no free space for /opt/app',
        fix: 'check that df -Pk /opt/app works',
      },
    ]);
  });

  test('java: missing, or -version fails', () => {
    const fix = 'install a Java runtime for root, or set the java input to its path';
    expect(row('java', { java: undefined }, {}, { java: 'java21' })).toEqual([
      { name: 'java', ok: false, detail: '"java21" is not a command root can run', fix },
    ]);
    expect(row('java', { java: { path: '/usr/bin/java', ok: false, version: 'Error: no JVM' } })).toEqual([
      { name: 'java', ok: false, detail: '/usr/bin/java -version failed: Error: no JVM', fix },
    ]);
  });

  test('tools', () => {
    expect(row('tools', { missingTools: ['flock', 'ss-or-lsof'] })).toEqual([
      {
        name: 'tools',
        ok: false,
        detail: 'missing on the host: flock, ss-or-lsof',
        fix: 'install them: flock and setsid (util-linux), sha256sum and base64 (coreutils), ps (procps), ss (iproute2) or lsof',
      },
    ]);
  });

  test("ports: a foreign listener on the idle port, an include not understood: the deploy's own messages", () => {
    const conflict = new PortConflictError(
      'idle port 8081 is held by pid 9 (nc -l 8081), which this action did not start; refusing to touch it. Stop it, or choose other blue-port/green-port values.',
    );
    expect(row('ports', {}, { plan: conflict })).toEqual([
      { name: 'ports', ok: false, detail: 'a deploy would refuse this host', fix: conflict.message },
    ]);
    const state = new HostStateError('cannot recognise where /etc/nginx/conf.d/service-url.inc routes to');
    expect(row('ports', {}, { plan: state })[0].fix).toBe(state.message);
  });

  test("sudo: a missing right names the whole line with the host's paths; a missing reload names the one that applies", () => {
    const n = input().root.all.length;
    const allowed = Array.from({ length: n }, (_, i) => i !== 2);
    const probe = {
      ...sudoProbe(allowed),
      bins: { ...readyProbe().bins, systemctl: '/bin/systemctl', service: '/sbin/service' },
    };
    expect(row('sudo', probe)).toEqual([
      {
        name: 'sudo',
        ok: false,
        detail: `deploy may not run with sudo: chmod 644 ${INC}.tmp`,
        fix:
          'add to its sudoers file (visudo -f /etc/sudoers.d/deploy): deploy ALL=(root) NOPASSWD: ' +
          `/usr/sbin/nginx -t, /usr/bin/tee ${INC}.tmp, /usr/bin/chmod 644 ${INC}.tmp, /usr/bin/mv -f ${INC}.tmp ${INC}, /usr/bin/rm -f ${INC}.tmp, /bin/systemctl reload nginx`,
      },
    ]);
    // No systemd: the init script is tried first; neither it nor the signal is allowed.
    const noReload = {
      ...probe,
      allowed: allowed.map(() => true),
      reload: [
        { applies: false, allowed: true },
        { applies: true, allowed: false },
        { applies: true, allowed: false },
      ],
    };
    expect(row('sudo', noReload)[0].detail).toBe('deploy may not run with sudo: service nginx reload');
    // The signal is allowed: enough.
    expect(
      row('sudo', {
        ...noReload,
        reload: [...noReload.reload.slice(0, 2), { applies: true, allowed: true }],
      })[0].ok,
    ).toBe(true);
    expect(row('sudo', { user: 'deploy', uid: 1000, sudo: 'absent' })).toEqual([
      {
        name: 'sudo',
        ok: false,
        detail: 'sudo is not installed',
        fix: 'install sudo and give the deploy user the sudoers line of the README, or log in as root',
      },
    ]);
  });

  test('a symlinked include: the sudoers line names the file it points to, and the row says so', () => {
    const REAL = '/etc/nginx/sites-available/app.inc';
    const linked = planPorts(
      { ...blueLive(), includeLink: REAL },
      { blue: 8080, green: 8081, includePath: INC, upstreamPath: UP },
    );
    const note = ` (${INC} is a symlink: the rights name the file it points to, ${REAL}, which a deploy writes; the link is kept)`;
    const n = input({}, { plan: linked }).root.all.length;
    expect(row('sudo', sudoProbe(Array.from({ length: n }, () => true)), { plan: linked })).toEqual([
      {
        name: 'sudo',
        ok: true,
        detail: `deploy may run the ${n + 1} commands a deploy runs as root (sudo -n -l)${note}`,
      },
    ]);
    const probe = {
      ...sudoProbe(Array.from({ length: n }, (_, i) => i !== 2)),
      bins: { ...readyProbe().bins, systemctl: '/bin/systemctl' },
    };
    expect(row('sudo', probe, { plan: linked })).toEqual([
      {
        name: 'sudo',
        ok: false,
        detail: `deploy may not run with sudo: chmod 644 ${REAL}.tmp`,
        fix:
          'add to its sudoers file (visudo -f /etc/sudoers.d/deploy): deploy ALL=(root) NOPASSWD: ' +
          `/usr/sbin/nginx -t, /usr/bin/tee ${REAL}.tmp, /usr/bin/chmod 644 ${REAL}.tmp, /usr/bin/mv -f ${REAL}.tmp ${REAL}, /usr/bin/rm -f ${REAL}.tmp, /bin/systemctl reload nginx${note}`,
      },
    ]);
  });

  test('an include holding an upstream block that nginx does not load: it belongs in http { }', () => {
    const block = planPorts(
      { ...blueLive(), include: { state: 'present', text: 'upstream app {\n  server 127.0.0.1:8080;\n}\n' } },
      { blue: 8080, green: 8081, includePath: INC, upstreamPath: UP },
    );
    expect(row(`nginx loads ${INC}`, { loaded: ['no'] }, { plan: block })).toEqual([
      {
        name: `nginx loads ${INC}`,
        ok: false,
        detail: `nginx -T does not show ${INC}: a deploy would change a file nginx does not read`,
        fix: `add "include ${INC};" inside http { } (it holds upstream app), or set nginx-include`,
      },
    ]);
  });

  test('nginx -t fails; nginx -T fails; a file nginx does not load; a missing file an include pattern matches; no workers', () => {
    expect(
      row('nginx -t', {
        nginxTest: {
          ok: false,
          output: 'nginx: [emerg] unknown directive "x"\nnginx: configuration file test failed',
        },
      }),
    ).toEqual([
      {
        name: 'nginx -t',
        ok: false,
        detail: 'nginx: [emerg] unknown directive "x" nginx: configuration file test failed',
        fix: 'fix what nginx -t reports: a deploy runs the same test before every reload',
      },
    ]);
    expect(row(`nginx loads ${INC}`, { nginxDump: false })).toEqual([
      {
        name: `nginx loads ${INC}`,
        ok: false,
        detail: 'nginx -T failed: what nginx loads cannot be seen',
        fix: 'make nginx -T work (see the rows sudo and nginx -t)',
      },
    ]);
    expect(row(`nginx loads ${INC}`, { loaded: ['no'] })).toEqual([
      {
        name: `nginx loads ${INC}`,
        ok: false,
        detail: `nginx -T does not show ${INC}: a deploy would change a file nginx does not read`,
        fix: `add "include ${INC};" inside the server { } that proxies to $service_url, or set nginx-include`,
      },
    ]);
    // With a bake window the upstream file is written too, and must be loaded.
    expect(
      rows({ loaded: ['yes', 'no'] }, {}, { bakeTimeMs: 10000 }).filter((r) =>
        r.name.startsWith('nginx loads'),
      ),
    ).toEqual([
      { name: `nginx loads ${INC}`, ok: true, detail: 'nginx -T shows it' },
      {
        name: `nginx loads ${UP}`,
        ok: false,
        detail: `nginx -T does not show ${UP}: a deploy would change a file nginx does not read`,
        fix: `add "include ${UP};" inside http { } (the default nginx.conf loads conf.d/*.conf), or set nginx-upstream-file`,
      },
    ]);
    expect(
      rows({ loaded: ['yes', 'pattern'] }, {}, { bakeTimeMs: 10000 }).find(
        (r) => r.name === `nginx loads ${UP}`,
      ),
    ).toEqual({
      name: `nginx loads ${UP}`,
      ok: true,
      detail: 'not written yet; an include pattern of nginx matches it',
    });
    expect(row('nginx running', { nginxWorkers: 0 })).toEqual([
      {
        name: 'nginx running',
        ok: false,
        detail: 'no nginx worker process runs: a switch reloads a running nginx',
        fix: 'start nginx (e.g. sudo systemctl start nginx)',
      },
    ]);
  });

  test("supervisor: ready, or each problem of the deploy's own check", () => {
    expect(row('supervisor', {}, { supervisorProblems: [] }, { supervisor: 'systemd-user' })).toEqual([
      { name: 'supervisor', ok: true, detail: 'systemd-user: app@8080.service and app@8081.service can run' },
    ]);
    const linger =
      'supervisor: systemd-user needs lingering for deploy (else the app stops with the last session and does not start at boot): run once as root: loginctl enable-linger deploy';
    expect(row('supervisor', {}, { supervisorProblems: [linger] }, { supervisor: 'systemd-user' })).toEqual([
      {
        name: 'supervisor',
        ok: false,
        detail: 'a deploy would stop at Check supervisor',
        fix: 'systemd-user needs lingering for deploy (else the app stops with the last session and does not start at boot): run once as root: loginctl enable-linger deploy',
      },
    ]);
  });

  test('SELinux: enforcing without httpd_can_network_connect; permissive; on', () => {
    expect(row('SELinux', { selinux: 'Enforcing', networkConnect: 'off' })).toEqual([
      {
        name: 'SELinux',
        ok: false,
        detail:
          'SELinux is Enforcing and httpd_can_network_connect is off: nginx cannot connect to the app and answers 502',
        fix: 'sudo setsebool -P httpd_can_network_connect 1',
      },
    ]);
    expect(row('SELinux', { selinux: 'Enforcing', networkConnect: '' })[0].detail).toBe(
      'SELinux is Enforcing and httpd_can_network_connect is unknown: nginx cannot connect to the app and answers 502',
    );
    expect(row('SELinux', { selinux: 'Enforcing', networkConnect: 'on' })).toEqual([
      { name: 'SELinux', ok: true, detail: 'SELinux is Enforcing; httpd_can_network_connect is on' },
    ]);
    expect(row('SELinux', { selinux: 'Permissive' })).toEqual([
      { name: 'SELinux', ok: true, detail: 'SELinux is Permissive' },
    ]);
  });
});
