// detectPorts: the whole script, the parser, and the script run against real include files in a sandbox.
import { detectPorts } from '../../src/commands/detect.js';
import { LISTENING, OURS, PATH_SETUP } from '../../src/commands/functions.js';
import { OutputError } from '../../src/commands/types.js';
import { layout } from '../../src/layout.js';
import { LISTENER_PY, SCENARIO, sandbox, type Sandbox, describeInSandbox } from '../support/sandbox.js';
import { body, paths } from './helpers.js';

describe('detectPorts script', () => {
  test('whole script', () => {
    const cmd = detectPorts(paths, '/etc/nginx/conf.d/service url.inc', [8080, 8081]);
    expect(cmd.kind).toBe('detect');
    expect(cmd.title).toBe('detect live port (/etc/nginx/conf.d/service url.inc)');
    expect(cmd.quiet).toBeUndefined();
    expect(body(cmd.script, [PATH_SETUP, OURS, LISTENING])).toMatchInlineSnapshot(`
"inc='/etc/nginx/conf.d/service url.inc'
ip=
if [ -r "$inc" ]; then
  echo include=present
  ip=$(sed -n 's/^[[:space:]]*set[[:space:]][[:space:]]*\\$service_url[[:space:]][[:space:]]*[^;]*:\\([0-9][0-9]*\\)[^0-9;]*;.*$/\\1/p' "$inc" | head -n 1)
  echo "include_port=$ip"
elif [ -e "$inc" ]; then echo include=unreadable
else echo include=missing
fi
set -- 8080 8081
case " $* " in *" $ip "*) ;; *) [ -n "$ip" ] && set -- "$@" "$ip" ;; esac
for p in "$@"; do
  if listening "$p"; then echo "listening_$p=1"; else echo "listening_$p=0"; fi
  f=/srv/app/run/"$p".pid
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
});

describe('detectPorts parser', () => {
  const parse = (stdout: string) => detectPorts(paths, '/inc', [8080, 8081]).parse(stdout);

  test('typical output: include port, ours, a listener with its command line', () => {
    const d = parse(
      [
        'include=present',
        'include_port=8080',
        'listening_8080=1',
        'pid_8080=4242 987654 r1',
        'listener_8080=4242 987654 java -jar /srv/app/releases/r1/app.jar --server.port=8080 ',
        'listening_8081=0',
        '',
      ].join('\n'),
    );
    expect(d.include).toBe('present');
    expect(d.includePort).toBe(8080);
    expect([...d.ports.entries()]).toEqual([
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
    ]);
  });

  test('an include port outside the candidates is reported too', () => {
    const d = parse(
      'include=present\ninclude_port=9000\nlistening_8080=0\nlistening_8081=0\nlistening_9000=1\n',
    );
    expect(d.includePort).toBe(9000);
    expect([...d.ports.keys()]).toEqual([8080, 8081, 9000]);
    expect(d.ports.get(9000)).toEqual({ port: 9000, listening: true });
  });

  test('an include port that is a candidate is not listed twice', () => {
    const d = parse('include=present\ninclude_port=8081\nlistening_8081=1\n');
    expect([...d.ports.keys()]).toEqual([8080, 8081]);
    expect(d.ports.get(8081)).toEqual({ port: 8081, listening: true });
    expect(d.ports.get(8080)).toEqual({ port: 8080, listening: false });
  });

  test('no include port, missing and unreadable includes', () => {
    expect(parse('include=present\ninclude_port=\n')).toEqual({
      include: 'present',
      includePort: undefined,
      ports: new Map([
        [8080, { port: 8080, listening: false }],
        [8081, { port: 8081, listening: false }],
      ]),
    });
    expect(parse('include=missing\n').include).toBe('missing');
    expect(parse('include=unreadable\n').include).toBe('unreadable');
    expect(parse('include=missing\n').includePort).toBeUndefined();
  });

  test('no include line, or an unknown include state, is an OutputError', () => {
    expect(() => parse('')).toThrow(new OutputError('the remote script printed no include='));
    expect(() => parse('include=maybe\n')).toThrow(
      new OutputError('the detect script printed include=maybe'),
    );
  });

  test('garbage include ports are ignored', () => {
    for (const text of ['abc', '0', '-5', '80.5']) {
      const d = parse(`include=present\ninclude_port=${text}\n`);
      expect(d.includePort).toBeUndefined();
      expect([...d.ports.keys()]).toEqual([8080, 8081]);
    }
  });

  test('a pid record without a release, and one too short to use', () => {
    expect(parse('include=missing\npid_8080=12 34\n').ports.get(8080)?.ours).toEqual({
      pid: 12,
      start: '34',
      release: '',
    });
    expect(parse('include=missing\npid_8080=12\n').ports.get(8080)?.ours).toBeUndefined();
  });

  test('a listener without a visible command line', () => {
    expect(parse('include=missing\nlistener_8081=55 66 \n').ports.get(8081)?.listener).toEqual({
      pid: 55,
      start: '66',
      command: '',
    });
    expect(parse('include=missing\nlistener_8081=\n').ports.get(8081)?.listener).toBeUndefined();
    // an empty first word of the command line leaves no leading space
    expect(parse('include=missing\nlistener_8081=55 66  java -jar x\n').ports.get(8081)?.listener).toEqual({
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

  async function detect(include: string | undefined, extra = '', ports: [number, number] = [8080, 8081]) {
    const inc = box.path('nginx/service url.inc');
    if (include !== undefined) box.file('nginx/service url.inc', include);
    const cmd = detectPorts(layout(box.path('app')), inc, ports);
    box.file('detect.sh', cmd.script);
    const r = await box.run([SCENARIO, extra, 'sh detect.sh'].join('\n'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return { detection: cmd.parse(r.stdout), stdout: r.stdout };
  }

  test('the port of the include; nothing listens', async () => {
    const { detection, stdout } = await detect('# managed\nset $service_url http://127.0.0.1:8081;\n');
    expect(stdout).toBe('include=present\ninclude_port=8081\nlistening_8080=0\nlistening_8081=0\n');
    expect(detection.includePort).toBe(8081);
  });

  test('spacing, another host, a path after the port', async () => {
    expect(
      (await detect('  set   $service_url\thttp://localhost:9000/ ;  # x\n')).detection.includePort,
    ).toBe(9000);
    expect((await detect('set $service_url http://[::1]:8080;')).detection.includePort).toBe(8080);
  });

  test('an include port outside the candidates is probed too', async () => {
    const { stdout } = await detect('set $service_url http://10.0.0.5:9000;\n');
    expect(stdout).toBe(
      'include=present\ninclude_port=9000\nlistening_8080=0\nlistening_8081=0\nlistening_9000=0\n',
    );
  });

  test('the first set line counts; a commented or other variable does not', async () => {
    const { detection } = await detect(
      '# set $service_url http://127.0.0.1:7000;\nset $other http://127.0.0.1:7001;\nset $service_url http://127.0.0.1:8080;\nset $service_url http://127.0.0.1:8081;\n',
    );
    expect(detection.includePort).toBe(8080);
  });

  test('missing, unreadable, no set line', async () => {
    expect((await detect(undefined)).stdout).toBe('include=missing\nlistening_8080=0\nlistening_8081=0\n');
    box.file('nginx/service url.inc', 'set $service_url http://127.0.0.1:8081;\n', 0o000);
    expect((await detect(undefined)).stdout).toBe('include=unreadable\nlistening_8080=0\nlistening_8081=0\n');
    expect((await detect('# nothing here\n')).stdout).toBe(
      'include=present\ninclude_port=\nlistening_8080=0\nlistening_8081=0\n',
    );
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
