// preflightProbe: the whole script for the default (deploy user with sudo auto, a jar, the include and the
// upstream file to load), each other option as the default with exactly the lines that change; the parser.
// Its run by a real sh: preflight.sandbox.test.ts; shellcheck: commands/scripts.test.ts.
import { asRoot, pathSetupSh } from '../src/commands/functions.js';
import { workersSh } from '../src/commands/nginx.js';
import { switchRootCommands, type NginxSpec } from '../src/commands/nginx-root.js';
import { preflightProbe, type ProbeSpec } from '../src/commands/preflight.js';
import { OutputError } from '../src/commands/types.js';
import { layout } from '../src/layout.js';
import { body, replaced } from './commands/helpers.js';

const paths = layout('/srv/app');
const INC = '/etc/nginx/conf.d/service-url.inc';
const UP = '/etc/nginx/conf.d/bluegreen-service-url.conf';
const nginx: NginxSpec = { reload: 'auto', sudo: 'auto' };
const SHA = 'ab'.repeat(32);
const changes = [
  { path: UP, content: 'u', expected: undefined, mustLoad: true },
  { path: INC, content: 'b', expected: 'a' },
];
const spec = (over: Partial<ProbeSpec> = {}): ProbeSpec => ({
  java: 'java',
  jarSha256: SHA,
  sudo: 'auto',
  nginx,
  root: switchRootCommands(nginx, changes),
  mustLoad: [INC, UP],
  ...over,
});
const script = (over: Partial<ProbeSpec> = {}) => preflightProbe(paths, spec(over)).script;
const HEAD = (sudo: ProbeSpec['sudo']) => [pathSetupSh(), asRoot(sudo), workersSh()];

