// switchNginx run by a real sh in the sandbox, with small fakes on PATH for nginx, ps, sudo, systemctl, service
// and id: each fake logs its call to `calls`; ps lists the workers in `ps.out`, and a successful reload starts
// worker 200 of master 1. The fake `nginx -t` copies the files it would load to tested/, and `nginx -T` lists
// the files named in `loaded` as nginx does.
import { lstatSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync } from 'node:fs';
import {
  EXIT_INCLUDE_CHANGED,
  EXIT_LAUNCH_GONE,
  EXIT_NGINX_NOT_RUNNING,
  EXIT_NO_NEW_WORKERS,
  EXIT_NOT_LOADED,
  EXIT_RELOAD_FAILED,
  EXIT_TEST_FAILED,
  EXIT_WRITE_FAILED,
  switchNginx,
  type FileChange,
  type NginxSpec,
} from '../../src/commands/nginx.js';
import { quote } from '../../src/shell.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';

let box: Sandbox;
const spec: NginxSpec = { reload: 'signal', sudo: 'never' };
let pending: string;
const INC = 'nginx/service-url.inc';
const UP = 'nginx/bluegreen-service-url.conf';
const OLD = 'set $service_url "http://localhost:8080/";\r\n\n# kept byte for byte, no final newline';
const NEW = 'set $service_url "http://localhost:8081/";\r\n\n# kept byte for byte, no final newline';
const OLD_UP = 'upstream bluegreen_service_url {\n    server 127.0.0.1:8080;\n}\n';
const NEW_UP =
  'upstream bluegreen_service_url {\n    server 127.0.0.1:8081;\n    server 127.0.0.1:8080 backup;\n}\n';
const WORKERS = [
  '    1     0 nginx: master process /usr/sbin/nginx',
  '  100     1 nginx: worker process',
  '  101     1 nginx: worker process',
  '    2     0 nginx: master process /usr/sbin/nginx -c /other.conf',
  '  300     2 nginx: worker process',
  '  400     1 nginx: cache manager process',
  '',
].join('\n');

beforeEach(() => {
  box = sandbox();
  const at = (name: string) => quote(box.path(name));
  const reload = `if [ -e ${at('fail-reload')} ]; then echo 'nginx: [error] invalid PID number' >&2; exit 1; fi; [ -e ${at('no-new-workers')} ] || echo '  200     1 nginx: worker process' >> ${at('ps.out')}`;
  const log = (name: string) => `echo "${name} $*" >> ${at('calls')}`;
  box.fake(
    'nginx',
    [
      log('nginx'),
      'case " $* " in',
      `*" -t "*) mkdir -p ${at('tested')}; for f in ${at(INC)} ${at(UP)}; do [ -e "$f" ] && cat "$f" > ${at('tested')}/"\${f##*/}"; done`,
      `  if [ -e ${at('fail-test')} ]; then echo 'nginx: [emerg] unexpected "}" in service-url.inc:2' >&2; exit 1; fi ;;`,
      `*" -T "*) echo '# configuration file /etc/nginx/nginx.conf:'; [ -e ${at('loaded')} ] && sed 's/^/# configuration file /; s/$/:/' ${at('loaded')}; echo 'http {' ;;`,
      `*" -s reload "*) ${reload} ;;`,
      'esac',
      'exit 0',
    ].join('\n'),
  );
  box.fake('systemctl', `${log('systemctl')}\n${reload}`);
  box.fake('service', `${log('service')}\n${reload}`);
  box.fake('sudo', `${log('sudo')}\n[ "$1" = -n ] && shift\n[ "$1" = -- ] && shift\nexec "$@"`);
  box.fake('ps', `cat ${at('ps.out')}`);
  box.file('ps.out', WORKERS);
  box.file(INC, OLD);
  box.file('app/run/pending', '4242 987654 8081\n');
  pending = box.path('app/run/pending');
});
afterEach(() => box.cleanup());

const calls = () => (box.exists('calls') ? box.read('calls').trimEnd().split('\n') : []);
const include = (over: Partial<FileChange> = {}): FileChange => ({
  path: box.path(INC),
  content: NEW,
  expected: OLD,
  ...over,
});
const upstream = (over: Partial<FileChange> = {}): FileChange => ({
  path: box.path(UP),
  content: NEW_UP,
  expected: undefined,
  mustLoad: true,
  ...over,
});
const mode = (relative: string) => statSync(box.path(relative)).mode & 0o777;
const switchTo = (changes: FileChange[], s: Partial<NginxSpec> = {}) =>
  switchNginx({ ...spec, ...s }, 'switch nginx to port 8081', changes, pending).script;

