// switchNginx and restoreNginx run by a real sh in the sandbox, with small fakes on PATH for nginx, ps, sudo,
// systemctl, service and id: each fake logs its call to `calls`; ps lists the workers in `ps.out`, and a
// successful reload starts worker 200 of master 1.
import {
  EXIT_LAUNCH_GONE,
  EXIT_NGINX_NOT_RUNNING,
  EXIT_NO_NEW_WORKERS,
  EXIT_RELOAD_FAILED,
  EXIT_TEST_FAILED,
  EXIT_WRITE_FAILED,
  includeContent,
  restoreNginx,
  switchNginx,
  type NginxSpec,
} from '../../src/commands/nginx.js';
import { symlinkSync } from 'node:fs';
import { quote } from '../../src/shell.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';

let box: Sandbox;
let spec: NginxSpec;
let pending: string;
const OLD = 'set $service_url http://127.0.0.1:8080;\n\n# kept byte for byte, no final newline';
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
      `*" -t "*) cat ${at('nginx/service-url.inc')} > ${at('tested.inc')} 2>/dev/null`,
      `  if [ -e ${at('fail-test')} ]; then echo 'nginx: [emerg] unexpected "}" in service-url.inc:2' >&2; exit 1; fi ;;`,
      `*" -s reload "*) ${reload} ;;`,
      'esac',
    ].join('\n'),
  );
  box.fake('systemctl', `${log('systemctl')}\n${reload}`);
  box.fake('service', `${log('service')}\n${reload}`);
  box.fake('sudo', `${log('sudo')}\n[ "$1" = -n ] && shift\n[ "$1" = -- ] && shift\nexec "$@"`);
  box.fake('ps', `cat ${at('ps.out')}`);
  box.file('ps.out', WORKERS);
  box.file('nginx/service-url.inc', OLD);
  box.file('app/run/pending', '4242 987654 8081\n');
  spec = { include: box.path('nginx/service-url.inc'), reload: 'signal', sudo: 'never' };
  pending = box.path('app/run/pending');
});
afterEach(() => box.cleanup());

const calls = () => (box.exists('calls') ? box.read('calls').trimEnd().split('\n') : []);
const NEW = includeContent(8081, 'release r1');

function expectUntouched(): void {
  expect(box.read('nginx/service-url.inc')).toBe(OLD);
  expect(box.exists('nginx/service-url.inc.tmp')).toBe(false);
}

function expectRecordGivenBack(): void {
  expect(box.read('app/run/pending')).toBe('4242 987654 8081\n');
  expect(box.exists('app/run/pending.switch')).toBe(false);
}

