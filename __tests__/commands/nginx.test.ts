// switchNginx: the whole script for the default options (one file, reload auto, sudo auto, no main config, a
// launch record), and for every other option the default with exactly the lines that change: each reload mode,
// each sudo mode, a main config, no launch record, two files, a new file, a removal, a file nginx must load.
// Behaviour: nginx.sandbox.test.ts.
// Equivalent StrykerJS survivor (src/commands/nginx.ts, workerPairs): `.split(/\s+/)` as `.split(/\s/)`: the
// empty words the single-space split adds are dropped by the .filter(Boolean) that follows.
import { spawnSync } from 'node:child_process';
import { asRoot, pathSetupSh } from '../../src/commands/functions.js';
import {
  EXIT_INCLUDE_CHANGED,
  EXIT_LAUNCH_GONE,
  EXIT_NGINX_NOT_RUNNING,
  EXIT_NO_NEW_WORKERS,
  EXIT_NOT_LOADED,
  EXIT_RELOAD_FAILED,
  EXIT_TEST_FAILED,
  EXIT_WRITE_FAILED,
  nginxArgv,
  switchNginx,
  textSum,
  type FileChange,
  type NginxSpec,
} from '../../src/commands/nginx.js';
import { OutputError } from '../../src/commands/types.js';
import { body, replaced } from './helpers.js';

const spec: NginxSpec = { reload: 'auto', sudo: 'auto' };
const PENDING = '/srv/app/run/pending';
const TITLE = 'switch nginx to port 8081';
const INCLUDE: FileChange = {
  path: '/etc/nginx/conf.d/service-url.inc',
  content: 'set $service_url http://127.0.0.1:8081;\n',
  expected: 'set $service_url http://127.0.0.1:8080;\n',
};
const UPSTREAM: FileChange = {
  path: '/etc/nginx/conf.d/bluegreen-service-url.conf',
  content: 'upstream bluegreen_service_url {\n    server 127.0.0.1:8081;\n}\n',
  expected: undefined,
  mustLoad: true,
};
const base = () => switchNginx(spec, TITLE, [INCLUDE], PENDING).script;
const SUM_8080 = textSum(INCLUDE.expected);

const AUTO_RELOAD = [
  'reload_nginx() {',
  '  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && as_root systemctl reload nginx; then return 0; fi',
  '  if command -v service >/dev/null 2>&1 && [ -x /etc/init.d/nginx ] && as_root service nginx reload; then return 0; fi',
  '  as_root nginx -s reload',
  '}',
];
/** The default's reload function replaced by `to`. */
function reloadIs(to: string): Record<string, string> {
  return { [AUTO_RELOAD.join('\n')]: to };
}

