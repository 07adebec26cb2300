// detectPorts: the whole script, the parser, and the script run against real include and upstream files in a
// sandbox.
import { symlinkSync } from 'node:fs';
import { detectPorts } from '../../src/commands/detect.js';
import { listeningSh, oursSh, pathSetupSh } from '../../src/commands/functions.js';
import { OutputError } from '../../src/commands/types.js';
import { layout } from '../../src/layout.js';
import { LISTENER_PY, SCENARIO, sandbox, type Sandbox, describeInSandbox } from '../support/sandbox.js';
import { body, paths, replaced } from './helpers.js';

const FILES = {
  include: '/etc/nginx/conf.d/service url.inc',
  upstream: '/etc/nginx/conf.d/bluegreen-service-url.conf',
};

describe('detectPorts script', () => {
  test('whole script', () => {
    const cmd = detectPorts(paths, FILES, [8080, 8081]);
    expect(cmd.kind).toBe('detect');
    expect(cmd.title).toBe('detect live port (/etc/nginx/conf.d/service url.inc)');
    expect(cmd.quiet).toBeUndefined();
    expect(body(cmd.script, [pathSetupSh(), oursSh(), listeningSh()])).toMatchInlineSnapshot(`
"read_file() {
  if [ -r "$2" ] && _b=$(base64 -w0 < "$2" 2>/dev/null); then echo "$1=present"; echo "$1_b64=$_b"
  elif [ -e "$2" ]; then echo "$1=unreadable"
  else echo "$1=missing"; fi
}
named_ports() {
  sed -n 's/^[[:space:]]*set[[:space:]][[:space:]]*\\$service_url[[:space:]][[:space:]]*[^;]*:\\([0-9][0-9]*\\)[^0-9;]*;.*$/\\1/p' "$1" 2>/dev/null
  sed -n 's/^[[:space:]]*server[[:space:]][[:space:]]*127\\.0\\.0\\.1:\\([0-9][0-9]*\\).*$/\\1/p' "$2" 2>/dev/null
}
inc='/etc/nginx/conf.d/service url.inc'
up=/etc/nginx/conf.d/bluegreen-service-url.conf
run=/srv/app/run
read_file include "$inc"
if [ -L "$inc" ]; then _l=$(readlink -f -- "$inc") || _l=; echo "include_link_b64=$(printf '%s' "$_l" | base64 -w0)"; fi
read_file upstream "$up"
n=0; for d in /srv/app/releases/*/; do [ -d "$d" ] && n=$((n + 1)); done; echo "releases=$n"
# shellcheck disable=SC2046
set -- 8080 8081 $(named_ports "$inc" "$up")
for p in $(printf '%s\\n' "$@" | sort -un); do
  if listening "$p"; then echo "listening_$p=1"; else echo "listening_$p=0"; fi
  f="$run/$p.pid"
  if [ -r "$f" ] && read -r pid start rel < "$f" && ours "$pid" "$start"; then
    echo "pid_$p=$pid $start $rel"
  fi
  lp=$(listener_pid "$p")
  if [ -n "$lp" ]; then
    echo "listener_$p=$lp $(start_time "$lp") $(tr '\\0' ' ' < "/proc/$lp/cmdline" 2>/dev/null | cut -c 1-200)"
  fi
done
"
`);
  });

  test('other files, ports and remote-dir change only their own lines', () => {
    const other = detectPorts(
      layout("/srv/it's"),
      { include: '/inc', upstream: '/etc/nginx/conf.d/up $x.conf' },
      [9000, 9001],
    ).script;
    expect(other).toBe(
      replaced(detectPorts(paths, FILES, [8080, 8081]).script, {
        "inc='/etc/nginx/conf.d/service url.inc'": 'inc=/inc',
        'up=/etc/nginx/conf.d/bluegreen-service-url.conf': "up='/etc/nginx/conf.d/up $x.conf'",
        'run=/srv/app/run': `run='/srv/it'\\''s/run'`,
        'n=0; for d in /srv/app/releases/*/; do [ -d "$d" ] && n=$((n + 1)); done; echo "releases=$n"': `n=0; for d in '/srv/it'\\''s/releases'/*/; do [ -d "$d" ] && n=$((n + 1)); done; echo "releases=$n"`,
        'set -- 8080 8081 $(named_ports "$inc" "$up")': 'set -- 9000 9001 $(named_ports "$inc" "$up")',
      }),
    );
  });
});

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('detectPorts parser', () => {
  const parse = (stdout: string) => detectPorts(paths, FILES, [8080, 8081]).parse(stdout);
  const FILES_OK = 'include=missing\nupstream=missing\nreleases=0\n';

  test('typical output: both files, releases, ours, a listener with its command line', () => {
    const include = 'set $service_url http://127.0.0.1:8080;\n';
    const upstream = 'upstream bluegreen_x {\n    server 127.0.0.1:8080;\n}\n';
    const d = parse(
      [
        'include=present',
        `include_b64=${b64(include)}`,
        'upstream=present',
        `upstream_b64=${b64(upstream)}`,
        'releases=3',
        'listening_8080=1',
        'pid_8080=4242 987654 r1',
        'listener_8080=4242 987654 java -jar /srv/app/releases/r1/app.jar --server.port=8080 ',
        'listening_8081=0',
        '',
      ].join('\n'),
    );
    expect(d).toEqual({
      include: { state: 'present', text: include },
      upstream: { state: 'present', text: upstream },
      releases: 3,
      ports: new Map([
        [
          8080,
          {
            port: 8080,
            listening: true,
            ours: { pid: 4242, start: '987654', release: 'r1' },
            listener: {
              pid: 4242,
              start: '987654',
              command: 'java -jar /srv/app/releases/r1/app.jar --server.port=8080',
            },
          },
        ],
        [8081, { port: 8081, listening: false }],
      ]),
    });
  });

  test('a symlinked include: the file it resolves to (a path with a space and a newline kept)', () => {
    const to = '/etc/nginx/sites-available/my app\nx.conf';
    const d = parse(`include=missing\ninclude_link_b64=${b64(to)}\nupstream=missing\nreleases=0\n`);
    expect(d.includeLink).toBe(to);
    expect(parse(`include=missing\ninclude_link_b64=\nupstream=missing\nreleases=0\n`).includeLink).toBe('');
    expect('includeLink' in parse(FILES_OK)).toBe(false);
  });

  test('the ports are exactly those with a listening_ line, in the order printed', () => {
    const d = parse(`${FILES_OK}listening_8080=0\nlistening_9000=1\nlistening_8081=0\npid_7000=1 2 r\n`);
    expect([...d.ports.keys()]).toEqual([8080, 9000, 8081]);
    expect(d.ports.get(9000)).toEqual({ port: 9000, listening: true });
    expect(parse(FILES_OK).ports).toEqual(new Map());
    expect(parse(`${FILES_OK}listening_8080=yes\n`).ports.get(8080)?.listening).toBe(false);
    // Only the whole key names a port: no other key that merely contains it.
    expect(parse(`${FILES_OK}was_listening_8080=1\nlistening_8081_old=1\n`).ports).toEqual(new Map());
  });

  test('exact bytes: no final newline, CRLF, UTF-8, an empty file', () => {
    const text = 'set $service_url "http://[::1]:8080/é";\r\n\n# x';
    const d = parse(
      `include=present\ninclude_b64=${b64(text)}\nupstream=present\nupstream_b64=\nreleases=0\n`,
    );
    expect(d.include).toEqual({ state: 'present', text });
    expect(d.upstream).toEqual({ state: 'present', text: '' });
  });

  test('bytes that are not UTF-8 are not text; a byte order mark is kept', () => {
    const latin1 = Buffer.from('set $service_url http://127.0.0.1:8080; # caf\xe9\n', 'latin1').toString(
      'base64',
    );
    const d = parse(`include=present\ninclude_b64=${latin1}\nupstream=missing\nreleases=0\n`);
    expect(d.include).toEqual({ state: 'notText' });
    const bom = '\ufeffset $service_url http://127.0.0.1:8080;\n';
    expect(parse(`include=present\ninclude_b64=${b64(bom)}\nupstream=missing\nreleases=0\n`).include).toEqual(
      {
        state: 'present',
        text: bom,
      },
    );
  });

  test('missing and unreadable files', () => {
    const d = parse('include=unreadable\nupstream=missing\nreleases=0\n');
    expect(d.include).toEqual({ state: 'unreadable' });
    expect(d.upstream).toEqual({ state: 'missing' });
    expect(parse('include=missing\nupstream=unreadable\nreleases=1\n').upstream).toEqual({
      state: 'unreadable',
    });
  });

  test('a missing or unknown key is an OutputError', () => {
    expect(() => parse('')).toThrow(new OutputError('the remote script printed no include='));
    expect(() => parse('include=maybe\nupstream=missing\nreleases=0\n')).toThrow(
      new OutputError('the detect script printed include=maybe'),
    );
    expect(() => parse('include=missing\nreleases=0\n')).toThrow(
      new OutputError('the remote script printed no upstream='),
    );
    expect(() => parse('include=missing\nupstream=gone\nreleases=0\n')).toThrow(
      new OutputError('the detect script printed upstream=gone'),
    );
    expect(() => parse('include=present\nupstream=missing\nreleases=0\n')).toThrow(
      new OutputError('the remote script printed no include_b64='),
    );
    expect(() => parse('include=missing\nupstream=present\nreleases=0\n')).toThrow(
      new OutputError('the remote script printed no upstream_b64='),
    );
    expect(() => parse('include=missing\nupstream=missing\n')).toThrow(
      new OutputError('the remote script printed no releases='),
    );
    expect(() => parse('include=missing\nupstream=missing\nreleases=two\n')).toThrow(
      new OutputError('the remote script printed releases=two, not a number'),
    );
  });

  test('a pid record without a release, and one too short to use', () => {
    expect(parse(`${FILES_OK}listening_8080=1\npid_8080=12 34\n`).ports.get(8080)?.ours).toEqual({
      pid: 12,
      start: '34',
      release: '',
    });
    expect(parse(`${FILES_OK}listening_8080=1\npid_8080=12\n`).ports.get(8080)?.ours).toBeUndefined();
  });

  test('a listener without a visible command line', () => {
    const port = (extra: string) => parse(`${FILES_OK}listening_8081=1\n${extra}`).ports.get(8081);
    expect(port('listener_8081=55 66 \n')?.listener).toEqual({ pid: 55, start: '66', command: '' });
    expect(port('listener_8081=\n')?.listener).toBeUndefined();
    // an empty first word of the command line leaves no leading space
    expect(port('listener_8081=55 66  java -jar x\n')?.listener).toEqual({
      pid: 55,
      start: '66',
      command: 'java -jar x',
    });
  });
});

