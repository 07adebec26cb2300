// switchNginx and restoreNginx: the whole script for the default options, and for every other reload mode,
// sudo mode and main config the default with exactly the lines that change. Behaviour: nginx.sandbox.test.ts.
// Equivalent StrykerJS survivor (src/commands/nginx.ts, workerPairs): `.split(/\s+/)` as `.split(/\s/)`: the
// empty words the single-space split adds are dropped by the .filter(Boolean) that follows.
import { asRoot, PATH_SETUP } from '../../src/commands/functions.js';
import {
  EXIT_LAUNCH_GONE,
  EXIT_NGINX_NOT_RUNNING,
  EXIT_NO_NEW_WORKERS,
  EXIT_RELOAD_FAILED,
  EXIT_TEST_FAILED,
  EXIT_WRITE_FAILED,
  includeContent,
  nginxArgv,
  restoreNginx,
  switchNginx,
  type NginxSpec,
} from '../../src/commands/nginx.js';
import { OutputError } from '../../src/commands/types.js';
import { body, replaced } from './helpers.js';

const spec: NginxSpec = { include: '/etc/nginx/conf.d/service-url.inc', reload: 'auto', sudo: 'auto' };
const PENDING = '/srv/app/run/pending';
const base = () => switchNginx(spec, 8081, 'release r1', PENDING).script;

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

describe('includeContent and nginxArgv', () => {
  test('include text', () => {
    expect(includeContent(8081, 'release r1')).toBe(
      '# Written by the blue/green deploy action: release r1\nset $service_url http://127.0.0.1:8081;\n',
    );
    expect(includeContent(9, 'a\nb\r\nc')).toBe(
      '# Written by the blue/green deploy action: a b  c\nset $service_url http://127.0.0.1:9;\n',
    );
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
    ];
    expect(codes).toEqual([30, 31, 32, 33, 34, 35]);
  });
});