describe('textSum and nginxArgv', () => {
  test('textSum is what sha256sum prints for the same bytes, or absent', () => {
    expect(textSum(undefined)).toBe('absent');
    expect(textSum('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    for (const text of ['set $service_url http://127.0.0.1:8080;\n', 'é\r\n\n', 'no newline']) {
      const r = spawnSync('sha256sum', { input: Buffer.from(text, 'utf8'), encoding: 'utf8' });
      expect(textSum(text)).toBe(r.stdout.slice(0, 64));
    }
  });

  test('nginx argv with and without a main config', () => {
    expect(nginxArgv(spec, '-t')).toEqual(['nginx', '-t']);
    expect(nginxArgv({ ...spec, config: '' }, '-t')).toEqual(['nginx', '-t']);
    expect(nginxArgv({ ...spec, config: '/etc/nginx/alt.conf' }, '-s', 'reload')).toEqual([
      'nginx',
      '-c',
      '/etc/nginx/alt.conf',
      '-s',
      'reload',
    ]);
  });

  test('exit codes are distinct', () => {
    const codes = [
      EXIT_NGINX_NOT_RUNNING,
      EXIT_WRITE_FAILED,
      EXIT_TEST_FAILED,
      EXIT_RELOAD_FAILED,
      EXIT_NO_NEW_WORKERS,
      EXIT_LAUNCH_GONE,
      EXIT_INCLUDE_CHANGED,
      EXIT_NOT_LOADED,
    ];
    expect(codes).toEqual([30, 31, 32, 33, 34, 35, 36, 37]);
  });
});

describe('switchNginx script', () => {
  test('default (one file, reload auto, sudo auto, no main config, a launch record): whole script', () => {
    const cmd = switchNginx(spec, TITLE, [INCLUDE], PENDING);
    expect(cmd.kind).toBe('switch');
    expect(cmd.title).toBe(TITLE);
    expect(cmd.quiet).toBeUndefined();
    expect(cmd.waitMs).toBe(15000); // the wait for new workers
    expect(body(cmd.script, [pathSetupSh()])).toMatchInlineSnapshot(`
"as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n -- "$@"; fi; }
reload_nginx() {
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && as_root systemctl reload nginx; then return 0; fi
  if command -v service >/dev/null 2>&1 && [ -x /etc/init.d/nginx ] && as_root service nginx reload; then return 0; fi
  as_root nginx -s reload
}
now_ms() { date +%s%3N; }
nginx_workers() { ps -e -o pid= -o ppid= -o args= 2>/dev/null | awk '$3 == "nginx:" && $4 == "worker" { print $1 ":" $2 }'; }
pending=/srv/app/run/pending
claim="$pending.switch"
mv -f -- "$pending" "$claim" 2>/dev/null || { echo "the new app is being stopped by the lock's watchdog (was the session lost?)" >&2; exit 35; }
give_back() { if [ -e "$claim" ]; then mv -f -- "$claim" "$pending"; fi; }
trap give_back EXIT
before=$(nginx_workers | tr '\\n' ' ')
[ -n "$before" ] || { echo "nginx is not running: no nginx worker process found" >&2; exit 30; }
masters=$(for w in $before; do printf ' %s ' "\${w#*:}"; done)
write_file() { printf '%s' "$2" | as_root tee "$1.tmp" >/dev/null && as_root chmod 644 "$1.tmp" && as_root mv -f "$1.tmp" "$1"; }
f0=/etc/nginx/conf.d/service-url.inc
new0='set $service_url http://127.0.0.1:8081;
'
if [ -f "$f0" ]; then
  had0=1
  old0=$(cat -- "$f0" && echo x) || { echo "cannot read $f0" >&2; exit 36; }
  old0=\${old0%x}
  now=$(printf '%s' "$old0" | sha256sum | cut -c 1-64)
else had0=0; old0=; now=absent; fi
[ "$now" = 08a664ececa9e8a7c3007a85d90e4db13e9fa1ce6cea57337aa99d77d179fba3 ] || { echo "$f0 changed since this deploy read it; nothing was changed" >&2; exit 36; }
restore() {
  if [ "$had0" = 1 ]; then write_file "$f0" "$old0"; else as_root rm -f "$f0"; fi
  [ -e "$f0.tmp" ] && as_root rm -f "$f0.tmp"
  echo "the previous configuration was restored; nginx still serves it" >&2
}
if ! { write_file "$f0" "$new0"; }; then
  restore
  echo "could not write $f0" >&2
  exit 31
fi
if ! out=$(as_root nginx -t 2>&1); then
  printf '%s\\n' "$out" >&2
  echo "nginx -t rejected the new configuration" >&2
  restore
  exit 32
fi
if ! out=$(reload_nginx 2>&1); then
  printf '%s\\n' "$out" >&2
  echo "nginx reload failed" >&2
  restore
  exit 33
fi
t0=$(now_ms)
while :; do
  fresh=$(nginx_workers | while IFS=: read -r pid ppid; do
    case " $before " in *" $pid:"*) ;; *) case "$masters" in *" $ppid "*) printf '%s:%s ' "$pid" "$ppid" ;; esac ;; esac
  done)
  [ -n "$fresh" ] && break
  if [ "$(($(now_ms) - t0))" -ge 15000 ]; then
    echo "nginx started no new worker within 15 s of the reload" >&2
    restore
    reload_nginx >/dev/null 2>&1 || echo "nginx reload of the restored configuration failed too" >&2
    exit 34
  fi
  sleep 0.01
done
rm -f -- "$claim"
echo "workers_before=$before"
echo "workers_new=$fresh"
"
`);
  });

  test('reload systemctl', () => {
    expect(switchNginx({ ...spec, reload: 'systemctl' }, TITLE, [INCLUDE], PENDING).script).toBe(
      replaced(base(), reloadIs('reload_nginx() { as_root systemctl reload nginx; }')),
    );
  });

  test('reload service', () => {
    expect(switchNginx({ ...spec, reload: 'service' }, TITLE, [INCLUDE], PENDING).script).toBe(
      replaced(base(), reloadIs('reload_nginx() { as_root service nginx reload; }')),
    );
  });

  test('reload signal', () => {
    expect(switchNginx({ ...spec, reload: 'signal' }, TITLE, [INCLUDE], PENDING).script).toBe(
      replaced(base(), reloadIs('reload_nginx() { as_root nginx -s reload; }')),
    );
  });

  test('reload auto with a main config: the signal, with -c for the reload and the test', () => {
    const config = '/etc/nginx/my nginx.conf';
    expect(switchNginx({ ...spec, config }, TITLE, [INCLUDE], PENDING).script).toBe(
      replaced(base(), {
        ...reloadIs(`reload_nginx() { as_root nginx -c '${config}' -s reload; }`),
        'if ! out=$(as_root nginx -t 2>&1); then': `if ! out=$(as_root nginx -c '${config}' -t 2>&1); then`,
      }),
    );
  });

  test('explicit reload modes with a main config: -c only where nginx itself runs', () => {
    const config = '/etc/nginx/alt.conf';
    const test = {
      'if ! out=$(as_root nginx -t 2>&1); then': `if ! out=$(as_root nginx -c ${config} -t 2>&1); then`,
    };
    const build = (reload: NginxSpec['reload']) =>
      switchNginx({ ...spec, config, reload }, TITLE, [INCLUDE], PENDING).script;
    expect(build('systemctl')).toBe(
      replaced(base(), { ...reloadIs('reload_nginx() { as_root systemctl reload nginx; }'), ...test }),
    );
    expect(build('service')).toBe(
      replaced(base(), { ...reloadIs('reload_nginx() { as_root service nginx reload; }'), ...test }),
    );
    expect(build('signal')).toBe(
      replaced(base(), { ...reloadIs(`reload_nginx() { as_root nginx -c ${config} -s reload; }`), ...test }),
    );
  });

  test('sudo always and never', () => {
    for (const sudo of ['always', 'never'] as const) {
      expect(switchNginx({ ...spec, sudo }, TITLE, [INCLUDE], PENDING).script).toBe(
        replaced(base(), { [asRoot('auto')]: asRoot(sudo) }),
      );
    }
  });

  test('another path, text and launch record', () => {
    const change = { path: '/etc/nginx/x y.inc', content: "it's\nnew", expected: 'old' };
    expect(switchNginx(spec, 'another title', [change], '/p q/pending').script).toBe(
      replaced(base(), {
        'pending=/srv/app/run/pending': "pending='/p q/pending'",
        'f0=/etc/nginx/conf.d/service-url.inc': "f0='/etc/nginx/x y.inc'",
        "new0='set $service_url http://127.0.0.1:8081;\n'": "new0='it'\\''s\nnew'",
        [`[ "$now" = ${SUM_8080} ] || { echo "$f0 changed since this deploy read it; nothing was changed" >&2; exit ${EXIT_INCLUDE_CHANGED}; }`]: `[ "$now" = ${textSum('old')} ] || { echo "$f0 changed since this deploy read it; nothing was changed" >&2; exit ${EXIT_INCLUDE_CHANGED}; }`,
      }),
    );
  });

  test('no launch record (a switch back, the end of a bake window): nothing claimed, nothing cleared', () => {
    const cmd = switchNginx(spec, 'switch nginx back to port 8080', [INCLUDE]);
    expect(cmd.title).toBe('switch nginx back to port 8080');
    expect(cmd.script).toBe(
      replaced(base(), {
        [[
          'pending=/srv/app/run/pending',
          'claim="$pending.switch"',
          `mv -f -- "$pending" "$claim" 2>/dev/null || { echo "the new app is being stopped by the lock's watchdog (was the session lost?)" >&2; exit ${EXIT_LAUNCH_GONE}; }`,
          'give_back() { if [ -e "$claim" ]; then mv -f -- "$claim" "$pending"; fi; }',
          'trap give_back EXIT',
        ].join('\n')]: '',
        'rm -f -- "$claim"': '',
      }),
    );
  });

  test('a symlinked include: the file it points to is written, after checking the link still points there', () => {
    const change = {
      ...INCLUDE,
      path: '/etc/nginx/sites-available/app',
      link: '/etc/nginx/sites-enabled/my app',
    };
    const script = switchNginx(spec, TITLE, [change], PENDING).script;
    const lines = script.split('\n');
    const from = lines.findIndex((l) => l.startsWith('f0='));
    expect(lines.slice(from, from + 3).join('\n')).toMatchInlineSnapshot(`
"f0=/etc/nginx/sites-available/app
l0='/etc/nginx/sites-enabled/my app'
if [ ! -L "$l0" ] || [ "$(readlink -f -- "$l0")" != "$f0" ]; then echo "$l0 no longer links to $f0; nothing was changed" >&2; exit 36; fi"
`);
    expect(script).toBe(
      replaced(base(), {
        'f0=/etc/nginx/conf.d/service-url.inc': lines.slice(from, from + 3).join('\n'),
      }),
    );
  });

  test('a file that did not exist: it must still be absent', () => {
    expect(switchNginx(spec, TITLE, [{ ...INCLUDE, expected: undefined }], PENDING).script).toBe(
      replaced(base(), {
        [`[ "$now" = ${SUM_8080} ] || { echo "$f0 changed since this deploy read it; nothing was changed" >&2; exit ${EXIT_INCLUDE_CHANGED}; }`]: `[ "$now" = absent ] || { echo "$f0 changed since this deploy read it; nothing was changed" >&2; exit ${EXIT_INCLUDE_CHANGED}; }`,
      }),
    );
  });

  test('a removal: no new text, rm instead of a write', () => {
    expect(switchNginx(spec, TITLE, [{ ...INCLUDE, content: undefined }], PENDING).script).toBe(
      replaced(base(), {
        "new0='set $service_url http://127.0.0.1:8081;\n'": '',
        'if ! { write_file "$f0" "$new0"; }; then': 'if ! { as_root rm -f "$f0"; }; then',
      }),
    );
  });

  test('two files, the first one nginx must load: each checked, written and restored; nginx -T before the reload', () => {
    const upstreamCheck = [
      'f0=/etc/nginx/conf.d/bluegreen-service-url.conf',
      "new0='upstream bluegreen_service_url {",
      '    server 127.0.0.1:8081;',
      '}',
      "'",
      'if [ -f "$f0" ]; then',
      '  had0=1',
      `  old0=$(cat -- "$f0" && echo x) || { echo "cannot read $f0" >&2; exit ${EXIT_INCLUDE_CHANGED}; }`,
      '  old0=${old0%x}',
      `  now=$(printf '%s' "$old0" | sha256sum | cut -c 1-64)`,
      'else had0=0; old0=; now=absent; fi',
      `[ "$now" = absent ] || { echo "$f0 changed since this deploy read it; nothing was changed" >&2; exit ${EXIT_INCLUDE_CHANGED}; }`,
    ];
    const script = switchNginx(spec, TITLE, [UPSTREAM, INCLUDE], PENDING).script;
    expect(script).toBe(
      replaced(base(), {
        'f0=/etc/nginx/conf.d/service-url.inc': [
          ...upstreamCheck,
          'f1=/etc/nginx/conf.d/service-url.inc',
        ].join('\n'),
        "new0='set $service_url http://127.0.0.1:8081;": "new1='set $service_url http://127.0.0.1:8081;",
        [[
          'if [ -f "$f0" ]; then',
          '  had0=1',
          `  old0=$(cat -- "$f0" && echo x) || { echo "cannot read $f0" >&2; exit ${EXIT_INCLUDE_CHANGED}; }`,
          '  old0=${old0%x}',
          `  now=$(printf '%s' "$old0" | sha256sum | cut -c 1-64)`,
          'else had0=0; old0=; now=absent; fi',
          `[ "$now" = ${SUM_8080} ] || { echo "$f0 changed since this deploy read it; nothing was changed" >&2; exit ${EXIT_INCLUDE_CHANGED}; }`,
        ].join('\n')]: [
          'if [ -f "$f1" ]; then',
          '  had1=1',
          `  old1=$(cat -- "$f1" && echo x) || { echo "cannot read $f1" >&2; exit ${EXIT_INCLUDE_CHANGED}; }`,
          '  old1=${old1%x}',
          `  now=$(printf '%s' "$old1" | sha256sum | cut -c 1-64)`,
          'else had1=0; old1=; now=absent; fi',
          `[ "$now" = ${SUM_8080} ] || { echo "$f1 changed since this deploy read it; nothing was changed" >&2; exit ${EXIT_INCLUDE_CHANGED}; }`,
        ].join('\n'),
        '  [ -e "$f0.tmp" ] && as_root rm -f "$f0.tmp"': [
          '  [ -e "$f0.tmp" ] && as_root rm -f "$f0.tmp"',
          '  if [ "$had1" = 1 ]; then write_file "$f1" "$old1"; else as_root rm -f "$f1"; fi',
          '  [ -e "$f1.tmp" ] && as_root rm -f "$f1.tmp"',
        ].join('\n'),
        'if ! { write_file "$f0" "$new0"; }; then':
          'if ! { write_file "$f0" "$new0" && write_file "$f1" "$new1"; }; then',
        '  echo "could not write $f0" >&2': '  echo "could not write $f0 and $f1" >&2',
        'if ! out=$(reload_nginx 2>&1); then': [
          'if ! as_root nginx -T 2>/dev/null | grep -qxF "# configuration file $f0:"; then',
          '  restore',
          '  echo "nginx does not load $f0: add \\"include $f0;\\" inside http { } (the default nginx.conf loads conf.d/*.conf), or set nginx-upstream-file" >&2',
          `  exit ${EXIT_NOT_LOADED}`,
          'fi',
          'if ! out=$(reload_nginx 2>&1); then',
        ].join('\n'),
      }),
    );
  });

  test('a file nginx must load, with a main config: nginx -c CONFIG -T', () => {
    const script = switchNginx(
      { ...spec, config: '/c' },
      TITLE,
      [{ ...INCLUDE, mustLoad: true }],
      PENDING,
    ).script;
    expect(script).toBe(
      replaced(base(), {
        ...reloadIs('reload_nginx() { as_root nginx -c /c -s reload; }'),
        'if ! out=$(as_root nginx -t 2>&1); then': 'if ! out=$(as_root nginx -c /c -t 2>&1); then',
        'if ! out=$(reload_nginx 2>&1); then': [
          'if ! as_root nginx -c /c -T 2>/dev/null | grep -qxF "# configuration file $f0:"; then',
          '  restore',
          '  echo "nginx does not load $f0: add \\"include $f0;\\" inside http { } (the default nginx.conf loads conf.d/*.conf), or set nginx-upstream-file" >&2',
          `  exit ${EXIT_NOT_LOADED}`,
          'fi',
          'if ! out=$(reload_nginx 2>&1); then',
        ].join('\n'),
      }),
    );
  });

  test('no file changes: the reload still happens, the restore only says so', () => {
    expect(switchNginx(spec, TITLE, [], PENDING).script).toBe(
      replaced(base(), {
        'f0=/etc/nginx/conf.d/service-url.inc': '',
        "new0='set $service_url http://127.0.0.1:8081;\n'": '',
        [[
          'if [ -f "$f0" ]; then',
          '  had0=1',
          `  old0=$(cat -- "$f0" && echo x) || { echo "cannot read $f0" >&2; exit ${EXIT_INCLUDE_CHANGED}; }`,
          '  old0=${old0%x}',
          `  now=$(printf '%s' "$old0" | sha256sum | cut -c 1-64)`,
          'else had0=0; old0=; now=absent; fi',
          `[ "$now" = ${SUM_8080} ] || { echo "$f0 changed since this deploy read it; nothing was changed" >&2; exit ${EXIT_INCLUDE_CHANGED}; }`,
        ].join('\n')]: '',
        '  if [ "$had0" = 1 ]; then write_file "$f0" "$old0"; else as_root rm -f "$f0"; fi\n  [ -e "$f0.tmp" ] && as_root rm -f "$f0.tmp"':
          '',
        'if ! { write_file "$f0" "$new0"; }; then': 'if ! { :; }; then',
        '  echo "could not write $f0" >&2': '  echo "could not write " >&2',
      }),
    );
  });
});

describe('switch parser: old workers are those of the masters that started new ones', () => {
  const parse = (stdout: string) => switchNginx(spec, TITLE, [INCLUDE], PENDING).parse(stdout);

  test('typical', () => {
    expect(parse('workers_before=10:1 11:1 \nworkers_new=30:1 31:1 \n')).toEqual({ oldWorkers: [10, 11] });
  });

  test('two masters, one reloaded', () => {
    expect(parse('workers_before=10:1 11:1 20:2 \nworkers_new=30:1 \n')).toEqual({ oldWorkers: [10, 11] });
    expect(parse('workers_before=10:1 20:2 21:2\nworkers_new=30:2 \n')).toEqual({ oldWorkers: [20, 21] });
  });

  test('no new workers, or none before', () => {
    expect(parse('workers_before=10:1 \nworkers_new=\n')).toEqual({ oldWorkers: [] });
    expect(parse('workers_before=\nworkers_new=30:1\n')).toEqual({ oldWorkers: [] });
    expect(parse('workers_before=\nworkers_new=\n')).toEqual({ oldWorkers: [] });
    expect(parse('workers_before= 10:1  11:1 \nworkers_new=\t30:1\n')).toEqual({ oldWorkers: [10, 11] });
  });

  test('without a launch record it parses the same way', () => {
    expect(switchNginx(spec, 'back', []).parse('workers_before=5:2 6:3\nworkers_new=7:3\n')).toEqual({
      oldWorkers: [6],
    });
  });

  test('missing keys are an OutputError', () => {
    expect(() => parse('workers_before=10:1\n')).toThrow(
      new OutputError('the remote script printed no workers_new='),
    );
    expect(() => parse('workers_new=10:1\n')).toThrow(
      new OutputError('the remote script printed no workers_before='),
    );
  });
});