describe('preflightProbe script', () => {
  test('default (sudo auto, a jar, include and upstream file): whole script', () => {
    expect(body(script(), HEAD('auto'))).toMatchInlineSnapshot(`
"echo "user=$(id -un)"
echo "uid=$(id -u)"
if java=$(command -v -- java); then
  if v=$("$java" -version 2>&1); then ok=1; else ok=0; fi
  echo "java=$java"; echo "java_ok=$ok"
  echo "java_version=$(printf '%s\\n' "$v" | head -n 1)"
fi
missing=
for t in flock setsid sha256sum ps base64; do command -v "$t" >/dev/null 2>&1 || missing="$missing $t"; done
command -v ss >/dev/null 2>&1 || command -v lsof >/dev/null 2>&1 || missing="$missing ss-or-lsof"
echo "tools_missing=\${missing# }"
if command -v getenforce >/dev/null 2>&1; then
  echo "selinux=$(getenforce 2>/dev/null)"
  echo "selinux_network=$(getsebool httpd_can_network_connect 2>/dev/null | sed -n 's/.*--> *//p')"
else echo selinux=absent; fi
dir=/srv/app
if [ -e "$dir" ]; then
  base=$dir
  if [ ! -d "$dir" ]; then echo dir=notDir
  elif [ -w "$dir" ] && [ -x "$dir" ]; then echo dir=writable
  else echo dir=notWritable; fi
else
  base=$(dirname -- "$dir")
  while [ ! -e "$base" ]; do base=$(dirname -- "$base"); done
  if [ -d "$base" ] && [ -w "$base" ] && [ -x "$base" ]; then echo dir=creatable; else echo dir=notCreatable; fi
fi
echo "dir_base=$base"
for p in /srv/app/releases /srv/app/run /srv/app/.deploy.lock /srv/app/.deploy.lock.info; do
  if [ -e "$p" ] && [ ! -w "$p" ]; then echo "blocked=$p"; fi
done
echo "free_kib=$(df -Pk -- "$base" | awk 'NR == 2 { print $4 }')"
for f in /srv/app/releases/*/app.jar.sha256; do
  [ -f "$f" ] || continue
  if { [ "$(cat "$f")" = abababababababababababababababababababababababababababababababab ] && [ -f "\${f%.sha256}" ]; } 2>/dev/null; then echo "reuse=\${f%/app.jar.sha256}"; break; fi
done
lock=/srv/app/.deploy.lock
held=0
if [ -f "$lock" ] && ident=$(stat -c '%d %i' -- "$lock" 2>/dev/null); then
  key=$(echo "$ident" | awk '{ d = $1; printf "%02x:%02x:%s", int(d / 256) % 4096, d % 256 + int(d / 1048576) * 256, $2 }')
  if awk -v k="$key" '$2 != "->" && $6 == k { f = 1 } END { exit !f }' /proc/locks 2>/dev/null; then held=1; fi
  if [ "$held" = 0 ] && find /proc/[0-9]*/fd -maxdepth 1 -lname /srv/app/.deploy.lock 2>/dev/null |
    while IFS= read -r fd; do grep -q "^lock:" "\${fd%/fd/*}/fdinfo/\${fd##*/}" 2>/dev/null && echo held; done | grep -q held; then
    held=1
  fi
fi
echo "lock_held=$held"
echo "lock_info=$(cat -- /srv/app/.deploy.lock.info 2>/dev/null | tr '\\n' ' ')"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    echo sudo=checked
    may() { if sudo -n -l "$@" >/dev/null 2>&1; then echo 1; else echo 0; fi; }
    echo "sudo_0=$(may nginx -t)"
    echo "sudo_1=$(may nginx -T)"
    echo "sudo_2=$(may tee /etc/nginx/conf.d/bluegreen-service-url.conf.tmp)"
    echo "sudo_3=$(may chmod 644 /etc/nginx/conf.d/bluegreen-service-url.conf.tmp)"
    echo "sudo_4=$(may mv -f /etc/nginx/conf.d/bluegreen-service-url.conf.tmp /etc/nginx/conf.d/bluegreen-service-url.conf)"
    echo "sudo_5=$(may rm -f /etc/nginx/conf.d/bluegreen-service-url.conf.tmp)"
    echo "sudo_6=$(may rm -f /etc/nginx/conf.d/bluegreen-service-url.conf)"
    echo "sudo_7=$(may tee /etc/nginx/conf.d/service-url.inc.tmp)"
    echo "sudo_8=$(may chmod 644 /etc/nginx/conf.d/service-url.inc.tmp)"
    echo "sudo_9=$(may mv -f /etc/nginx/conf.d/service-url.inc.tmp /etc/nginx/conf.d/service-url.inc)"
    echo "sudo_10=$(may rm -f /etc/nginx/conf.d/service-url.inc.tmp)"
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then echo reload_applies_0=1; else echo reload_applies_0=0; fi; echo "reload_sudo_0=$(may systemctl reload nginx)"
    if command -v service >/dev/null 2>&1 && [ -x /etc/init.d/nginx ]; then echo reload_applies_1=1; else echo reload_applies_1=0; fi; echo "reload_sudo_1=$(may service nginx reload)"
    echo reload_applies_2=1; echo "reload_sudo_2=$(may nginx -s reload)"
  else echo sudo=absent; fi
else echo sudo=unused; fi
echo "bin_nginx=$(command -v nginx)"
echo "bin_tee=$(command -v tee)"
echo "bin_chmod=$(command -v chmod)"
echo "bin_mv=$(command -v mv)"
echo "bin_rm=$(command -v rm)"
echo "bin_systemctl=$(command -v systemctl)"
echo "bin_service=$(command -v service)"
if out=$(as_root nginx -t 2>&1); then echo nginx_test=ok; else echo nginx_test=failed; fi
echo "nginx_test_b64=$(printf '%s' "$out" | base64 -w0)"
if conf=$(as_root nginx -T 2>/dev/null); then echo nginx_dump=ok; else echo nginx_dump=failed; fi
patterns=$(printf '%s\\n' "$conf" | sed -n 's/^[[:space:]]*include[[:space:]][[:space:]]*\\([^;]*\\);.*$/\\1/p' | tr -d "\\"'")
# shellcheck disable=SC2254 # patterns: globs on purpose
matched() { printf '%s\\n' "$patterns" | { while IFS= read -r pat; do case "$1" in $pat) exit 0 ;; esac; done; exit 1; }; }
f=/etc/nginx/conf.d/service-url.inc
if printf '%s\\n' "$conf" | grep -qxF "# configuration file $f:"; then echo loaded_0=yes
elif [ ! -e "$f" ] && matched "$f"; then echo loaded_0=pattern
else echo loaded_0=no; fi
f=/etc/nginx/conf.d/bluegreen-service-url.conf
if printf '%s\\n' "$conf" | grep -qxF "# configuration file $f:"; then echo loaded_1=yes
elif [ ! -e "$f" ] && matched "$f"; then echo loaded_1=pattern
else echo loaded_1=no; fi
echo "nginx_workers=$(nginx_workers | awk 'END { print NR }')"
"
`);
  });
  const base = () => body(script(), HEAD('auto'));
  const SUDO_BLOCK_START = [
    'if [ "$(id -u)" -ne 0 ]; then',
    '  if command -v sudo >/dev/null 2>&1; then',
  ].join('\n');

  test('sudo always: sudo is asked even as root', () => {
    expect(body(script({ sudo: 'always' }), HEAD('always'))).toBe(
      replaced(base(), { [SUDO_BLOCK_START]: 'if :; then\n  if command -v sudo >/dev/null 2>&1; then' }),
    );
  });

  test('sudo never: nothing asked of sudo; the programs are still named', () => {
    const lines = base().split('\n');
    const from = lines.indexOf(SUDO_BLOCK_START.split('\n')[0]);
    const to = lines.indexOf('else echo sudo=unused; fi');
    const block = lines.slice(from, to + 1).join('\n');
    expect(body(script({ sudo: 'never' }), HEAD('never'))).toBe(
      replaced(base(), { [block]: 'echo sudo=unused' }),
    );
  });

  test('no jar: no free space, no re-use', () => {
    expect(body(script({ jarSha256: undefined }), HEAD('auto'))).toBe(
      replaced(base(), {
        [[
          `echo "free_kib=$(df -Pk -- "$base" | awk 'NR == 2 { print $4 }')"`,
          'for f in /srv/app/releases/*/app.jar.sha256; do',
          '  [ -f "$f" ] || continue',
          `  if { [ "$(cat "$f")" = ${SHA} ] && [ -f "\${f%.sha256}" ]; } 2>/dev/null; then echo "reuse=\${f%/app.jar.sha256}"; break; fi`,
          'done',
        ].join('\n')]: '',
      }),
    );
  });

  test('only the include (no upstream file written): its own rights, no nginx -T right, one file to load', () => {
    const include = [{ path: INC, content: 'b', expected: 'a' }];
    const text = body(script({ root: switchRootCommands(nginx, include), mustLoad: [INC] }), HEAD('auto'));
    expect(text).toBe(
      replaced(base(), {
        [[
          '    echo "sudo_1=$(may nginx -T)"',
          '    echo "sudo_2=$(may tee /etc/nginx/conf.d/bluegreen-service-url.conf.tmp)"',
          '    echo "sudo_3=$(may chmod 644 /etc/nginx/conf.d/bluegreen-service-url.conf.tmp)"',
          '    echo "sudo_4=$(may mv -f /etc/nginx/conf.d/bluegreen-service-url.conf.tmp /etc/nginx/conf.d/bluegreen-service-url.conf)"',
          '    echo "sudo_5=$(may rm -f /etc/nginx/conf.d/bluegreen-service-url.conf.tmp)"',
          '    echo "sudo_6=$(may rm -f /etc/nginx/conf.d/bluegreen-service-url.conf)"',
          '    echo "sudo_7=$(may tee /etc/nginx/conf.d/service-url.inc.tmp)"',
          '    echo "sudo_8=$(may chmod 644 /etc/nginx/conf.d/service-url.inc.tmp)"',
          '    echo "sudo_9=$(may mv -f /etc/nginx/conf.d/service-url.inc.tmp /etc/nginx/conf.d/service-url.inc)"',
          '    echo "sudo_10=$(may rm -f /etc/nginx/conf.d/service-url.inc.tmp)"',
        ].join('\n')]: [
          '    echo "sudo_1=$(may tee /etc/nginx/conf.d/service-url.inc.tmp)"',
          '    echo "sudo_2=$(may chmod 644 /etc/nginx/conf.d/service-url.inc.tmp)"',
          '    echo "sudo_3=$(may mv -f /etc/nginx/conf.d/service-url.inc.tmp /etc/nginx/conf.d/service-url.inc)"',
          '    echo "sudo_4=$(may rm -f /etc/nginx/conf.d/service-url.inc.tmp)"',
        ].join('\n'),
        [[
          'f=/etc/nginx/conf.d/bluegreen-service-url.conf',
          `if printf '%s\\n' "$conf" | grep -qxF "# configuration file $f:"; then echo loaded_1=yes`,
          'elif [ ! -e "$f" ] && matched "$f"; then echo loaded_1=pattern',
          'else echo loaded_1=no; fi',
        ].join('\n')]: '',
      }),
    );
  });

  test('a main config (reload auto is then the signal): -c wherever nginx runs; only nginx is named for the reload', () => {
    const withConfig = { ...nginx, config: '/srv/nginx main.conf' };
    const c = `nginx -c '/srv/nginx main.conf'`;
    const text = body(
      script({ nginx: withConfig, root: switchRootCommands(withConfig, changes) }),
      HEAD('auto'),
    );
    expect(text).toBe(
      replaced(base(), {
        '    echo "sudo_0=$(may nginx -t)"': `    echo "sudo_0=$(may ${c} -t)"`,
        '    echo "sudo_1=$(may nginx -T)"': `    echo "sudo_1=$(may ${c} -T)"`,
        [[
          '    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then echo reload_applies_0=1; else echo reload_applies_0=0; fi; echo "reload_sudo_0=$(may systemctl reload nginx)"',
          '    if command -v service >/dev/null 2>&1 && [ -x /etc/init.d/nginx ]; then echo reload_applies_1=1; else echo reload_applies_1=0; fi; echo "reload_sudo_1=$(may service nginx reload)"',
          '    echo reload_applies_2=1; echo "reload_sudo_2=$(may nginx -s reload)"',
        ].join('\n')]: `    echo reload_applies_0=1; echo "reload_sudo_0=$(may ${c} -s reload)"`,
        'echo "bin_systemctl=$(command -v systemctl)"\necho "bin_service=$(command -v service)"': '',
        'if out=$(as_root nginx -t 2>&1); then echo nginx_test=ok; else echo nginx_test=failed; fi': `if out=$(as_root ${c} -t 2>&1); then echo nginx_test=ok; else echo nginx_test=failed; fi`,
        'if conf=$(as_root nginx -T 2>/dev/null); then echo nginx_dump=ok; else echo nginx_dump=failed; fi': `if conf=$(as_root ${c} -T 2>/dev/null); then echo nginx_dump=ok; else echo nginx_dump=failed; fi`,
      }),
    );
  });

  test('hostile values are quoted: remote-dir, java, paths', () => {
    const evil = `/srv/my app/$(touch /pwned);'`;
    const cmd = preflightProbe(layout(evil), spec({ java: `$(id)'`, mustLoad: [`${evil}.inc`] }));
    expect(cmd.script).toContain(`dir='/srv/my app/$(touch /pwned);'\\'''\n`);
    expect(cmd.script).toContain(`if java=$(command -v -- '$(id)'\\'''); then`);
    expect(cmd.script).toContain(`f='/srv/my app/$(touch /pwned);'\\''.inc'\n`);
    expect(cmd.title).toBe('preflight checks');
  });
});