describe('switchNginx script', () => {
  test('default (reload auto, sudo auto, no main config): whole script', () => {
    const cmd = switchNginx(spec, 8081, 'release r1', PENDING);
    expect(cmd.kind).toBe('switch');
    expect(cmd.title).toBe('switch nginx to port 8081');
    expect(cmd.quiet).toBeUndefined();
    expect(body(cmd.script, [PATH_SETUP])).toMatchInlineSnapshot(`
"as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n -- "$@"; fi; }
reload_nginx() {
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && as_root systemctl reload nginx; then return 0; fi
  if command -v service >/dev/null 2>&1 && [ -x /etc/init.d/nginx ] && as_root service nginx reload; then return 0; fi
  as_root nginx -s reload
}
nginx_workers() { ps -e -o pid= -o ppid= -o args= 2>/dev/null | awk '$3 == "nginx:" && $4 == "worker" { print $1 ":" $2 }'; }
pending=/srv/app/run/pending
claim="$pending.switch"
mv -f -- "$pending" "$claim" 2>/dev/null || { echo "the new app is being stopped by the lock's watchdog (was the session lost?)" >&2; exit 35; }
give_back() { if [ -e "$claim" ]; then mv -f -- "$claim" "$pending"; fi; }
trap give_back EXIT
inc=/etc/nginx/conf.d/service-url.inc
tmp="$inc.tmp"
new='# Written by the blue/green deploy action: release r1
set $service_url http://127.0.0.1:8081;
'
before=$(nginx_workers | tr '\\n' ' ')
[ -n "$before" ] || { echo "nginx is not running: no nginx worker process found" >&2; exit 30; }
masters=$(for w in $before; do printf ' %s ' "\${w#*:}"; done)
if [ -f "$inc" ]; then had=1; old=$(cat -- "$inc"; echo x); old=\${old%x}; else had=0; old=; fi
write_include() { printf '%s' "$1" | as_root tee "$tmp" >/dev/null && as_root mv -f "$tmp" "$inc"; }
restore() {
  if [ "$had" = 1 ]; then write_include "$old"; else as_root rm -f "$inc"; fi
  [ -e "$tmp" ] && as_root rm -f "$tmp"
  echo "the previous include was restored; nginx still serves the old configuration" >&2
}
write_include "$new" || { [ -e "$tmp" ] && as_root rm -f "$tmp"; echo "could not write $inc" >&2; exit 31; }
if ! out=$(as_root nginx -t 2>&1); then
  printf '%s\\n' "$out" >&2
  echo "nginx -t rejected the configuration with the new include" >&2
  restore
  exit 32
fi
if ! out=$(reload_nginx 2>&1); then
  printf '%s\\n' "$out" >&2
  echo "nginx reload failed" >&2
  restore
  exit 33
fi
i=0
while :; do
  fresh=$(nginx_workers | while IFS=: read -r pid ppid; do
    case " $before " in *" $pid:"*) ;; *) case "$masters" in *" $ppid "*) printf '%s:%s ' "$pid" "$ppid" ;; esac ;; esac
  done)
  [ -n "$fresh" ] && break
  i=$((i + 1))
  if [ "$i" -gt 1500 ]; then
    echo "nginx started no new worker within 15 s of the reload" >&2
    restore
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
    expect(switchNginx({ ...spec, reload: 'systemctl' }, 8081, 'release r1', PENDING).script).toBe(
      replaced(base(), reloadIs('reload_nginx() { as_root systemctl reload nginx; }')),
    );
  });

  test('reload service', () => {
    expect(switchNginx({ ...spec, reload: 'service' }, 8081, 'release r1', PENDING).script).toBe(
      replaced(base(), reloadIs('reload_nginx() { as_root service nginx reload; }')),
    );
  });

  test('reload signal', () => {
    expect(switchNginx({ ...spec, reload: 'signal' }, 8081, 'release r1', PENDING).script).toBe(
      replaced(base(), reloadIs('reload_nginx() { as_root nginx -s reload; }')),
    );
  });

  test('reload auto with a main config: the signal, with -c for the reload and the test', () => {
    const config = '/etc/nginx/my nginx.conf';
    expect(switchNginx({ ...spec, config }, 8081, 'release r1', PENDING).script).toBe(
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
    expect(switchNginx({ ...spec, config, reload: 'systemctl' }, 8081, 'release r1', PENDING).script).toBe(
      replaced(base(), { ...reloadIs('reload_nginx() { as_root systemctl reload nginx; }'), ...test }),
    );
    expect(switchNginx({ ...spec, config, reload: 'service' }, 8081, 'release r1', PENDING).script).toBe(
      replaced(base(), { ...reloadIs('reload_nginx() { as_root service nginx reload; }'), ...test }),
    );
    expect(switchNginx({ ...spec, config, reload: 'signal' }, 8081, 'release r1', PENDING).script).toBe(
      replaced(base(), { ...reloadIs(`reload_nginx() { as_root nginx -c ${config} -s reload; }`), ...test }),
    );
  });

  test('sudo always and never', () => {
    for (const sudo of ['always', 'never'] as const) {
      expect(switchNginx({ ...spec, sudo }, 8081, 'release r1', PENDING).script).toBe(
        replaced(base(), { [asRoot('auto')]: asRoot(sudo) }),
      );
    }
  });

  test('another port, note, include and launch record', () => {
    expect(
      switchNginx({ ...spec, include: '/etc/nginx/x y.inc' }, 9090, "it's\nnew", '/p q/pending').script,
    ).toBe(
      replaced(base(), {
        'pending=/srv/app/run/pending': "pending='/p q/pending'",
        'inc=/etc/nginx/conf.d/service-url.inc': "inc='/etc/nginx/x y.inc'",
        "new='# Written by the blue/green deploy action: release r1":
          "new='# Written by the blue/green deploy action: it'\\''s new",
        'set $service_url http://127.0.0.1:8081;': 'set $service_url http://127.0.0.1:9090;',
      }),
    );
  });
});

describe('restoreNginx script', () => {
  test('the switch without the launch record claim', () => {
    const cmd = restoreNginx(spec, 8081, 'release r1');
    expect(cmd.kind).toBe('switch');
    expect(cmd.title).toBe('switch nginx back to port 8081');
    expect(cmd.quiet).toBeUndefined();
    expect(cmd.script).toBe(
      replaced(base(), {
        'pending=/srv/app/run/pending': '',
        'claim="$pending.switch"': '',
        [`mv -f -- "$pending" "$claim" 2>/dev/null || { echo "the new app is being stopped by the lock's watchdog (was the session lost?)" >&2; exit ${EXIT_LAUNCH_GONE}; }`]:
          '',
        'give_back() { if [ -e "$claim" ]; then mv -f -- "$claim" "$pending"; fi; }': '',
        'trap give_back EXIT': '',
        'rm -f -- "$claim"': '',
      }),
    );
  });

  test('options apply as for the switch', () => {
    const s = { ...spec, reload: 'signal' as const, sudo: 'never' as const, config: '/c' };
    expect(restoreNginx(s, 8080, 'back').script).toBe(
      replaced(restoreNginx(spec, 8080, 'back').script, {
        ...reloadIs('reload_nginx() { as_root nginx -c /c -s reload; }'),
        [asRoot('auto')]: asRoot('never'),
        'if ! out=$(as_root nginx -t 2>&1); then': 'if ! out=$(as_root nginx -c /c -t 2>&1); then',
      }),
    );
  });
});

describe('switch parser: old workers are those of the masters that started new ones', () => {
  const parse = (stdout: string) => switchNginx(spec, 8081, 'r', PENDING).parse(stdout);

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

  test('restore parses the same way', () => {
    expect(restoreNginx(spec, 8080, 'r').parse('workers_before=5:2 6:3\nworkers_new=7:3\n')).toEqual({
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
