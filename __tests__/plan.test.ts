import type { Detection, PortState } from '../src/commands/detect.js';
import { upstreamText } from '../src/nginx-upstream.js';
import { HostStateError, PortConflictError, planPorts as plan4 } from '../src/plan.js';

const INC = '/etc/nginx/conf.d/service-url.inc';
const UP = '/etc/nginx/conf.d/bluegreen-service-url.conf';
const planPorts = (d: Detection, blue: number, green: number) =>
  plan4(d, { blue, green, includePath: INC, upstreamPath: UP });

function detection(
  includePort: number | undefined,
  states: Partial<PortState>[],
  include: 'present' | 'missing' | 'unreadable' = 'present',
  releases = 0,
): Detection {
  const ports = new Map<number, PortState>();
  for (const s of states) {
    if (s.port === undefined) throw new Error('a port state needs its port');
    ports.set(s.port, { listening: false, ...s } as PortState);
  }
  const text = includePort === undefined ? '' : `set $service_url http://127.0.0.1:${includePort};\n`;
  return {
    include: include === 'present' ? { state: include, text } : { state: include },
    upstream: { state: 'missing' },
    releases,
    ports,
  };
}
const ours = (pid: number) => ({ pid, start: '100', release: 'r' });

test('first deploy: nothing listens, include points nowhere', () => {
  const p = planPorts(detection(8080, [{ port: 8080 }, { port: 8081 }]), 8080, 8081);
  expect([p.live, p.idle, p.staleOnIdle, p.oldProcess]).toEqual([undefined, 8080, undefined, undefined]);
  expect(p.notes[0]).toMatch(/nothing listens: first deploy/);
});

test('first deploy: include missing', () => {
  const p = planPorts(detection(undefined, [{ port: 8080 }, { port: 8081 }], 'missing'), 8080, 8081);
  expect(p.idle).toBe(8080);
  expect(p.notes[0]).toMatch(/include is missing/);
});

test('blue live -> green idle, old process is ours', () => {
  const p = planPorts(
    detection(8080, [{ port: 8080, listening: true, ours: ours(11) }, { port: 8081 }]),
    8080,
    8081,
  );
  expect(p).toMatchObject({ live: 8080, idle: 8081, oldProcess: { pid: 11, start: '100', ours: true } });
});

test('green live -> blue idle, a stale app of ours on blue is stopped first', () => {
  const p = planPorts(
    detection(8081, [
      { port: 8080, listening: true, ours: ours(22) },
      { port: 8081, listening: true, ours: ours(33) },
    ]),
    8080,
    8081,
  );
  expect(p).toMatchObject({ live: 8081, idle: 8080, staleOnIdle: { pid: 22 }, oldProcess: { pid: 33 } });
});

test('a half-started app of ours (pid file, not listening) is stale too', () => {
  const p = planPorts(
    detection(8080, [
      { port: 8080, listening: true, ours: ours(1) },
      { port: 8081, ours: ours(2) },
    ]),
    8080,
    8081,
  );
  expect(p.staleOnIdle).toEqual({ pid: 2, start: '100', release: 'r', listening: false });
});

test('the idle port held by a stranger is refused, naming it', () => {
  const d = detection(8080, [
    { port: 8080, listening: true, ours: ours(1) },
    {
      port: 8081,
      listening: true,
      listener: { pid: 999, start: '5', command: 'python3 -m http.server 8081' },
    },
  ]);
  expect(() => planPorts(d, 8080, 8081)).toThrow(PortConflictError);
  expect(() => planPorts(d, 8080, 8081)).toThrow(
    new PortConflictError(
      'idle port 8081 is held by pid 999 (python3 -m http.server 8081), which this action did not start; ' +
        'refusing to touch it. Stop it, or choose other blue-port/green-port values.',
    ),
  );
});

test('a stranger whose command line cannot be read is named by its pid', () => {
  const d = detection(8080, [
    { port: 8080, listening: true, ours: ours(1) },
    { port: 8081, listening: true, listener: { pid: 999, start: '5', command: '' } },
  ]);
  expect(() => planPorts(d, 8080, 8081)).toThrow(/^idle port 8081 is held by pid 999 \(unknown command\),/);
});

test('green live and blue held by a stranger: refused, never the live port as idle', () => {
  const d = detection(8081, [
    { port: 8080, listening: true, listener: { pid: 999, start: '5', command: 'nc -l 8080' } },
    { port: 8081, listening: true, ours: ours(2) },
  ]);
  expect(() => planPorts(d, 8080, 8081)).toThrow(/^idle port 8080 is held by pid 999 \(nc -l 8080\)/);
});

