// The preflight probe run by a real sh in the sandbox, against real files and fake programs (sudo, nginx,
// java, ps): it reports what is there and changes nothing: every file's bytes, mode and mtime are the same
// after it, and nothing is created (no remote-dir, no lock file).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { switchRootCommands, type NginxSpec } from '../src/commands/nginx-root.js';
import { preflightProbe, type ProbeSpec } from '../src/commands/preflight.js';
import { layout } from '../src/layout.js';
import { describeInSandbox, sandbox, type Sandbox } from './support/sandbox.js';

let box: Sandbox;
beforeEach(() => (box = sandbox()));
afterEach(() => box.cleanup());

const JAR = 'PK\u0003\u0004 not really a jar\n';
const SHA = createHash('sha256').update(JAR).digest('hex');

/** Every path under the box with its type, mode, mtime and content hash. */
function tree(dir = box.root): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const st = statSync(path);
    const id = `${relative(box.root, path)} ${st.mode.toString(8)} ${st.mtimeMs}`;
    if (st.isDirectory()) return [id, ...tree(path)];
    return [`${id} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`];
  });
}

function fakes(withheld: string): void {
  box.fake(
    'java',
    'echo \'openjdk version "21.0.2" 2024-01-16\' >&2; echo "OpenJDK Runtime Environment" >&2',
  );
  box.fake(
    'ps',
    'echo "  100 1 nginx: master process"; echo "  101 100 nginx: worker process"; echo "  102 100 nginx: worker process"',
  );
  box.fake(
    'nginx',
    [
      'case "$*" in',
      `  *-T*) printf '# configuration file %s:\\nhttp {\\n  include %s;\\n}\\n' ${box.path('nginx/nginx.conf')} '${box.path('nginx')}/bluegreen-*.conf'`,
      `        printf '# configuration file %s:\\nset $service_url http://127.0.0.1:8080;\\n' ${box.path('nginx/service-url.inc')} ;;`,
      '  *-t*) echo "nginx: configuration file test is successful" >&2 ;;',
      'esac',
    ].join('\n'),
  );
  // sudo -n -l CMD: allowed unless it is the withheld command; sudo -n -- CMD: runs it.
  box.fake(
    'sudo',
    [
      '[ "$1" = -n ] || exit 1',
      'if [ "$2" = -l ]; then shift 2; [ "$*" != ' + `'${withheld}'` + ' ]; exit; fi',
      'shift 2; exec "$@"',
    ].join('\n'),
  );
}

function spec(over: Partial<ProbeSpec> = {}): ProbeSpec {
  const nginx: NginxSpec = { reload: 'signal', sudo: 'always' };
  const inc = box.path('nginx/service-url.inc');
  const up = box.path('nginx/bluegreen-service-url.conf');
  const changes = [
    { path: up, content: 'u', expected: undefined, mustLoad: true },
    { path: inc, content: 'b', expected: 'a' },
  ];
  return {
    java: 'java',
    jarSha256: SHA,
    sudo: 'always',
    nginx,
    root: switchRootCommands(nginx, changes),
    mustLoad: [inc, up],
    ...over,
  };
}

describeInSandbox('preflight probe in the sandbox', () => {
  test('a host deployed to, a deploy holding the lock: all reported, nothing changed', async () => {
    box.file('app/releases/r1/app.jar', JAR);
    box.file('app/releases/r1/app.jar.sha256', `${SHA}\n`);
    box.file('app/run/8080.pid', '11 100 r1\n');
    box.file('app/.deploy.lock', '');
    box.file('app/.deploy.lock.info', 'run 7 by bob\n');
    box.file('nginx/nginx.conf', 'http {}\n');
    box.file('nginx/service-url.inc', 'set $service_url http://127.0.0.1:8080;\n');
    const withheld = `rm -f ${box.path('nginx/bluegreen-service-url.conf')}`;
    fakes(withheld);
    const before = tree();

    const s = spec();
    const cmd = preflightProbe(layout(box.path('app')), s);
    box.file('.probe.sh', cmd.script);
    const probeFile = box.path('.probe.sh');
    // The holder in the same invocation (pid namespace), as a deploy's lock shell is on the host: a subshell
    // keeps the lock's fd after the flock process has exited.
    const lockFile = box.path('app/.deploy.lock');
    const r = await box.run(
      [
        `( exec 9>>'${lockFile}'; flock -n 9 && : > /tmp/held; exec sleep 30 ) &`,
        'while [ ! -e /tmp/held ]; do sleep 0.01; done',
        `sh '${probeFile}'`,
      ].join('\n'),
      { timeoutMs: 20000 },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(tree().filter((f) => !f.startsWith('.probe.sh'))).toEqual(before);

    const p = cmd.parse(r.stdout);
    expect(p.remoteDir).toBe('writable');
    expect(p.base).toBe(box.path('app'));
    expect(p.blocked).toEqual([]);
    expect(p.freeKiB).toBeGreaterThan(0);
    expect(p.reusable).toBe(box.path('app/releases/r1'));
    expect(p.java).toEqual({
      path: box.path('.bin/java'),
      ok: true,
      version: 'openjdk version "21.0.2" 2024-01-16',
    });
    expect(p.lock).toEqual({ held: true, info: 'run 7 by bob' });
    expect(p.sudo).toBe('checked');
    expect(s.root.all.filter((_, i) => !p.allowed[i])).toEqual([withheld]);
    expect(p.reload).toEqual([{ applies: true, allowed: true }]);
    expect(p.bins.nginx).toBe(box.path('.bin/nginx'));
    expect(p.nginxTest).toEqual({ ok: true, output: 'nginx: configuration file test is successful' });
    expect([p.nginxDump, p.loaded, p.nginxWorkers]).toEqual([true, ['yes', 'pattern'], 2]);
    expect(p.selinux).toBe('absent');
  });

  test('no remote-dir yet, no jar, sudo never: creatable in its nearest parent; nothing created; no lock', async () => {
    fakes('');
    const before = tree();
    const cmd = preflightProbe(
      layout(box.path('a/b/app')),
      spec({ sudo: 'never', jarSha256: undefined, mustLoad: [box.path('nginx/x.inc')] }),
    );
    const r = await box.run(cmd.script);
    expect(r.code).toBe(0);
    expect(tree()).toEqual(before);
    const p = cmd.parse(r.stdout);
    expect([p.remoteDir, p.base, p.freeKiB, p.reusable]).toEqual([
      'creatable',
      box.root,
      undefined,
      undefined,
    ]);
    expect([p.sudo, p.lock.held, p.loaded]).toEqual(['unused', false, ['no']]);
  });

  test('a remote-dir that is a file; a java that fails; no nginx workers', async () => {
    fakes('');
    box.file('app', 'not a folder');
    box.fake('java', 'echo "Error: could not create the Java Virtual Machine." >&2; exit 1');
    box.fake('ps', 'true');
    const cmd = preflightProbe(layout(box.path('app')), spec());
    const p = cmd.parse((await box.run(cmd.script)).stdout);
    expect(p.remoteDir).toBe('notDir');
    expect(p.java).toEqual({
      path: box.path('.bin/java'),
      ok: false,
      version: 'Error: could not create the Java Virtual Machine.',
    });
    expect(p.nginxWorkers).toBe(0);
  });
});