/** What the script prints on a ready host where the deploy user has every right (spec() above). */
const READY = [
  'user=deploy',
  'uid=1000',
  'java=/usr/bin/java',
  'java_ok=1',
  'java_version=openjdk version "21.0.2" 2024-01-16',
  'tools_missing=',
  'selinux=absent',
  'dir=writable',
  'dir_base=/srv/app',
  'free_kib=5000',
  'lock_held=0',
  'lock_info=',
  'sudo=checked',
  ...Array.from({ length: 11 }, (_, i) => `sudo_${i}=1`),
  'reload_applies_0=1',
  'reload_sudo_0=1',
  'reload_applies_1=0',
  'reload_sudo_1=0',
  'reload_applies_2=1',
  'reload_sudo_2=1',
  'bin_nginx=/usr/sbin/nginx',
  'bin_tee=/usr/bin/tee',
  'bin_systemctl=/usr/bin/systemctl',
  'bin_service=',
  'nginx_test=ok',
  `nginx_test_b64=${Buffer.from('nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\nnginx: configuration file /etc/nginx/nginx.conf test is successful\n').toString('base64')}`,
  'nginx_dump=ok',
  'loaded_0=yes',
  'loaded_1=pattern',
  'nginx_workers=2',
];
const parse = (lines: string[]) => preflightProbe(paths, spec()).parse(lines.join('\n') + '\n');
const without = (key: string) => READY.filter((l) => !l.startsWith(`${key}=`));
const set = (key: string, value: string) => [...without(key), `${key}=${value}`];