test('nginx routes to a port that is down, our app still runs on blue: blue is idle, its app stopped first', () => {
  const p = planPorts(
    detection(8081, [{ port: 8080, listening: true, ours: ours(5) }, { port: 8081 }]),
    8080,
    8081,
  );
  expect([p.live, p.idle, p.staleOnIdle]).toEqual([
    undefined,
    8080,
    { pid: 5, start: '100', release: 'r', listening: true },
  ]);
});

test('a stranger the user cannot see is refused too', () => {
  const d = detection(8080, [
    { port: 8080, listening: true, ours: ours(1) },
    { port: 8081, listening: true },
  ]);
  expect(() => planPorts(d, 8080, 8081)).toThrow(/cannot see/);
});

test('migrating from a hand-started app: it is the old process, stopped after the switch', () => {
  const p = planPorts(
    detection(8080, [
      { port: 8080, listening: true, listener: { pid: 77, start: '9', command: 'java -jar app.jar' } },
      { port: 8081 },
    ]),
    8080,
    8081,
  );
  expect(p).toMatchObject({ live: 8080, idle: 8081 });
  expect(p.oldProcess).toEqual({ pid: 77, start: '9', ours: false, command: 'java -jar app.jar' });
  expect(p.notes).toEqual([
    'port 8080 is served by pid 77 (java -jar app.jar), not started by this action; it is stopped after the switch',
  ]);
});

test('a live app the deploy user cannot see is left running, and the plan says so', () => {
  const p = planPorts(detection(8080, [{ port: 8080, listening: true }, { port: 8081 }]), 8080, 8081);
  expect([p.live, p.idle, p.oldProcess]).toEqual([8080, 8081, undefined]);
  expect(p.notes).toEqual([
    'the process on port 8080 is not visible to the deploy user; it is left running after the switch',
  ]);
});

test('first deploy with blue held by a stranger uses green', () => {
  const p = planPorts(
    detection(9999, [{ port: 8080, listening: true }, { port: 8081 }, { port: 9999 }]),
    8080,
    8081,
  );
  expect(p.idle).toBe(8081);
});

describe('state that cannot be read or recognised is an error on a host deployed to, never a first deploy', () => {
  const live = [{ port: 8080, listening: true, ours: ours(11) }, { port: 8081 }];

  test('an include the deploy user cannot read: the fix is named, whatever runs', () => {
    expect(() => planPorts(detection(undefined, [], 'unreadable'), 8080, 8081)).toThrow(
      new HostStateError(
        `${INC} exists but the deploy user cannot read it: make it readable (e.g. sudo chmod 644 ${INC}); nothing was changed`,
      ),
    );
  });

  test('a missing include while our app runs', () => {
    expect(() => planPorts(detection(undefined, live, 'missing'), 8080, 8081)).toThrow(
      `${INC} is missing although this host was deployed to (an app of ours runs on port 8080): put the include back, or check nginx-include; nothing was changed`,
    );
  });

  test('a missing include while our apps run on both ports names both', () => {
    const both = [
      { port: 8080, listening: true, ours: ours(11) },
      { port: 8081, listening: true, ours: ours(12) },
    ];
    expect(() => planPorts(detection(undefined, both, 'missing'), 8080, 8081)).toThrow(
      /\(an app of ours runs on port 8080 and port 8081\)/,
    );
  });

  test('a missing include where releases exist', () => {
    expect(() => planPorts(detection(undefined, [], 'missing', 3), 8080, 8081)).toThrow(
      /is missing although this host was deployed to \(3 releases exist\)/,
    );
  });

  test('an include in a form not understood, on a host deployed to', () => {
    const d = {
      ...detection(undefined, live),
      include: { state: 'present' as const, text: 'set $service_url http://backend;\n' },
    };
    expect(() => planPorts(d, 8080, 8081)).toThrow(
      /^cannot recognise where \/etc\/nginx\/conf\.d\/service-url\.inc routes to; the forms understood are: set \$service_url http:\/\/127\.0\.0\.1:PORT;/,
    );
  });

  test('an include with directives but no port, even on a fresh host', () => {
    const d = {
      ...detection(undefined, []),
      include: { state: 'present' as const, text: 'set $service_url $upstream;\n' },
    };
    expect(() => planPorts(d, 8080, 8081)).toThrow(HostStateError);
  });

  test('an empty or comment-only include on a fresh host is a first deploy', () => {
    const d = {
      ...detection(undefined, []),
      include: { state: 'present' as const, text: '# to be written\n\n' },
    };
    const p = planPorts(d, 8080, 8081);
    expect([p.live, p.idle, p.routing.include]).toEqual([
      undefined,
      8080,
      { path: INC, text: '# to be written\n\n', target: undefined },
    ]);
    expect(p.notes).toEqual(['the nginx include has no `set $service_url` line yet: it will be written']);
  });

  test('the plan carries the include as it is, for the switch and a restore', () => {
    const p = planPorts(detection(8080, live), 8080, 8081);
    expect(p.routing).toEqual({
      include: {
        path: INC,
        text: 'set $service_url http://127.0.0.1:8080;\n',
        target: { port: 8080, address: '127.0.0.1:8080', before: 'set $service_url http://', after: ';\n' },
      },
      upstream: { path: UP, name: 'bluegreen_service_url', text: undefined, servers: undefined },
    });
  });
});