function expectUntouched(): void {
  expect(box.read(INC)).toBe(OLD);
  expect(box.exists(`${INC}.tmp`)).toBe(false);
}

function expectRecordGivenBack(): void {
  expect(box.read('app/run/pending')).toBe('4242 987654 8081\n');
  expect(box.exists('app/run/pending.switch')).toBe(false);
}

const RESTORED = 'the previous configuration was restored; nginx still serves it';

describe('a switch', () => {
  test('writes the include, tests it, reloads, waits for the new worker and clears the launch record', async () => {
    const cmd = switchNginx(spec, 'switch', [include()], pending);
    const r = await box.run(cmd.script);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('workers_before=100:1 101:1 300:2 \nworkers_new=200:1 \n');
    expect(cmd.parse(r.stdout)).toEqual({ oldWorkers: [100, 101] });
    expect(box.read(INC)).toBe(NEW);
    expect(box.read('tested/service-url.inc')).toBe(NEW);
    expect(calls()).toEqual(['nginx -t', 'nginx -s reload']);
    expect(box.exists(`${INC}.tmp`)).toBe(false);
    expect(box.exists('app/run/pending')).toBe(false);
    expect(box.exists('app/run/pending.switch')).toBe(false);
  });

  test('files written under umask 027 are mode 644 (readable by the deploy user and nginx)', async () => {
    box.file('switch.sh', switchTo([upstream(), include()]));
    box.file('loaded', `${box.path(UP)}\n`);
    box.file(INC, OLD, 0o600);
    const r = await box.run('umask 027; sh switch.sh');
    expect(r.code).toBe(0);
    expect(mode(INC)).toBe(0o644);
    expect(mode(UP)).toBe(0o644);
    expect(box.read(UP)).toBe(NEW_UP);
  });

  test('a restore under umask 027 is mode 644 too', async () => {
    box.file('fail-test', '');
    box.file('switch.sh', switchTo([include()]));
    const r = await box.run('umask 027; sh switch.sh');
    expect(r.code).toBe(EXIT_TEST_FAILED);
    expectUntouched();
    expect(mode(INC)).toBe(0o644);
  });

  test('with a main config, nginx gets -c for the test and the reload', async () => {
    const r = await box.run(switchTo([include()], { config: '/etc/my nginx.conf' }));
    expect(r.code).toBe(0);
    expect(calls()).toEqual(['nginx -c /etc/my nginx.conf -t', 'nginx -c /etc/my nginx.conf -s reload']);
  });

  test('reload systemctl and service call exactly that', async () => {
    let r = await box.run(switchTo([include()], { reload: 'systemctl' }));
    expect(r.code).toBe(0);
    expect(calls()).toEqual(['nginx -t', 'systemctl reload nginx']);
    box.file('calls', '');
    box.file('ps.out', WORKERS);
    r = await box.run(
      switchNginx({ ...spec, reload: 'service' }, 'back', [include({ content: OLD, expected: NEW })]).script,
    );
    expect(r.code).toBe(0);
    expect(calls()).toEqual(['nginx -t', 'service nginx reload']);
    expectUntouched();
  });

  test('reload auto with a main config signals nginx', async () => {
    const r = await box.run(switchTo([include()], { reload: 'auto', config: '/c' }));
    expect(r.code).toBe(0);
    expect(calls()).toEqual(['nginx -c /c -t', 'nginx -c /c -s reload']);
  });

  test('sudo always runs every privileged command through sudo -n', async () => {
    box.file('loaded', `${box.path(UP)}\n`);
    const r = await box.run(switchTo([upstream(), include()], { sudo: 'always' }));
    expect(r.code).toBe(0);
    const [up, inc] = [box.path(UP), box.path(INC)];
    expect(calls()).toEqual([
      `sudo -n -- tee ${up}.tmp`,
      `sudo -n -- chmod 644 ${up}.tmp`,
      `sudo -n -- mv -f ${up}.tmp ${up}`,
      `sudo -n -- tee ${inc}.tmp`,
      `sudo -n -- chmod 644 ${inc}.tmp`,
      `sudo -n -- mv -f ${inc}.tmp ${inc}`,
      'sudo -n -- nginx -t',
      'nginx -t',
      'sudo -n -- nginx -T',
      'nginx -T',
      'sudo -n -- nginx -s reload',
      'nginx -s reload',
    ]);
  });

  test('sudo auto: directly as root, through sudo otherwise', async () => {
    let r = await box.run(switchTo([include()], { sudo: 'auto' }));
    expect(r.code).toBe(0);
    expect(calls()).toEqual(['nginx -t', 'nginx -s reload']);
    box.file('calls', '');
    box.file('ps.out', WORKERS);
    box.fake('id', '[ "$1" = -u ] && echo 1000');
    r = await box.run(
      switchNginx({ ...spec, sudo: 'auto' }, 'back', [include({ content: undefined, expected: NEW })]).script,
    );
    expect(r.code).toBe(0);
    expect(calls().filter((c) => c.startsWith('sudo'))).toEqual([
      `sudo -n -- rm -f ${box.path(INC)}`,
      'sudo -n -- nginx -t',
      'sudo -n -- nginx -s reload',
    ]);
  });

  test('a removal: the file is gone after the reload', async () => {
    box.file(UP, OLD_UP);
    const r = await box.run(switchTo([upstream({ content: undefined, expected: OLD_UP, mustLoad: false })]));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(box.exists(UP)).toBe(false);
    expect(calls()).toEqual(['nginx -t', 'nginx -s reload']);
  });

  test('a removal that nginx -t rejects: the file is back, byte for byte', async () => {
    box.file('fail-test', '');
    box.file(UP, OLD_UP, 0o600);
    const r = await box.run(switchTo([upstream({ content: undefined, expected: OLD_UP, mustLoad: false })]));
    expect(r.code).toBe(EXIT_TEST_FAILED);
    expect(box.exists('tested/bluegreen-service-url.conf')).toBe(false);
    expect(box.read(UP)).toBe(OLD_UP);
  });

  test('a file nginx must load, and does (nginx -T lists it): switched', async () => {
    box.file('loaded', `/etc/nginx/conf.d/other.conf\n${box.path(UP)}\n`);
    const r = await box.run(switchTo([upstream(), include()]));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(calls()).toEqual(['nginx -t', 'nginx -T', 'nginx -s reload']);
    expect(box.read(UP)).toBe(NEW_UP);
    expect(box.read(INC)).toBe(NEW);
  });
});

