// The nginx layouts a host may have (issue 10), from detection to the files each routing change writes and to
// what status says: the set line (also without a scheme), the user's own upstream block, an include that is a
// symlink; and every layout that is not understood refused with the file and the forms named.
import type { Detection, FileRead } from '../src/commands/detect.js';
import { UNDERSTOOD_FORMS } from '../src/nginx-include.js';
import { upstreamText } from '../src/nginx-upstream.js';
import { HostStateError, planPorts } from '../src/plan.js';
import { nginxStatus } from '../src/status-nginx.js';
import { bakeEndChanges, switchBackChanges, switchChanges } from '../src/steps/routing.js';

const INC = '/etc/nginx/sites-enabled/app.conf';
const REAL = '/etc/nginx/sites-available/app.conf';
const UP = '/etc/nginx/sites-enabled/bluegreen-app.conf';
const FORMS = `the forms understood are: ${UNDERSTOOD_FORMS}`;

const BLOCK = (port: number) =>
  `# the app\nupstream app {\n    zone app 64k;\n    server 127.0.0.1:${port} max_fails=3 fail_timeout=10s;\n    keepalive 16;\n}\n`;
const BAKING = `# the app\nupstream app {\n    zone app 64k;\n    server 127.0.0.1:8081 max_fails=3 fail_timeout=10s;\n    server 127.0.0.1:8080 max_fails=3 fail_timeout=10s backup;\n    keepalive 16;\n}\n`;

function detection(include: FileRead, extra: Partial<Detection> = {}): Detection {
  return {
    include,
    upstream: { state: 'missing' },
    releases: 1,
    ports: new Map([
      [8080, { port: 8080, listening: true, ours: { pid: 11, start: '100', release: 'r1' } }],
      [8081, { port: 8081, listening: false }],
    ]),
    ...extra,
  };
}
const text = (t: string): FileRead => ({ state: 'present', text: t });
const plan = (d: Detection, bake = false) =>
  planPorts(d, { blue: 8080, green: 8081, includePath: INC, upstreamPath: UP, bake });

describe("the user's own upstream block", () => {
  test('routes to its server entry; the plan keeps the block and no file of ours', () => {
    const p = plan(detection(text(BLOCK(8080))));
    expect([p.live, p.idle, p.routing.include.target, p.routing.include.block?.name]).toEqual([
      8080,
      8081,
      undefined,
      'app',
    ]);
  });

  test('bake window: the backup entry is added, dropped after the window; a switch back is the exact bytes', () => {
    const p = plan(detection(text(BLOCK(8080))), true);
    expect(switchChanges(p, true)).toEqual([{ path: INC, content: BAKING, expected: BLOCK(8080) }]);
    expect(bakeEndChanges(p)).toEqual([{ path: INC, content: BLOCK(8081), expected: BAKING }]);
    expect(switchBackChanges(p, true)).toEqual([{ path: INC, content: BLOCK(8080), expected: BAKING }]);
  });

  test('no bake window: only the port changes, and back', () => {
    const p = plan(detection(text(BLOCK(8080))));
    expect(switchChanges(p, false)).toEqual([{ path: INC, content: BLOCK(8081), expected: BLOCK(8080) }]);
    expect(switchBackChanges(p, false)).toEqual([{ path: INC, content: BLOCK(8080), expected: BLOCK(8081) }]);
  });

  test('a runner lost in the window: the backup entry is the live one, the new switch moves both', () => {
    const d = detection(text(BAKING), {
      ports: new Map([
        [8080, { port: 8080, listening: true, ours: { pid: 11, start: '100', release: 'r1' } }],
        [8081, { port: 8081, listening: true, ours: { pid: 12, start: '100', release: 'r2' } }],
      ]),
    });
    const p = plan(d, true);
    expect([p.live, p.idle]).toEqual([8081, 8080]);
    const moved = BAKING.replace('1:8081 max', '1:X max')
      .replace('1:8080 max', '1:8081 max')
      .replace('X', '8080');
    expect(switchChanges(p, true)).toEqual([{ path: INC, content: moved, expected: BAKING }]);
    expect(bakeEndChanges(p)).toEqual([{ path: INC, content: BLOCK(8080), expected: moved }]);
  });

  test('a first deploy onto the port the block names: nothing to write', () => {
    const d = detection(text(BLOCK(8080)), { releases: 0, ports: new Map() });
    const p = plan(d, true);
    expect([p.live, p.idle, switchChanges(p, true), bakeEndChanges(p)]).toEqual([undefined, 8080, [], []]);
  });

  test.each(['ip_hash', 'hash $remote_addr', 'random'])(
    'with %s the bake window is refused before anything changes; bake-time 0 works',
    (method) => {
      const t = BLOCK(8080).replace('    zone', `    ${method};\n    zone`);
      const word = method.split(' ')[0];
      expect(() => plan(detection(text(t)), true)).toThrow(
        new HostStateError(
          `${INC}: upstream app uses ${word}, with which nginx allows no backup server, but the bake window keeps the old version as the backup: set bake-time: 0 (or drop ${word}); nothing was changed`,
        ),
      );
      expect(switchChanges(plan(detection(text(t))), false)).toEqual([
        { path: INC, content: t.replace(':8080', ':8081'), expected: t },
      ]);
    },
  );
});