describe('our upstream group (bake-time): where it routes, and what is not ours', () => {
  const GROUP = 'bluegreen_service_url';
  const live = [
    { port: 8080, listening: true, ours: ours(11) },
    { port: 8081, listening: true, ours: ours(12) },
  ];
  const withFiles = (include: string, upstream: Detection['upstream']): Detection => ({
    ...detection(undefined, live),
    include: { state: 'present', text: include },
    upstream,
  });
  const routedToGroup = `set $service_url http://${GROUP};\n`;

  test('the include names our group: the live port is its primary server', () => {
    const text = upstreamText(GROUP, { primary: 8081, backup: 8080 });
    const p = planPorts(withFiles(routedToGroup, { state: 'present', text }), 8080, 8081);
    expect([p.live, p.idle, p.staleOnIdle, p.oldProcess]).toEqual([
      8081,
      8080,
      { pid: 11, start: '100', release: 'r', listening: true },
      { pid: 12, start: '100', ours: true },
    ]);
    expect(p.routing.upstream).toEqual({
      path: UP,
      name: GROUP,
      text,
      servers: { primary: 8081, backup: 8080 },
    });
  });

  test('a group file changed by hand is refused', () => {
    const text = upstreamText(GROUP, { primary: 8081 }).replace('8081;', '8081 weight=2;');
    expect(() => planPorts(withFiles(routedToGroup, { state: 'present', text }), 8080, 8081)).toThrow(
      new HostStateError(
        `${UP} is not as this action wrote it (upstream ${GROUP}): put it back or remove it; nothing was changed`,
      ),
    );
  });

  test('an include or group file that is not UTF-8: refused, naming the fix, before anything changes', () => {
    const notText = { state: 'notText' } as const;
    expect(() => planPorts({ ...detection(undefined, live), include: notText }, 8080, 8081)).toThrow(
      new HostStateError(
        `${INC} is not UTF-8 text: the action rewrites it as text and would change its other bytes; save it as UTF-8 (e.g. iconv -f latin1 -t utf-8); nothing was changed`,
      ),
    );
    expect(() => planPorts(withFiles(routedToGroup, notText), 8080, 8081)).toThrow(
      new HostStateError(
        `${UP} is not UTF-8 text: the action rewrites it as text and would change its other bytes; save it as UTF-8 (e.g. iconv -f latin1 -t utf-8); nothing was changed`,
      ),
    );
  });

  test('a group file the deploy user cannot read: the fix is named', () => {
    expect(() => planPorts(withFiles(routedToGroup, { state: 'unreadable' }), 8080, 8081)).toThrow(
      new HostStateError(
        `${UP} exists but the deploy user cannot read it: make it readable (e.g. sudo chmod 644 ${UP}); nothing was changed`,
      ),
    );
  });

  test('the include names another group of ours', () => {
    const text = upstreamText(GROUP, { primary: 8081 });
    const include = 'set $service_url http://bluegreen_other;\n';
    expect(() => planPorts(withFiles(include, { state: 'present', text }), 8080, 8081)).toThrow(
      new HostStateError(
        `the include routes to upstream bluegreen_other, but this include's group is ${GROUP}; nothing was changed`,
      ),
    );
  });

  test('the include names our group, but its file is gone', () => {
    expect(() => planPorts(withFiles(routedToGroup, { state: 'missing' }), 8080, 8081)).toThrow(
      new HostStateError(
        `the include routes to upstream ${GROUP}, but ${UP} is missing: put it back (or route the include to 127.0.0.1:PORT); nothing was changed`,
      ),
    );
  });
});