describe('a switch that fails changes nothing', () => {
  test('nginx -t failing: the include is restored byte for byte, no reload', async () => {
    box.file('fail-test', '');
    const r = await box.run(switchTo([include()]));
    expect(r.code).toBe(EXIT_TEST_FAILED);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      [
        'nginx: [emerg] unexpected "}" in service-url.inc:2',
        'nginx -t rejected the new configuration',
        RESTORED,
        '',
      ].join('\n'),
    );
    expect(box.read('tested/service-url.inc')).toBe(NEW);
    expectUntouched();
    expect(calls()).toEqual(['nginx -t']);
    expectRecordGivenBack();
  });

  test('two files and nginx -t failing: both restored byte for byte', async () => {
    box.file('fail-test', '');
    box.file(UP, OLD_UP);
    const r = await box.run(switchTo([upstream({ expected: OLD_UP }), include()]));
    expect(r.code).toBe(EXIT_TEST_FAILED);
    // nginx tested both new files
    expect(box.read('tested/bluegreen-service-url.conf')).toBe(NEW_UP);
    expect(box.read('tested/service-url.inc')).toBe(NEW);
    expect(box.read(UP)).toBe(OLD_UP);
    expectUntouched();
    expect(box.exists(`${UP}.tmp`)).toBe(false);
    expect(calls()).toEqual(['nginx -t']);
    expectRecordGivenBack();
  });

  test('two files, one of them new, and nginx -t failing: the new one is gone again', async () => {
    box.file('fail-test', '');
    const r = await box.run(switchTo([upstream(), include()]));
    expect(r.code).toBe(EXIT_TEST_FAILED);
    expect(box.read('tested/bluegreen-service-url.conf')).toBe(NEW_UP);
    expect(box.exists(UP)).toBe(false);
    expectUntouched();
  });

  test('a file changed since detection: EXIT_INCLUDE_CHANGED, nothing written, nothing run', async () => {
    box.file(UP, OLD_UP);
    const r = await box.run(switchTo([upstream({ expected: OLD_UP }), include({ expected: `${OLD}\n` })]));
    expect(r.code).toBe(EXIT_INCLUDE_CHANGED);
    expect(r.stderr).toBe(`${box.path(INC)} changed since this deploy read it; nothing was changed\n`);
    expect(box.read(UP)).toBe(OLD_UP);
    expectUntouched();
    expect(calls()).toEqual([]);
    expectRecordGivenBack();
  });

  test('a file that appeared since detection, or vanished: EXIT_INCLUDE_CHANGED', async () => {
    box.file(UP, OLD_UP);
    let r = await box.run(switchTo([upstream(), include()]));
    expect(r.code).toBe(EXIT_INCLUDE_CHANGED);
    expect(box.read(UP)).toBe(OLD_UP);
    rmSync(box.path(INC));
    r = await box.run(switchTo([include()]));
    expect(r.code).toBe(EXIT_INCLUDE_CHANGED);
    expect(box.exists(INC)).toBe(false);
    expect(calls()).toEqual([]);
  });

  test('a file the deploy user cannot read (mode 000): EXIT_INCLUDE_CHANGED, untouched', async () => {
    box.file(INC, OLD, 0o000);
    const r = await box.run(switchTo([include()]));
    expect(r.code).toBe(EXIT_INCLUDE_CHANGED);
    expect(r.stderr).toContain(`cannot read ${box.path(INC)}\n`);
    expect(mode(INC)).toBe(0o000);
    expect(calls()).toEqual([]);
  });

  test('a file nginx must load but does not (not in nginx -T): EXIT_NOT_LOADED, both restored, no reload', async () => {
    box.file('loaded', '/etc/nginx/conf.d/other.conf\n');
    box.file(UP, OLD_UP);
    const r = await box.run(switchTo([upstream({ expected: OLD_UP }), include()]));
    expect(r.code).toBe(EXIT_NOT_LOADED);
    const up = box.path(UP);
    expect(r.stderr).toBe(
      [
        RESTORED,
        `nginx does not load ${up}: add "include ${up};" inside http { } (the default nginx.conf loads conf.d/*.conf), or set nginx-upstream-file`,
        '',
      ].join('\n'),
    );
    expect(box.read(UP)).toBe(OLD_UP);
    expectUntouched();
    expect(calls()).toEqual(['nginx -t', 'nginx -T']);
    expectRecordGivenBack();
  });

  test('nginx -t failing where there was no include: none is left', async () => {
    box.file('fail-test', '');
    rmSync(box.path(INC));
    const r = await box.run(switchTo([include({ expected: undefined })]));
    expect(r.code).toBe(EXIT_TEST_FAILED);
    expect(box.exists(INC)).toBe(false);
    expect(box.exists(`${INC}.tmp`)).toBe(false);
  });

  test('reload failing: the include is restored, EXIT_RELOAD_FAILED', async () => {
    box.file('fail-reload', '');
    const r = await box.run(switchTo([include()]));
    expect(r.code).toBe(EXIT_RELOAD_FAILED);
    expect(r.stderr).toBe(
      ['nginx: [error] invalid PID number', 'nginx reload failed', RESTORED, ''].join('\n'),
    );
    expectUntouched();
    expect(calls()).toEqual(['nginx -t', 'nginx -s reload']);
    expectRecordGivenBack();
  });

  test('no nginx worker: EXIT_NGINX_NOT_RUNNING before anything is written', async () => {
    box.file('ps.out', '    1     0 nginx: master process\n');
    const r = await box.run(switchTo([include()]));
    expect(r.code).toBe(EXIT_NGINX_NOT_RUNNING);
    expect(r.stderr).toBe('nginx is not running: no nginx worker process found\n');
    expectUntouched();
    expect(calls()).toEqual([]);
    expectRecordGivenBack();
  });

  test('a file that cannot be written: EXIT_WRITE_FAILED, the other restored, nothing tested', async () => {
    const r = await box.run(
      switchTo([include(), { path: '/usr/bgd-read-only.conf', content: 'x', expected: undefined }]),
    );
    expect(r.code).toBe(EXIT_WRITE_FAILED);
    expect(r.stderr).toContain(`could not write ${box.path(INC)} and /usr/bgd-read-only.conf\n`);
    expectUntouched();
    expect(calls()).toEqual([]);
    expectRecordGivenBack();
  });

  test('the message of a failed write runs nothing a path holds', async () => {
    const path = `/usr/"$(touch ${box.path('pwned')})"\`touch ${box.path('pwned')}\`.inc`;
    const r = await box.run(switchTo([{ path, content: 'x', expected: undefined }]));
    expect(r.code).toBe(EXIT_WRITE_FAILED);
    expect(r.stderr).toContain(`could not write ${path}\n`);
    expect(box.exists('pwned')).toBe(false);
  });

  test('no new worker after the reload: restored, EXIT_NO_NEW_WORKERS', async () => {
    box.file('no-new-workers', '');
    // The 15 s wait without waiting: a clock that advances 1 s per reading.
    const clock = box.path('clock-ms');
    box.fake('date', `n=$(($(cat ${clock} 2>/dev/null || echo 0) + 1000)); echo "$n" > ${clock}; echo "$n"`);
    const r = await box.run(switchTo([include()]), { timeoutMs: 60000 });
    expect(r.code).toBe(EXIT_NO_NEW_WORKERS);
    expect(r.stderr).toBe(['nginx started no new worker within 15 s of the reload', RESTORED, ''].join('\n'));
    expectUntouched();
    expectRecordGivenBack();
    // The restored files are reloaded too: a master that acts on the first reload late ends on them.
    expect(calls()).toEqual(['nginx -t', 'nginx -s reload', 'nginx -s reload']);
    expect(Number(readFileSync(clock, 'utf8'))).toBe(16000); // t0, then rounds until 15 s have passed, and no more
  }, 70000);

  test('a launch record the watchdog took: nothing changes, EXIT_LAUNCH_GONE', async () => {
    box.file('app/run/pending.stop', '4242 987654 8081\n');
    rmSync(pending);
    const r = await box.run(switchTo([include()]));
    expect(r.code).toBe(EXIT_LAUNCH_GONE);
    expect(r.stderr).toBe("the new app is being stopped by the lock's watchdog (was the session lost?)\n");
    expectUntouched();
    expect(calls()).toEqual([]);
    expect(box.exists('app/run/pending')).toBe(false);
    expect(box.read('app/run/pending.stop')).toBe('4242 987654 8081\n');
  });
});

