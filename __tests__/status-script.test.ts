// readStatus (mode status's one remote script): the whole script per supervisor, and its parser.
import { detectPorts } from '../src/commands/detect.js';
import { readStatus, type StatusSpec } from '../src/commands/status.js';
import { OutputError } from '../src/commands/types.js';
import { layout } from '../src/layout.js';
import { body, paths, replaced } from './commands/helpers.js';

const FILES = {
  include: '/etc/nginx/conf.d/service url.inc',
  upstream: '/etc/nginx/conf.d/bluegreen-service-url.conf',
};
const SPEC: StatusSpec = { files: FILES, ports: [8080, 8081], supervisor: 'none', serviceName: 'app' };
const detectScript = () => detectPorts(paths, FILES, [8080, 8081]).script.trimEnd();

describe('readStatus script', () => {
  test('whole script without a supervisor: detection, clock, lock, history', () => {
    const cmd = readStatus(paths, SPEC);
    expect(cmd.kind).toBe('status');
    expect(cmd.title).toBe('read the status of /srv/app');
    expect(cmd.quiet).toBeUndefined();
    expect(cmd.waitMs).toBeUndefined();
    expect(body(cmd.script, [detectScript()])).toMatchInlineSnapshot(`
"echo "btime=$(awk '$1 == "btime" { print $2 }' /proc/stat)"
echo "clk_tck=$(getconf CLK_TCK)"
lock_state() {
  [ -e "$1" ] || { echo lock=none; return 0; }
  _di=$(stat -c "%d %i" -- "$1" 2>/dev/null) && [ -r /proc/locks ] || { echo lock=unknown; return 0; }
  _d=\${_di% *}
  _k=$(printf "%02x:%02x:%s" $(((_d >> 8) & 0xfff)) $(((_d & 0xff) | ((_d >> 12) & 0xfff00))) "\${_di#* }")
  if ! flock_on "$_k"; then echo lock=free; return 0; fi
  echo lock=held
  echo "lock_info_b64=$(head -c 1000 -- "$2" 2>/dev/null | base64 -w0)"
}
flock_on() {
  awk -v k="$1" '$2 == "FLOCK" && $6 == k { f = 1 } END { exit !f }' /proc/locks && return 0
  for _f in /proc/[0-9]*/fdinfo; do
    [ -r "$_f" ] && grep -qs "^lock:.* FLOCK .* $1 " "$_f"/* && return 0
  done
  return 1
}
lock_state /srv/app/.deploy.lock /srv/app/.deploy.lock.info
( h=/srv/app/history.jsonl
if [ -r "$h" ]; then echo history=present; echo "history_b64=$(base64 -w0 < "$h")"
elif [ -e "$h" ]; then echo "$h exists but the deploy user cannot read it" >&2; exit 1
else echo history=missing; fi
cd -- /srv/app/releases 2>/dev/null || exit 0
ls -1tr | while IFS= read -r r; do
  [ -d "$r" ] || continue
  if [ -f "$r/app.jar" ] && [ -s "$r/app.jar.sha256" ]; then echo "release=$r complete"; else echo "release=$r partial"; fi
done
) || echo history_error=1
"
`);
  });

  test("supervisor systemd: each port's unit instance, read with plain systemctl", () => {
    const cmd = readStatus(paths, { ...SPEC, supervisor: 'systemd', serviceName: 'shop-api' });
    expect(body(cmd.script, [detectScript()])).toMatchInlineSnapshot(`
"echo "btime=$(awk '$1 == "btime" { print $2 }' /proc/stat)"
echo "clk_tck=$(getconf CLK_TCK)"
lock_state() {
  [ -e "$1" ] || { echo lock=none; return 0; }
  _di=$(stat -c "%d %i" -- "$1" 2>/dev/null) && [ -r /proc/locks ] || { echo lock=unknown; return 0; }
  _d=\${_di% *}
  _k=$(printf "%02x:%02x:%s" $(((_d >> 8) & 0xfff)) $(((_d & 0xff) | ((_d >> 12) & 0xfff00))) "\${_di#* }")
  if ! flock_on "$_k"; then echo lock=free; return 0; fi
  echo lock=held
  echo "lock_info_b64=$(head -c 1000 -- "$2" 2>/dev/null | base64 -w0)"
}
flock_on() {
  awk -v k="$1" '$2 == "FLOCK" && $6 == k { f = 1 } END { exit !f }' /proc/locks && return 0
  for _f in /proc/[0-9]*/fdinfo; do
    [ -r "$_f" ] && grep -qs "^lock:.* FLOCK .* $1 " "$_f"/* && return 0
  done
  return 1
}
lock_state /srv/app/.deploy.lock /srv/app/.deploy.lock.info
sshow() { systemctl "$@"; }
unit_state() {
  if _o=$(sshow show -p LoadState -p ActiveState -p UnitFileState -p MainPID -- "$2" 2>&1); then
    printf "%s\\n" "$_o" | sed "s/^/unit_$1_/"
  else
    echo "unit_$1_error=$(printf "%s" "$_o" | tr "\\n" " " | cut -c 1-200)"
  fi
}
unit_state 8080 shop-api@8080.service
unit_state 8081 shop-api@8081.service
( h=/srv/app/history.jsonl
if [ -r "$h" ]; then echo history=present; echo "history_b64=$(base64 -w0 < "$h")"
elif [ -e "$h" ]; then echo "$h exists but the deploy user cannot read it" >&2; exit 1
else echo history=missing; fi
cd -- /srv/app/releases 2>/dev/null || exit 0
ls -1tr | while IFS= read -r r; do
  [ -d "$r" ] || continue
  if [ -f "$r/app.jar" ] && [ -s "$r/app.jar.sha256" ]; then echo "release=$r complete"; else echo "release=$r partial"; fi
done
) || echo history_error=1
"
`);
  });

  test('supervisor systemd-user: systemctl --user, the user manager found through XDG_RUNTIME_DIR', () => {
    const cmd = readStatus(paths, { ...SPEC, supervisor: 'systemd-user' });
    expect(body(cmd.script, [detectScript()])).toMatchInlineSnapshot(`
"echo "btime=$(awk '$1 == "btime" { print $2 }' /proc/stat)"
echo "clk_tck=$(getconf CLK_TCK)"
lock_state() {
  [ -e "$1" ] || { echo lock=none; return 0; }
  _di=$(stat -c "%d %i" -- "$1" 2>/dev/null) && [ -r /proc/locks ] || { echo lock=unknown; return 0; }
  _d=\${_di% *}
  _k=$(printf "%02x:%02x:%s" $(((_d >> 8) & 0xfff)) $(((_d & 0xff) | ((_d >> 12) & 0xfff00))) "\${_di#* }")
  if ! flock_on "$_k"; then echo lock=free; return 0; fi
  echo lock=held
  echo "lock_info_b64=$(head -c 1000 -- "$2" 2>/dev/null | base64 -w0)"
}
flock_on() {
  awk -v k="$1" '$2 == "FLOCK" && $6 == k { f = 1 } END { exit !f }' /proc/locks && return 0
  for _f in /proc/[0-9]*/fdinfo; do
    [ -r "$_f" ] && grep -qs "^lock:.* FLOCK .* $1 " "$_f"/* && return 0
  done
  return 1
}
lock_state /srv/app/.deploy.lock /srv/app/.deploy.lock.info
XDG_RUNTIME_DIR=\${XDG_RUNTIME_DIR:-/run/user/$(id -u)}; export XDG_RUNTIME_DIR
sshow() { systemctl --user "$@"; }
unit_state() {
  if _o=$(sshow show -p LoadState -p ActiveState -p UnitFileState -p MainPID -- "$2" 2>&1); then
    printf "%s\\n" "$_o" | sed "s/^/unit_$1_/"
  else
    echo "unit_$1_error=$(printf "%s" "$_o" | tr "\\n" " " | cut -c 1-200)"
  fi
}
unit_state 8080 app@8080.service
unit_state 8081 app@8081.service
( h=/srv/app/history.jsonl
if [ -r "$h" ]; then echo history=present; echo "history_b64=$(base64 -w0 < "$h")"
elif [ -e "$h" ]; then echo "$h exists but the deploy user cannot read it" >&2; exit 1
else echo history=missing; fi
cd -- /srv/app/releases 2>/dev/null || exit 0
ls -1tr | while IFS= read -r r; do
  [ -d "$r" ] || continue
  if [ -f "$r/app.jar" ] && [ -s "$r/app.jar.sha256" ]; then echo "release=$r complete"; else echo "release=$r partial"; fi
done
) || echo history_error=1
"
`);
  });

  test('remote-dir, files and ports change only their own lines', () => {
    const other = readStatus(layout("/srv/it's"), {
      ...SPEC,
      files: { include: '/inc', upstream: '/up.conf' },
      ports: [9000, 9001],
    }).script;
    const detect = detectPorts(layout("/srv/it's"), { include: '/inc', upstream: '/up.conf' }, [9000, 9001]);
    expect(other).toBe(
      replaced(readStatus(paths, SPEC).script, {
        [detectScript()]: detect.script.trimEnd(),
        'lock_state /srv/app/.deploy.lock /srv/app/.deploy.lock.info': `lock_state '/srv/it'\\''s/.deploy.lock' '/srv/it'\\''s/.deploy.lock.info'`,
        '( h=/srv/app/history.jsonl': `( h='/srv/it'\\''s/history.jsonl'`,
        'cd -- /srv/app/releases 2>/dev/null || exit 0': `cd -- '/srv/it'\\''s/releases' 2>/dev/null || exit 0`,
      }),
    );
  });
});

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('readStatus parser', () => {
  const parse = (stdout: string, spec: Partial<StatusSpec> = {}) =>
    readStatus(paths, { ...SPEC, ...spec }).parse(stdout);
  const DETECTED = 'include=missing\nupstream=missing\nreleases=2\nlistening_8080=1\npid_8080=42 12345 r1\n';
  const CLOCK = 'btime=1704067200\nclk_tck=100\n';
  const NO_HISTORY = 'history=missing\n';

  test('a typical host: detection as the deploy reads it, the clock, the lock held with its holder, the history', () => {
    const history = '{"v":1,"event":"start","id":"a","mode":"deploy","started":"t"}\n';
    const r = parse(
      [
        DETECTED + CLOCK + 'lock=held',
        `lock_info_b64=${b64('run 9 by alice\nsince  2024\n')}`,
        'history=present',
        `history_b64=${b64(history)}`,
        'release=r1 complete',
        'release=r2 partial',
        '',
      ].join('\n'),
    );
    expect(r).toEqual({
      detection: detectPorts(paths, FILES, [8080, 8081]).parse(DETECTED),
      bootTime: 1704067200,
      ticksPerSecond: 100,
      lock: { state: 'held', holder: 'run 9 by alice since 2024' },
      units: new Map(),
      history: {
        text: history,
        releases: [
          { id: 'r1', complete: true },
          { id: 'r2', complete: false },
        ],
      },
    });
    expect(r.detection.ports.get(8080)?.ours).toEqual({ pid: 42, start: '12345', release: 'r1' });
  });

  test('the lock free, absent (never deployed), held with an empty info file, or not comparable', () => {
    const lock = (lines: string) => parse(DETECTED + CLOCK + lines + NO_HISTORY).lock;
    expect(lock('lock=free\n')).toEqual({ state: 'free' });
    expect(lock('lock=none\n')).toEqual({ state: 'none' });
    expect(lock('lock=held\nlock_info_b64=\n')).toEqual({ state: 'held', holder: '' });
    expect(lock('lock=held\n')).toEqual({ state: 'held', holder: '' });
    expect(lock('lock=unknown\n')).toEqual({
      state: 'unknown',
      why: 'cannot compare /srv/app/.deploy.lock with /proc/locks (stat or /proc/locks unreadable)',
    });
    expect(() => lock('lock=maybe\n')).toThrow(new OutputError('the status script printed lock=maybe'));
    expect(() => lock('')).toThrow(new OutputError('the remote script printed no lock='));
  });

  test('the clock is required and numeric', () => {
    expect(() => parse(`${DETECTED}clk_tck=100\nlock=free\n${NO_HISTORY}`)).toThrow(
      new OutputError('the remote script printed no btime='),
    );
    expect(() => parse(`${DETECTED}btime=1\nclk_tck=\nlock=free\n${NO_HISTORY}`)).toThrow(
      new OutputError('the remote script printed clk_tck=, not a number'),
    );
  });

  test('an unreadable history is said, not thrown', () => {
    expect(parse(`${DETECTED}${CLOCK}lock=free\nhistory_error=1\n`).history).toEqual({
      error: '/srv/app/history.jsonl exists but the deploy user cannot read it',
    });
  });

  test('units: each port’s properties, a failed systemctl’s words, an instance without a unit file', () => {
    const units = parse(
      [
        DETECTED + CLOCK + 'lock=free',
        'unit_8080_LoadState=loaded',
        'unit_8080_ActiveState=active',
        'unit_8080_UnitFileState=enabled',
        'unit_8080_MainPID=42',
        'unit_8081_error=Failed to connect to bus: No such file or directory ',
        NO_HISTORY,
      ].join('\n'),
      { supervisor: 'systemd', serviceName: 'shop' },
    ).units;
    expect(units).toEqual(
      new Map([
        [
          8080,
          {
            unit: 'shop@8080.service',
            loadState: 'loaded',
            activeState: 'active',
            unitFileState: 'enabled',
            mainPid: 42,
          },
        ],
        [8081, { unit: 'shop@8081.service', error: 'Failed to connect to bus: No such file or directory' }],
      ]),
    );
    const notFound = parse(
      `${DETECTED}${CLOCK}lock=free\nunit_8080_LoadState=not-found\nunit_8080_ActiveState=inactive\nunit_8080_UnitFileState=\nunit_8080_MainPID=x\nunit_8081_error=\n${NO_HISTORY}`,
      { supervisor: 'systemd-user' },
    ).units;
    expect(notFound).toEqual(
      new Map([
        [
          8080,
          {
            unit: 'app@8080.service',
            loadState: 'not-found',
            activeState: 'inactive',
            unitFileState: '',
            mainPid: 0,
          },
        ],
        [8081, { unit: 'app@8081.service', error: 'systemctl show failed' }],
      ]),
    );
    expect(() =>
      parse(`${DETECTED}${CLOCK}lock=free\nunit_8081_error=x\n${NO_HISTORY}`, { supervisor: 'systemd' }),
    ).toThrow(new OutputError('the remote script printed no unit_8080_LoadState='));
  });

  test('without a supervisor, unit lines are not read', () => {
    expect(parse(`${DETECTED}${CLOCK}lock=free\nunit_8080_error=x\n${NO_HISTORY}`).units).toEqual(new Map());
  });
});