describe('a switch', () => {
  test('writes the include, tests it, reloads, waits for the new worker and clears the launch record', async () => {
    const cmd = switchNginx(spec, 8081, 'release r1', pending);
    const r = await box.run(cmd.script);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('workers_before=100:1 101:1 300:2 \nworkers_new=200:1 \n');
    expect(cmd.parse(r.stdout)).toEqual({ oldWorkers: [100, 101] });
    expect(box.read('nginx/service-url.inc')).toBe(NEW);
    expect(box.read('tested.inc')).toBe(NEW);
    expect(calls()).toEqual(['nginx -t', 'nginx -s reload']);
    expect(box.exists('nginx/service-url.inc.tmp')).toBe(false);
    expect(box.exists('app/run/pending')).toBe(false);
    expect(box.exists('app/run/pending.switch')).toBe(false);
  });

  test('with a main config, nginx gets -c for the test and the reload', async () => {
    const r = await box.run(
      switchNginx({ ...spec, config: '/etc/my nginx.conf' }, 8081, 'r', pending).script,
    );
    expect(r.code).toBe(0);
    expect(calls()).toEqual(['nginx -c /etc/my nginx.conf -t', 'nginx -c /etc/my nginx.conf -s reload']);
  });

  test('reload systemctl and service call exactly that', async () => {
    let r = await box.run(switchNginx({ ...spec, reload: 'systemctl' }, 8081, 'r', pending).script);
    expect(r.code).toBe(0);
    expect(calls()).toEqual(['nginx -t', 'systemctl reload nginx']);
    box.file('calls', '');
    box.file('ps.out', WORKERS);
    r = await box.run(restoreNginx({ ...spec, reload: 'service' }, 8081, 'r').script);
    expect(r.code).toBe(0);
    expect(calls()).toEqual(['nginx -t', 'service nginx reload']);
  });

  test('reload auto with a main config signals nginx', async () => {
    const r = await box.run(
      switchNginx({ ...spec, reload: 'auto', config: '/c' }, 8081, 'r', pending).script,
    );
    expect(r.code).toBe(0);
    expect(calls()).toEqual(['nginx -c /c -t', 'nginx -c /c -s reload']);
  });

  test('sudo always runs every privileged command through sudo -n', async () => {
    const r = await box.run(switchNginx({ ...spec, sudo: 'always' }, 8081, 'r', pending).script);
    expect(r.code).toBe(0);
    const inc = spec.include;
    expect(calls()).toEqual([
      `sudo -n -- tee ${inc}.tmp`,
      `sudo -n -- mv -f ${inc}.tmp ${inc}`,
      'sudo -n -- nginx -t',
      'nginx -t',
      'sudo -n -- nginx -s reload',
      'nginx -s reload',
    ]);
  });

  test('sudo auto: directly as root, through sudo otherwise', async () => {
    let r = await box.run(switchNginx({ ...spec, sudo: 'auto' }, 8081, 'r', pending).script);
    expect(r.code).toBe(0);
    expect(calls()).toEqual(['nginx -t', 'nginx -s reload']);
    box.file('calls', '');
    box.file('ps.out', WORKERS);
    box.fake('id', '[ "$1" = -u ] && echo 1000');
    r = await box.run(restoreNginx({ ...spec, sudo: 'auto' }, 8080, 'r').script);
    expect(r.code).toBe(0);
    expect(calls().filter((c) => c.startsWith('sudo'))).toEqual([
      `sudo -n -- tee ${spec.include}.tmp`,
      `sudo -n -- mv -f ${spec.include}.tmp ${spec.include}`,
      'sudo -n -- nginx -t',
      'sudo -n -- nginx -s reload',
    ]);
  });

  test('nginx -t failing: the include is restored byte for byte, no reload', async () => {
    box.file('fail-test', '');
    const r = await box.run(switchNginx(spec, 8081, 'r', pending).script);
    expect(r.code).toBe(EXIT_TEST_FAILED);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      [
        'nginx: [emerg] unexpected "}" in service-url.inc:2',
        'nginx -t rejected the configuration with the new include',
        'the previous include was restored; nginx still serves the old configuration',
        '',
      ].join('\n'),
    );
    expect(box.read('tested.inc')).toBe(includeContent(8081, 'r'));
    expectUntouched();
    expect(calls()).toEqual(['nginx -t']);
    expectRecordGivenBack();
  });

  test('nginx -t failing where there was no include: none is left', async () => {
    box.file('fail-test', '');
    box.file('nginx/.keep', '');
    const { rmSync } = await import('node:fs');
    rmSync(spec.include);
    const r = await box.run(switchNginx(spec, 8081, 'r', pending).script);
    expect(r.code).toBe(EXIT_TEST_FAILED);
    expect(box.exists('nginx/service-url.inc')).toBe(false);
    expect(box.exists('nginx/service-url.inc.tmp')).toBe(false);
  });

  test('reload failing: the include is restored, EXIT_RELOAD_FAILED', async () => {
    box.file('fail-reload', '');
    const r = await box.run(switchNginx(spec, 8081, 'r', pending).script);
    expect(r.code).toBe(EXIT_RELOAD_FAILED);
    expect(r.stderr).toBe(
      [
        'nginx: [error] invalid PID number',
        'nginx reload failed',
        'the previous include was restored; nginx still serves the old configuration',
        '',
      ].join('\n'),
    );
    expectUntouched();
    expect(calls()).toEqual(['nginx -t', 'nginx -s reload']);
    expectRecordGivenBack();
  });

  test('no nginx worker: EXIT_NGINX_NOT_RUNNING before anything is written', async () => {
    box.file('ps.out', '    1     0 nginx: master process\n');
    const r = await box.run(switchNginx(spec, 8081, 'r', pending).script);
    expect(r.code).toBe(EXIT_NGINX_NOT_RUNNING);
    expect(r.stderr).toBe('nginx is not running: no nginx worker process found\n');
    expectUntouched();
    expect(calls()).toEqual([]);
    expectRecordGivenBack();
  });

  test('an include that cannot be written: EXIT_WRITE_FAILED, nothing tested', async () => {
    const r = await box.run(
      switchNginx({ ...spec, include: '/usr/bgd-read-only.inc' }, 8081, 'r', pending).script,
    );
    expect(r.code).toBe(EXIT_WRITE_FAILED);
    expect(r.stderr).toContain('could not write /usr/bgd-read-only.inc\n');
    expect(calls()).toEqual([]);
    expectRecordGivenBack();
  });

  test('no new worker after the reload: restored, EXIT_NO_NEW_WORKERS', async () => {
    box.file('no-new-workers', '');
    symlinkSync('/bin/true', box.path('.bin/sleep')); // the 15 s wait, without waiting
    const r = await box.run(switchNginx(spec, 8081, 'r', pending).script, { timeoutMs: 25000 });
    expect(r.code).toBe(EXIT_NO_NEW_WORKERS);
    expect(r.stderr).toBe(
      [
        'nginx started no new worker within 15 s of the reload',
        'the previous include was restored; nginx still serves the old configuration',
        '',
      ].join('\n'),
    );
    expectUntouched();
    expectRecordGivenBack();
    // Note: the restored include is not reloaded; a master that reloads late keeps the new one.
    expect(calls()).toEqual(['nginx -t', 'nginx -s reload']);
  }, 30000);

  test('a launch record the watchdog took: nothing changes, EXIT_LAUNCH_GONE', async () => {
    box.file('app/run/pending.stop', '4242 987654 8081\n');
    const { rmSync } = await import('node:fs');
    rmSync(pending);
    const r = await box.run(switchNginx(spec, 8081, 'r', pending).script);
    expect(r.code).toBe(EXIT_LAUNCH_GONE);
    expect(r.stderr).toBe("the new app is being stopped by the lock's watchdog (was the session lost?)\n");
    expectUntouched();
    expect(calls()).toEqual([]);
    expect(box.exists('app/run/pending')).toBe(false);
    expect(box.read('app/run/pending.stop')).toBe('4242 987654 8081\n');
  });
});

describe('a restore', () => {
  test('puts the include back without any launch record', async () => {
    const { rmSync } = await import('node:fs');
    rmSync(pending);
    const cmd = restoreNginx(spec, 8080, 'switch back');
    const r = await box.run(cmd.script);
    expect(r.code).toBe(0);
    expect(cmd.parse(r.stdout)).toEqual({ oldWorkers: [100, 101] });
    expect(box.read('nginx/service-url.inc')).toBe(includeContent(8080, 'switch back'));
    expect(box.exists('app/run/pending')).toBe(false);
  });

  test('leaves a launch record alone, also when it fails', async () => {
    box.file('fail-test', '');
    const r = await box.run(restoreNginx(spec, 8080, 'switch back').script);
    expect(r.code).toBe(EXIT_TEST_FAILED);
    expectUntouched();
    expectRecordGivenBack();
  });
});