describe('a change without a launch record (switch back, end of the bake window)', () => {
  test('puts the include back and needs no launch record', async () => {
    rmSync(pending);
    const cmd = switchNginx(spec, 'back', [include({ content: OLD, expected: NEW })]);
    box.file(INC, NEW);
    const r = await box.run(cmd.script);
    expect(r.code).toBe(0);
    expect(cmd.parse(r.stdout)).toEqual({ oldWorkers: [100, 101] });
    expectUntouched();
    expect(box.exists('app/run/pending')).toBe(false);
  });

  test('leaves a launch record alone, also when it fails', async () => {
    box.file('fail-test', '');
    box.file(INC, NEW);
    const r = await box.run(switchNginx(spec, 'back', [include({ content: OLD, expected: NEW })]).script);
    expect(r.code).toBe(EXIT_TEST_FAILED);
    expect(box.read(INC)).toBe(NEW);
    expectRecordGivenBack();
  });
});

describe('a symlinked include (sites-enabled): the file it points to changes, the link stays', () => {
  const REAL = 'nginx/available/app.conf';
  beforeEach(() => {
    box.file(REAL, OLD);
    rmSync(box.path(INC));
    symlinkSync('available/app.conf', box.path(INC));
  });
  const linked = (over: Partial<FileChange> = {}) =>
    include({ path: box.path(REAL), link: box.path(INC), ...over });
  const expectLink = () => {
    expect(lstatSync(box.path(INC)).isSymbolicLink()).toBe(true);
    expect(readlinkSync(box.path(INC))).toBe('available/app.conf');
  };

  test('written through the link: the target has the new bytes, mode 644; the link is the same link', async () => {
    const r = await box.run(switchTo([linked()]));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expectLink();
    expect(box.read(REAL)).toBe(NEW);
    expect(box.read('tested/service-url.inc')).toBe(NEW); // what nginx reads through the link
    expect(mode(REAL)).toBe(0o644);
    expect(box.exists(`${REAL}.tmp`)).toBe(false);
    expect(calls()).toEqual(['nginx -t', 'nginx -s reload']);
  });

  test('nginx -t failing: the target gets its exact bytes back, the link stays', async () => {
    box.file('fail-test', '');
    const r = await box.run(switchTo([linked()]));
    expect(r.code).toBe(EXIT_TEST_FAILED);
    expectLink();
    expect(box.read(REAL)).toBe(OLD);
    expect(calls()).toEqual(['nginx -t']);
    expectRecordGivenBack();
  });

  test('a link re-pointed, or replaced by a file, since detection: EXIT_INCLUDE_CHANGED, nothing written or run', async () => {
    box.file('nginx/available/other.conf', OLD);
    rmSync(box.path(INC));
    symlinkSync('available/other.conf', box.path(INC));
    let r = await box.run(switchTo([linked()]));
    expect(r.code).toBe(EXIT_INCLUDE_CHANGED);
    expect(r.stderr).toBe(`${box.path(INC)} no longer links to ${box.path(REAL)}; nothing was changed\n`);
    rmSync(box.path(INC));
    box.file(INC, OLD);
    r = await box.run(switchTo([linked()]));
    expect(r.code).toBe(EXIT_INCLUDE_CHANGED);
    expect([box.read(REAL), box.read('nginx/available/other.conf'), box.read(INC)]).toEqual([OLD, OLD, OLD]);
    expect(calls()).toEqual([]);
    expectRecordGivenBack();
  });
});