describe('preflightProbe parser', () => {
  test('a ready host, every fact typed', () => {
    expect(parse(READY)).toEqual({
      user: 'deploy',
      uid: 1000,
      remoteDir: 'writable',
      base: '/srv/app',
      blocked: [],
      freeKiB: 5000,
      java: { path: '/usr/bin/java', ok: true, version: 'openjdk version "21.0.2" 2024-01-16' },
      missingTools: [],
      sudo: 'checked',
      allowed: Array.from({ length: 11 }, () => true),
      reload: [
        { applies: true, allowed: true },
        { applies: false, allowed: false },
        { applies: true, allowed: true },
      ],
      bins: { nginx: '/usr/sbin/nginx', tee: '/usr/bin/tee', systemctl: '/usr/bin/systemctl', service: '' },
      nginxTest: {
        ok: true,
        output:
          'nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\nnginx: configuration file /etc/nginx/nginx.conf test is successful',
      },
      nginxDump: true,
      loaded: ['yes', 'pattern'],
      nginxWorkers: 2,
      selinux: 'absent',
      networkConnect: '',
      lock: { held: false, info: '' },
    });
  });

  test('the facts that are sometimes absent: java, free space, re-use; blocked paths; missing tools; SELinux; the lock', () => {
    const p = parse([
      ...READY.filter(
        (l) => !/^(java|java_ok|java_version|free_kib|tools_missing|selinux|lock_held|lock_info)=/.test(l),
      ),
      'blocked=/srv/app/run',
      'blocked=/srv/app/.deploy.lock',
      'reuse=/srv/app/releases/r1',
      'tools_missing=flock ss-or-lsof',
      'selinux=Enforcing',
      'selinux_network=off',
      'lock_held=1',
      'lock_info=run 42 by alice at 2026-01-01T00:00:00Z',
    ]);
    expect(p.java).toBeUndefined();
    expect(p.freeKiB).toBeUndefined();
    expect(p.reusable).toBe('/srv/app/releases/r1');
    expect(p.blocked).toEqual(['/srv/app/run', '/srv/app/.deploy.lock']);
    expect(p.missingTools).toEqual(['flock', 'ss-or-lsof']);
    expect([p.selinux, p.networkConnect]).toEqual(['Enforcing', 'off']);
    expect(p.lock).toEqual({ held: true, info: 'run 42 by alice at 2026-01-01T00:00:00Z' });
  });

  test('sudo unused or absent: no rights read', () => {
    const unused = parse(set('sudo', 'unused').filter((l) => !/^(sudo_|reload_)/.test(l)));
    expect([unused.sudo, unused.allowed, unused.reload]).toEqual(['unused', [], []]);
    const absent = parse(set('sudo', 'absent').filter((l) => !/^(sudo_|reload_)/.test(l)));
    expect([absent.sudo, absent.allowed, absent.reload]).toEqual(['absent', [], []]);
  });

  test('a free space that is not a number is none; a java that failed keeps its message', () => {
    expect(parse(set('free_kib', '')).freeKiB).toBeUndefined();
    expect(parse(set('java_ok', '0')).java).toEqual({
      path: '/usr/bin/java',
      ok: false,
      version: 'openjdk version "21.0.2" 2024-01-16',
    });
  });

  test('missing or unknown values are an OutputError naming them', () => {
    const fails = (lines: string[], message: string) =>
      expect(() => parse(lines)).toThrow(new OutputError(message));
    fails(without('dir'), 'the remote script printed no dir=');
    fails(set('dir', 'odd'), 'the preflight script printed dir=odd');
    fails(without('dir_base'), 'the remote script printed no dir_base=');
    fails(without('user'), 'the remote script printed no user=');
    fails(set('uid', 'x'), 'the remote script printed uid=x, not a number');
    fails(without('tools_missing'), 'the remote script printed no tools_missing=');
    fails(set('sudo', 'maybe'), 'the preflight script printed sudo=maybe');
    fails(set('sudo_3', 'yes'), 'the preflight script printed sudo_3=yes');
    fails(without('reload_sudo_2'), 'the remote script printed no reload_sudo_2=');
    fails(without('reload_applies_1'), 'the remote script printed no reload_applies_1=');
    fails(set('loaded_1', 'maybe'), 'the preflight script printed loaded_1=maybe');
    fails(set('nginx_workers', 'x'), 'the remote script printed nginx_workers=x, not a number');
    fails(set('nginx_dump', 'yes'), 'the preflight script printed nginx_dump=yes');
    fails(set('nginx_test', 'yes'), 'the preflight script printed nginx_test=yes');
    fails(without('nginx_test_b64'), 'the remote script printed no nginx_test_b64=');
    fails(set('java_ok', ''), 'the preflight script printed java_ok=');
    fails(without('lock_held'), 'the remote script printed no lock_held=');
    fails(without('selinux'), 'the remote script printed no selinux=');
  });
});