describe('layouts not understood: the file and the forms named, nothing changed', () => {
  test.each([
    [
      'two upstream blocks',
      'upstream a { server 127.0.0.1:8080; }\nupstream b { server 127.0.0.1:8081; }\n',
      `${INC}: has 2 upstream blocks (a, b); ${FORMS}. Nothing was changed`,
    ],
    [
      'a server on another host',
      'upstream a { server 10.1.2.3:8080; }\n',
      `${INC}: upstream a has "server 10.1.2.3:8080", which is not on this host (127.0.0.1, localhost or [::1]); ${FORMS}. Nothing was changed`,
    ],
    [
      'a server on another port',
      'upstream a { server localhost:9090; }\n',
      `${INC}: upstream a has "server localhost:9090", on port 9090: neither blue-port nor green-port (8080, 8081); ${FORMS}. Nothing was changed`,
    ],
    [
      'a server line it cannot read',
      'upstream a { server unix:/run/app.sock; }\n',
      `${INC}: upstream a has a server entry the action cannot read: "server unix:/run/app.sock"; ${FORMS}. Nothing was changed`,
    ],
    [
      'a set line and an upstream block',
      'upstream a { server 127.0.0.1:8080; }\nset $service_url http://a;\n',
      `${INC} has both a set $service_url line and an upstream block, so where it routes is ambiguous; ${FORMS}. Nothing was changed`,
    ],
    [
      'proxy_pass to a fixed address',
      'location / { proxy_pass http://127.0.0.1:8080; }\n',
      `cannot recognise where ${INC} routes to; ${FORMS}. Nothing was changed`,
    ],
  ])('%s', (_what, t, message) => {
    expect(() => plan(detection(text(t)))).toThrow(new HostStateError(message));
  });

  test('a blank include on a host deployed to', () => {
    expect(() => plan(detection(text('# nothing\n')))).toThrow(
      new HostStateError(`cannot recognise where ${INC} routes to; ${FORMS}. Nothing was changed`),
    );
  });
});