describeInSandbox('detectPorts run by a real sh against real files (sandbox)', () => {
  let box: Sandbox;
  beforeEach(() => {
    box = sandbox();
  });
  afterEach(() => box.cleanup());

  const INC = 'nginx/service url.inc';
  const UP = 'nginx/bluegreen-service-url.conf';

  async function detect(include: string | undefined, extra = '', ports: [number, number] = [8080, 8081]) {
    if (include !== undefined) box.file(INC, include);
    const cmd = detectPorts(
      layout(box.path('app')),
      { include: box.path(INC), upstream: box.path(UP) },
      ports,
    );
    box.file('detect.sh', cmd.script);
    const r = await box.run([SCENARIO, extra, 'sh detect.sh'].join('\n'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return { detection: cmd.parse(r.stdout), stdout: r.stdout };
  }

  test("the include's exact bytes; nothing listens", async () => {
    const text = '# managed\nset $service_url http://127.0.0.1:8081;\n';
    const { detection, stdout } = await detect(text);
    expect(stdout).toBe(
      `include=present\ninclude_b64=${b64(text)}\nupstream=missing\nreleases=0\nlistening_8080=0\nlistening_8081=0\n`,
    );
    expect(detection.include).toEqual({ state: 'present', text });
    expect(detection.upstream).toEqual({ state: 'missing' });
  });

  test('byte for byte: CRLF, UTF-8, trailing blank lines, no final newline, an empty file', async () => {
    for (const text of ['set $service_url http://127.0.0.1:8080;\r\n# é ü\n\n\n', '# no newline', '']) {
      expect((await detect(text)).detection.include).toEqual({ state: 'present', text });
    }
  });

  test('every port the include names is probed too, once, in order', async () => {
    const { detection, stdout } = await detect(
      '  set   $service_url\thttp://localhost:9000/ ;  # x\nset $service_url http://[::1]:8080;\n# set $service_url http://127.0.0.1:7000;\nset $other http://127.0.0.1:7001;\n',
    );
    expect(stdout.split('\n').filter((l) => l.startsWith('listening_'))).toEqual([
      'listening_8080=0',
      'listening_8081=0',
      'listening_9000=0',
    ]);
    expect([...detection.ports.keys()]).toEqual([8080, 8081, 9000]);
  });

  test('with an upstream file: its exact bytes, and the ports of its servers', async () => {
    const upstream =
      '# Written by the blue/green deploy action\nupstream bluegreen_service_url {\n    server 127.0.0.1:8082;\n    server 127.0.0.1:8083 backup;\n}\n';
    box.file(UP, upstream);
    box.file('app/releases/r1/app.jar', 'x');
    box.file('app/releases/r2/.keep', '');
    box.file('app/releases/not-a-release', '');
    const { detection, stdout } = await detect('set $service_url http://bluegreen_service_url;\n');
    expect(detection.upstream).toEqual({ state: 'present', text: upstream });
    expect(detection.include).toEqual({
      state: 'present',
      text: 'set $service_url http://bluegreen_service_url;\n',
    });
    expect(detection.releases).toBe(2);
    expect(stdout).toContain(
      '\nreleases=2\nlistening_8080=0\nlistening_8081=0\nlistening_8082=0\nlistening_8083=0\n',
    );
    expect([...detection.ports.keys()]).toEqual([8080, 8081, 8082, 8083]);
  });

  test('a symlinked include: read through the link, and the file it points to named', async () => {
    const text = 'upstream app {\n    server 127.0.0.1:8080;\n}\n';
    box.file('nginx/available/app.conf', text);
    box.file('nginx/enabled/.keep', '');
    symlinkSync('../available/app.conf', box.path('nginx/enabled/app.conf'));
    symlinkSync('enabled/app.conf', box.path(INC)); // a chain of links
    const { detection, stdout } = await detect(undefined);
    expect(stdout).toBe(
      `include=present\ninclude_b64=${b64(text)}\ninclude_link_b64=${b64(box.path('nginx/available/app.conf'))}\nupstream=missing\nreleases=0\nlistening_8080=0\nlistening_8081=0\n`,
    );
    expect(detection.include).toEqual({ state: 'present', text });
    expect(detection.includeLink).toBe(box.path('nginx/available/app.conf'));
  });

  test('a dangling link: missing, and where it points', async () => {
    box.file('nginx/.keep', '');
    symlinkSync('gone/app.conf', box.path(INC));
    const { detection } = await detect(undefined);
    expect(detection.include).toEqual({ state: 'missing' });
    expect(detection.includeLink).toBe('');
    symlinkSync('app.conf', box.path('nginx/b.conf'));
    box.file(
      'detect2.sh',
      detectPorts(
        layout(box.path('app')),
        { include: box.path('nginx/b.conf'), upstream: box.path(UP) },
        [8080, 8081],
      ).script,
    );
    const r = await box.run('sh detect2.sh');
    expect(r.stdout).toContain(`include=missing\ninclude_link_b64=${b64(box.path('nginx/app.conf'))}\n`);
  });

  test('missing files, and an unreadable include (mode 000: no CAP_DAC_OVERRIDE in the sandbox)', async () => {
    expect((await detect(undefined)).stdout).toBe(
      'include=missing\nupstream=missing\nreleases=0\nlistening_8080=0\nlistening_8081=0\n',
    );
    box.file(INC, 'set $service_url http://127.0.0.1:9000;\n', 0o000);
    box.file(UP, 'upstream x {\n    server 127.0.0.1:9001;\n}\n', 0o000);
    const { detection, stdout } = await detect(undefined);
    expect(stdout).toBe(
      'include=unreadable\nupstream=unreadable\nreleases=0\nlistening_8080=0\nlistening_8081=0\n',
    );
    expect(detection.include).toEqual({ state: 'unreadable' });
    expect(detection.upstream).toEqual({ state: 'unreadable' });
  });

  test('a listener we started (pid file, same start time) and its command line', async () => {
    box.file('listener.py', LISTENER_PY);
    const { stdout, detection } = await detect(
      'set $service_url http://127.0.0.1:8080;\n',
      [
        'spawn_app app.rec /usr/bin/python3 listener.py 8080 plain ready',
        'while [ ! -e ready ]; do sleep 0.01; done',
        'mkdir -p app/run',
        'echo "$pid $start r1" > app/run/8080.pid',
        'echo "$pid 1$start r0" > app/run/8081.pid',
        'echo "app=$pid $start"',
      ].join('\n'),
    );
    const [pid, start] = /^app=(\d+) (\d+)$/m.exec(stdout)?.slice(1) ?? [];
    expect(detection.ports.get(8080)).toEqual({
      port: 8080,
      listening: true,
      ours: { pid: Number(pid), start, release: 'r1' },
      listener: { pid: Number(pid), start, command: '/usr/bin/python3 listener.py 8080 plain ready' },
    });
    // a pid file whose start time differs names a recycled pid: not ours
    expect(detection.ports.get(8081)).toEqual({ port: 8081, listening: false });
  });
});