describe('an include that is a symlink', () => {
  test('the file it points to is written, and the link is checked in the switch', () => {
    const d = detection(text('set $service_url http://127.0.0.1:8080;\n'), { includeLink: REAL });
    const p = plan(d);
    expect(p.routing.include).toEqual({
      path: REAL,
      link: INC,
      text: 'set $service_url http://127.0.0.1:8080;\n',
      target: { port: 8080, address: '127.0.0.1:8080', before: 'set $service_url http://', after: ';\n' },
    });
    expect(switchChanges(p, false)).toEqual([
      {
        path: REAL,
        link: INC,
        content: 'set $service_url http://127.0.0.1:8081;\n',
        expected: 'set $service_url http://127.0.0.1:8080;\n',
      },
    ]);
    // With a bake window, our group file is beside the configured include (the link), as it always was.
    expect(switchChanges(p, true)).toEqual([
      {
        path: UP,
        content: upstreamText('bluegreen_app', { primary: 8081, backup: 8080 }),
        expected: undefined,
        mustLoad: true,
      },
      {
        path: REAL,
        link: INC,
        content: 'set $service_url http://bluegreen_app;\n',
        expected: 'set $service_url http://127.0.0.1:8080;\n',
      },
    ]);
    expect(switchBackChanges(p, true)[1]).toEqual({
      path: REAL,
      link: INC,
      content: 'set $service_url http://127.0.0.1:8080;\n',
      expected: 'set $service_url http://bluegreen_app;\n',
    });
  });

  test('a symlinked upstream block: its target is written', () => {
    const p = plan(detection(text(BLOCK(8080)), { includeLink: REAL }), true);
    expect(switchChanges(p, true)).toEqual([
      { path: REAL, link: INC, content: BAKING, expected: BLOCK(8080) },
    ]);
    expect(bakeEndChanges(p)).toEqual([{ path: REAL, link: INC, content: BLOCK(8081), expected: BAKING }]);
  });

  test('a dangling link is refused, never a first deploy', () => {
    const fresh = { releases: 0, ports: new Map() };
    expect(() => plan(detection({ state: 'missing' }, { ...fresh, includeLink: REAL }))).toThrow(
      new HostStateError(
        `${INC} is a symlink to ${REAL}, which does not exist: point the link at the include file, or set nginx-include to the file itself; nothing was changed`,
      ),
    );
    expect(() => plan(detection({ state: 'missing' }, { ...fresh, includeLink: '' }))).toThrow(
      new HostStateError(
        `${INC} is a symlink to a path that cannot be resolved, which does not exist: point the link at the include file, or set nginx-include to the file itself; nothing was changed`,
      ),
    );
  });

  test('a form not understood names the file and the link', () => {
    expect(() => plan(detection(text('set $service_url $x;\n'), { includeLink: REAL }))).toThrow(
      new HostStateError(
        `cannot recognise where ${REAL} (the file the symlink ${INC} points to) routes to; ${FORMS}. Nothing was changed`,
      ),
    );
    expect(() => plan(detection({ state: 'unreadable' }, { includeLink: REAL }))).toThrow(
      new HostStateError(
        `${REAL} (the file the symlink ${INC} points to) exists but the deploy user cannot read it: make it readable (e.g. sudo chmod 644 ${REAL}); nothing was changed`,
      ),
    );
  });
});

describe('the set line without a scheme, used as proxy_pass http://$service_url;', () => {
  test('with a bake window the address becomes our group, still without a scheme', () => {
    const p = plan(detection(text('set $service_url 127.0.0.1:8080;\n')), true);
    expect(switchChanges(p, true)[1]).toEqual({
      path: INC,
      content: 'set $service_url bluegreen_app;\n',
      expected: 'set $service_url 127.0.0.1:8080;\n',
    });
  });
});

describe('status reads the same layouts', () => {
  const FILES = { include: INC, upstream: UP };
  const status = (d: Detection) => {
    const notes: string[] = [];
    return { ...nginxStatus(d, FILES, [8080, 8081], notes), notes };
  };

  test('an upstream block: its server and its backup, via the include', () => {
    expect(status(detection(text(BAKING)))).toEqual({
      include: INC,
      upstream: UP,
      port: 8081,
      backup: 8080,
      via: 'include',
      listening: false,
      notes: [],
    });
  });

  test('a symlink: the file it points to, and where that routes', () => {
    expect(status(detection(text(BLOCK(8080)), { includeLink: REAL }))).toEqual({
      include: INC,
      linksTo: REAL,
      upstream: UP,
      port: 8080,
      via: 'include',
      release: 'r1',
      listening: true,
      notes: [],
    });
  });

  test('a dangling link, and a layout not understood, in words', () => {
    expect(status(detection({ state: 'missing' }, { includeLink: REAL }))).toEqual({
      include: INC,
      linksTo: REAL,
      upstream: UP,
      problem: `${INC} is a symlink to ${REAL}, which does not exist`,
      notes: [],
    });
    expect(status(detection(text('upstream a { server 10.1.2.3:8080; }\n')))).toEqual({
      include: INC,
      upstream: UP,
      problem: `${INC}: upstream a has "server 10.1.2.3:8080", which is not on this host (127.0.0.1, localhost or [::1]); ${FORMS}`,
      notes: [],
    });
  });
});
